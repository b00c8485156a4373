"""Consoles (issue 18): a VM's serial console and a host's shell, in the TUI and headless,
each session recorded in History without its contents.

Built so far: the Consoles and Shells capabilities (backends/capabilities.py), the simulator's
(backends/sim/consoles.py), host shells over the pooled SSH connection (backends/ssh/shell.py),
the VT widget (widgets/terminal.py) and its screen (screens/console.py).

Goes here: the session logic (attach, take over, reopen after a reboot or a migration, the kept
boot log, the History record). A VM's console stream is libvirt's virDomainOpenConsole, which
must run where libvirt runs: backends/libvirt/apart.py carries calls, a stream needs a channel
of its own there, and libvirt's event loop running in that process.
"""
