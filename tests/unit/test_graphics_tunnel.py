"""Graphical consoles: the <graphics> of a domain's live XML, and the ssh command and viewer
URI that reach each from the operator's laptop through the jump box."""

from __future__ import annotations

import shlex

import pytest

from mvm_tui.backends.libvirt.domxml import parse_domain
from mvm_tui.core.graphics_tunnel import GraphicsAccess, HostRoute, JumpBox, graphics_access
from mvm_tui.models import GraphicsConsole

JUMP = JumpBox("jump.example.net", "ops")
HV1 = HostRoute("hv1", "192.0.2.11")
BEHIND = HostRoute("hv7", "10.0.0.5", user="admin", port=2200,
                   proxy_jump="bastion.example.net:2222")


def domain(graphics: str) -> str:
    """A running domain's live XML (as virsh dumpxml prints it), with these displays."""
    return f"""<domain type='kvm' id='3'>
  <name>web-01</name>
  <uuid>8f0c6a52-1b7e-4b8e-9d55-0a0000000001</uuid>
  <memory unit='KiB'>2097152</memory>
  <currentMemory unit='KiB'>2097152</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <serial type='pty'><source path='/dev/pts/3'/><target type='isa-serial' port='0'/></serial>
    {graphics}
    <video><model type='virtio' heads='1' primary='yes'/><alias name='video0'/></video>
  </devices>
</domain>"""


def consoles(graphics: str) -> tuple[GraphicsConsole, ...]:
    return parse_domain(domain(graphics)).graphics


# -- the parser


def test_vnc_on_loopback_as_libvirt_starts_it_by_default() -> None:
    assert consoles("<graphics type='vnc' port='5900' autoport='yes' listen='127.0.0.1'>"
                    "<listen type='address' address='127.0.0.1'/></graphics>") == (
        GraphicsConsole(kind="vnc", port=5900, listen="127.0.0.1"),)


def test_spice_with_a_tls_port_on_every_address() -> None:
    assert consoles("<graphics type='spice' port='5901' tlsPort='5902' autoport='yes' "
                    "listen='0.0.0.0'><listen type='address' address='0.0.0.0'/>"
                    "<image compression='off'/></graphics>") == (
        GraphicsConsole(kind="spice", port=5901, tls_port=5902, listen="0.0.0.0"),)


def test_a_listen_element_alone_or_the_attribute_alone() -> None:
    assert consoles("<graphics type='vnc' port='5904'><listen type='address' "
                    "address='192.0.2.11'/></graphics>")[0].listen == "192.0.2.11"
    assert consoles("<graphics type='vnc' port='5904' listen='::1'/>")[0].listen == "::1"
    assert consoles("<graphics type='vnc' port='5904'/>")[0].listen == ""  # qemu.conf's


def test_a_listen_on_a_network_has_its_address_in_the_live_xml() -> None:
    assert consoles("<graphics type='spice' port='5900' autoport='yes' listen='192.168.122.1'>"
                    "<listen type='network' address='192.168.122.1' network='default'/>"
                    "</graphics>") == (
        GraphicsConsole(kind="spice", port=5900, listen="192.168.122.1"),)


def test_unix_sockets_have_no_port() -> None:
    path = "/var/lib/libvirt/qemu/domain-3-web-01/vnc.sock"
    assert consoles(f"<graphics type='vnc' socket='{path}'><listen type='socket' "
                    f"socket='{path}'/></graphics>") == (
        GraphicsConsole(kind="vnc", socket=path),)
    # SPICE's, whose XML may still carry ports libvirt reserved
    assert consoles("<graphics type='spice' port='5901' tlsPort='5903' autoport='yes'>"
                    "<listen type='socket' socket='/tmp/spice.sock'/></graphics>") == (
        GraphicsConsole(kind="spice", socket="/tmp/spice.sock"),)
    # VNC's older form, the attribute alone
    assert consoles("<graphics type='vnc' socket='/run/v.sock'/>")[0].socket == "/run/v.sock"


