"""The field types of config.toml's models: how a value is read (paths, devices, VLANs, key
lists), which checks of core.validation apply to it, and how a message shows a value."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

from mvm_tui.core.validation import (
    parse_devices,
    parse_vlans,
    quote,
    validate_address,
    validate_cpu_model,
    validate_device,
    validate_hostname_label,
    validate_ifname,
    validate_jump_host,
    validate_port,
    validate_user,
)


def _path(value: object) -> object:
    """Paths: '~' expanded; control characters and empty strings rejected."""
    if isinstance(value, str):
        if not value.strip():
            raise ValueError("expected a file path, got an empty string")
        for ch in value:
            if ch in "\n\r\t\0" or not ch.isprintable():
                raise ValueError(f"contains {ch!r} which is not allowed in a file path")
        return Path(value).expanduser()
    if isinstance(value, Path):
        return value.expanduser()
    return value


def _devices(value: object) -> tuple[str, ...]:
    if isinstance(value, str | list | tuple):
        return parse_devices(value)
    raise ValueError(
        f"expected a list of device paths such as [\"/dev/sdb\"], got {describe(value)}"
    )


def _vlans(value: object) -> tuple[int, ...]:
    if isinstance(value, str | int | list | tuple) and not isinstance(value, bool):
        return parse_vlans(value)
    raise ValueError(f"expected VLANs such as \"22-25,30\" or [22, 23], got {describe(value)}")


Name = Annotated[str, AfterValidator(validate_hostname_label)]
Address = Annotated[str, AfterValidator(validate_address)]
Port = Annotated[int, AfterValidator(validate_port)]
User = Annotated[str, AfterValidator(validate_user)]
JumpHost = Annotated[str, AfterValidator(validate_jump_host)]
IfName = Annotated[str, AfterValidator(validate_ifname)]
CpuModel = Annotated[str, AfterValidator(validate_cpu_model)]
ClusterColor = Literal["blue", "green", "magenta", "cyan", "yellow", "red"]
CLUSTER_COLORS: tuple[str, ...] = get_args(ClusterColor)
FilePath = Annotated[Path, BeforeValidator(_path)]
Devices = Annotated[tuple[Annotated[str, AfterValidator(validate_device)], ...],
                    BeforeValidator(_devices)]
Vlans = Annotated[tuple[int, ...], BeforeValidator(_vlans)]


class StrictModel(BaseModel):
    """A table of config.toml: unknown keys refused, assignments validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def _key_list(text: str) -> str:
    keys = [key.strip() for key in text.split(",")]
    if not all(keys):
        raise ValueError(f"{quote(text)} is not a key or a comma-separated list of keys, such "
                         'as "v" or "3,v"')
    return ",".join(keys)


KeyList = Annotated[str, AfterValidator(_key_list)]


def check_unique(values: list[str], table: str, what: str) -> None:
    seen: dict[str, int] = {}
    for i, v in enumerate(values):
        if v in seen:
            raise ValueError(
                f"{what} {quote(v)} is used twice ({table}[{seen[v]}] and {table}[{i}]); "
                f"each must be unique"
            )
        seen[v] = i


def describe(value: object) -> str:
    """How a message shows a TOML value it did not expect."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return quote(value, 40)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list | tuple):
        return "a list"
    if value is None:
        return "nothing"
    return f"a {type(value).__name__}"
