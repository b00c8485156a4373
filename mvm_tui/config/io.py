"""Reading config.toml (every problem a ConfigError) and writing it (atomically, 0600)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TypeVar

import tomli_w
from pydantic import BaseModel, ValidationError

from mvm_tui.config.errors import ConfigError, format_validation_error, toml_message
from mvm_tui.config.model import Config
from mvm_tui.config_example import COMMAND as EXAMPLE_COMMAND
from mvm_tui.core.validation import format_vlans
from mvm_tui.paths import write_private

M = TypeVar("M", bound=BaseModel)


def load_config(path: Path) -> Config:
    """Read and validate config.toml. Raises ConfigError on any problem."""
    return load_toml(path, Config, missing=(
        f"no such file; `{EXAMPLE_COMMAND}` prints an example to copy there and edit (every "
        "key explained), or pass --config PATH"))


def load_toml(path: Path, model: type[M], missing: str = "no such file") -> M:
    """Read and validate a TOML file as `model`. Raises ConfigError on any problem."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(path, missing) from None
    except IsADirectoryError:
        raise ConfigError(path, "is a directory, not a config file; pass --config PATH") from None
    except PermissionError:
        raise ConfigError(path, "cannot read it: permission denied") from None
    except OSError as e:
        raise ConfigError(path, f"cannot read it: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(path, f"not UTF-8 text (bad byte at offset {e.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(path, toml_message(e)) from None
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise ConfigError(path, format_validation_error(e, data)) from None


def save_config(config: Config, path: Path) -> None:
    """Write `config` to `path` as TOML, atomically and with mode 0600. A change to the file
    as it is (read, changed, written back) goes through edits.update_config, under its lock."""
    data = config.model_dump(mode="json", exclude_none=True)
    for cluster, model in zip(data["clusters"], config.clusters, strict=True):
        cluster["compute_vlans"] = format_vlans(model.compute_vlans)
    header = f"# mvm-tui configuration; `{EXAMPLE_COMMAND}` documents every key.\n\n"
    write_private(Path(path), (header + tomli_w.dumps(data)).encode("utf-8"))
