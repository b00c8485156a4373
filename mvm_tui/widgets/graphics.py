"""VM detail's graphical consoles: for each VNC or SPICE display of a VM, the command that
opens a tunnel to it from the operator's laptop and the URI a viewer opens then
(core.graphics_tunnel). Every name (hosts, paths, the jump box) is shown as written."""

from __future__ import annotations

import functools
import socket

from rich.text import Text

from mvm_tui.config import ClusterConfig
from mvm_tui.core.graphics_tunnel import GraphicsAccess, HostRoute, JumpBox, graphics_access
from mvm_tui.models import PowerState, Vm
from mvm_tui.services.consoles.sessions import login_name
from mvm_tui.widgets.literal import literal

REACHABLE = (PowerState.RUNNING, PowerState.PAUSED, PowerState.SHUTTING_DOWN)


@functools.cache
def this_jump_box() -> JumpBox:
    """This machine as the operator's laptop reaches it: its FQDN, and the operator's login
    (the one that ran sudo, if mvm-tui runs under it). Blocking (a DNS lookup): call it off
    the event loop."""
    return JumpBox(socket.getfqdn(), login_name())


def host_route(config: ClusterConfig | None, host: str) -> HostRoute | None:
    """How the jump box reaches `host`, from the cluster's config; None when it has none."""
    if config is None:
        return None
    try:
        h = config.host(host)
    except KeyError:
        return None
    return HostRoute(name=h.name, address=h.address, user=h.user, port=h.port,
                     proxy_jump=h.proxy_jump)


def _access_text(access: GraphicsAccess) -> Text:
    text = literal(access.where)
    if access.command is not None:
        text.append(". From your laptop:\n")
        text.append(access.command, style="bold")
    if access.uri is not None:
        text.append("\nthen: remote-viewer ")
        text.append(access.uri, style="bold")
        text.append(" (or any viewer, at that URI)")
    for note in access.notes:
        text.append("\n")
        text.append(note, style="dim")
    return text


def graphics_rows(vm: Vm, config: ClusterConfig | None,
                  jump: JumpBox | None) -> list[tuple[str, Text]]:
    """The rows (label, text) of VM detail's summary for `vm`'s consoles: none without any."""
    rows: list[tuple[str, Text]] = []
    for console in vm.graphics:
        label = f"{console.kind.upper()} console"
        if vm.power not in REACHABLE or vm.host is None:
            rows.append((label, literal("when the VM runs (libvirt gives it a port then)")))
            continue
        route = host_route(config, vm.host)
        if route is None:
            rows.append((label, literal(f"on {vm.host}, which is not in the config: no "
                                        "command to reach it")))
        elif jump is None:
            rows.append((label, literal("(looking up this jump box's name)")))
        else:
            rows.append((label, _access_text(graphics_access(console, route, jump))))
    return rows
