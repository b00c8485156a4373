"""Optional backend capabilities (backends.capabilities): which backend offers which, what
the HA service and the decommissions build from them, and that nothing outside backends/
finds one by the backend's class (isinstance, getattr, cast)."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from mvm_tui.backends.base import BackendError
from mvm_tui.backends.real import RealBackend
from mvm_tui.backends.real_options import RealOptions
from mvm_tui.backends.sim import SimBackend, demo_cluster, demo_spec
from mvm_tui.clock import VirtualClock
from mvm_tui.config import ClusterConfig, Config, HaConfig, demo_config
from mvm_tui.ha_cli import build_ha_service
from mvm_tui.models import Layout
from mvm_tui.runs import RunExecutor, RunStore
from mvm_tui.services.decommission_runs import Decommissions
from mvm_tui.services.ha_actions import NoHaActions
from mvm_tui.services.ha_failover import FailoverActions
from mvm_tui.session import open_session

PACKAGE = Path(__file__).resolve().parents[2] / "mvm_tui"
EXTERNAL = demo_config().clusters[0].model_copy(update={"layout": Layout.EXTERNAL})
SELF_FENCING = demo_config().clusters[0].model_copy(update={
    "ha": HaConfig(self_fence_after=10.0)})


def real(layout: Layout = Layout.HCI) -> RealBackend:
    """A real backend of the demo's hosts (nothing is connected to)."""
    cluster = demo_config().clusters[0].model_copy(update={"layout": layout})
    return RealBackend(cluster, RealOptions(libvirt_apart=False))


def test_the_real_backend_offers_ceph_and_failover_on_hci_only() -> None:
    hci, external = real(), real(Layout.EXTERNAL)
    assert hci.ceph_admin() is hci
    assert hci.failover() is not None
    assert external.ceph_admin() is None
    assert external.failover() is None
    assert hci.fault_injector() is None


def test_the_simulator_offers_failover_and_faults_and_ceph_on_hci() -> None:
    clock = VirtualClock()
    hci = demo_cluster(clock)
    external = SimBackend(dataclasses.replace(demo_spec(), layout=Layout.EXTERNAL), clock)
    assert hci.ceph_admin() is hci
    assert external.ceph_admin() is None
    assert hci.failover() is not None
    assert external.failover() is not None
    assert hci.fault_injector() is hci


@pytest.mark.parametrize(("cluster", "layout", "actions", "leased"), [
    (demo_config().clusters[0], Layout.HCI, NoHaActions.NO_SELF_FENCE, False),
    (EXTERNAL, Layout.EXTERNAL, NoHaActions.NOT_HCI, False),
    (SELF_FENCING, Layout.HCI, "failover", True),
])
def test_the_ha_service_acts_through_the_real_backends_failover(
        tmp_path: Path, cluster: ClusterConfig, layout: Layout, actions: str, leased: bool) -> None:
    config = Config(clusters=[cluster])
    session = open_session(config, demo=False, clock=VirtualClock(), backend=real(layout),
                           db_path=tmp_path / "runs.db")
    service = build_ha_service(session, session.clusters[0], lock_dir=tmp_path / "ha")
    if actions == "failover":
        assert isinstance(service.actions, FailoverActions)
    else:
        assert isinstance(service.actions, NoHaActions)
        assert service.actions.why == actions
    assert (service.lease is not None) is leased
    session.close_store()


def test_the_ha_service_of_the_simulator_keeps_its_state_there(tmp_path: Path) -> None:
    clock = VirtualClock()
    sim = demo_cluster(clock)
    session = open_session(demo_config(), demo=False, clock=clock, backend=sim,
                           db_path=tmp_path / "runs.db")
    service = build_ha_service(session, session.clusters[0], lock_dir=tmp_path / "ha")
    assert isinstance(service.actions, FailoverActions)
    assert service.actions.state is sim.failover().state_store()
    assert service.lease is None
    assert service.lock is not None
    session.close_store()


async def test_decommissions_need_ceph_administration(tmp_path: Path) -> None:
    clock = VirtualClock()
    executor = RunExecutor(RunStore(tmp_path / "runs.db"), clock)

    async def forget(host: str) -> None:
        """(Nothing to forget here.)"""

    with pytest.raises(BackendError, match="has no Ceph to decommission hosts from"):
        Decommissions(real(Layout.EXTERNAL), clock, executor, forget, lambda host: True)
    assert Decommissions(demo_cluster(clock), clock, executor, forget,
                         lambda host: True).admin is not None


def found_by_class(path: Path, root: Path = PACKAGE) -> list[str]:
    """isinstance/issubclass on a backend class, getattr/hasattr on a backend, and cast( to
    a backend class or capability, in one module."""
    tree = ast.parse(path.read_text(), filename=str(path))
    backend_names = {alias.asname or alias.name for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom) and node.module
                     and node.module.startswith("mvm_tui.backends")
                     for alias in node.names
                     if alias.name.endswith(("Backend", "Faults", "Failover", "Admin"))}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name) \
                or not node.args:
            continue
        name, args = node.func.id, [ast.unparse(a) for a in node.args]
        if name in ("isinstance", "issubclass", "cast"):
            typed = args[1] if name != "cast" else args[0]
            if any(b in typed.replace("|", " ").replace(",", " ").split() for b in
                   backend_names):
                found.append(f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)}")
        elif name in ("getattr", "hasattr") and "backend" in args[0]:
            found.append(f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_nothing_outside_the_backends_finds_a_capability_by_class() -> None:
    files = [p for p in PACKAGE.rglob("*.py") if "backends" not in p.relative_to(PACKAGE).parts]
    assert len(files) > 50
    assert [f for p in files for f in found_by_class(p)] == []


def test_the_source_check_sees_each_way(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from mvm_tui.backends.sim import SimBackend\n"
        "from mvm_tui.backends.capabilities import CephAdmin\n"
        "def f(backend, cluster):\n"
        "    isinstance(backend, SimBackend | None)\n"
        "    getattr(cluster.backend, 'ceph', None)\n"
        "    cast(CephAdmin, backend)\n"
        "    isinstance(backend, str)\n")
    assert [f.split(":")[1] for f in found_by_class(sample, tmp_path)] == ["4", "5", "6"]


def test_only_the_session_names_a_concrete_backend() -> None:
    """It builds them; everything else sees ClusterBackend and its capabilities."""
    concrete = ("mvm_tui.backends.real", "mvm_tui.backends.sim")
    naming = sorted(
        str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
        if "backends" not in p.relative_to(PACKAGE).parts
        and any(isinstance(n, ast.ImportFrom) and n.module
                and (n.module in concrete or n.module.startswith("mvm_tui.backends.sim."))
                for n in ast.walk(ast.parse(p.read_text(), filename=str(p)))))
    assert naming == ["session.py"]
