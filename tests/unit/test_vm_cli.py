"""`mvm-tui vm create|delete` and `image list|import` on the demo cluster: the plan with every
command first, a wrong value named by its field with nothing made, nothing deleted without the
name repeated."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from mvm_tui import vm_cli
from mvm_tui.config import demo_config
from mvm_tui.session import Prompts

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMxQ8kOR0a+Dz3yD2nAnjGXu5uUAAp7sXyJ5nEn0bH0e ops@laptop"


def vm_file(tmp_path: Path, **values: str) -> Path:
    text = {"name": '"web-9"', "plan": '"small"', "image": '"debian-12"', "vlans": "[22]",
            **values}
    path = tmp_path / "vm.toml"
    path.write_text("".join(f"{k} = {v}\n" for k, v in text.items())
                    + f'[cloud_init]\nuser = "ops"\nssh_keys = ["{KEY}"]\n')
    return path


async def test_a_dry_run_prints_the_plan_and_makes_nothing(tmp_path: Path) -> None:
    out = io.StringIO()
    code = await vm_cli.run_vm_create(vm_file(tmp_path), demo_config(), True, Prompts(),
                                      dry_run=True, out=out)
    text = out.getvalue()
    assert code == 0
    assert "Create web-9 in cluster demo, on hv" in text
    assert "$ any host: rbd clone vms/img.debian-12@base vms/vm.web-9.disk0" in text
    assert '<vcpu placement="static" current="1">4</vcpu>' in text  # small: 1 vCPU, x4
    assert "run #" not in text


async def test_a_creation_runs_and_is_recorded(tmp_path: Path) -> None:
    out = io.StringIO()
    code = await vm_cli.run_vm_create(vm_file(tmp_path), demo_config(), True, Prompts(),
                                      dry_run=False, out=out)
    assert code == 0
    assert out.getvalue().rstrip().endswith("run #1: done")


@pytest.mark.parametrize(("values", "said"), [
    ({"vlans": "[99]"}, "vlans[0]: VLAN 99 is not one of the cluster's compute VLANs"),
    ({"plan": '"tiny"'}, "plan: no plan named 'tiny'"),
    ({"name": '"web 9"'}, "name: "),
    ({"image": '"windows"'}, "image: no image named 'windows'"),
])
async def test_a_wrong_value_is_named_and_nothing_is_made(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], values: dict[str, str],
        said: str) -> None:
    out = io.StringIO()
    code = await vm_cli.run_vm_create(vm_file(tmp_path, **values), demo_config(), True,
                                      Prompts(), dry_run=False, out=out)
    assert code == vm_cli.EXIT_REFUSED
    assert said in capsys.readouterr().err
    assert "run #" not in out.getvalue()


async def test_nothing_is_deleted_without_its_name_repeated(
        capsys: pytest.CaptureFixture[str]) -> None:
    out = io.StringIO()
    code = await vm_cli.run_vm_delete(demo_config(), True, Prompts(), None, "web-01", "web-1",
                                      7, dry_run=False, out=out)
    assert code == vm_cli.EXIT_REFUSED
    assert "--confirm web-01" in capsys.readouterr().err
    assert "Mark web-01 deleted" in out.getvalue()  # the plan, shown
    assert "run #" not in out.getvalue()


async def test_the_library_is_listed() -> None:
    out = io.StringIO()
    assert await vm_cli.run_image_list(demo_config(), True, Prompts(), None, False, out) == 0
    assert out.getvalue().split()[:2] == ["debian-12", "Debian"]


async def test_an_image_is_renamed_and_removed_only_when_no_disk_is_cloned_from_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mvm_tui.session import open_session

    session = open_session(demo_config(), demo=True, db_path=tmp_path / "runs.db")
    cluster = session.clusters[0]
    w = cluster.backend.workloads()
    assert w is not None
    try:
        await w.clone("debian-12", "vm.web-9.disk0", 10)
        run = await cluster.execute(cluster.create_image_run(
            "rename", {"image": "debian-12", "new": "deb12"}).id)
        assert run.error is None
        assert {i.name: i.disks for i in await w.images()}["deb12"] == ("vm.web-9.disk0",)
        await w.trash("vm.web-9.disk0", "2027-01-01T00:00:00")
        assert await w.image_users("deb12") == ["vm.web-9.disk0 (in the trash)"]
        refused = await cluster.execute(cluster.create_image_run(
            "remove", {"image": "deb12"}).id)
        assert "VM disks are cloned from it (vm.web-9.disk0 (in the trash))" in (
            refused.error or "")
        assert "deb12" in {i.name for i in await w.images()}
    finally:
        await session.close()


async def test_a_file_of_the_jump_box_is_copied_imported_and_its_copy_removed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = tmp_path / "cloud.qcow2"
    image.write_bytes(b"\0" * 4096)
    out = io.StringIO()
    code = await vm_cli.run_image_import(demo_config(), True, Prompts(), None, str(image),
                                         "my-image", "", dry_run=False, via="hv2", out=out)
    text = out.getvalue()
    assert code == 0, capsys.readouterr().err
    assert f"Copy {image} (0 MiB) from this jump box to hv2" in text
    assert "hv2: /var/tmp/mvm-tui-import.my-image removed" in text
    assert text.rstrip().endswith("run #1: done")
    missing = await vm_cli.run_image_import(demo_config(), True, Prompts(), None,
                                            str(tmp_path / "none.qcow2"), "x", "", False)
    assert missing == vm_cli.EXIT_REFUSED
    assert "is neither HOST:PATH with a host of demo nor a file" in capsys.readouterr().err
