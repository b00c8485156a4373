"""New VM: the wizard of `n` on the VMs screen (issue 17). The form makes the same request as
`mvm-tui vm create --from FILE` (config/vm_file.VmFile), checked against the cluster before
the dialog closes: each wrong value is named by its field under the form, and where the size
fits is said as it is typed. Dismissed with the creation run's parameters, or None."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import ValidationError
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from mvm_tui.backends.base import BackendError
from mvm_tui.config import PlanConfig
from mvm_tui.config.vm_file import VmFile
from mvm_tui.core.plans import Size, breaks_text, where_it_fits
from mvm_tui.models import Placement
from mvm_tui.services.cluster import Cluster
from mvm_tui.services.workloads.create import RequestRefused
from mvm_tui.widgets.literal import literal

AUTO = "(automatic)"


class NewVmScreen(ModalScreen[dict[str, Any] | None]):
    AUTO_FOCUS = "#new-name"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="new.cancel"),
        Binding("ctrl+s", "plan", "Plan", id="new.plan", priority=True),
    ]

    def __init__(self, cluster: Cluster, plans: dict[str, PlanConfig]) -> None:
        super().__init__()
        self.cluster, self.plans = cluster, plans

    def compose(self) -> ComposeResult:
        c = self.cluster.config
        vlans = c.compute_vlans if c else []
        hosts = [h.name for h in self.cluster.snapshot().hosts]
        with Vertical(classes="dialog", id="new-dialog"):
            yield Label(literal(f"New VM in {self.cluster.name}"), classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield from _field("Name", Input(id="new-name", placeholder="web-1"))
                yield from _field("Plan", Select([(f"{n}: {p.vcpus} vCPU, {p.memory_mb} MiB, "
                                                   f"{p.disk_gb} GiB", n)
                                                  for n, p in sorted(self.plans.items())],
                                                 id="new-plan", prompt="custom size"))
                with Horizontal(classes="fields-row"):
                    yield Input(id="new-vcpus", placeholder="vCPUs", type="integer")
                    yield Input(id="new-memory", placeholder="memory MiB", type="integer")
                    yield Input(id="new-disk", placeholder="root disk GiB", type="integer")
                yield Static("", id="new-fits", classes="dim")
                yield from _field("Extra empty disks (GiB, comma-separated)",
                                  Input(id="new-volumes", placeholder="50, 100"))
                yield from _field("Image", Select([], id="new-image", prompt="(loading)"))
                yield from _field("VLANs (a NIC on each; the cluster's: "
                                  f"{', '.join(map(str, vlans)) or 'none'})",
                                  Input(str(vlans[0]) if vlans else "", id="new-vlans"))
                yield from _field("Host", Select([(h, h) for h in hosts], id="new-host",
                                                 prompt=AUTO))
                yield from _field("Placement", Select([(p.value, p.value) for p in Placement],
                                                      id="new-placement", value="auto",
                                                      allow_blank=False))
                yield from _field("Restart priority after a host loss (higher first)",
                                  Input("0", id="new-priority", type="integer"))
                yield from _field("Host name (cloud-init; default: its name)",
                                  Input(id="new-hostname"))
                yield from _field("User (cloud-init)", Input("ops", id="new-user"))
                yield from _field("SSH public key, or a .pub file on this machine",
                                  Input(id="new-key", placeholder="~/.ssh/id_ed25519.pub"))
                yield from _field("Static address (blank: DHCP)",
                                  Input(id="new-address", placeholder="10.0.22.15/24"))
                with Horizontal(classes="fields-row"):
                    yield Input(id="new-gateway", placeholder="gateway")
                    yield Input(id="new-dns", placeholder="DNS servers, comma-separated")
                yield from _field("Your own #cloud-config, a file on this machine (merged)",
                                  Input(id="new-user-data", placeholder="~/extra.yaml"))
                yield Checkbox("Make it even if the failover reserve breaks",
                               id="new-override")
            yield Static("", id="new-problems", classes="error")  # (always in view)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Plan (ctrl+s)", variant="primary", id="new-plan-it")
                yield Button("Cancel (esc)", id="new-cancel")

    def on_mount(self) -> None:
        self.run_worker(self._load_images(), exit_on_error=False)

    async def _load_images(self) -> None:
        w = self.cluster.backend.workloads()
        select = self.query_one("#new-image", Select)
        try:
            images = [i for i in await w.images() if i.ready] if w is not None else []
        except BackendError as exc:
            self._problems([f"image: the library cannot be read: {exc}"])
            return
        select.prompt = "choose one" if images else "the library is empty: import one first"
        select.set_options([(f"{i.name} ({i.os or 'OS not said'}, "
                             f"{i.size_bytes / 2**30:.1f} GiB)", i.name) for i in images])

    def _problems(self, lines: list[str]) -> None:
        self.query_one("#new-problems", Static).update(literal("\n".join(lines)))

    def _text(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Input).value.strip()

    def _choice(self, widget_id: str) -> str | None:
        value = self.query_one(f"#{widget_id}", Select).value
        return value if isinstance(value, str) else None

    def form(self) -> dict[str, Any]:
        """The form as a VM file's values (blank fields left out)."""
        data: dict[str, Any] = {"name": self._text("new-name"),
                                "image": self._choice("new-image") or "",
                                "placement": self._choice("new-placement") or "auto",
                                "allow_reserve_break":
                                    self.query_one("#new-override", Checkbox).value}
        for key, widget in (("vcpus", "new-vcpus"), ("memory_mb", "new-memory"),
                            ("disk_gb", "new-disk"), ("restart_priority", "new-priority")):
            if self._text(widget):
                data[key] = self._text(widget)
        for key, widget in (("plan", "new-plan"), ("host", "new-host")):
            if self._choice(widget):
                data[key] = self._choice(widget)
        data["vlans"] = _listed(self._text("new-vlans"))
        data["volumes_gb"] = _listed(self._text("new-volumes"))
        key = self._text("new-key")
        if key and not key.startswith(("ssh-", "ecdsa-", "sk-")):
            try:
                key = Path(key).expanduser().read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as exc:
                raise ValueError(f"cloud_init.ssh_keys: cannot read {key}: {exc}") from None
        cloud: dict[str, Any] = {"user": self._text("new-user") or "mvm",
                                 "ssh_keys": [key] if key else []}
        for field, widget in (("hostname", "new-hostname"),
                              ("user_data_file", "new-user-data")):
            if self._text(widget):
                cloud[field] = self._text(widget)
        if self._text("new-address"):
            cloud |= {"address": self._text("new-address"),
                      "gateway": self._text("new-gateway"),
                      "dns": _listed(self._text("new-dns"))}
        data["cloud_init"] = cloud
        return data

    def on_input_changed(self) -> None:
        self._show_fits()

    def on_select_changed(self) -> None:
        self._show_fits()

    def _show_fits(self) -> None:
        """Where the size typed (or the plan's) fits, and what it does to the reserve."""
        plan = self.plans.get(self._choice("new-plan") or "")
        try:
            vcpus = int(self._text("new-vcpus") or (plan.vcpus if plan else 0))
            memory = int(self._text("new-memory") or (plan.memory_mb if plan else 0))
        except ValueError:
            return
        if not (vcpus and memory):
            return
        fits = where_it_fits(Size(vcpus, memory), self.cluster.snapshot(),
                             self.cluster.ha_settings)
        said = [f"{f.host}: " + ("fits" if f.ok else f.room or breaks_text(f)) for f in fits]
        self.query_one("#new-fits", Static).update(literal("; ".join(said) or
                                                           "no host can take VMs now"))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "new-plan-it":
            self.action_plan()
        else:
            self.dismiss(None)

    def action_plan(self) -> None:
        self.run_worker(self._plan(), group="new-vm", exclusive=True, exit_on_error=False)

    async def _plan(self) -> None:
        try:
            request = VmFile.model_validate(self.form()).request(self.plans)
            params = await self.cluster.new_vm_params(request)
        except ValidationError as exc:
            self._problems([f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                            for e in exc.errors()])
            return
        except RequestRefused as exc:
            self._problems([f"{field}: {why}" for field, why in exc.problems.items()])
            return
        except (ValueError, BackendError) as exc:
            self._problems([str(exc)])
            return
        self.dismiss(params)

    def action_cancel(self) -> None:
        self.dismiss(None)


def _listed(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _field(label: str, widget: Input | Select[str]) -> ComposeResult:
    yield Label(literal(label))
    yield widget
