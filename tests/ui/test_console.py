"""A VM's serial console in the TUI, on the simulator: its boot output shows, what is typed
reaches the guest (the app's own keys too), ctrl+] leaves with the VM still running, a console
held by another client is taken over only when confirmed, and the guest hears the size."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import RichLog, Static

from mvm_tui.models import PowerAction, PowerState
from mvm_tui.screens.boot_log import BootLogScreen
from mvm_tui.screens.console import ConsoleScreen
from mvm_tui.screens.hosts import HostsScreen
from mvm_tui.screens.vms import VmsScreen
from mvm_tui.widgets.confirm import ConfirmModal
from mvm_tui.widgets.terminal import Terminal
from tests.ui.conftest import DemoApp, Running, screen_of, sim_of, wait_until


def running_vm(demo: DemoApp) -> str:
    return next(v.name for v in demo.session.clusters[0].snapshot().vms
                if v.power is PowerState.RUNNING)


async def open_console(pilot: Pilot[None], demo: DemoApp, name: str) -> Terminal:
    await pilot.press("3", "slash", *name, "enter")
    await pilot.press("c")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, ConsoleScreen), what="console")
    return demo.app.screen.query_one(Terminal)


def shows(terminal: Terminal, text: str) -> bool:
    return any(text in line for line in terminal.text)


async def test_boot_output_shows_and_typed_keys_reach_the_guest(running: Running) -> None:
    demo, pilot = running
    name = running_vm(demo)
    terminal = await open_console(pilot, demo, name)
    await wait_until(pilot, lambda: shows(terminal, f"Debian GNU/Linux 12 {name} ttyS0"),
                     what="the boot log")
    await wait_until(pilot, lambda: terminal.text[terminal.screen_state.cursor.y]
                     .endswith(f"root@{name}:~#"), what="a prompt")
    await pilot.press(*"hostnamx", "backspace", "e", "enter")
    await wait_until(pilot, lambda: shows(terminal, f"root@{name}:~# hostname"), what="echo")
    await wait_until(pilot, lambda: terminal.text.count(name) >= 1, what="the answer")
    await pilot.press("1", "q", "enter")  # the app's keys: the guest's here
    await wait_until(pilot, lambda: shows(terminal, "-bash: 1q: command not found"),
                     what="the mode key sent to the guest")
    assert isinstance(demo.app.screen, ConsoleScreen)

    await pilot.press("ctrl+right_square_bracket")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, VmsScreen), what="left")
    await demo.clock.advance(2)
    assert demo.session.clusters[0].vm(name).power is PowerState.RUNNING


async def test_a_console_held_elsewhere_is_taken_over_only_when_confirmed(
        running: Running) -> None:
    demo, pilot = running
    name = running_vm(demo)
    consoles = sim_of(demo).consoles()
    other = await consoles.open_console(name)
    await pilot.press("3", "slash", *name, "enter", "c")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, ConfirmModal), what="asked")
    await pilot.press("escape")  # no: nothing taken, back to the VMs
    await wait_until(pilot, lambda: isinstance(demo.app.screen, VmsScreen), what="back")
    await other.write(b"x")  # still its console

    await pilot.press("c")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, ConfirmModal), what="asked")
    screen_of(demo.app, ConfirmModal).dismiss(True)
    await wait_until(pilot, lambda: isinstance(demo.app.screen, ConsoleScreen), what="console")
    terminal = demo.app.screen.query_one(Terminal)
    await wait_until(pilot, lambda: shows(terminal, f"{name} ttyS0"), what="the boot log")
    while await other.read():  # the other client is cut off: its channel ends
        pass


async def test_the_guest_hears_the_terminal_size(running: Running) -> None:
    demo, pilot = running
    name = running_vm(demo)
    terminal = await open_console(pilot, demo, name)
    await wait_until(pilot, lambda: shows(terminal, f"root@{name}:~#"), what="a prompt")
    await pilot.press(*"stty size", "enter")
    size = terminal.size
    await wait_until(pilot, lambda: shows(terminal, f"{size.height} {size.width}"),
                     what="its size")
    await pilot.resize_terminal(100, 30)
    await wait_until(pilot, lambda: terminal.screen_state.columns == terminal.size.width
                     and terminal.size.width == 100, what="resized")
    await pilot.press(*"stty size", "enter")
    await wait_until(pilot, lambda: shows(terminal, f"{terminal.size.height} 100"),
                     what="the new size")


async def test_a_shell_on_a_host_answers_its_hostname(running: Running) -> None:
    demo, pilot = running
    await pilot.press("2")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, HostsScreen), what="hosts")
    host = screen_of(demo.app, HostsScreen).selected_host()
    assert host is not None
    await pilot.press("C")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, ConsoleScreen), what="shell")
    terminal = demo.app.screen.query_one(Terminal)
    await wait_until(pilot, lambda: shows(terminal, f"root@{host.name}:~#"), what="a prompt")
    await pilot.press(*"hostname", "enter")
    await wait_until(pilot, lambda: host.name in terminal.text, what="its name")
    await pilot.press("ctrl+right_square_bracket")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, HostsScreen), what="back")


async def test_a_stopped_vms_kept_boot_log_shows_without_attaching(running: Running) -> None:
    demo, pilot = running
    name = running_vm(demo)
    sim = sim_of(demo)
    await sim.vm_power(await sim.vm_info(name), PowerAction.POWEROFF)
    await pilot.press("3", "slash", *name, "enter", "l")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, BootLogScreen), what="log")
    screen = screen_of(demo.app, BootLogScreen)
    log = screen.query_one(RichLog)
    await wait_until(pilot, lambda: len(log.lines) > 0, what="the kept log")
    text = [strip.text for strip in log.lines]
    assert any(f"Debian GNU/Linux 12 {name} ttyS0" in line for line in text)
    assert text[-1].rstrip() == "reboot: Power down"
    assert not any("\x1b" in line for line in text)  # (its colours rendered, not shown raw)
    said = str(screen.query_one("#bootlog-said", Static).render())
    assert f"/var/log/libvirt/qemu/{name}-serial.log" in said
    await pilot.press("escape")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, VmsScreen), what="back")
