"""Parse the stdout of `ceph <cmd> -f json` into typed models.

Every function takes the command's stdout and raises CephParseError, naming the command, when
the text is not the JSON that command prints.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import ValidationError

from mvm_tui.backends.base import BackendError
from mvm_tui.backends.ceph.osdmap import Blocklist, BlocklistEntry, BlocklistRange, OsdDump
from mvm_tui.ceph_crush import OsdDfTree, OsdTree
from mvm_tui.ceph_models import (
    HealthReport,
    MonMap,
    OkToStop,
    PgList,
    PgStat,
    PoolDetail,
    QuorumStatus,
    Raw,
    SafeToDestroy,
    StatusReport,
)
from mvm_tui.models import CephStatus, PgStateCount

M = TypeVar("M", bound=Raw)


class CephParseError(BackendError):
    """A ceph command's output is not the JSON expected from it."""

    def __init__(self, command: str, reason: str) -> None:
        super().__init__(f"`ceph {command}`: {reason}")
        self.command = command


def _snippet(text: str) -> str:
    t = text.strip()
    return repr(t[:60] + ("..." if len(t) > 60 else ""))


def _load_any(command: str, text: str, kind: type[Any], what: str) -> Any:
    if not text.strip():
        raise CephParseError(command, "empty output, expected JSON")
    try:
        data = json.loads(text)
    except ValueError as e:
        raise CephParseError(command, f"output is not JSON ({e}): {_snippet(text)}") from None
    if not isinstance(data, kind):
        raise CephParseError(
            command, f"expected a JSON {what}, got {type(data).__name__}: {_snippet(text)}"
        )
    return data


def _load(command: str, text: str) -> dict[str, Any]:
    data: dict[str, Any] = _load_any(command, text, dict, "object")
    return data


def _validate(command: str, data: Any, model: type[M], where: str = "") -> M:
    try:
        return model.model_validate(data)
    except ValidationError as e:
        problems = "; ".join(
            f"{where}{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
            for err in e.errors()[:3]
        )
        more = f" (+{e.error_count() - 3} more)" if e.error_count() > 3 else ""
        raise CephParseError(command, f"unexpected JSON shape: {problems}{more}") from None


def _parse(command: str, text: str, model: type[M]) -> M:
    return _validate(command, _load(command, text), model)


def parse_status_report(text: str) -> StatusReport:
    """`ceph status -f json`, every field this module knows of."""
    return _parse("status", text, StatusReport)


def to_ceph_status(report: StatusReport) -> CephStatus:
    """The application's CephStatus, with the meaning the simulator gives each field."""
    pg = report.pgmap
    return CephStatus(
        health=report.health.status,
        checks=report.health.to_checks(),
        num_mons=report.monmap.num_mons,
        quorum_names=report.quorum_names,
        num_osds=report.osdmap.num_osds,
        num_up_osds=report.osdmap.num_up_osds,
        num_in_osds=report.osdmap.num_in_osds,
        osdmap_epoch=report.osdmap.epoch,
        pgs_by_state=tuple(
            PgStateCount(state_name=p.state_name, count=p.count)
            for p in sorted(pg.pgs_by_state, key=lambda p: (-p.count, p.state_name))
        ),
        num_pgs=pg.num_pgs,
        bytes_used=pg.bytes_used,
        bytes_total=pg.bytes_total,
        degraded_objects=pg.degraded_objects,
        misplaced_objects=pg.misplaced_objects,
        num_objects=pg.num_objects,
    )


def parse_status(text: str) -> CephStatus:
    """`ceph status -f json` as the application's CephStatus."""
    return to_ceph_status(parse_status_report(text))


def parse_health_detail(text: str) -> HealthReport:
    return _parse("health detail", text, HealthReport)


def parse_osd_df_tree(text: str) -> OsdDfTree:
    return _parse("osd df tree", text, OsdDfTree)


def parse_osd_tree(text: str) -> OsdTree:
    return _parse("osd tree", text, OsdTree)


def parse_mon_dump(text: str) -> MonMap:
    return _parse("mon dump", text, MonMap)


def parse_quorum_status(text: str) -> QuorumStatus:
    return _parse("quorum_status", text, QuorumStatus)


