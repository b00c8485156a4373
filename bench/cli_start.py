"""How long the `mvm-tui` command takes to start: `--help`, `config example` and a one-shot
inventory of the simulated cluster (median and max of 5 runs each, wall time).

    .venv/bin/python bench/cli_start.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

MVM = str(Path(sys.executable).parent / "mvm-tui")
COMMANDS = {
    "--help": [MVM, "--help"],
    "config example": [MVM, "config", "example"],
    "inventory --demo --sample 0": [MVM, "inventory", "--json", "--demo", "--sample", "0"],
}


def main() -> None:
    for name, argv in COMMANDS.items():
        times = []
        for _ in range(5):
            started = time.perf_counter()
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - started)
        print(f"{name:30} median {statistics.median(times) * 1000:6.0f} ms   "
              f"max {max(times) * 1000:6.0f} ms")


if __name__ == "__main__":
    main()
