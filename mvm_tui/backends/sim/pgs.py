"""Ceph placement groups: where each PG's copies live and how recovery moves them.

The simulation is event driven: it jumps from one osdmap change or recovery completion to
the next, so a quiet hour costs nothing and a backfill of a whole OSD costs one step per PG.
Each PG maps to `size` OSDs on distinct hosts by a straw2-like draw (an OSD leaving only
remaps the PGs it held). A PG's copies are fractions of its objects held per OSD: 1.0 is a
full, current copy; a copy on an OSD that was away is "stale" (log-based recovery brings it
back, which is fast); a new copy is backfilled from zero.
"""

from __future__ import annotations

import math
import random
from collections import Counter, deque
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from mvm_tui.backends.sim.metrics import unit

_EPS = 1e-9


class MapChange(NamedTuple):
    time: float
    up: tuple[bool, ...]
    in_: tuple[bool, ...]


class PgView(NamedTuple):
    """One PG as its primary reports it."""

    state: str  # e.g. "active+undersized+degraded"
    degraded: int  # object copies missing
    misplaced: int  # object copies in the wrong place
    active: bool
    undersized: bool
    stale: bool
    priority: int  # for the recovery queue: log recovery, then degraded, then misplaced
    wants_data: bool  # active, with an OSD of its up set to fill


class PgSummary(NamedTuple):
    by_state: dict[str, int]
    degraded: int
    misplaced: int
    degraded_pgs: int
    undersized_pgs: int
    inactive_pgs: int
    stale_pgs: int


@dataclass
class _Pg:
    objects: int
    nbytes: float
    order: tuple[int, ...]  # OSDs by preference
    up: tuple[int, ...] = ()
    have: dict[int, float] = field(default_factory=dict)  # OSD -> share of objects held
    stale: set[int] = field(default_factory=set)  # copies out of date: log recovery


