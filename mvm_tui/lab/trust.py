"""The lab hosts' mutual trust for live migration, set up as provisioning sets it up on real
hosts: the same script (mvm_tui/provision/migration.sh), run inside each host's namespaces.
Each host makes its own migration key (it never leaves the host); its peers get its public key
(authorized for root, from its address only) and its host key (/etc/ssh/ssh_known_hosts)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mvm_tui.core import migration_trust as mt
from mvm_tui.core.preflight import Item
from mvm_tui.lab import netns as net
from mvm_tui.lab.model import LabError, LabHost, LabInfo, run
from mvm_tui.services.migration_trust import SCRIPT, reach_args
from mvm_tui.services.provision import script_text

__all__ = ["check_trust", "set_up_trust", "trust_host"]


def trust_host(h: LabHost) -> mt.TrustHost:
    return mt.TrustHost(h.name, h.address, h.port, h.user)


def _script(h: LabHost, *args: str, log: Path | None = None,
            check: bool = True) -> tuple[int, str]:
    res = run(net.hx(h.index, "bash", "-s", "--", *args), input=script_text(SCRIPT), log=log,
              check=check, timeout=60)
    return res.returncode, res.stdout


def set_up_trust(info: LabInfo, log: Path | None = None) -> None:
    """Keys on every host, then every host trusts the others; LabError if one cannot then
    log in to another as its libvirtd would for a migration."""
    hosts = list(info.hosts)
    keys = {}
    for h in hosts:
        _, out = _script(h, "key", log=log)
        try:
            keys[h.name] = mt.parse_key_report(h.name, out)
        except mt.TrustError as exc:
            raise LabError(str(exc)) from None
    everyone = [trust_host(h) for h in hosts]
    for h in hosts:
        _script(h, "trust", h.user, *mt.trust_lines(trust_host(h), everyone, keys), log=log)
    failed = [f"{host}: {i.detail}" for host, items in check_trust(info).items()
              for i in items if not i.ok]
    if failed:
        raise LabError("migration trust does not work:\n" + "\n".join(failed))


def check_trust(info: LabInfo, hosts: Sequence[LabHost] | None = None) -> dict[str, list[Item]]:
    """Each host's "migration to PEER" items, from inside it (as the preflight's)."""
    everyone = [trust_host(h) for h in info.hosts]
    out: dict[str, list[Item]] = {}
    for h in hosts or info.hosts:
        me = trust_host(h)
        _, text = _script(h, "reach", *reach_args(me, everyone), check=False)
        out[h.name] = mt.reach_items(me, everyone, text)
    return out
