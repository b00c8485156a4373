"""Plans: named VM sizes offered when a VM is created (a custom size can always be given)."""

from __future__ import annotations

from pydantic import Field

from mvm_tui.config.fields import StrictModel
from mvm_tui.core.vm_spec import MAX_MEMORY_MB, MAX_VCPUS


class PlanConfig(StrictModel):
    """One named size."""

    vcpus: int = Field(ge=1, le=MAX_VCPUS, description="Virtual CPUs.")
    memory_mb: int = Field(ge=64, le=MAX_MEMORY_MB, description="Memory in MiB.")
    disk_gb: int = Field(ge=1, le=65536, description="The root disk's size in GB.")


def default_plans() -> dict[str, PlanConfig]:
    """The plans of a config without a [plans] table."""
    return {
        "small": PlanConfig(vcpus=1, memory_mb=2048, disk_gb=20),
        "medium": PlanConfig(vcpus=2, memory_mb=4096, disk_gb=40),
        "large": PlanConfig(vcpus=4, memory_mb=8192, disk_gb=80),
        "xlarge": PlanConfig(vcpus=8, memory_mb=16384, disk_gb=160),
    }
