"""The exact ceph command lines: argv, validation of every input, quoting for the preview."""

from __future__ import annotations

import shlex
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mvm_tui.backends.ceph import commands as c

T = ["ceph", "--connect-timeout", "10"]
J = ["-f", "json"]

HOSTILE = [
    "osd.1; reboot",
    "$(id)",
    "`id`",
    "h1 && rm -rf /",
    "mvmlab-h3\n",
    "mvmlab\nh3",
    "with space",
    "it's",
    'say "hi"',
    "-h",
    "--yes-i-really-mean-it",
    ".hidden",
    "_x",
    "",
    "héte",
    "h1|cat",
    "h1>/etc/passwd",
    "a/b",
    "*",
]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (c.status(), [*T, "status", *J]),
        (c.health_detail(), [*T, "health", "detail", *J]),
        (c.osd_df_tree(), [*T, "osd", "df", "tree", *J]),
        (c.osd_tree(), [*T, "osd", "tree", *J]),
        (c.mon_dump(), [*T, "mon", "dump", *J]),
        (c.quorum_status(), [*T, "quorum_status", *J]),
        (c.pg_stat(), [*T, "pg", "stat", *J]),
        (c.osd_ok_to_stop([2]), [*T, "osd", "ok-to-stop", "2", *J]),
        (c.osd_ok_to_stop([0, 2, 2]), [*T, "osd", "ok-to-stop", "0", "2", *J]),
        (c.osd_safe_to_destroy([1, 2]), [*T, "osd", "safe-to-destroy", "1", "2", *J]),
        (c.osd_out(2), [*T, "osd", "out", "2"]),
        (c.osd_crush_remove(2), [*T, "osd", "crush", "remove", "osd.2"]),
        (c.osd_crush_rm_host("mvmlab-h3"), [*T, "osd", "crush", "rm", "mvmlab-h3"]),
        (c.auth_del_osd(2), [*T, "auth", "del", "osd.2"]),
        (c.osd_rm(2), [*T, "osd", "rm", "2"]),
        (c.osd_purge(0), [*T, "osd", "purge", "0", "--yes-i-really-mean-it"]),
        (c.mon_remove("mvmlab-h3"), [*T, "mon", "remove", "mvmlab-h3"]),
        (
            c.osd_blocklist_add("10.213.0.13:0/0", 3600),
            [*T, "osd", "blocklist", "add", "10.213.0.13:0/0", "3600"],
        ),
        (c.osd_blocklist_rm("10.213.0.13:0/0"), [*T, "osd", "blocklist", "rm", "10.213.0.13:0/0"]),
        (c.osd_blocklist_ls(), [*T, "osd", "blocklist", "ls", *J]),
    ],
)
def test_argv(argv: list[str], expected: list[str]) -> None:
    assert argv == expected


def test_connect_timeout_is_configurable() -> None:
    assert c.status(connect_timeout=3)[:3] == ["ceph", "--connect-timeout", "3"]
    assert c.osd_out(1, connect_timeout=30) == [
        "ceph",
        "--connect-timeout",
        "30",
        "osd",
        "out",
        "1",
    ]
    for bad in (0, -1, True, 2.5, "10"):
        with pytest.raises(ValueError, match="connect timeout"):
            c.status(connect_timeout=bad)  # type: ignore[arg-type]


def test_render_shows_the_exact_command() -> None:
    assert c.render(c.osd_out(2)) == "ceph --connect-timeout 10 osd out 2"
    assert c.render(c.status()) == "ceph --connect-timeout 10 status -f json"
    assert c.render(["echo", "a b", "$(id)", "it's"]) == "echo 'a b' '$(id)' 'it'\"'\"'s'"


OSD_BUILDERS: list[Callable[[int], list[str]]] = [
    c.osd_out,
    c.osd_crush_remove,
    c.auth_del_osd,
    c.osd_rm,
    c.osd_purge,
    lambda o: c.osd_ok_to_stop([o]),
    lambda o: c.osd_safe_to_destroy([o]),
]
NAME_BUILDERS: list[Callable[[str], list[str]]] = [c.osd_crush_rm_host, c.mon_remove]