class PgSim:
    def __init__(
        self,
        osd_hosts: list[str],
        osd_weights: list[float],
        *,
        pgs: int,
        size: int,
        min_size: int,
        stored_bytes: float,
        object_size: int,
        rate_bps: float,
        max_active: int,
        rewrite_per_s: float,
        seed: int,
        now: float,
    ) -> None:
        self.osd_hosts = osd_hosts
        self.size, self.min_size = size, min_size
        self.rate_bps, self.max_active, self.rewrite_per_s = rate_bps, max_active, rewrite_per_s
        self.time = now
        n = len(osd_hosts)
        self.up = [True] * n
        self.in_ = [True] * n
        self._down_at: list[float] = [now] * n
        self.pending: deque[MapChange] = deque()
        self.queue: list[int] = []  # PGs wanting data, in recovery order
        self.temp: set[int] = set()  # PGs with a pg_temp: acting set other than the up set
        self.temp_epochs = 0  # osdmap epochs the pg_temp changes took (set, then cleared)
        self.applied = 0  # osdmap changes (MapChange) applied so far
        self._bytes_cache: tuple[float, list[float]] | None = None
        # the last summary and the OSDs down it was asked for: the PGs have not changed since
        self._summary_cache: tuple[frozenset[int], PgSummary] | None = None
        self.num_objects = math.ceil(stored_bytes / object_size) if stored_bytes > 0 else 0
        self.pgs = self._make_pgs(pgs, osd_weights, stored_bytes, seed)
        for pg in self.pgs:
            pg.up = self._map(pg)
            pg.have = dict.fromkeys(pg.up, 1.0)

    def _make_pgs(self, n: int, weights: list[float], stored: float, seed: int) -> list[_Pg]:
        shares = [0.8 + 0.4 * unit(seed, p) for p in range(n)]
        total = sum(shares)
        counts = [int(self.num_objects * s / total) for s in shares]
        for p in range(self.num_objects - sum(counts)):
            counts[p % n] += 1
        per_object = stored / self.num_objects if self.num_objects else 0.0
        rng = random.Random(seed)
        log, rand, inf = math.log, rng.random, -math.inf
        pgs = []
        for p in range(n):
            # straw2: each OSD draws ln(u)/weight, fixed per (PG, OSD); the highest draws win
            draws = [(log(1.0 - rand()) / w if w > 0 else inf, o) for o, w in enumerate(weights)]
            draws.sort(reverse=True)
            order = tuple(o for _, o in draws)
            pgs.append(_Pg(objects=counts[p], nbytes=counts[p] * per_object, order=order))
        return pgs

    def _map(self, pg: _Pg) -> tuple[int, ...]:
        chosen: list[int] = []
        hosts: set[str] = set()
        for o in pg.order:
            if self.in_[o] and self.osd_hosts[o] not in hosts:
                chosen.append(o)
                hosts.add(self.osd_hosts[o])
                if len(chosen) == self.size:
                    break
        return tuple(chosen)

    # -- time

    def advance(self, until: float) -> None:
        """Move the PGs to time `until`, applying the osdmap changes queued before it."""
        while self.time <= until:
            t = self.time
            next_map = self.pending[0].time if self.pending else math.inf
            active = self.queue[: self.max_active]
            rate = self.rate_bps / len(active) if active else 0.0
            t_done = math.inf
            if active:
                t_done = t + min(self._left(self.pgs[p]) for p in active) / rate
            t_next = min(next_map, t_done, until)
            if active and t_next > t:
                for p in active:
                    self._fill(self.pgs[p], (t_next - t) * rate)
            self.time = max(t, t_next)
            if t_done <= t_next:
                done = [p for p in active if self._left(self.pgs[p]) <= (t_done - t_next) * rate]
                first = min(active, key=lambda p: self._left(self.pgs[p]))
                for p in {*done, first}:
                    self._complete(p)
                continue
            if next_map <= t_next:
                self._apply(self.pending.popleft())
                continue
            return

    def _changed(self) -> None:
        self._bytes_cache = self._summary_cache = None

    def _left(self, pg: _Pg) -> float:
        """Bytes still to copy to the PG's emptiest target."""
        targets = [pg.have.get(o, 0.0) for o in pg.up if self.up[o]]
        return max((1.0 - f for f in targets), default=0.0) * pg.nbytes

    def _fill(self, pg: _Pg, nbytes: float) -> None:
        share = nbytes / pg.nbytes if pg.nbytes > 0 else 1.0
        for o in pg.up:
            if self.up[o] and (f := pg.have.get(o, 0.0)) < 1.0:
                pg.have[o] = 1.0 if f + share >= 1.0 - _EPS else f + share
        self._changed()

    def _complete(self, p: int) -> None:
        pg = self.pgs[p]
        for o in pg.up:
            if self.up[o]:
                pg.have[o] = 1.0
                pg.stale.discard(o)
        self._purge(pg)
        if not self.view(p).wants_data:
            self.queue.remove(p)
        self._sync_temp([p])
        self._changed()

    def _apply(self, change: MapChange) -> None:
        self.applied += 1
        returned: dict[int, float] = {}
        for o, (was, now) in enumerate(zip(self.up, change.up, strict=True)):
            if was and not now:
                self._down_at[o] = change.time
            elif now and not was:
                returned[o] = change.time - self._down_at[o]
        self.up, self.in_ = list(change.up), list(change.in_)
        for pg in self.pgs:
            pg.up = self._map(pg)
            for o, away in returned.items():
                if o in pg.have:
                    self._age(pg, o, away)
            self._purge(pg)
        self._requeue()
        self._sync_temp(range(len(self.pgs)))
        self._changed()

    def _sync_temp(self, ps: Iterable[int]) -> None:
        """The primaries ask the monitors for a pg_temp while their PG is remapped, and drop
        it once backfilled: each change is a new osdmap epoch."""
        changed = False
        for p in ps:
            up_set, _, _, acting = self._acting(self.pgs[p])
            has = set(acting) != set(up_set)
            if has != (p in self.temp):
                changed = True
                if has:
                    self.temp.add(p)
                else:
                    self.temp.discard(p)
        self.temp_epochs += changed

    def _age(self, pg: _Pg, osd: int, away: float) -> None:
        """A copy comes back after `away` seconds: the objects written meanwhile are stale.
        While the PG is short of copies, its log brings them up to date (recovery, degraded);
        when it has its full count elsewhere already, the OSD is backfilled (misplaced)."""
        f = pg.have[osd]
        if f < 1.0 and osd not in pg.stale:
            return  # a backfill in progress resumes where it stopped
        kept = f * max(0.0, 1.0 - away * self.rewrite_per_s)
        if kept >= 1.0 - _EPS:
            return
        if kept <= 0.0:
            del pg.have[osd]
            pg.stale.discard(osd)
            return
        pg.have[osd] = kept
        others = sum(1 for o, g in pg.have.items() if o != osd and g >= 1.0 and self.up[o])
        if others >= self.size:
            pg.stale.discard(osd)
        else:
            pg.stale.add(osd)

    def _purge(self, pg: _Pg) -> None:
        """Once a PG is clean, the OSDs up outside its up set delete their stray copies."""
        if len(pg.up) < self.size or any(
            not self.up[o] or pg.have.get(o, 0.0) < 1.0 for o in pg.up
        ):
            return
        for o in [o for o in pg.have if o not in pg.up and self.up[o]]:
            del pg.have[o]
            pg.stale.discard(o)

    def _requeue(self) -> None:
        wanting = []
        for p in range(len(self.pgs)):
            v = self.view(p, running=False)
            if v.wants_data:
                wanting.append((v.priority, p))
        wanting.sort()
        self.queue = [p for _, p in wanting]

    # -- what the PGs report

    def view(self, p: int, running: bool | None = None) -> PgView:
        pg, up, size = self.pgs[p], self.up, self.size
        have = pg.have
        if len(pg.up) == size and all(up[o] and have.get(o, 0.0) >= 1.0 for o in pg.up):
            return _CLEAN
        if running is None:
            running = p in self.queue[: self.max_active]
        # CRUSH maps the PG to pg.up (in OSDs); the down ones drop out of its up set. Copies
        # complete (or being log-recovered) on up set OSDs act; an OSD of the up set without
        # a copy is backfilled, while a complete copy elsewhere stands in (pg_temp).
        up_set, acting_u, missing, acting = self._acting(pg)
        backfill = [o for o in missing if up[o]]
        recover = [o for o in acting_u if have[o] < 1.0]
        held = sum(have[o] for o in acting)
        filled = sum(have.get(o, 0.0) for o in backfill)
        degraded = _count(pg.objects * (size - held - filled))
        misplaced = 0
        if len(acting) > len(acting_u):
            moved = sum(1.0 - have.get(o, 0.0) if up[o] else 1.0 for o in missing)
            misplaced = _count(pg.objects * min(len(acting) - len(acting_u), moved))
        undersized = len(acting) < size
        if not any(have[o] >= 1.0 for o in acting):
            stale = not any(up[o] for o in have)
            state = "stale+undersized+degraded+peered" if stale else "down"
            return PgView(
                state, _count(pg.objects * (size - held)), 0, False, True, stale, 9, False
            )
        if len(acting) < self.min_size:
            state = "undersized+degraded+peered"
            return PgView(state, degraded, misplaced, False, True, False, 9, False)
        remapped = set(acting) != set(up_set)
        parts = ["active"]
        if recover:
            parts.append("recovering" if running else "recovery_wait")
        if undersized:
            parts.append("undersized")
        if degraded:
            parts.append("degraded")
        if remapped:
            parts.append("remapped")
        if backfill:
            parts.append("backfilling" if running else "backfill_wait")
        priority = 0 if recover else 1 if degraded else 2
        wants = bool(recover or backfill)
        state = "+".join(parts)
        return PgView(state, degraded, misplaced, True, undersized, False, priority, wants)

    def _acting(self, pg: _Pg) -> tuple[list[int], list[int], list[int], list[int]]:
        """The PG's up set, the OSDs of it that act, those of pg.up without a copy, and the
        acting set (complete copies elsewhere standing in for the missing ones)."""
        up, have = self.up, pg.have
        up_set = [o for o in pg.up if up[o]]
        acting_u = [o for o in up_set if have.get(o, 0.0) >= 1.0 or o in pg.stale]
        missing = [o for o in pg.up if o not in acting_u]
        extras = [o for o, f in have.items() if f >= 1.0 and up[o] and o not in pg.up]
        acting = acting_u + extras[: min(self.size - len(acting_u), len(missing))]
        return up_set, acting_u, missing, acting

    def sets(self, p: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The PG's up set (the up OSDs CRUSH maps it to) and acting set (those serving it)."""
        up_set, _, _, acting = self._acting(self.pgs[p])
        return tuple(up_set), tuple(acting)

    def holders(self, p: int) -> tuple[int, ...]:
        """The up OSDs holding a complete, current copy of the PG."""
        pg = self.pgs[p]
        return tuple(
            o for o, f in pg.have.items() if f >= 1.0 and self.up[o] and o not in pg.stale
        )

    def stored(self) -> list[int]:
        """How many PGs each OSD holds a copy (or part of one) of."""
        n = [0] * len(self.up)
        for pg in self.pgs:
            for o in pg.have:
                n[o] += 1
        return n

    def summary(self, down_now: Collection[int] = ()) -> PgSummary:
        """The PG states as the mgr reports them. `down_now`: OSDs the current osdmap has
        down. Until their PGs report again, the mgr marks those whose primary is one of them
        stale, keeping the last state (the lab: 14 `stale+active+clean` a second after
        `ceph osd down 2`)."""
        down = frozenset(down_now)
        if self._summary_cache is not None and self._summary_cache[0] == down:
            return self._summary_cache[1]
        by_state: Counter[str] = Counter()
        deg = mis = deg_pgs = under = inactive = stale = 0
        running = set(self.queue[: self.max_active])
        for p in range(len(self.pgs)):
            v = self.view(p, p in running)
            if down_now and not v.stale:
                acting = self._acting(self.pgs[p])[3]
                if acting and acting[0] in down_now:
                    v = v._replace(state=f"stale+{v.state}")
            by_state[v.state] += 1
            deg += v.degraded
            mis += v.misplaced
            deg_pgs += v.degraded > 0
            under += v.undersized
            inactive += not v.active
            stale += v.stale
        summary = PgSummary(dict(by_state), deg, mis, deg_pgs, under, inactive, stale)
        self._summary_cache = (down, summary)
        return summary

    def osd_bytes(self) -> list[float]:
        """Bytes of PG data each OSD holds."""
        if self._bytes_cache is not None and self._bytes_cache[0] == self.time:
            return self._bytes_cache[1]
        held = [0.0] * len(self.up)
        for pg in self.pgs:
            for o, f in pg.have.items():
                held[o] += f * pg.nbytes
        self._bytes_cache = (self.time, held)
        return held


_CLEAN = PgView("active+clean", 0, 0, True, False, False, 9, False)


def _count(objects: float) -> int:
    return math.ceil(objects - 1e-6) if objects > 1e-6 else 0
