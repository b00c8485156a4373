"""HA's settings: their timer rules live in one place (core.failover_plan.timer_problem), so
config.toml's [timers] and HaSettings refuse the same timers with the same words; and they are
made from the config in one place (session.ha_settings), for the HA service and the drill."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from mvm_tui.backends.sim import demo_cluster
from mvm_tui.clock import VirtualClock
from mvm_tui.config import (
    Config,
    ConfigError,
    HaConfig,
    Timers,
    demo_config,
    format_validation_error,
    load_config,
)
from mvm_tui.core.failover import HaSettings
from mvm_tui.ha_cli import build_ha_service
from mvm_tui.session import open_session


@pytest.mark.parametrize(("timers", "message"), [
    ("ha_check_interval = 5\nha_check_timeout = 5\n",
     "timers: ha_check_timeout (5 s) must be below ha_check_interval (5 s)"),
    ("ha_grace_period = 30\nha_blocklist_expiry = 30\n",
     "timers: ha_blocklist_expiry (30 s) must be longer than ha_grace_period (30 s)"),
    ("ha_check_interval = 40\n",
     "timers: ha_grace_period (30 s) must be at least ha_check_interval (40 s)"),
])
def test_the_config_names_the_broken_rule(tmp_path: Path, timers: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f"[timers]\n{timers}")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value) == f"{path}: {message}"


def test_ha_settings_refuse_a_check_timeout_not_below_the_interval() -> None:
    with pytest.raises(ValueError, match=re.escape(
            "check_timeout (5 s) must be below check_interval (5 s)")):
        HaSettings(check_interval=5.0, check_timeout=5.0)


def _settings_problem(interval: float, timeout: float, grace: float, expiry: float
                      ) -> str | None:
    try:
        HaSettings(check_interval=interval, check_timeout=timeout, grace_period=grace,
                   blocklist_expiry=expiry)
    except ValueError as exc:
        return str(exc)
    return None


def _config_problem(interval: float, timeout: float, grace: float, expiry: float
                    ) -> str | None:
    try:
        Config.model_validate({"timers": {
            "ha_check_interval": interval, "ha_check_timeout": timeout,
            "ha_grace_period": grace, "ha_blocklist_expiry": expiry}})
    except ValidationError as exc:
        [line] = format_validation_error(exc)
        return line.removeprefix("timers: ")
    return None


seconds = st.sampled_from([0.5, 1.0, 2.0, 4.0, 5.0, 10.0, 30.0, 60.0])


@given(seconds, seconds, seconds, seconds)
def test_the_config_and_ha_settings_refuse_the_same_timers(
        interval: float, timeout: float, grace: float, expiry: float) -> None:
    from_settings = _settings_problem(interval, timeout, grace, expiry)
    from_config = _config_problem(interval, timeout, grace, expiry)
    if from_settings is None:
        assert from_config is None
    else:  # the config's keys are the settings' names with "ha_" before them
        assert from_config == re.sub(
            r"\b(check_interval|check_timeout|grace_period|blocklist_expiry)\b", r"ha_\1",
            from_settings)


def test_the_session_makes_the_settings_ha_and_the_drill_use(tmp_path: Path) -> None:
    base = demo_config()
    spec = base.clusters[0].model_copy(update={"ha": HaConfig(
        failback="ask", priorities={"web-01": 10})})
    config = Config(timers=Timers(ha_check_interval=2.0, ha_grace_period=10.0,
                                  ha_blocklist_expiry=600.0), clusters=[spec])
    clock = VirtualClock()
    session = open_session(config, demo=False, clock=clock, backend=demo_cluster(clock),
                           db_path=tmp_path / "runs.db")
    cluster = session.clusters[0]
    assert cluster.ha_settings == HaSettings(
        check_interval=2.0, check_timeout=1.6, grace_period=10.0, blocklist_expiry=600.0,
        failback="ask", priorities={"web-01": 10})
    service = build_ha_service(session, cluster, lock_dir=tmp_path / "ha")
    assert service.settings is cluster.ha_settings
    session.close_store()