def test_a_domain_that_does_not_run_has_no_port_yet() -> None:
    assert consoles("<graphics type='vnc' port='-1' autoport='yes'>"
                    "<listen type='address'/></graphics>") == (GraphicsConsole(kind="vnc"),)
    assert consoles("<graphics type='spice' autoport='yes'><listen type='socket'/></graphics>"
                    ) == (GraphicsConsole(kind="spice", socket=""),)


def test_displays_that_cannot_be_reached_are_left_out() -> None:
    assert consoles("<graphics type='spice'><listen type='none'/></graphics>"
                    "<graphics type='sdl' display=':0.0'/><graphics type='egl-headless'/>"
                    "<graphics type='dbus'/>") == ()
    assert consoles("") == ()


def test_several_displays_in_order() -> None:
    found = consoles("<graphics type='vnc' port='5900' listen='127.0.0.1'/>"
                     "<graphics type='spice' port='5901' listen='127.0.0.1'/>")
    assert [(c.kind, c.port) for c in found] == [("vnc", 5900), ("spice", 5901)]


# -- the commands


def access(graphics: str, host: HostRoute = HV1, jump: JumpBox = JUMP) -> GraphicsAccess:
    (console,) = consoles(graphics)
    return graphics_access(console, host, jump)


def test_loopback_is_reached_by_logging_in_to_the_host_through_the_jump_box() -> None:
    a = access("<graphics type='vnc' port='5900' autoport='yes' listen='127.0.0.1'>"
               "<listen type='address' address='127.0.0.1'/></graphics>")
    assert a.command == "ssh -N -L 15900:127.0.0.1:5900 -J ops@jump.example.net root@192.0.2.11"
    assert a.uri == "vnc://localhost:15900"
    assert (a.title, a.where) == ("VNC", "127.0.0.1:5900 on hv1")
    assert any("logs in to hv1 as root" in n for n in a.notes)


def test_an_address_not_said_is_reached_from_the_host_too() -> None:
    a = access("<graphics type='vnc' port='5903'/>")
    assert a.command == "ssh -N -L 15903:127.0.0.1:5903 -J ops@jump.example.net root@192.0.2.11"
    assert a.where == "port 5903 on hv1"


def test_every_address_is_reached_from_the_jump_box_itself() -> None:
    a = access("<graphics type='spice' port='5901' tlsPort='5902' autoport='yes' "
               "listen='0.0.0.0'><listen type='address' address='0.0.0.0'/></graphics>")
    assert a.command == "ssh -N -L 15901:192.0.2.11:5901 ops@jump.example.net"
    assert a.uri == "spice://localhost:15901"
    assert a.notes == ("the jump box connects to 192.0.2.11:5901 itself: a firewall on hv1 "
                       "must let it",)
    # the host's own address: the same
    b = access("<graphics type='vnc' port='5900' listen='192.0.2.11'/>")
    assert b.command == "ssh -N -L 15900:192.0.2.11:5900 ops@jump.example.net"


def test_another_address_of_the_host_is_reached_from_the_host() -> None:
    a = access("<graphics type='spice' port='5900' listen='192.168.122.1'>"
               "<listen type='network' address='192.168.122.1' network='default'/></graphics>")
    assert a.command == \
        "ssh -N -L 15900:192.168.122.1:5900 -J ops@jump.example.net root@192.0.2.11"


def test_a_bastion_is_one_more_hop() -> None:
    a = access("<graphics type='vnc' port='5900' listen='127.0.0.1'/>", BEHIND)
    assert a.command == ("ssh -N -L 15900:127.0.0.1:5900 -J "
                         "ops@jump.example.net,admin@bastion.example.net:2222 -p 2200 "
                         "admin@10.0.0.5")
    # on every address: the bastion reaches it, as it reaches the host for the jump box
    b = access("<graphics type='vnc' port='5900' listen='0.0.0.0'/>", BEHIND)
    assert b.command == ("ssh -N -L 15900:10.0.0.5:5900 -J ops@jump.example.net -p 2222 "
                         "admin@bastion.example.net")
    assert any("bastion bastion.example.net as admin" in n for n in b.notes)
    # a bastion's own user, when it names one
    c = access("<graphics type='vnc' port='5900'/>",
               HostRoute("hv8", "10.0.0.6", proxy_jump="jumper@10.0.0.1"))
    assert c.command == ("ssh -N -L 15900:127.0.0.1:5900 -J "
                         "ops@jump.example.net,jumper@10.0.0.1 root@10.0.0.6")


