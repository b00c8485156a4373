"""mvm-tui: a keyboard-first terminal UI to build and run a cluster of KVM hypervisor hosts."""

import sys
import warnings

# An operator sees mvm-tui's own messages, never a library's warnings (asyncssh importing
# cryptography's deprecated DSA printed ten lines before --help). Every mvm-tui entry point
# imports this package first. `python -W default` or PYTHONWARNINGS shows them again.
if not sys.warnoptions:
    warnings.simplefilter("ignore")