@pytest.mark.parametrize("build", OSD_BUILDERS)
@pytest.mark.parametrize("bad", [-1, True, False, 1.0, "1", "osd.1", "1; reboot", "$(id)", None])
def test_bad_osd_ids_are_rejected(build: Callable[[object], list[str]], bad: object) -> None:
    with pytest.raises(ValueError, match="invalid OSD id"):
        build(bad)


@pytest.mark.parametrize("bad", [[], (), "12", b"1", 3, None])
def test_bad_osd_id_lists_are_rejected(bad: object) -> None:
    for build in (c.osd_ok_to_stop, c.osd_safe_to_destroy):
        with pytest.raises(ValueError, match="invalid OSD ids"):
            build(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("build", NAME_BUILDERS)
@pytest.mark.parametrize("bad", [*HOSTILE, None, 3])
def test_hostile_names_are_rejected(build: Callable[[object], list[str]], bad: object) -> None:
    with pytest.raises(ValueError, match=r"invalid (host|monitor) name .*must match"):
        build(bad)


@pytest.mark.parametrize("good", ["mvmlab-h3", "h1", "3par", "node_2.example.org", "A.b-c_d"])
def test_good_names_are_accepted(good: str) -> None:
    assert c.mon_remove(good)[-1] == good
    assert c.osd_crush_rm_host(good)[-1] == good


@pytest.mark.parametrize(
    "addr", ["10.213.0.13", "10.213.0.13:0/0", "10.213.0.13:6789", "[fd00::13]:0/0", "[::1]"]
)
def test_good_addresses(addr: str) -> None:
    assert c.osd_blocklist_add(addr, 60)[-2:] == [addr, "60"]
    assert c.osd_blocklist_rm(addr)[-1] == addr


@pytest.mark.parametrize(
    "addr",
    [
        *HOSTILE,
        "10.213.0.13; reboot",
        "10.213.0.256:0/0",
        "10.213.0.13:70000/0",
        "10.213.0.13:0/99999999999",
        "fd00::13:0/0",
        "[fd00::13%eth0]:0/0",
        "10.213.0.13:0/0\n",
        "host.example.org:0/0",
        None,
    ],
)
def test_bad_addresses(addr: object) -> None:
    with pytest.raises(ValueError, match="invalid address"):
        c.osd_blocklist_add(addr, 60)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="invalid address"):
        c.osd_blocklist_rm(addr)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [0, -5, True, 1.5, "3600", None])
def test_bad_blocklist_expiry(bad: object) -> None:
    with pytest.raises(ValueError, match="expiry"):
        c.osd_blocklist_add("10.213.0.13:0/0", bad)  # type: ignore[arg-type]


# -- properties

names = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,40}\Z")
osd_ids = st.integers(min_value=0, max_value=2**31)
timeouts = st.integers(min_value=1, max_value=3600)


@st.composite
def any_command(draw: st.DrawFn) -> list[str]:
    t = draw(timeouts)
    o = draw(osd_ids)
    n = draw(names)
    ids = draw(st.lists(osd_ids, min_size=1, max_size=5))
    return draw(
        st.sampled_from(
            [
                c.status(connect_timeout=t),
                c.osd_ok_to_stop(ids, connect_timeout=t),
                c.osd_safe_to_destroy(ids, connect_timeout=t),
                c.osd_out(o, connect_timeout=t),
                c.osd_crush_remove(o, connect_timeout=t),
                c.auth_del_osd(o, connect_timeout=t),
                c.osd_rm(o, connect_timeout=t),
                c.osd_purge(o, connect_timeout=t),
                c.osd_crush_rm_host(n, connect_timeout=t),
                c.mon_remove(n, connect_timeout=t),
            ]
        )
    )


@given(any_command())
def test_rendered_commands_round_trip(argv: list[str]) -> None:
    assert shlex.split(c.render(argv)) == argv
    assert argv[:2] == ["ceph", "--connect-timeout"]


@given(st.text(max_size=30))
def test_any_text_is_rejected_or_round_trips(value: str) -> None:
    try:
        argv = c.mon_remove(value)
    except ValueError:
        return
    assert argv[-1] == value
    assert shlex.split(c.render(argv)) == argv
    assert value.isascii()
    assert value[0].isalnum()
    assert "\n" not in value


@given(st.lists(st.text(), max_size=6))
def test_render_quotes_every_argument(argv: list[str]) -> None:
    assert shlex.split(c.render(argv)) == argv