def test_a_unix_socket_is_forwarded_to_its_path() -> None:
    path = "/var/lib/libvirt/qemu/domain-3-web-01/vnc.sock"
    a = access(f"<graphics type='vnc' socket='{path}'><listen type='socket' "
               f"socket='{path}'/></graphics>")
    assert a.command == (f"ssh -N -L 15900:{path} -J ops@jump.example.net root@192.0.2.11")
    assert a.uri == "vnc://localhost:15900"
    # a user other than root must be able to open it
    b = access(f"<graphics type='spice'><listen type='socket' socket='{path}'/></graphics>",
               BEHIND)
    assert b.uri == "spice://localhost:15900"
    assert any("admin must be allowed to open the socket" in n for n in b.notes)


def test_spice_with_tls_only() -> None:
    a = access("<graphics type='spice' tlsPort='5903' autoport='no' defaultMode='secure'>"
               "<listen type='address' address='0.0.0.0'/></graphics>")
    assert a.command == "ssh -N -L 15903:192.0.2.11:5903 ops@jump.example.net"
    assert a.uri == "spice://localhost?tls-port=15903"
    assert any("--spice-ca-file" in n for n in a.notes)


def test_no_command_without_a_port_or_a_socket() -> None:
    for xml in ("<graphics type='vnc' port='-1' autoport='yes'/>",
                "<graphics type='spice' autoport='yes'><listen type='socket'/></graphics>"):
        a = access(xml)
        assert (a.command, a.uri) == (None, None)
        assert "when the VM starts" in a.notes[0]


def test_ipv6_addresses_are_bracketed() -> None:
    a = access("<graphics type='vnc' port='5900' listen='::1'/>")
    assert a.command == "ssh -N -L '15900:[::1]:5900' -J ops@jump.example.net root@192.0.2.11"
    b = access("<graphics type='vnc' port='5900' listen='::'/>",
               HostRoute("hv6", "2001:db8::11"))
    assert b.command == "ssh -N -L '15900:[2001:db8::11]:5900' ops@jump.example.net"
    c = access("<graphics type='vnc' port='5900' listen='127.0.0.1'/>",
               HostRoute("hv6", "2001:db8::11"))
    assert c.command == ("ssh -N -L 15900:127.0.0.1:5900 -J ops@jump.example.net "
                         "root@2001:db8::11")


def test_the_laptops_port() -> None:
    high = access("<graphics type='vnc' port='60000' listen='127.0.0.1'/>")
    assert high.uri == "vnc://localhost:60000"  # (no room above it)
    (console,) = consoles("<graphics type='vnc' port='5900' listen='127.0.0.1'/>")
    chosen = graphics_access(console, HV1, JUMP, local_port=5999)
    assert chosen.command == \
        "ssh -N -L 5999:127.0.0.1:5900 -J ops@jump.example.net root@192.0.2.11"
    assert chosen.uri == "vnc://localhost:5999"


def test_a_jump_box_login_not_known() -> None:
    a = access("<graphics type='vnc' port='5900' listen='0.0.0.0'/>", jump=JumpBox("jb"))
    assert a.command == "ssh -N -L 15900:192.0.2.11:5900 jb"


@pytest.mark.parametrize("path", ["/run/a b.sock", "/tmp/x;$(reboot)'`.sock"])
def test_paths_from_the_host_are_quoted(path: str) -> None:
    a = graphics_access(GraphicsConsole(kind="vnc", socket=path), HV1, JUMP)
    assert a.command is not None
    assert shlex.split(a.command)[3] == f"15900:{path}"
    assert a.where == f"unix socket {path} on hv1"
