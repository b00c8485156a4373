"""The Add Cluster form with Pilot: reasons next to the fields as they are typed, host rows
added and removed, the layout switch, and a valid form dismissed with the form object."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import Button, Input, Select, Static

from mvm_tui.config import cluster_from_form
from mvm_tui.core.cluster_form import Auth, ClusterForm, HostRow
from mvm_tui.models import Layout
from mvm_tui.screens.add_cluster import AddClusterScreen
from mvm_tui.widgets.confirm import ConfirmModal

from .conftest import DemoApp, Running, wait_until

Results = list[ClusterForm | None]


def valid_form() -> ClusterForm:
    return ClusterForm(
        name="prod", data_devices="/dev/sdb", management_if="eth0", storage_if="eth1",
        compute_if="eth2", compute_vlans="22-25",
        hosts=[HostRow(name=f"hv{i}", address=f"10.0.0.{10 + i}") for i in (1, 2, 3)],
    )


async def open_form(demo: DemoApp, pilot: Pilot[None],
                    form: ClusterForm | None = None) -> tuple[AddClusterScreen, Results]:
    results: Results = []
    demo.app.push_screen(AddClusterScreen(form), results.append)
    await wait_until(pilot, lambda: isinstance(demo.app.screen, AddClusterScreen),
                     what="the Add Cluster form")
    await pilot.pause()
    screen = demo.app.screen
    assert isinstance(screen, AddClusterScreen)
    return screen, results


async def type_into(pilot: Pilot[None], screen: AddClusterScreen, widget_id: str,
                    text: str, clear: bool = True) -> None:
    screen.query_one(f"#{widget_id}", Input).focus()
    await pilot.pause()
    if clear:
        await pilot.press("ctrl+u")
    await pilot.press(*text)
    await pilot.pause()


async def fill(pilot: Pilot[None], screen: AddClusterScreen, widget_id: str, text: str) -> None:
    """Set a field's text at once (the same Input.Changed as typing it, without a key per
    character)."""
    screen.query_one(f"#{widget_id}", Input).value = text
    await pilot.pause()


def shown(screen: AddClusterScreen, widget_id: str) -> str:
    return str(screen.query_one(f"#{widget_id}", Static).render())


def next_enabled(screen: AddClusterScreen) -> bool:
    return not screen.query_one("#add-cluster-next", Button).disabled


async def test_a_bad_vlan_shows_its_reason_and_blocks_next(running: Running) -> None:
    demo, pilot = running
    screen, results = await open_form(demo, pilot, valid_form())
    assert next_enabled(screen)
    assert shown(screen, "r-compute_vlans") == ""
    await type_into(pilot, screen, "f-compute_vlans", "4095")
    vlans = screen.query_one("#f-compute_vlans", Input)
    reason = screen.query_one("#r-compute_vlans", Static)
    assert reason.parent is vlans.parent  # next to the field
    assert shown(screen, "r-compute_vlans") == "VLAN 4095 is out of range 1-4094"
    assert vlans.has_class("-invalid")
    assert not next_enabled(screen)
    await pilot.press("enter")  # enter in a field moves on, it does not submit
    assert results == []
    await type_into(pilot, screen, "f-compute_vlans", "25-22")
    assert shown(screen, "r-compute_vlans") == (
        "'25-22': the start of a range must not be above its end")
    await type_into(pilot, screen, "f-compute_vlans", "22-25")
    assert shown(screen, "r-compute_vlans") == ""
    assert not vlans.has_class("-invalid")
    assert next_enabled(screen)


async def test_reasons_show_only_for_fields_typed_in(running: Running) -> None:
    demo, pilot = running
    screen, _ = await open_form(demo, pilot)
    assert shown(screen, "r-name") == ""  # empty, not typed in yet
    assert not next_enabled(screen)
    await type_into(pilot, screen, "f-name", "prod;")
    assert shown(screen, "r-name") == "contains ';' which is not allowed"
    await pilot.press("backspace")
    assert shown(screen, "r-name") == ""
    await type_into(pilot, screen, "h0-address", "10.0.0.300")
    assert shown(screen, "h0-reason") == (
        "address: '10.0.0.300' is not an IP address or a host name")
    assert screen.query_one("#h0-address", Input).has_class("-invalid")


async def test_host_rows_are_added_and_removed(running: Running) -> None:
    demo, pilot = running
    screen, _ = await open_form(demo, pilot, valid_form())
    screen.query_one("#add-cluster-add-host", Button).focus()
    await pilot.press("plus")
    await wait_until(pilot, lambda: len(screen.query(".host")) == 4, what="a fourth row")
    assert len(screen.form.hosts) == 4
    await wait_until(pilot, lambda: screen.focused is screen.query_one("#h3-name", Input),
                     what="the new row focused")
    assert not next_enabled(screen)  # the new row is empty
    await pilot.press(*"hv4", "tab", *"10.0.0.14")
    await pilot.pause()
    assert next_enabled(screen)
    assert screen.form.hosts[3] == HostRow(name="hv4", address="10.0.0.14")
    # '-' on a row's remove button removes that row
    screen.query_one("#h1-remove", Button).focus()
    await pilot.press("minus")
    await wait_until(pilot, lambda: len(screen.query(".host")) == 3, what="a row removed")
    assert [h.name for h in screen.form.hosts] == ["hv1", "hv3", "hv4"]
    # the rows still edit the right host after one above was removed
    await type_into(pilot, screen, "h3-name", "hv3")
    assert shown(screen, "h3-reason") == "name: host name 'hv3' is already used by host 2"
    assert not next_enabled(screen)
    # the row's '-' button, pressed
    screen.query_one("#h3-remove", Button).focus()
    await pilot.press("enter")
    await wait_until(pilot, lambda: len(screen.query(".host")) == 2, what="a row removed")
    assert [h.name for h in screen.form.hosts] == ["hv1", "hv3"]


async def test_hci_with_two_hosts_then_external_storage(running: Running) -> None:
    demo, pilot = running
    screen, results = await open_form(demo, pilot, valid_form())
    assert not screen.query_one("#add-cluster-storage").display
    screen.query_one("#h2-remove", Button).press()
    await wait_until(pilot, lambda: len(screen.form.hosts) == 2, what="a row removed")
    await pilot.pause()
    assert "an HCI cluster needs at least 3 hosts" in shown(screen, "r-hosts")
    assert "this one has 2" in shown(screen, "r-hosts")
    assert not next_enabled(screen)
    await pilot.click("#layout-external")
    await wait_until(pilot, lambda: screen.form.layout is Layout.EXTERNAL, what="external")
    assert screen.query_one("#add-cluster-storage").display
    assert not screen.query_one("#r-hosts").display
    await type_into(pilot, screen, "f-storage_target", "nas1:/export")
    assert next_enabled(screen)
    await pilot.click("#add-cluster-next")
    await wait_until(pilot, lambda: bool(results), what="the form dismissed")
    form = results[0]
    assert form is not None
    assert form.external_storage() is not None
    assert cluster_from_form(form).layout is Layout.EXTERNAL


async def test_a_valid_form_typed_in_is_dismissed_with_it(running: Running) -> None:
    demo, pilot = running
    screen, results = await open_form(demo, pilot)
    typed = {
        "f-name": "lab", "h0-name": "hv1", "h0-address": "10.0.0.11",
        "h1-name": "hv2", "h1-address": "10.0.0.12", "h1-port": "2222",
        "h2-name": "hv3", "h2-address": "10.0.0.13", "h2-user": "ubuntu",
        "f-data_devices": "/dev/sdb,/dev/sdc", "f-management_if": "eth0",
        "f-storage_if": "eth1", "f-compute_if": "eth2", "f-compute_vlans": "22-25,30",
    }
    for widget_id, text in typed.items():
        assert not next_enabled(screen)
        if widget_id in ("f-name", "h1-port", "f-compute_vlans"):
            await type_into(pilot, screen, widget_id, text)
        else:
            await fill(pilot, screen, widget_id, text)
        assert screen.query_one(f"#{widget_id}", Input).value == text
    screen.query_one("#h2-auth", Select).value = Auth.PASSWORD
    await pilot.pause()
    password = screen.query_one("#h2-password", Input)
    assert password.display
    assert not screen.query_one("#h2-key_file").display
    assert not next_enabled(screen)
    await type_into(pilot, screen, "h2-password", "s3cret!")
    assert password.password  # shown as dots
    assert next_enabled(screen)
    await pilot.click("#add-cluster-next")
    await wait_until(pilot, lambda: bool(results), what="the form dismissed")
    assert not isinstance(demo.app.screen, AddClusterScreen)
    form = results[0]
    assert isinstance(form, ClusterForm)
    assert form is not screen.form
    cluster = cluster_from_form(form)
    assert cluster.name == "lab"
    assert cluster.layout is Layout.HCI
    assert [(h.name, h.address, h.port, h.user, h.password_auth) for h in cluster.hosts] == [
        ("hv1", "10.0.0.11", 22, "root", False), ("hv2", "10.0.0.12", 2222, "root", False),
        ("hv3", "10.0.0.13", 22, "ubuntu", True)]
    assert cluster.compute_vlans == (22, 23, 24, 25, 30)
    assert cluster.data_devices == ("/dev/sdb", "/dev/sdc")
    assert form.passwords()["hv3"].get_secret_value() == "s3cret!"
    assert "s3cret!" not in repr(form)


async def test_escape_cancels(running: Running) -> None:
    demo, pilot = running
    _, results = await open_form(demo, pilot, valid_form())
    await pilot.press("escape")  # something is filled in: asked first
    await wait_until(pilot, lambda: isinstance(demo.app.screen, ConfirmModal))
    await pilot.press("y")
    await wait_until(pilot, lambda: bool(results), what="the form dismissed")
    assert results == [None]
