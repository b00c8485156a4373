"""A VM's placement (auto / failover / pinned, and its home host) kept in its own domain XML.

It lives in <metadata> under the project's namespace, so it travels with the domain: a live
migration with PERSIST_DEST carries it to the destination, `virsh dumpxml` shows it:

    <metadata>
      <mvm:placement xmlns:mvm="https://mvm-tui.dev/xmlns/placement/1"
                     strategy="pinned" home="hv1"/>
    </metadata>

No element (a VM this application never touched) means Placement.AUTO and no home host.
"""

from __future__ import annotations

import shlex
import xml.etree.ElementTree as ET
from typing import Any, NamedTuple

import libvirt  # type: ignore[import-untyped]

from mvm_tui.backends.base import BackendError
from mvm_tui.backends.libvirt.uri import quote_uri
from mvm_tui.models import Placement

NS_URI = "https://mvm-tui.dev/xmlns/placement/1"
NS_PREFIX = "mvm"
TAG = "placement"


class PlacementData(NamedTuple):
    placement: Placement = Placement.AUTO
    home_host: str | None = None
    priority: int = 0  # restart priority after a host loss (higher first)


def check_home_host(home_host: str | None) -> str | None:
    if home_host is None:
        return None
    if not home_host or len(home_host) > 253 or not home_host.isprintable():
        raise BackendError(f"not an acceptable home host name: {home_host!r}")
    return home_host


def placement_xml(placement: Placement, home_host: str | None, priority: int = 0) -> str:
    """The element for dom.setMetadata (libvirt adds the namespace and prefix itself)."""
    elem = ET.Element(TAG, {"strategy": Placement(placement).value})
    home = check_home_host(home_host)
    if home is not None:
        elem.set("home", home)
    if priority:
        elem.set("priority", str(int(priority)))
    return ET.tostring(elem, encoding="unicode")


def placement_commands(uri: str, vm: str, placement: Placement, home_host: str | None, *,
                       running: bool, priority: int = 0) -> list[str]:
    """What write_placement amounts to, as virsh (its live definition too when it runs)."""
    args = ["metadata", vm, "--uri", NS_URI, "--key", NS_PREFIX,
            "--set", placement_xml(placement, home_host, priority), "--config",
            *(["--live"] if running else [])]
    return [f"virsh -c {quote_uri(uri)} {shlex.join(args)}"]


def parse_placement(elem: ET.Element | None) -> PlacementData:
    """The placement an element says; unknown strategies read as AUTO."""
    if elem is None:
        return PlacementData()
    try:
        placement = Placement(elem.get("strategy", Placement.AUTO.value))
    except ValueError:
        placement = Placement.AUTO
    try:
        priority = max(-1000, min(int(elem.get("priority", "0")), 1000))
    except ValueError:
        priority = 0
    return PlacementData(placement, elem.get("home") or None, priority)


def parse_placement_xml(text: str) -> PlacementData:
    """What dom.metadata(VIR_DOMAIN_METADATA_ELEMENT, NS_URI) returned."""
    try:
        elem = ET.fromstring(text)
    except ET.ParseError:
        return PlacementData()
    return parse_placement(elem if elem.tag.rpartition("}")[2] == TAG else None)


def placement_from_domain(root: ET.Element) -> PlacementData:
    """The placement in a whole domain XML (dom.XMLDesc()), without another call to libvirt."""
    return parse_placement(root.find(f"metadata/{{{NS_URI}}}{TAG}"))


def read_placement(dom: Any) -> PlacementData:
    """The placement stored in a domain (its live definition when it runs). Blocking."""
    try:
        text = dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, NS_URI, 0)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN_METADATA:
            return PlacementData()
        raise
    return parse_placement_xml(str(text))


def write_placement(dom: Any, placement: Placement, home_host: str | None) -> None:
    """Store the placement in the domain's persistent definition and, when it runs, in its
    live one too (so it shows at once and survives a shutdown); its restart priority stays.
    Blocking."""
    priority = read_placement(dom).priority
    flags = 0
    if dom.isPersistent() == 1:
        flags |= libvirt.VIR_DOMAIN_AFFECT_CONFIG
    if dom.isActive() == 1:
        flags |= libvirt.VIR_DOMAIN_AFFECT_LIVE
    dom.setMetadata(
        libvirt.VIR_DOMAIN_METADATA_ELEMENT,
        placement_xml(placement, home_host, priority),
        NS_PREFIX,
        NS_URI,
        flags,
    )
