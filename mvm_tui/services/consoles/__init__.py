"""Consoles (issue 18): a VM's serial console and a host's shell, in the TUI
(screens/console.py) and headless (console_cli.py), each session recorded in History without
its contents (sessions.py); a VM's console follows the VM across a live migration and a
restart (follow.py).

Where the bytes come from: backends/capabilities.py's Consoles and Shells; the simulator's
(backends/sim/consoles.py); libvirt's console stream on real clusters
(backends/libvirt/console.py, backends/real_consoles.py); a pty over the pooled SSH connection
for host shells (backends/ssh/shell.py).
"""