def parse_pg_stat(text: str) -> PgStat:
    return _parse("pg stat", text, PgStat)


def parse_pg_ls(text: str) -> PgList:
    """`ceph pg ls -f json` or `ceph pg ls-by-osd ID -f json` (the same shape)."""
    return _parse("pg ls", text, PgList)


def parse_pool_ls_detail(text: str) -> tuple[PoolDetail, ...]:
    """`ceph osd pool ls detail -f json`: a JSON list with one object per pool."""
    command = "osd pool ls detail"
    data: list[Any] = _load_any(command, text, list, "list")
    return tuple(_validate(command, p, PoolDetail, f"[{i}].") for i, p in enumerate(data))


def parse_osd_dump(text: str) -> OsdDump:
    """`ceph osd dump -f json`: the osdmap, with the full/backfillfull/nearfull ratios."""
    return _parse("osd dump", text, OsdDump)


def parse_blocklist_ls(text: str) -> Blocklist:
    """`ceph osd blocklist ls -f json`: a JSON list of address entries, then (Ceph 16.2.11+)
    a second JSON list, of range entries, with nothing between them."""
    command = "osd blocklist ls"
    decoder, rest = json.JSONDecoder(), text.strip()
    documents: list[list[Any]] = []
    while rest and len(documents) < 2:
        try:
            data, end = decoder.raw_decode(rest)
        except ValueError as e:
            raise CephParseError(command, f"output is not JSON ({e}): {_snippet(text)}") from None
        if not isinstance(data, list):
            raise CephParseError(command, f"expected JSON lists, got {type(data).__name__}: "
                                 f"{_snippet(text)}")
        documents.append(data)
        rest = rest[end:].lstrip()
    if not documents or rest:
        raise CephParseError(command, f"expected one or two JSON lists: {_snippet(text)}")
    entries = tuple(_validate(command, a, BlocklistEntry, f"[{i}].")
                    for i, a in enumerate(documents[0]))
    ranges = tuple(_validate(command, r, BlocklistRange, f"ranges[{i}].")
                   for i, r in enumerate(documents[1] if len(documents) > 1 else []))
    try:
        for entry in entries:
            entry.ip  # noqa: B018 - validates the address
        for r in ranges:
            r.network  # noqa: B018
    except ValueError as exc:
        raise CephParseError(command, f"not an address or range: {exc}") from None
    return Blocklist(entries=entries, ranges=ranges)


def _failure(command: str, returncode: int, stderr: str) -> str:
    return stderr.strip() or f"`ceph {command}` exited with status {returncode}"


def parse_ok_to_stop(text: str, *, returncode: int = 0, stderr: str = "") -> OkToStop:
    """`ceph osd ok-to-stop ID... -f json`. A refusal (exit 16, EBUSY) still prints the JSON
    verdict; other failures (bad id, PGs in unknown state, no quorum) print only stderr. Either
    way a non-zero exit is never "ok": the result then carries stderr in `error`."""
    command = "osd ok-to-stop"
    if returncode != 0 and not text.strip():
        return OkToStop(ok_to_stop=False, error=_failure(command, returncode, stderr))
    result = _parse(command, text, OkToStop)
    if returncode != 0:
        return result.model_copy(
            update={"ok_to_stop": False, "error": _failure(command, returncode, stderr)}
        )
    return result


def parse_safe_to_destroy(text: str, *, returncode: int = 0, stderr: str = "") -> SafeToDestroy:
    """`ceph osd safe-to-destroy ID... -f json`. With -f json it exits 0 and prints the verdict;
    when PGs are in unknown state it exits non-zero (EAGAIN) with only stderr. A non-zero exit
    yields a result that is safe for no OSD, carrying stderr in `error`."""
    command = "osd safe-to-destroy"
    if returncode != 0 and not text.strip():
        return SafeToDestroy(
            safe_to_destroy=(),
            active=(),
            missing_stats=(),
            stored_pgs=(),
            error=_failure(command, returncode, stderr),
        )
    result = _parse(command, text, SafeToDestroy)
    if returncode != 0:
        return result.model_copy(update={"error": _failure(command, returncode, stderr)})
    return result
