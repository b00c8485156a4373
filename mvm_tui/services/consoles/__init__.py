"""Consoles (issue 18): a VM's serial console and a host's shell, in the TUI and headless,
each session recorded in History without its contents. Empty until then.

Goes here: the session logic (attach, take over, reopen after a migration, the kept boot log).
The console stream is a backend capability (libvirt's virDomainOpenConsole, which must run
where libvirt runs: backends/libvirt/apart.py carries calls, a stream needs a channel of its
own there); the host shell rides the pooled SSH connection (backends/ssh/). The VT widget is
widgets/terminal.py and its screen screens/console.py.
"""
