"""python -m mvm_tui: the mvm-tui command."""

from mvm_tui.cli import main

raise SystemExit(main())
