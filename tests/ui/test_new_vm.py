"""The New VM wizard on the demo (issue 17). Expected before running:
- `n` on the VMs screen opens the form; its image list is the library's (debian-12,
  ubuntu-22.04); choosing the plan small says where it fits;
- a name the cluster has is refused under the form, naming the field; nothing is made;
- web-9, small, debian-12, VLAN 22, planned: the confirmation shows the domain XML and the
  clone command; confirmed, the run makes web-9 and starts it.
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Select, Static

from mvm_tui.models import PowerState
from mvm_tui.runs import RunState
from mvm_tui.screens.new_vm import NewVmScreen
from mvm_tui.screens.run_detail import RunDetailScreen
from mvm_tui.widgets.confirm import ConfirmModal

from .conftest import Running, finish_latest_run, screen_of, wait_until
from .test_placement import vm


async def open_form(running: Running) -> NewVmScreen:
    demo, pilot = running
    await pilot.press("3", "n")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, NewVmScreen))
    form = screen_of(demo.app, NewVmScreen)
    images = form.query_one("#new-image", Select)
    await wait_until(pilot, lambda: len(images._options) > 1, what="the library loaded")
    return form


def fill(form: NewVmScreen, name: str) -> None:
    form.query_one("#new-name", Input).value = name
    form.query_one("#new-plan", Select).value = "small"
    form.query_one("#new-image", Select).value = "debian-12"


async def test_a_name_the_cluster_has_is_refused_under_the_form(running: Running) -> None:
    demo, pilot = running
    form = await open_form(running)
    fill(form, "web-01")
    await pilot.pause()
    assert "hv1: fits" in str(form.query_one("#new-fits", Static).render())
    await pilot.press("ctrl+s")
    problems = form.query_one("#new-problems", Static)
    await wait_until(pilot, lambda: "name: a VM named web-01 exists" in str(problems.render()),
                     what="the refusal")
    assert demo.app.screen is form
    assert demo.session.store.list_runs() == []


async def test_a_vm_is_made_from_the_form(running: Running) -> None:
    demo, pilot = running
    form = await open_form(running)
    fill(form, "web-9")
    await pilot.press("ctrl+s")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, ConfirmModal))
    preview = [c for s in screen_of(demo.app, ConfirmModal).steps for c in s.preview]
    assert any("rbd clone vms/img.debian-12@base vms/vm.web-9.disk0" in c for c in preview)
    assert any(c.startswith("<domain") for c in preview)
    await pilot.press("y")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, RunDetailScreen))
    await finish_latest_run(pilot, demo)
    run = demo.session.store.list_runs()[0]
    assert (run.title, run.state) == ("Create web-9", RunState.DONE)
    await wait_until(pilot, lambda: any(v.name == "web-9" for v in
                                        demo.session.clusters[0].snapshot().vms))
    assert vm(demo, "web-9").power is PowerState.RUNNING


async def test_the_form_takes_volumes_a_host_name_and_a_user_data_file(
        running: Running, tmp_path: Path) -> None:
    demo, pilot = running
    extra = tmp_path / "extra.yaml"
    extra.write_text("#cloud-config\npackages: [htop]\n")
    form = await open_form(running)
    fill(form, "web-9")
    for widget, value in (("#new-volumes", "5, 7"), ("#new-hostname", "web-nine"),
                          ("#new-user-data", str(extra))):
        form.query_one(widget, Input).value = value
    await pilot.press("ctrl+s")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, ConfirmModal))
    preview = "\n".join(c for s in screen_of(demo.app, ConfirmModal).steps for c in s.preview)
    assert "vms/vm.web-9.disk1" in preview
    assert "vms/vm.web-9.disk2" in preview
    assert '"local-hostname": "web-nine"' in preview
    assert "htop" in preview
