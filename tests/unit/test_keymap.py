"""The [keys] table: its form is checked by the loader, its binding ids and clashes by the
TUI's keymap (mvm_tui.keymap) before anything starts; every message names the file and key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mvm_tui.cli import main
from mvm_tui.config import ConfigError, load_config
from mvm_tui.keymap import binding_classes, checked_keymap, keymap_problems

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"


def config_file(tmp_path: Path, keys: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f"[keys]\n{keys}\n")
    return path


def load_error(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        checked_keymap(load_config(path), path)
    assert all(line.startswith(f"{path}: keys.") for line in str(exc.value).splitlines())
    assert "Traceback" not in str(exc.value)
    return exc.value.problems


@pytest.mark.parametrize("value", ['""', '" , "', '"v,"', "3", '["v"]'])
def test_a_bad_key_is_a_message(tmp_path: Path, value: str) -> None:
    problems = load_error(config_file(tmp_path, f'"go.vms" = {value}'))
    assert len(problems) == 1, problems
    assert problems[0].startswith('keys."go.vms": '), problems


def test_an_unknown_binding_id_is_a_message(tmp_path: Path) -> None:
    assert load_error(config_file(tmp_path, '"go.vm" = "v"')) == [
        "keys.\"go.vm\": unknown binding id (did you mean 'go.vms'?)"]
    problems = load_error(config_file(tmp_path, '"zzz" = "v"'))
    assert problems[0].startswith('keys."zzz": unknown binding id; expected one of: ')
    assert "go.vms" in problems[0]
    assert "table.sort" in problems[0]


def test_a_key_two_bindings_of_one_screen_share_is_a_message(tmp_path: Path) -> None:
    # u starts a VM on the VMs screen: go.vms cannot have it
    problems = load_error(config_file(tmp_path, '"go.vms" = "u"'))
    assert len(problems) == 1
    assert problems[0].startswith("keys.\"go.vms\": 'u' is already the key of vm.start in ")
    assert "VmsScreen" in problems[0]
    # within one dialog
    assert load_error(config_file(tmp_path, '"confirm.yes" = "n"')) == [
        "keys.\"confirm.yes\": 'n' is already the key of confirm.no in ConfirmModal; give "
        "each a key of its own"]
    # ? is question_mark, the help key
    assert "app.keys" in load_error(config_file(tmp_path, '"vm.start" = "?"'))[0]


def test_keys_of_different_screens_or_moved_away_do_not_clash(tmp_path: Path) -> None:
    keys = ('"go.vms" = "v"\n"app.quit" = "ctrl+q"\n"vm.start" = "3"\n'
            '"host.maintenance" = "u"\n"incidents.close" = "escape,q"')
    path = config_file(tmp_path, keys)
    assert checked_keymap(load_config(path), path) == {
        "go.vms": "v", "app.quit": "ctrl+q", "vm.start": "3", "host.maintenance": "u",
        "incidents.close": "escape,q"}
    assert keymap_problems({}) == []


def test_ids_may_be_dotted_keys(tmp_path: Path) -> None:
    path = config_file(tmp_path, 'go.vms = " 3 , v "\napp.quit = "ctrl+q"')
    assert load_config(path).keys == {"go.vms": "3,v", "app.quit": "ctrl+q"}


def test_the_example_keys_apply() -> None:
    config = load_config(EXAMPLE)
    assert config.keys
    assert checked_keymap(config, EXAMPLE) == config.keys


def test_every_binding_has_an_area_action_id() -> None:
    classes = binding_classes()
    assert {c.__name__ for c in classes} >= {"MvmApp", "VmsScreen", "ResourceTable",
                                             "ConfirmModal"}
    for cls in classes:
        for binding in cls.__dict__["BINDINGS"]:
            assert binding.id, (cls, binding)
            assert re.fullmatch(r"[a-z_]+\.[a-z_]+", binding.id), (cls, binding)


def test_the_tui_refuses_bad_keys_before_it_starts(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    path = config_file(tmp_path, '"go.vm" = "v"')
    assert main(["--demo", "--config", str(path)]) == 2
    assert capsys.readouterr().err == (
        f"mvm-tui: {path}: keys.\"go.vm\": unknown binding id (did you mean 'go.vms'?)\n")
