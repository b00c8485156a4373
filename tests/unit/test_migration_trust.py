"""The hosts' migration trust, pure parts (core/migration_trust.py): a host's key report and
its reach report (real outputs from the lab, tests/fixtures/migration), the lines every host is
given, and the migration URI (valid on the source host: its own key path, nothing of the jump
box)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mvm_tui.backends.libvirt.errors import trust_hint
from mvm_tui.backends.libvirt.uri import UriError, migration_uri
from mvm_tui.core import migration_trust as mt
from mvm_tui.core.migration_trust import MIGRATION_KEY, HostKeys, TrustHost
from mvm_tui.services.migration_trust import reach_args

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "migration"
KEY_H1 = (FIXTURES / "key.h1.txt").read_text()
HOSTS = [TrustHost("h1", "10.213.0.11"), TrustHost("h2", "10.213.0.12"),
         TrustHost("h3", "hv3.example", 2222, "ops")]
ED = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJtS/6gXGBLi7u02+G/sZvsjM9y2UENAytBvF3AZPk7y"


def keys(name: str, *addresses: str) -> HostKeys:
    return HostKeys(f"{ED} mvm-tui-migration@{name}", (ED,), addresses)


def test_the_migration_uri_names_the_key_on_the_source_host_only() -> None:
    assert migration_uri("root", "10.213.0.12") == (
        "qemu+ssh://root@10.213.0.12/system?keyfile=/var/lib/mvm-tui/migration/id_ed25519"
        "&no_verify=0&no_tty=1&sshauth=privkey,agent")
    assert migration_uri("ops", "hv3.example", 2222).startswith(
        "qemu+ssh://ops@hv3.example:2222/system?keyfile=" + MIGRATION_KEY + "&")
    assert "known_hosts" not in migration_uri("root", "10.0.0.1")  # the source's own files
    assert migration_uri("root", "test:///default") == "test:///default"
    with pytest.raises(UriError):
        migration_uri("root", "h2;reboot")


def test_a_key_report_from_the_lab() -> None:
    found = mt.parse_key_report("h1", KEY_H1)
    assert found.key.endswith(" mvm-tui-migration@mvmlab-h1")
    assert found.key.startswith("ssh-ed25519 AAAA")
    assert [k.split()[0] for k in found.host_keys] == ["ssh-ed25519"]
    assert found.addresses == ("10.213.0.11",)


def test_a_report_without_a_key_or_with_a_forged_line_is_refused() -> None:
    no_key = "\n".join(line for line in KEY_H1.splitlines() if " key " not in line)
    with pytest.raises(mt.TrustError, match="h1 reported no migration key"):
        mt.parse_key_report("h1", no_key)
    forged = KEY_H1.replace("mvm-tui-migration@mvmlab-h1", "x\ncommand=\"reboot\"")
    with pytest.raises(mt.TrustError):
        mt.parse_key_report("h1", forged)
    no_host_key = "\n".join(line for line in KEY_H1.splitlines() if "hostkey" not in line)
    with pytest.raises(mt.TrustError, match="no ssh host key"):
        mt.parse_key_report("h1", no_host_key)


def test_every_host_gets_the_others_keys_from_their_own_addresses() -> None:
    found = {"h1": keys("mvmlab-h1", "10.213.0.11"), "h2": keys("mvmlab-h2", "10.213.0.12",
                                                                "fd00::12"),
             "h3": keys("mvmlab-h3", "10.0.3.3")}
    lines = mt.trust_lines(HOSTS[0], HOSTS, found)
    assert lines == [
        f'auth:from="10.213.0.12,fd00::12",restrict {ED} mvm-tui-migration@mvmlab-h2',
        f'auth:from="10.0.3.3",restrict {ED} mvm-tui-migration@mvmlab-h3',
        f"known:10.213.0.12 {ED} mvm-tui-migration",
        f"known:[hv3.example]:2222 {ED} mvm-tui-migration",  # as ssh looks a port up
    ]
    assert not any("mvmlab-h1" in line for line in lines)  # not its own


def test_a_peer_without_an_address_of_its_own_is_refused() -> None:
    found = {"h1": keys("a", "10.0.0.1"), "h2": keys("b", "10.0.0.2"), "h3": keys("c")}
    with pytest.raises(mt.TrustError, match="h3 reported no address"):
        mt.trust_lines(HOSTS[0], HOSTS, found)  # h3 is named by DNS: nothing to allow from


def test_reach_arguments_are_the_uris_the_source_libvirtd_opens() -> None:
    assert reach_args(HOSTS[1], HOSTS) == [
        f"h1={migration_uri('root', '10.213.0.11')}",
        f"h3={migration_uri('ops', 'hv3.example', 2222)}"]


def test_the_reach_report_of_a_broken_trust_from_the_lab() -> None:
    lab = [TrustHost("h1", "10.213.0.11"), TrustHost("h2", "10.213.0.12"),
           TrustHost("h3", "10.213.0.13")]
    items = mt.reach_items(lab[0], lab, (FIXTURES / "reach.h1.broken.txt").read_text())
    assert [(i.check, i.status) for i in items] == [
        ("migration to h2", "fail"), ("migration to h3", "fail")]
    assert "h1 cannot log in to root@10.213.0.12 for migration" in items[0].detail
    assert "Permission denied (publickey)" in items[0].detail
    assert "Host key verification failed" in items[1].detail
    assert all("mvm-tui cluster trust" in i.fix for i in items)


def test_reach_ok_no_key_and_no_answer() -> None:
    lab = HOSTS[:2]
    ok = mt.reach_items(lab[0], lab, "mvm-migration: peer h2 ok mvmlab-h2\n")
    assert [(i.status, i.detail) for i in ok] == [
        ("ok", "h1's libvirtd logs in to root@10.213.0.12 with its own key (mvmlab-h2)")]
    nokey = mt.reach_items(lab[0], lab, f"mvm-migration: nokey {MIGRATION_KEY}\n")
    assert nokey[0].status == "fail"
    assert "has no migration key" in nokey[0].detail
    silent = mt.reach_items(lab[0], lab, "")
    assert silent[0].status == "fail"
    assert "no answer" in silent[0].detail


def test_the_trust_run_steps_and_their_commands() -> None:
    from mvm_tui.backends.ssh import SshPool
    from mvm_tui.services.migration_trust import MigrationTrust

    trust = MigrationTrust(None, SshPool([]), "c1", register=False)
    steps = trust.build(trust.params(HOSTS))
    assert [s.title for s in steps] == [
        "Migration keys on h1, h2, h3 (each made on its host, never copied)",
        "Every host trusts its peers' migration keys and host keys",
        "Every host logs in to every other one as its libvirtd will to migrate"]
    assert steps[0].preview == tuple(
        f"ssh {h} sudo bash -s -- key < mvm_tui/provision/migration.sh" for h in ("h1", "h2", "h3"))
    assert trust.params(HOSTS) == {"hosts": [["h1", "10.213.0.11", 22, "root"],
                                             ["h2", "10.213.0.12", 22, "root"],
                                             ["h3", "hv3.example", 2222, "ops"]]}


def test_a_migration_refused_for_want_of_trust_says_what_to_do() -> None:
    from mvm_tui.backends.base import BackendError, HostUnreachable

    said = ("h1: migrate vm1: Cannot recv data: root@10.213.0.12: Permission denied "
            "(publickey).: Connection reset by peer")  # libvirt's words on the lab
    hinted = trust_hint(HostUnreachable(said), "h1", "h2")
    assert isinstance(hinted, HostUnreachable)
    assert str(hinted) == said + (" (h1 cannot log in to h2 for a migration: set up the hosts' "
                                  "migration trust, `mvm-tui cluster trust --config PATH`)")
    other = BackendError("h1: migrate vm1: unsupported configuration: disk vda is not shared")
    assert trust_hint(other, "h1", "h2") is other
