"""A poll of libvirt's test driver carries each VM's graphical consoles, from its live XML."""

from __future__ import annotations

from pathlib import Path

from mvm_tui.backends.libvirt import LibvirtHost, LibvirtNode
from mvm_tui.models import GraphicsConsole

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "libvirt" / "node.xml"
VNC = ("<graphics type='vnc' port='5901' autoport='no' listen='127.0.0.1'>"
       "<listen type='address' address='127.0.0.1'/></graphics>")


async def test_a_poll_has_the_consoles(tmp_path: Path) -> None:
    xml = FIXTURE.read_text()
    web01 = xml.index("<name>web-01</name>")
    at = xml.index("</devices>", web01)
    node_xml = tmp_path / "node.xml"
    node_xml.write_text(xml[:at] + VNC + xml[at:])
    node = LibvirtNode(LibvirtHost("hv1", f"test://{node_xml}"), clock=lambda: 1000.0)
    try:
        vms = {v.name: v for v in (await node.poll()).vms}
        assert vms["web-01"].graphics == (
            GraphicsConsole(kind="vnc", port=5901, listen="127.0.0.1"),)
        assert vms["web-02"].graphics == ()
        assert (await node.vm_info("web-01")).graphics == vms["web-01"].graphics
    finally:
        await node.close()
