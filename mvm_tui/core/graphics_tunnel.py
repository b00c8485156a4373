"""How the operator's laptop reaches a VM's graphical console (VNC or SPICE): the exact `ssh`
command that opens a tunnel through the jump box, and the URI a viewer opens then. Pure.

The operator is on a laptop, logged in to the jump box over SSH; the hosts are reached from the
jump box (and, with a host's `proxy_jump`, through that bastion). A console listens on its
host: by default (libvirt's `vnc_listen` and `spice_listen`) on 127.0.0.1 only, so only a
connection that starts on the host reaches it: the tunnel then is an SSH login to the host
itself, with the jump box (and the bastion) as ProxyJump hops, forwarding a port of the laptop
to the console's address there. A console listening on every address (0.0.0.0, ::) or on the
host's own configured address is reached from the jump box (from the bastion, if the host has
one) as mvm-tui reaches the host: the tunnel ends there and needs no login to the host. A
console on a unix socket is forwarded the same way as a loopback one, to the socket's path
(OpenSSH forwards a local port to a remote socket since 6.7: `-L PORT:/path`).
"""

from __future__ import annotations

import ipaddress
import shlex
from dataclasses import dataclass

from mvm_tui.models import GraphicsConsole

LOCAL_OFFSET = 10000  # the laptop's port is the console's + this: clear of a VNC server there
SOCKET_LOCAL_PORT = 15900  # the laptop's port for a console on a unix socket
_NAMES = {"vnc": "VNC", "spice": "SPICE"}


@dataclass(frozen=True)
class JumpBox:
    """The machine mvm-tui runs on, as the operator's laptop reaches it."""

    name: str  # its host name (socket.getfqdn() by default)
    user: str = ""  # the operator's login there; "": the laptop's ssh default


@dataclass(frozen=True)
class HostRoute:
    """How the jump box reaches a host over SSH (its config)."""

    name: str  # the host's name in the cluster (for the messages)
    address: str
    user: str = "root"
    port: int = 22
    proxy_jump: str | None = None  # [user@]host[:port] of a bastion, as ssh's ProxyJump


@dataclass(frozen=True)
class GraphicsAccess:
    """What to show for one console."""

    title: str  # "VNC", "SPICE"
    where: str  # where it listens, e.g. "127.0.0.1:5900 on hv1"
    command: str | None  # to run on the laptop; None when it cannot be reached (see notes)
    uri: str | None  # what a viewer opens while the command runs (remote-viewer URI)
    notes: tuple[str, ...] = ()


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _bracketed(address: str) -> str:
    """An address as ssh writes it inside a forwarding or a -J hop: IPv6 in brackets."""
    return f"[{address}]" if ":" in address else address


def _same_address(a: str, b: str) -> bool:
    ip_a, ip_b = _ip(a), _ip(b)
    if ip_a is not None and ip_b is not None:
        return ip_a == ip_b
    return a.lower() == b.lower()


def _split_jump(spec: str, default_user: str) -> tuple[str, str, int]:
    """[user@]host[:port] of a ProxyJump as (user, host, port); the jump box uses the host's
    user for a bastion that names none (backends.ssh.pool), so the laptop must too."""
    user, _, rest = spec.rpartition("@")
    host, _, port = rest.partition(":")
    return user or default_user, host, int(port or 22)


def _hop(user: str, host: str, port: int = 22) -> str:
    """A -J hop, [user@]host[:port]."""
    at = f"{user}@" if user else ""
    return f"{at}{_bracketed(host)}" + (f":{port}" if port != 22 else "")


def _local_port(port: int) -> int:
    return port + LOCAL_OFFSET if port + LOCAL_OFFSET <= 65535 else port


def _ssh(forward: str, hops: list[str], user: str, host: str, port: int) -> str:
    """`ssh -N -L FORWARD -J HOPS [-p PORT] USER@HOST`, every argument quoted."""
    args = ["ssh", "-N", "-L", forward, "-J", ",".join(hops)]
    if port != 22:
        args += ["-p", str(port)]
    args.append(f"{user}@{host}" if user else host)
    return shlex.join(args)


def graphics_access(console: GraphicsConsole, host: HostRoute, jump: JumpBox,
                    local_port: int | None = None) -> GraphicsAccess:
    """The tunnel command and viewer URI of `console`, a console of a VM running on `host`
    (its port, if any, is the live one: a VM that does not run has none to reach). The
    laptop's port is `local_port`, else the console's + LOCAL_OFFSET."""
    title = _NAMES[console.kind]
    scheme = console.kind
    jump_hop = _hop(jump.user, jump.name)
    bastion = _split_jump(host.proxy_jump, host.user) if host.proxy_jump else None
    via_host = [jump_hop] + ([_hop(*bastion)] if bastion else [])
    login = (f"your laptop logs in to {host.name} as {host.user} (through the jump box): "
             "its SSH key must be accepted there")

    if console.socket is not None:
        where = f"unix socket {console.socket or '(not made yet)'} on {host.name}"
        if not console.socket:
            return GraphicsAccess(title, where, None, None,
                                  ("no socket yet: libvirt makes it when the VM starts",))
        local = local_port or SOCKET_LOCAL_PORT
        access = (f"{host.user} must be allowed to open the socket (libvirt makes it for "
                  "qemu's user)",) if host.user != "root" else ()
        command = _ssh(f"{local}:{console.socket}", via_host, host.user, host.address,
                       host.port)
        return GraphicsAccess(title, where, command, f"{scheme}://localhost:{local}",
                              (login, *access))

    tls_only = console.port is None and console.tls_port is not None
    port = console.tls_port if tls_only else console.port
    listen = console.listen
    at = f"{_bracketed(listen)}:" if listen else "port "
    where = f"{at}{port if port is not None else '(none)'} on {host.name}"
    if port is None:
        return GraphicsAccess(title, where, None, None,
                              ("no port assigned: libvirt assigns one when the VM starts",))
    local = local_port or _local_port(port)
    uri = (f"spice://localhost?tls-port={local}" if tls_only
           else f"{scheme}://localhost:{local}")
    notes: list[str] = []
    if tls_only:
        notes.append("TLS only: remote-viewer needs the hosts' CA certificate "
                     "(--spice-ca-file) and the host's certificate subject "
                     "(--spice-host-subject): localhost is not the name in it")
    ip = _ip(listen)
    if (ip is not None and ip.is_unspecified) or (listen and _same_address(listen, host.address)):
        # reached from where mvm-tui reaches the host from: the jump box, or the bastion
        target = f"{local}:{_bracketed(host.address)}:{port}"
        notes.append(f"the {'bastion' if bastion else 'jump box'} connects to "
                     f"{_bracketed(host.address)}:{port} itself: a firewall on {host.name} "
                     "must let it")
        if bastion is None:
            command = shlex.join(["ssh", "-N", "-L", target, jump_hop])
        else:
            b_user, b_host, b_port = bastion
            command = _ssh(target, [jump_hop], b_user, b_host, b_port)
            notes.insert(0, f"your laptop logs in to the bastion {b_host} as {b_user} (through "
                            "the jump box): its SSH key must be accepted there")
        return GraphicsAccess(title, where, command, uri, tuple(notes))
    # loopback (libvirt's default), an address not said, or another address of the host:
    # from the host itself, which reaches every address it listens on
    command = _ssh(f"{local}:{_bracketed(listen or '127.0.0.1')}:{port}", via_host, host.user,
                   host.address, host.port)
    return GraphicsAccess(title, where, command, uri, (login, *notes))
