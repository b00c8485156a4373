"""Reading sudo's prompt and the success marker out of a become command's output, however
the output is cut into chunks, and the command's own output left exactly as it was."""

from __future__ import annotations

import itertools
import subprocess

from hypothesis import assume, given
from hypothesis import strategies as st

from mvm_tui.backends.ssh.become import Markers, SudoStreams, become_argv

M = Markers(prompt="[mvm-tui sudo p0] password:", success="mvm-tui-sudo-ok-s0")


def cut(text: str, at: list[int]) -> list[str]:
    """text in chunks, cut at the given positions."""
    points = sorted({min(max(p, 0), len(text)) for p in at})
    bounds = [0, *points, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


def feed(streams: SudoStreams, out: list[str], err: list[str]) -> tuple[str, str]:
    shown_out = "".join(streams.stdout(c) for c in out)
    shown_err = "".join(streams.stderr(c) for c in err)
    held_out, held_err = streams.end()
    return shown_out + held_out, shown_err + held_err


def test_the_success_line_is_removed_and_what_follows_it_in_the_same_chunk_kept() -> None:
    s = SudoStreams(M)
    assert s.stdout("mvm-tui-sudo-ok-s0\nfirst line\nsec") == "first line\nsec"
    assert s.started
    assert s.stdout("ond\n") == "ond\n"


def test_the_success_marker_split_at_every_place_is_found_once() -> None:
    text = f"{M.success}\nout"
    for i in range(len(text) + 1):
        s = SudoStreams(M)
        shown = s.stdout(text[:i])
        assert not s.started or i >= len(M.success) + 1
        shown += s.stdout(text[i:])
        assert s.started, i
        assert shown == "out", i


def test_one_character_at_a_time() -> None:
    s = SudoStreams(M)
    text = f"{M.success}\nhello\n"
    assert "".join(s.stdout(c) for c in text) == "hello\n"
    s2 = SudoStreams(M)
    err = f"lecture\n{M.prompt}"
    assert "".join(s2.stderr(c) for c in err) == "lecture\n"
    assert s2.prompts == 1


def test_no_success_line_means_not_started_and_nothing_is_lost() -> None:
    s = SudoStreams(M)
    assert s.stdout("mvm-tui-sudo-ok-s") == ""
    assert s.stdout("9\n") == ""  # another marker: not ours
    assert not s.started
    assert s.end() == ("mvm-tui-sudo-ok-s9\n", "")


def test_the_marker_without_its_newline_is_not_the_success_line() -> None:
    s = SudoStreams(M)
    s.stdout(M.success)
    assert not s.started
    assert s.stdout("\n") == ""
    assert s.started


def test_the_command_printing_the_markers_gets_them_shown() -> None:
    s = SudoStreams(M)
    assert s.stdout(f"{M.success}\n{M.success}\n") == f"{M.success}\n"
    assert s.stderr(f"{M.prompt}\n") == f"{M.prompt}\n"
    assert s.prompts == 0


def test_a_prompt_split_at_every_place_is_counted_once_and_removed() -> None:
    text = f"We trust you have received the usual lecture.\n{M.prompt}"
    for i in range(len(text) + 1):
        s = SudoStreams(M)
        shown = s.stderr(text[:i])
        assert s.prompts == (1 if i == len(text) else 0), i
        shown += s.stderr(text[i:])
        assert s.prompts == 1, i
        assert shown == "We trust you have received the usual lecture.\n", i


def test_a_prompt_again_is_counted_again() -> None:
    s = SudoStreams(M)
    assert s.stderr(M.prompt) == ""
    assert s.stderr(f"Sorry, try again.\n{M.prompt}") == "Sorry, try again.\n"
    assert s.prompts == 2
    s2 = SudoStreams(M)
    assert s2.stderr(M.prompt * 3) == ""
    assert s2.prompts == 3


def test_a_held_beginning_that_is_no_prompt_comes_out_later() -> None:
    s = SudoStreams(M)
    assert s.stderr("sudo: [mvm") == "sudo: "
    assert s.stderr("] not a prompt\n") == "[mvm] not a prompt\n"
    assert s.prompts == 0
    s2 = SudoStreams(M)
    assert s2.stderr("[mvm-tui sudo p") == ""
    assert s2.end() == ("", "[mvm-tui sudo p")


def test_held_stderr_comes_out_once_the_command_runs() -> None:
    s = SudoStreams(M)
    assert s.stderr("[mvm-tui") == ""
    s.stdout(f"{M.success}\n")
    assert s.stderr(" sudo p0] password:") == M.prompt  # the command's own text now
    assert s.prompts == 0


@given(
    lecture=st.text(max_size=80),
    command_out=st.text(max_size=200),
    command_err=st.text(max_size=200),
    out_cuts=st.lists(st.integers(0, 300), max_size=6),
    err_cuts=st.lists(st.integers(0, 300), max_size=6),
)
def test_any_output_cut_anyhow_comes_out_exactly_without_the_markers(
    lecture: str, command_out: str, command_err: str, out_cuts: list[int], err_cuts: list[int]
) -> None:
    assume(M.prompt not in lecture)
    s = SudoStreams(M)
    out = f"{M.success}\n{command_out}"
    # what sudo writes (a lecture, the prompt) and then what the command writes, stderr
    # fed before stdout (the success line) arrives for the part up to the prompt
    before = f"{lecture}{M.prompt}"
    shown_err = "".join(s.stderr(c) for c in cut(before, err_cuts))
    assert s.prompts == 1
    shown_out, rest_err = feed(s, cut(out, out_cuts), cut(command_err, err_cuts))
    assert shown_out == command_out
    assert s.started
    assert shown_err + rest_err == lecture + command_err


def test_fresh_markers_are_one_time_and_plain() -> None:
    a, b = Markers.fresh(), Markers.fresh()
    assert a.prompt != b.prompt
    assert a.success != b.success
    for text in (a.prompt, a.success):
        assert "%" not in text
        assert "'" not in text
        assert "\n" not in text
    assert a.success.replace("-", "").isalnum()


def test_the_wrapper_prints_the_marker_then_runs_the_argv_literally() -> None:
    argv = become_argv(M, ["printf", "%s|", "a b", "$(id)", "'q'"])
    assert argv[:5] == ["sudo", "-S", "-p", M.prompt, "--"]
    shell = argv[5:]  # what sudo runs: a real sh here
    done = subprocess.run(shell, capture_output=True, text=True, check=True, input="")
    assert done.stdout == f"{M.success}\na b|$(id)|'q'|"
