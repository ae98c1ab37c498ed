#!/usr/bin/env python3
"""Development population generator: synthetic contact metadata for a chat-and-gaming app.

Writes accounts.csv, events.csv, truth.csv and params.json for one seed. Metadata only: who
contacted whom and when (requests, accepts, messages, blocks, reports, off-platform handles).
No message content of any kind exists anywhere in this generator.

    python bench/pathways_dev/generate.py --out DIR --seed N [--scale S]

Written independently from a plain-language brief (see README.md in this folder).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

DAY = 86400
HOUR = 3600
INF = float("inf")

KINDS = (
    "contact_request",
    "contact_accept",
    "message",
    "block",
    "report",
    "off_platform_handle",
)
REQ, ACC, MSG, BLK, REP, HND = range(6)

BANDS = ("under_13", "13_15", "16_17", "adult", "unknown")
U13, B13, B16, BAD, BUNK = range(5)

BENIGN = (
    "minor",
    "parent",
    "relative",
    "teacher",
    "coach",
    "youth_worker",
    "gamer",
    "creator",
    "adult",
)
ARCHETYPES = ("spray", "peerpose", "patient", "insider", "mimic", "crew", "isolator")
ROLES = BENIGN + tuple(f"offender_{a}" for a in ARCHETYPES)
RID = {name: i for i, name in enumerate(ROLES)}
FIRST_OFFENDER_ROLE = len(BENIGN)

# country -> whole-hour UTC offset (standard time; daylight saving is ignored)
COUNTRY_OFFSETS = {
    "GB": 0,
    "IE": 0,
    "PT": 0,
    "GH": 0,
    "US": -6,
    "CA": -5,
    "MX": -6,
    "BR": -3,
    "AR": -3,
    "DE": 1,
    "FR": 1,
    "NL": 1,
    "BE": 1,
    "ES": 1,
    "IT": 1,
    "PL": 1,
    "SE": 1,
    "AT": 1,
    "NG": 1,
    "ZA": 2,
    "RO": 2,
    "TR": 3,
    "KE": 3,
    "IN": 5,
    "ID": 7,
    "PH": 8,
    "MY": 8,
    "JP": 9,
    "AU": 10,
    "NZ": 12,
}
COUNTRIES = tuple(COUNTRY_OFFSETS)
CIDX = {c: i for i, c in enumerate(COUNTRIES)}
HOME_POOL = ("GB", "US", "DE", "FR", "NL", "AU", "CA", "SE", "PL", "ES", "IT", "BR", "MX", "IE")


def hours(default: float, spec: dict[Any, float]) -> np.ndarray:
    """A 24-value local-time curve: `default` everywhere, then spec {hour or (lo, hi): w}."""
    a = np.full(24, float(default))
    for k, w in spec.items():
        lo, hi = (k, k) if isinstance(k, int) else k
        a[lo : hi + 1] = w
    return a


def child_curves(quiet: float, owl: bool) -> tuple[np.ndarray, np.ndarray]:
    school = hours(
        0.004,
        {
            0: 0.02,
            1: 0.01,
            6: 0.04,
            7: 0.25,
            8: 0.18,
            (9, 14): quiet,
            12: 2 * quiet,
            15: 0.35,
            16: 0.7,
            17: 0.8,
            18: 0.9,
            (19, 20): 1.0,
            21: 0.8,
            22: 0.4,
            23: 0.12,
        },
    )
    free = hours(
        0.01,
        {
            0: 0.06,
            1: 0.03,
            7: 0.03,
            8: 0.1,
            9: 0.3,
            10: 0.55,
            11: 0.7,
            12: 0.8,
            (13, 17): 0.9,
            18: 0.95,
            (19, 20): 1.0,
            21: 0.9,
            22: 0.6,
            23: 0.25,
        },
    )
    if owl:
        school[[22, 23, 0, 1, 2, 3]] = [0.8, 0.65, 0.45, 0.3, 0.15, 0.06]
        free[[22, 23, 0, 1, 2, 3, 4]] = [1.0, 0.95, 0.8, 0.6, 0.4, 0.2, 0.06]
    return school, free


FAMILY = (
    hours(
        0.004,
        {
            6: 0.05,
            7: 0.5,
            8: 0.4,
            (9, 14): 0.08,
            12: 0.15,
            15: 0.5,
            (16, 17): 0.7,
            18: 0.75,
            19: 0.7,
            20: 0.55,
            21: 0.35,
            22: 0.15,
            23: 0.04,
        },
    ),
    hours(0.005, {8: 0.08, 9: 0.25, 10: 0.5, (11, 19): 0.7, 20: 0.6, 21: 0.4, 22: 0.2, 23: 0.06}),
)
TEACHER = (
    hours(
        0.002,
        {6: 0.05, 7: 0.35, 8: 0.7, (9, 14): 0.55, 12: 0.7, 15: 0.8, 16: 0.7, 17: 0.45},
    )
    + hours(0.0, {(18, 19): 0.3, 20: 0.25, 21: 0.12, 22: 0.04}),
    hours(0.002, {(9, 20): 0.03}),
)
ADULT = (
    hours(
        0.01,
        {
            0: 0.12,
            1: 0.05,
            6: 0.1,
            7: 0.35,
            8: 0.4,
            (9, 11): 0.25,
            (12, 13): 0.5,
            (14, 16): 0.3,
            17: 0.55,
            18: 0.85,
            (19, 20): 0.95,
            21: 0.85,
            22: 0.55,
            23: 0.3,
        },
    ),
    hours(
        0.01,
        {
            0: 0.3,
            1: 0.15,
            2: 0.06,
            8: 0.06,
            9: 0.2,
            10: 0.45,
            (11, 17): 0.7,
            (18, 21): 0.9,
            22: 0.65,
            23: 0.45,
        },
    ),
)
GAMER = (
    hours(
        0.05,
        {
            0: 0.8,
            1: 0.5,
            2: 0.25,
            3: 0.1,
            (4, 8): 0.02,
            16: 0.2,
            17: 0.35,
            18: 0.5,
            19: 0.75,
            20: 0.95,
            (21, 22): 1.0,
            23: 0.95,
        },
    ),
    hours(
        0.05,
        {
            0: 0.95,
            1: 0.75,
            2: 0.5,
            3: 0.25,
            4: 0.1,
            (5, 9): 0.02,
            11: 0.2,
            (12, 15): 0.5,
            (16, 19): 0.75,
            (20, 23): 1.0,
        },
    ),
)
LATE = hours(0.02, {19: 0.2, 20: 0.45, 21: 0.8, (22, 23): 1.0, 0: 0.7, 1: 0.4, 2: 0.15})
COACH_TRAIN = hours(
    0.005,
    {(7, 9): 0.1, (12, 14): 0.25, 15: 0.6, 16: 0.9, 17: 1.0, 18: 0.9, 19: 0.5, 20: 0.3, 21: 0.15},
)
COACH_MATCH = hours(
    0.005, {7: 0.6, (8, 9): 1.0, 10: 0.8, 11: 0.6, 12: 0.4, (13, 16): 0.25, (17, 20): 0.2}
)
COACH_EVE = hours(0.005, {17: 0.3, 18: 0.6, 19: 0.7, 20: 0.6, 21: 0.3})
COACH_OTHER = hours(0.005, {12: 0.03, (17, 21): 0.08})
YOUTH_SESSION = hours(0.005, {(12, 15): 0.15, 16: 0.4, 17: 0.8, (18, 19): 1.0, 20: 0.6, 21: 0.2})
YOUTH_EVE = hours(0.005, {(17, 21): 0.3})
YOUTH_OTHER = hours(0.005, {(17, 21): 0.05})


# how much more (or less) than usual a child blocks an unanswered request, by archetype:
# strangers from nowhere are blocked more than accounts that seem to belong to a community
REQ_BLOCK_MULT = {
    "spray": (1.0, 2.5),
    "peerpose": (0.8, 2.0),
    "patient": (0.3, 0.7),
    "insider": (0.2, 0.6),
    "mimic": (0.3, 0.7),
    "crew": (0.8, 1.6),
    "isolator": (0.6, 1.2),
}


def spans(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Concatenated ranges lo[i]..hi[i]-1."""
    cnt = hi - lo
    total = int(cnt.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    starts = np.cumsum(cnt) - cnt
    return np.repeat(lo - starts, cnt) + np.arange(total)


def sig(v: float) -> float:
    return float(f"{v:.6g}")


class Sim:
    """One synthetic world: accounts, relationships, offender campaigns, events."""

    ACOLS: dict[str, tuple[Any, Any]] = {
        "role": (np.int16, -1),
        "age": (np.float64, -1.0),
        "country": (np.int16, 0),
        "created": (np.int64, 0),
        "band": (np.int8, BAD),
        "owl": (np.bool_, False),
        "open": (np.float64, 0.0),
        "school": (np.int32, -1),
        "yg": (np.int32, -1),
        "cls": (np.int32, -1),
        "fam": (np.int32, -1),
    }
    RCOLS = (
        "u",
        "v",
        "pu",
        "pv",
        "rate",
        "mlen",
        "p_uv",
        "p_vu",
        "p_init",
        "gap",
        "lo",
        "hi",
        "formed",
        "t_form",
        "p_acc",
        "oneway",
        "p_hnd",
        "p_blk",
        "p_rep",
        "blk_v",
        "n_fixed",
    )

    def __init__(self, seed: int, scale: float) -> None:
        self.seed = seed
        self.scale = scale
        # world parameters come from their own stream, so a seed keeps them at every scale
        self.prng = np.random.default_rng(np.random.SeedSequence([seed, 0x5AFE, 0x9A7A]))
        self.rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5AFE, 0xD00D]))
        self.P: dict[str, Any] = {"seed": seed, "scale": scale}
        self._n = 0
        self._cap = 0
        self.cols: dict[str, np.ndarray] = {}
        self._grow(int(20000 * max(scale, 0.05)) + 2000)
        self.ev: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.rel_parts: dict[str, list[np.ndarray]] = {k: [] for k in self.RCOLS}
        self._pid: dict[tuple[Any, ...], int] = {}
        self._pw: list[np.ndarray] = []
        self._cdf: dict[tuple[int, int], np.ndarray] = {}
        self.own_pid: dict[int, int] = {}
        self.off_log: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ draws and storage
    def U(self, name: str, lo: float, hi: float) -> float:
        v = sig(float(self.prng.uniform(lo, hi)))
        self.P[name] = v
        return v

    def I(self, name: str, lo: int, hi: int) -> int:  # noqa: E743 - short helper name
        v = int(self.prng.integers(lo, hi + 1))
        self.P[name] = v
        return v

    def _grow(self, need: int) -> None:
        cap = max(need, 2 * self._cap, 1024)
        for k, (dtype, fill) in self.ACOLS.items():
            a = np.full(cap, fill, dtype=dtype)
            if k in self.cols:
                a[: self._n] = self.cols[k][: self._n]
            self.cols[k] = a
        self._cap = cap

    def add(self, n: int, role: str, **vals: Any) -> np.ndarray:
        n = int(n)
        if self._n + n > self._cap:
            self._grow(self._n + n)
        ids = np.arange(self._n, self._n + n)
        self.cols["role"][ids] = RID[role]
        for k, v in vals.items():
            self.cols[k][ids] = v
        self._n += n
        return ids

    def A(self, name: str) -> np.ndarray:
        return self.cols[name][: self._n]

    def emit(self, ts: Any, kind: int, a: Any, b: Any) -> None:
        ts = np.atleast_1d(np.asarray(ts, dtype=np.float64))
        a = np.atleast_1d(np.asarray(a, dtype=np.int64))
        b = np.atleast_1d(np.asarray(b, dtype=np.int64))
        if min(len(ts), len(a), len(b)) == 0:
            return
        n = max(len(ts), len(a), len(b))
        ts = np.broadcast_to(ts, (n,))
        keep = (ts >= 0) & (ts < self.W)
        if not keep.all():
            ts = ts[keep]
            a = np.broadcast_to(a, (n,))[keep]
            b = np.broadcast_to(b, (n,))[keep]
            n = len(ts)
            if n == 0:
                return
        self.ev.append(
            (
                np.floor(ts).astype(np.int64),
                np.full(n, kind, np.int8),
                np.broadcast_to(a, (n,)).astype(np.int64),
                np.broadcast_to(b, (n,)).astype(np.int64),
            )
        )

    # ------------------------------------------------------------------ time and rhythm
    def setup_time(self) -> None:
        rng = self.prng
        self.D = self.I("window_days", 21, 28)
        d0 = dt.date(2024, 1, 1)
        span = (dt.date(2026, 12, 31) - d0).days
        start = d0 + dt.timedelta(days=int(rng.integers(0, span + 1)))
        self.start = start
        self.W = self.D * DAY
        self.H = self.D * 24
        self.epoch0 = int(
            dt.datetime(start.year, start.month, start.day, tzinfo=dt.UTC).timestamp()
        )
        self.wd0 = start.weekday()
        self.P["window_start"] = f"{start.isoformat()}T00:00:00Z"
        self.P["window_end"] = f"{(start + dt.timedelta(days=self.D)).isoformat()}T00:00:00Z"

    def setup_countries(self) -> None:
        rng = self.prng
        home = HOME_POOL[int(rng.integers(len(HOME_POOL)))]
        others = [c for c in COUNTRIES if c != home]
        n_sec = self.I("n_secondary_countries", 2, 5)
        sec = [str(x) for x in rng.choice(others, n_sec, replace=False)]
        n_ab = self.I("n_abroad_countries", 3, 7)
        abroad = [str(x) for x in rng.choice(others, n_ab, replace=False)]
        self.P["home_country"] = home
        self.P["secondary_countries"] = sec
        self.P["abroad_countries"] = abroad
        self.home = CIDX[home]
        self.sec = [CIDX[c] for c in sec]
        self.abroad = [CIDX[c] for c in abroad]
        self.world = [self.home, *self.sec]
        self.share_home = self.U("share_home_country", 0.6, 0.92)
        self.p_country_missing = self.U("p_country_missing", 0.01, 0.12)

    def domestic(self) -> int:
        if self.rng.random() < self.share_home:
            return self.home
        return self.sec[int(self.rng.integers(len(self.sec)))]

    def local_day_start(self, c: int, d: int) -> int:
        """UTC seconds (window-relative) of local midnight of local day d in country c."""
        return (d * 24 - COUNTRY_OFFSETS[COUNTRIES[c]]) * HOUR

    def setup_calendar(self) -> None:
        rng = self.prng
        D = self.D
        self.hol = np.zeros((len(COUNTRIES), D + 8), bool)  # local day d at index d + 3
        self.term_start: dict[int, int] = {}
        p_hol = self.U("p_school_holiday_in_window", 0.2, 0.6)
        p_term = self.U("p_term_start_without_holiday", 0.1, 0.4)
        p_pub = self.U("p_public_holiday", 0.2, 0.7)
        cal: dict[str, Any] = {}
        for c in self.world:
            info: dict[str, Any] = {}
            if rng.random() < p_hol:
                length = int(rng.integers(5, 17))
                s = int(rng.integers(-10, D - 3))
                self.hol[c, max(0, s + 3) : max(0, s + length + 3)] = True
                info["holiday_days"] = [s, s + length]
                end = s + length
                if 0 < end < D - 2:
                    while (self.wd0 + end) % 7 >= 5:
                        end += 1
                    if end < D - 2:
                        self.term_start[c] = end
            elif rng.random() < p_term:
                d = int(rng.integers(0, 10))
                while (self.wd0 + d) % 7 >= 5:
                    d += 1
                self.term_start[c] = d
            if rng.random() < p_pub:
                d = int(rng.integers(0, D))
                self.hol[c, d + 3] = True
                info["public_holiday"] = d
            if c in self.term_start:
                info["term_start_day"] = self.term_start[c]
            cal[COUNTRIES[c]] = info
        self.P["calendar"] = cal
        self.school_quiet = self.U("school_hours_activity", 0.02, 0.12)
        self.coach_holiday_factor = self.U("coach_holiday_factor", 0.2, 0.8)

    def pid(self, name: str, c: int, extra: Any = None) -> int:
        key = (name, int(c), extra)
        p = self._pid.get(key)
        if p is None:
            p = len(self._pw)
            self._pid[key] = p
            self._pw.append(self._weights(name, int(c), extra))
        return p

    def _weights(self, name: str, c: int, extra: Any) -> np.ndarray:
        off = COUNTRY_OFFSETS[COUNTRIES[c]]
        lt = np.arange(self.H) + off
        ld = lt // 24
        lh = lt % 24
        wd = (self.wd0 + ld) % 7
        idx = np.clip(ld + 3, 0, self.D + 6)
        hol_today = self.hol[c, idx]
        hol_tom = self.hol[c, idx + 1]
        weekend = wd >= 5
        tom_weekend = ((wd + 1) % 7) >= 5
        free_today = weekend | hol_today
        free_tom = tom_weekend | hol_tom
        if name in ("child", "owl"):
            school, free = child_curves(self.school_quiet, name == "owl")
            use_free = np.where(lh >= 21, free_tom, free_today)
            w = np.where(use_free, free[lh], school[lh])
        elif name == "family":
            use_free = np.where(lh >= 21, free_tom, free_today)
            w = np.where(use_free, FAMILY[1][lh], FAMILY[0][lh])
        elif name == "teacher":
            w = np.where(free_today, TEACHER[1][lh], TEACHER[0][lh])
        elif name in ("adult", "gamer"):
            work, free = ADULT if name == "adult" else GAMER
            use_free = np.where(lh >= 21, tom_weekend, weekend)
            w = np.where(use_free, free[lh], work[lh])
        elif name == "late":
            w = LATE[lh]
        elif name == "coach":
            train, match = extra
            w = np.where(
                np.isin(wd, train),
                COACH_TRAIN[lh],
                np.where(
                    wd == match,
                    COACH_MATCH[lh],
                    np.where(wd == (match - 1) % 7, COACH_EVE[lh], COACH_OTHER[lh]),
                ),
            )
            w = w * np.where(hol_today, self.coach_holiday_factor, 1.0)
        elif name == "youth":
            s = extra
            w = np.where(
                wd == s,
                YOUTH_SESSION[lh],
                np.where(wd == (s - 1) % 7, YOUTH_EVE[lh], YOUTH_OTHER[lh]),
            )
        else:
            raise ValueError(name)
        w = w.astype(np.float64)
        return w + 0.002 * w.mean()

    def cdf(self, a: int, b: int) -> np.ndarray:
        key = (a, b)
        f = self._cdf.get(key)
        if f is None:
            w = np.sqrt(self._pw[a] * self._pw[b])
            f = np.concatenate(([0.0], np.cumsum(w)))
            f /= f[-1]
            self._cdf[key] = f
        return f

    def sample_times(self, pa: Any, pb: Any, lo: Any, hi: Any) -> np.ndarray:
        """One time per row in [lo, hi), following the geometric mean of two hourly profiles."""
        pa = np.atleast_1d(np.asarray(pa, np.int64))
        n = len(pa)
        pb = np.broadcast_to(np.asarray(pb, np.int64), (n,))
        lo = np.broadcast_to(np.asarray(lo, np.float64), (n,))
        hi = np.broadcast_to(np.asarray(hi, np.float64), (n,))
        out = np.empty(n, np.float64)
        if n == 0:
            return out
        u_all = self.rng.random(n)
        grid = np.arange(self.H + 1, dtype=np.float64)
        key = pa * 1_000_003 + pb
        order = np.argsort(key, kind="stable")
        ks = key[order]
        cuts = np.flatnonzero(np.diff(ks)) + 1
        for s, e in zip(np.r_[0, cuts], np.r_[cuts, n], strict=True):
            ix = order[s:e]
            f = self.cdf(int(pa[ix[0]]), int(pb[ix[0]]))
            lo_h = np.clip(lo[ix] / HOUR, 0, self.H)
            hi_h = np.clip(hi[ix] / HOUR, 0, self.H)
            flo = np.interp(lo_h, grid, f)
            fhi = np.interp(hi_h, grid, f)
            u = flo + u_all[ix] * (fhi - flo)
            out[ix] = np.interp(u, f, grid) * HOUR
        return np.clip(out, lo, np.maximum(lo, hi - 1))

    def weekly_times(
        self,
        c: int,
        weekdays: Any,
        h_lo: float,
        h_hi: float,
        p: float,
        *,
        t_min: float = 0.0,
        skip_holidays: bool = False,
    ) -> np.ndarray:
        """Times on the given local weekdays, between local hours h_lo and h_hi, each w.p. p."""
        d = np.arange(-1, self.D + 1)
        wd = (self.wd0 + d) % 7
        ok = np.isin(wd, weekdays)
        if skip_holidays:
            ok &= ~self.hol[c, d + 3]
        d = d[ok & (self.rng.random(len(d)) < p)]
        off = COUNTRY_OFFSETS[COUNTRIES[c]]
        t = (d * 24 + self.rng.uniform(h_lo, h_hi, len(d)) - off) * HOUR
        return t[(t >= t_min) & (t < self.W)]

    # ------------------------------------------------------------------ message expansion
    def expand(
        self,
        t0: np.ndarray,
        a: np.ndarray,
        b: np.ndarray,
        L: np.ndarray,
        p_ab: np.ndarray,
        p_ba: np.ndarray,
        gap: np.ndarray,
        first_a: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Sessions of L messages between a and b; after each message the turn passes with
        p_ab (a spoke) or p_ba (b spoke). Returns ts, actor, target, session index."""
        rng = self.rng
        n = len(t0)
        if n == 0:
            e = np.zeros(0, np.int64)
            return e.astype(np.float64), e, e, e
        L = L.astype(np.int64)
        total = int(L.sum())
        starts = np.cumsum(L) - L
        sid = np.repeat(np.arange(n), L)
        spk = np.empty(total, bool)
        cur = first_a.astype(bool).copy()
        spk[starts] = cur
        r = rng.random(total)
        order = np.argsort(-L, kind="stable")
        Ls = L[order]
        for k in range(1, int(L.max())):
            live = order[: int(np.searchsorted(-Ls, -k, side="left"))]
            live = live[L[live] > k]
            if len(live) == 0:
                break
            j = starts[live] + k
            prev = cur[live]
            sw = r[j] < np.where(prev, p_ab[live], p_ba[live])
            nxt = prev ^ sw
            cur[live] = nxt
            spk[j] = nxt
        turn = np.ones(total, bool)
        turn[1:] = spk[1:] != spk[:-1]
        gaps = rng.exponential(1.0, total) * gap[sid] * np.where(turn, 1.0, 0.5) + 2.0
        gaps[starts] = 0.0
        cs = np.cumsum(gaps)
        ts = t0[sid] + (cs - np.repeat(cs[starts], L))
        actor = np.where(spk, a[sid], b[sid])
        target = np.where(spk, b[sid], a[sid])
        return ts, actor, target, sid

    # ------------------------------------------------------------------ relationships
    def rel(self, u: Any, v: Any, **kw: Any) -> None:
        u = np.atleast_1d(np.asarray(u, np.int64))
        n = len(u)
        if n == 0:
            return
        sigma = kw.pop("sigma", 0.0)
        defaults: dict[str, Any] = {
            "p_init": 0.5,
            "gap": 60.0,
            "lo": 0.0,
            "hi": float(self.W),
            "formed": False,
            "t_form": 0.0,
            "p_acc": 0.9,
            "oneway": False,
            "p_hnd": 0.0,
            "p_blk": 0.0,
            "p_rep": 0.0,
            "blk_v": 0.5,
            "n_fixed": -1,
        }
        defaults.update(kw)
        defaults["u"] = u
        defaults["v"] = v
        for k in self.RCOLS:
            col = np.array(np.broadcast_to(np.asarray(defaults[k]), (n,)))
            if k == "rate" and sigma:
                col = col * self.rng.lognormal(-0.5 * sigma * sigma, sigma, n)
            self.rel_parts[k].append(col)

    def run_relations(self) -> None:
        rng = self.rng
        W = float(self.W)
        C = {k: np.concatenate(v) for k, v in self.rel_parts.items()}
        u = C["u"].astype(np.int64)
        v = C["v"].astype(np.int64)
        key = np.minimum(u, v) * (self._n + 1) + np.maximum(u, v)
        _, first = np.unique(key, return_index=True)
        keep = np.sort(first)
        keep = keep[u[keep] != v[keep]]
        C = {k: c[keep] for k, c in C.items()}
        u = C["u"].astype(np.int64)
        v = C["v"].astype(np.int64)
        n = len(u)
        self.P["n_relationships"] = n
        created = self.A("created").astype(np.float64)
        cu, cv = created[u], created[v]
        newer = np.maximum(cu, cv)
        in_window = newer > 0
        swap = in_window & (cv > cu)
        for x, y in (("u", "v"), ("pu", "pv"), ("p_uv", "p_vu")):
            a, b = C[x].copy(), C[y].copy()
            C[x] = np.where(swap, b, a)
            C[y] = np.where(swap, a, b)
        C["blk_v"] = np.where(swap, 1 - C["blk_v"], C["blk_v"])
        u = C["u"].astype(np.int64)
        v = C["v"].astype(np.int64)
        pu = C["pu"].astype(np.int64)
        pv = C["pv"].astype(np.int64)
        formed = C["formed"].astype(bool) | in_window
        readd = self.rng.exponential(self.readd_delay, n)
        t_form = np.where(in_window, np.maximum(C["t_form"], newer + 300 + readd), C["t_form"])
        lo = np.maximum(C["lo"], np.maximum(np.maximum(cu, cv) + 60, 0))
        hi = np.minimum(C["hi"], W)
        # formation inside the window: request, then perhaps an accept in the accepter's hours
        f = formed & (t_form < W - 300)
        fi = np.flatnonzero(f)
        self.emit(t_form[fi], REQ, u[fi], v[fi])
        acc = fi[rng.random(len(fi)) < C["p_acc"][fi]]
        horizon = np.clip(rng.lognormal(math.log(self.accept_median), 1.0, len(acc)), 600, 4 * DAY)
        t_acc = self.sample_times(
            pv[acc], pv[acc], t_form[acc] + 30, np.minimum(W, t_form[acc] + horizon)
        )
        ok = t_acc < W - 1
        self.emit(t_acc[ok], ACC, v[acc[ok]], u[acc[ok]])
        accepted = np.zeros(n, bool)
        accepted[acc[ok]] = True
        lo_f = np.full(n, W)
        lo_f[acc[ok]] = t_acc[ok]
        one = f & ~accepted & C["oneway"].astype(bool)
        lo_f[one] = t_form[one]
        lo = np.where(formed, np.maximum(lo, lo_f), lo)
        # blocks (and sometimes reports) end a relationship early
        bi = np.flatnonzero((rng.random(n) < C["p_blk"]) & (hi > lo + 60))
        t_b = lo[bi] + rng.random(len(bi)) * (hi[bi] - lo[bi])
        by_v = rng.random(len(bi)) < C["blk_v"][bi]
        blocker = np.where(by_v, v[bi], u[bi])
        blocked = np.where(by_v, u[bi], v[bi])
        self.emit(t_b, BLK, blocker, blocked)
        ri = rng.random(len(bi)) < C["p_rep"][bi]
        self.emit(t_b[ri] + self.report_delay(int(ri.sum())), REP, blocker[ri], blocked[ri])
        hi[bi] = t_b
        # sessions and messages
        span = np.clip(hi - lo, 0, None)
        nf = C["n_fixed"].astype(np.int64)
        lam = C["rate"] * span / DAY
        n_s = np.where(nf >= 0, nf * (span > 0), rng.poisson(lam))
        idx = np.repeat(np.arange(n), n_s)
        t = self.sample_times(pu[idx], pv[idx], lo[idx], hi[idx])
        L = np.minimum(rng.geometric(1.0 / np.maximum(C["mlen"][idx], 1.0)), 60)
        first_a = rng.random(len(idx)) < C["p_init"][idx]
        ts, act, tgt, sid = self.expand(
            t, u[idx], v[idx], L, C["p_uv"][idx], C["p_vu"][idx], C["gap"][idx], first_a
        )
        ok = ts < hi[idx][sid]
        self.emit(ts[ok], MSG, act[ok], tgt[ok])
        self.P["n_benign_sessions"] = len(idx)
        # off-platform handles swapped inside a relationship
        hh = np.flatnonzero((rng.random(n) < C["p_hnd"]) & (hi > lo + 60))
        th = self.sample_times(pu[hh], pv[hh], lo[hh], hi[hh])
        by_u = rng.random(len(hh)) < np.clip(C["p_init"][hh], 0.2, 0.8)
        self.emit(th, HND, np.where(by_u, u[hh], v[hh]), np.where(by_u, v[hh], u[hh]))
        back = rng.random(len(hh)) < 0.35
        self.emit(
            th[back] + rng.exponential(900, int(back.sum())) + 30,
            HND,
            np.where(by_u, v[hh], u[hh])[back],
            np.where(by_u, u[hh], v[hh])[back],
        )

    def report_delay(self, n: int) -> np.ndarray:
        return np.clip(self.rng.lognormal(math.log(self.report_median), 1.1, n), 120, 20 * DAY)

    def broadcast(
        self,
        leader: int,
        members: np.ndarray,
        times: np.ndarray,
        reply_p: float,
        kind: int = MSG,
        since: np.ndarray | None = None,
        until: np.ndarray | None = None,
    ) -> None:
        """One message (or handle) from leader to every member within a minute or two."""
        rng = self.rng
        members = np.asarray(members, np.int64)
        times = np.asarray(times, np.float64)
        m, nb = len(members), len(times)
        if m == 0 or nb == 0:
            return
        ranks = rng.random((nb, m)).argsort(axis=1).ravel()
        step = rng.uniform(0.3, 3.0)
        T = np.repeat(times, m) + ranks * step
        M = np.tile(members, nb)
        ok = self.A("created")[M] < T
        if since is not None:
            ok &= np.tile(since, nb) < T
        if until is not None:
            ok &= np.tile(until, nb) > T
        T, M = T[ok], M[ok]
        self.emit(T, kind, leader, M)
        if kind == MSG and len(T):
            r = rng.random(len(T)) < reply_p
            tr = T[r] + rng.lognormal(math.log(900), 1.1, int(r.sum()))
            if since is None and until is None:
                self.emit(tr, MSG, M[r], leader)
                back = rng.random(len(tr)) < 0.3
                self.emit(
                    tr[back] + rng.exponential(600, int(back.sum())) + 20, MSG, leader, M[r][back]
                )

    # ------------------------------------------------------------------ population
    def build_children(self) -> None:
        rng = self.rng
        target = self.scale * self.U("children_target", 2200, 5200)
        mean_yg = self.U("yeargroup_mean_on_platform", 10, 40)
        adopt = {
            9: self.U("adoption_age9", 0.15, 0.45),
            10: self.U("adoption_age10", 0.25, 0.6),
            11: self.U("adoption_age11", 0.45, 0.8),
            12: self.U("adoption_age12", 0.6, 0.95),
            13: 1.0,
            14: 1.0,
            15: 1.0,
            16: self.U("adoption_age16", 0.7, 1.0),
            17: self.U("adoption_age17", 0.55, 1.0),
        }
        cls_size = self.U("class_size_on_platform", 8, 20)
        p_primary = self.U("share_primary_schools", 0.25, 0.5)
        ages, school, yg, cls, country = [], [], [], [], []
        n = s = yg_id = cls_id = 0
        while n < target:
            c = self.domestic()
            r = rng.random()
            rng_ages = (
                range(9, 12)
                if r < p_primary
                else range(9, 18)
                if r < p_primary + 0.08
                else range(11, 18)
            )
            sfac = rng.lognormal(0, 0.35)
            for a in rng_ages:
                k = int(rng.poisson(mean_yg * adopt[a] * sfac))
                if k == 0:
                    continue
                ncls = max(1, round(k / cls_size))
                ages.append(a + rng.random(k))
                cls.append(cls_id + rng.integers(0, ncls, k))
                school.append(np.full(k, s))
                yg.append(np.full(k, yg_id))
                country.append(np.full(k, c))
                yg_id += 1
                cls_id += ncls
                n += k
            s += 1
        age = np.concatenate(ages)
        self.P["n_schools"] = s
        self.P["n_yeargroups"] = yg_id
        ids = self.add(
            len(age),
            "minor",
            age=age,
            school=np.concatenate(school),
            yg=np.concatenate(yg),
            cls=np.concatenate(cls),
            country=np.concatenate(country),
        )
        self.children = ids
        n = len(ids)
        # account age: older accounts mostly, a few created during the window
        p_new = self.U("share_children_new_accounts", 0.02, 0.06)
        max_back = np.clip(age - 8.0, 0.2, 5.0) * 365 * DAY
        created = -rng.uniform(30 * DAY, np.maximum(max_back, 31 * DAY))
        new = rng.random(n) < p_new
        created[new] = rng.uniform(0, self.W - 3 * DAY, int(new.sum()))
        self.cols["created"][ids] = created.astype(np.int64)
        # declared band: under-13s often claim to be older, some teens too
        lie13 = self.U("p_under13_claims_13_15", 0.45, 0.85)
        lie13b = self.U("p_under13_claims_16_17", 0.02, 0.08)
        lie13a = self.U("p_under13_claims_adult", 0.005, 0.03)
        lie15 = self.U("p_13_15_claims_16_17", 0.04, 0.14)
        lie15a = self.U("p_13_15_claims_adult", 0.005, 0.03)
        lie17a = self.U("p_16_17_claims_adult", 0.02, 0.1)
        self.p_unknown = self.U("share_unknown_band", 0.03, 0.15)
        r = rng.random(n)
        band = np.where(age < 13, U13, np.where(age < 16, B13, B16)).astype(np.int8)
        y = age < 13
        band[y & (r < lie13)] = B13
        band[y & (r >= lie13) & (r < lie13 + lie13b)] = B16
        band[y & (r >= lie13 + lie13b) & (r < lie13 + lie13b + lie13a)] = BAD
        m = (age >= 13) & (age < 16)
        band[m & (r < lie15)] = B16
        band[m & (r >= lie15) & (r < lie15 + lie15a)] = BAD
        band[(age >= 16) & (r < lie17a)] = BAD
        band[rng.random(n) < self.p_unknown] = BUNK
        self.cols["band"][ids] = band
        owl_base = self.U("share_late_night_teens", 0.08, 0.35)
        self.cols["owl"][ids] = (age >= 13) & (rng.random(n) < owl_base * (0.6 + (age - 13) / 4))
        oa = self.U("openness_beta_a", 1.2, 3.0)
        ob = self.U("openness_beta_b", 2.5, 8.0)
        self.cols["open"][ids] = rng.beta(oa, ob, n)
        self.cpid = np.zeros(self._n, np.int64)
        owl = self.A("owl")
        ctry = self.A("country")
        for c in np.unique(ctry[ids]):
            for o in (False, True):
                sel = ids[(ctry[ids] == c) & (owl[ids] == o)]
                self.cpid[sel] = self.pid("owl" if o else "child", int(c))

    def child_pid(self, c: Any) -> np.ndarray:
        return self.cpid[np.asarray(c, np.int64)]

    def child_child(
        self, a: np.ndarray, b: np.ndarray, strength: str, formed_share: float, p_acc: float
    ) -> None:
        rng = self.rng
        n = len(a)
        if n == 0:
            return
        rate, mlen, hnd = {
            "close": (self.rate_close, self.mlen_close, self.p_hnd_close),
            "weak": (self.rate_weak, self.mlen_weak, self.p_hnd_weak),
            "community": (self.rate_comm, self.mlen_weak, self.p_hnd_comm),
        }[strength]
        formed = rng.random(n) < formed_share
        self.rel(
            a,
            b,
            pu=self.child_pid(a),
            pv=self.child_pid(b),
            rate=rate,
            sigma=self.rate_sigma_child,
            mlen=mlen * rng.lognormal(0, 0.3, n),
            p_uv=self.p_switch_child,
            p_vu=self.p_switch_child,
            gap=rng.uniform(15, 90, n),
            formed=formed,
            t_form=rng.uniform(0, self.W, n),
            p_acc=p_acc,
            p_hnd=hnd,
            p_blk=self.p_peer_block,
            p_rep=self.p_peer_report,
        )

    def build_friendships(self) -> None:
        rng = self.rng
        self.rate_close = self.U("rate_close_friends_per_day", 0.15, 0.7)
        self.rate_weak = self.U("rate_weak_ties_per_day", 0.01, 0.08)
        self.rate_comm = self.U("rate_community_ties_per_day", 0.02, 0.15)
        self.rate_sigma_child = self.U("rate_sigma_children", 0.5, 1.1)
        self.mlen_close = self.U("messages_per_session_close", 3.0, 8.0)
        self.mlen_weak = self.U("messages_per_session_weak", 1.5, 4.0)
        self.p_switch_child = self.U("p_turn_switch_children", 0.5, 0.8)
        self.p_hnd_close = self.U("p_handle_swap_close_friends", 0.005, 0.04)
        self.p_hnd_weak = self.U("p_handle_swap_weak_ties", 0.001, 0.01)
        self.p_hnd_comm = self.U("p_handle_swap_community_ties", 0.005, 0.05)
        self.p_peer_block = self.U("p_peer_block", 0.002, 0.012)
        self.p_peer_report = self.U("p_report_given_peer_block", 0.05, 0.25)
        self.p_new_friend = self.U("share_friendships_formed_in_window", 0.02, 0.1)
        p_in = self.U("p_tie_in_friend_cluster", 0.55, 0.95)
        lam = self.U("friend_cluster_extra_mean", 1.5, 4.0)
        weak = self.U("weak_ties_per_child", 1.0, 5.0)
        cross = self.U("cross_year_ties_per_child", 0.1, 0.8)
        ch = self.children
        yg = self.A("yg")[ch]
        order = np.argsort(yg, kind="stable")
        cuts = np.flatnonzero(np.diff(yg[order])) + 1
        ca, cb, wa, wb = [], [], [], []
        self.yg_members: list[np.ndarray] = []
        for grp in np.split(ch[order], cuts):
            self.yg_members.append(grp)
            k = len(grp)
            if k < 2:
                continue
            m = rng.permutation(grp)
            sizes = 1 + rng.poisson(lam, k)
            clus = np.repeat(np.arange(k), sizes)[:k]
            i, j = np.triu_indices(k, 1)
            same = clus[i] == clus[j]
            p = np.where(same, p_in, min(0.9, weak / max(k - 1, 1)))
            pick = rng.random(len(i)) < p
            ca.append(m[i[pick & same]])
            cb.append(m[j[pick & same]])
            wa.append(m[i[pick & ~same]])
            wb.append(m[j[pick & ~same]])
        self.child_child(np.concatenate(ca), np.concatenate(cb), "close", self.p_new_friend, 0.9)
        self.child_child(np.concatenate(wa), np.concatenate(wb), "weak", self.p_new_friend, 0.8)
        school = self.A("school")[ch]
        n_cross = rng.poisson(cross * len(ch) / 2)
        a = rng.integers(0, len(ch), n_cross)
        # partner drawn from the same school: sort by school and pick a random neighbour slot
        so = np.argsort(school, kind="stable")
        pos = np.empty(len(ch), np.int64)
        pos[so] = np.arange(len(ch))
        sch_sorted = school[so]
        lo = np.searchsorted(sch_sorted, school[a], "left")
        hi = np.searchsorted(sch_sorted, school[a], "right")
        b = so[lo + (rng.random(n_cross) * (hi - lo)).astype(np.int64)]
        self.child_child(ch[a], ch[b], "weak", self.p_new_friend, 0.8)

    def benign_adults(self, n: int, role: str, country: Any, *, p_new: float = 0.0) -> np.ndarray:
        rng = self.rng
        created = -rng.uniform(20, 3000, n) * DAY
        new = rng.random(n) < p_new
        created[new] = rng.uniform(0, self.W - 2 * DAY, int(new.sum()))
        return self.add(n, role, country=country, created=created.astype(np.int64))

    def adult_pid(self, ids: Any, name: str = "adult") -> np.ndarray:
        ids = np.atleast_1d(np.asarray(ids, np.int64))
        c = self.A("country")[ids]
        out = np.zeros(len(ids), np.int64)
        for cc in np.unique(c):
            out[c == cc] = self.pid(name, int(cc))
        return out

    def build_families(self) -> None:
        rng = self.rng
        sib = self.U("sibling_extra_mean", 0.15, 0.6)
        p0 = self.U("p_family_without_parent_on_platform", 0.4, 0.75)
        p2 = self.U("p_second_parent_given_one", 0.1, 0.35)
        lam_rel = self.U("relatives_per_family", 0.1, 0.6)
        p_abroad = self.U("p_relative_abroad", 0.1, 0.4)
        rate_par = self.U("rate_parent_child_per_day", 0.15, 0.6)
        rate_sib = self.U("rate_siblings_per_day", 0.03, 0.2)
        rate_rel = self.U("rate_relative_child_per_day", 0.02, 0.12)
        ch = self.children
        ctry = self.A("country")[ch]
        fam = np.full(len(ch), -1)
        nf = 0
        for c in np.unique(ctry):
            m = rng.permutation(np.flatnonzero(ctry == c))
            sizes = 1 + np.minimum(rng.poisson(sib, len(m)), 3)
            f = np.repeat(np.arange(len(m)), sizes)[: len(m)]
            fam[m] = nf + f
            nf += int(f.max()) + 1
        self.cols["fam"][ch] = fam
        # family ids are dense after re-labelling
        _, fam = np.unique(fam, return_inverse=True)
        self.cols["fam"][ch] = fam
        nf = int(fam.max()) + 1
        self.P["n_families"] = nf
        fam_country = np.zeros(nf, np.int64)
        fam_country[fam] = ctry
        n_par = np.where(rng.random(nf) < p0, 0, 1 + (rng.random(nf) < p2))
        pf = np.repeat(np.arange(nf), n_par)
        parents = self.benign_adults(len(pf), "parent", fam_country[pf], p_new=0.02)
        self.cols["fam"][parents] = pf
        self.parents = parents
        # parent <-> each own child
        fo = np.argsort(fam, kind="stable")
        fam_sorted = fam[fo]
        lo = np.searchsorted(fam_sorted, pf, "left")
        hi = np.searchsorted(fam_sorted, pf, "right")
        cnt = hi - lo
        pa = np.repeat(parents, cnt)
        kid = ch[fo[spans(lo, hi)]]
        self.kid_of_parent_rows = (pa, kid)
        self.parent_of_child = (pa, self.A("cls")[kid])
        self.rel(
            pa,
            kid,
            pu=self.adult_pid(pa, "family"),
            pv=self.pid_family_child(kid),
            rate=rate_par,
            sigma=0.7,
            mlen=rng.uniform(1.5, 4.0),
            p_uv=0.6,
            p_vu=0.7,
            p_init=0.55,
            gap=90.0,
            p_hnd=0.005,
        )
        # couples
        two = np.flatnonzero(n_par == 2)
        first_par = np.searchsorted(pf, two, "left")
        self.rel(
            parents[first_par],
            parents[first_par + 1],
            pu=self.adult_pid(parents[first_par]),
            pv=self.adult_pid(parents[first_par + 1]),
            rate=0.3,
            sigma=0.8,
            mlen=2.5,
            p_uv=0.7,
            p_vu=0.7,
            gap=120.0,
        )
        # siblings
        sa, sb = [], []
        same = fam_sorted[1:] == fam_sorted[:-1]
        sa.append(ch[fo[:-1][same]])
        sb.append(ch[fo[1:][same]])
        if len(sa[0]):
            a, b = np.concatenate(sa), np.concatenate(sb)
            self.rel(
                a,
                b,
                pu=self.child_pid(a),
                pv=self.child_pid(b),
                rate=rate_sib,
                sigma=0.8,
                mlen=2.5,
                p_uv=0.6,
                p_vu=0.6,
                gap=60.0,
                p_blk=0.003,
            )
        # relatives, some abroad in another time zone
        n_rel = rng.poisson(lam_rel, nf)
        rf = np.repeat(np.arange(nf), n_rel)
        rc = fam_country[rf].copy()
        ab = rng.random(len(rf)) < p_abroad
        rc[ab] = rng.integers(0, len(COUNTRIES), int(ab.sum()))
        rel_ids = self.benign_adults(len(rf), "relative", rc, p_new=0.03)
        self.cols["fam"][rel_ids] = rf
        lo = np.searchsorted(fam_sorted, rf, "left")
        hi = np.searchsorted(fam_sorted, rf, "right")
        ra = np.repeat(rel_ids, hi - lo)
        kid = ch[fo[spans(lo, hi)]]
        self.rel(
            ra,
            kid,
            pu=self.adult_pid(ra, "family"),
            pv=self.pid_family_child(kid),
            rate=rate_rel,
            sigma=0.9,
            mlen=2.0,
            p_uv=0.5,
            p_vu=0.6,
            p_init=0.6,
            gap=120.0,
            p_blk=0.002,
            blk_v=1.0,
        )
        # relatives <-> parents of the family
        po = np.argsort(pf, kind="stable")
        lo = np.searchsorted(pf[po], rf, "left")
        has = np.searchsorted(pf[po], rf, "right") > lo
        self.rel(
            rel_ids[has],
            parents[po[lo[has]]],
            pu=self.adult_pid(rel_ids[has]),
            pv=self.adult_pid(parents[po[lo[has]]]),
            rate=0.1,
            sigma=1.0,
            mlen=2.0,
            p_uv=0.7,
            p_vu=0.7,
            gap=180.0,
        )
        # parents of the same class know each other a little
        lam_pp = self.U("parent_ties_within_class", 0.3, 2.0)
        pk, pcls = self.parent_of_child
        ppa, ppb = [], []
        oc = np.argsort(pcls, kind="stable")
        cuts = np.flatnonzero(np.diff(pcls[oc])) + 1
        for grp in np.split(pk[oc], cuts):
            grp = np.unique(grp)
            k = len(grp)
            if k < 2:
                continue
            m = rng.poisson(lam_pp * k / 2)
            a = rng.integers(0, k, m)
            b = rng.integers(0, k, m)
            ppa.append(grp[a])
            ppb.append(grp[b])
        if ppa:
            a, b = np.concatenate(ppa), np.concatenate(ppb)
            self.rel(
                a,
                b,
                pu=self.adult_pid(a),
                pv=self.adult_pid(b),
                rate=0.04,
                sigma=1.0,
                mlen=2.0,
                p_uv=0.7,
                p_vu=0.7,
                gap=180.0,
            )

    def pid_family_child(self, kid: np.ndarray) -> np.ndarray:
        c = self.A("country")[kid]
        out = np.zeros(len(kid), np.int64)
        for cc in np.unique(c):
            out[c == cc] = self.pid("family", int(cc))
        return out

    def parents_of(self, kids: np.ndarray) -> np.ndarray:
        pa, kd = self.kid_of_parent_rows
        return np.unique(pa[np.isin(kd, kids)])

    def build_teachers(self) -> None:
        rng = self.rng
        p_cls = self.U("p_class_has_teacher_on_platform", 0.15, 0.5)
        rate = self.U("rate_teacher_child_per_day", 0.005, 0.04)
        bc = self.U("teacher_broadcasts_per_week", 0.3, 2.5)
        p_new = self.U("p_new_teacher_account_at_term_start", 0.15, 0.5)
        p_wave = self.U("p_returning_teacher_new_class_at_term_start", 0.2, 0.7)
        p_tp = self.U("p_teacher_parent_tie", 0.03, 0.25)
        p_acc = self.U("p_accept_teacher_request", 0.6, 0.95)
        reply = self.U("p_reply_to_teacher_broadcast", 0.02, 0.12)
        p_stray = self.U("p_teacher_contacts_other_child", 0.05, 0.25)
        ch = self.children
        cls = self.A("cls")[ch]
        school = self.A("school")[ch]
        ctry = self.A("country")
        pk, pcls = self.parent_of_child
        n_teach = 0
        for s in np.unique(school):
            cs = np.unique(cls[school == s])
            cs = cs[rng.random(len(cs)) < p_cls]
            if len(cs) == 0:
                continue
            cs = rng.permutation(cs)
            sizes = 1 + np.minimum(rng.poisson(0.6, len(cs)), 2)
            tix = np.repeat(np.arange(len(cs)), sizes)[: len(cs)]
            c = int(ctry[ch[school == s][0]])
            term = self.term_start.get(c)
            n_t = int(tix.max()) + 1
            teachers = self.benign_adults(n_t, "teacher", c, p_new=0.01)
            n_teach += n_t
            tp = self.pid("teacher", c)
            for ti in range(n_t):
                t = int(teachers[ti])
                members = ch[np.isin(cls, cs[tix == ti])]
                wave = None
                if term is not None:
                    t_term = self.local_day_start(c, term)
                    if rng.random() < p_new:
                        created = max(0.0, t_term - rng.uniform(0, 1.5) * DAY)
                        self.cols["created"][t] = int(created)
                        wave = created + rng.uniform(0.2, 8) * HOUR
                    elif rng.random() < p_wave:
                        wave = max(0.0, t_term + rng.uniform(-0.5, 0.6) * DAY)
                elif self.cols["created"][t] > 0:
                    wave = float(self.cols["created"][t]) + rng.uniform(0.2, 8) * HOUR
                k = len(members)
                self.rel(
                    np.full(k, t),
                    members,
                    pu=tp,
                    pv=self.child_pid(members),
                    rate=rate,
                    sigma=0.8,
                    mlen=1.6,
                    p_uv=0.4,
                    p_vu=0.5,
                    p_init=0.6,
                    gap=120.0,
                    formed=wave is not None,
                    t_form=(wave or 0.0) + rng.exponential(1800, k),
                    p_acc=p_acc,
                    p_blk=self.p_mistake_block,
                    p_rep=self.p_mistake_report_given_block,
                    blk_v=1.0,
                )
                t_min = (wave + 2 * HOUR) if wave is not None else 0.0
                times = self.weekly_times(
                    c, [0, 1, 2, 3, 4], 7.5, 17.5, bc / 5, t_min=t_min, skip_holidays=True
                )
                self.broadcast(t, members, times, reply)
                # colleagues' and parents' ties
                par = np.unique(pk[np.isin(pcls, cs[tix == ti])])
                par = par[rng.random(len(par)) < p_tp]
                self.rel(
                    np.full(len(par), t),
                    par,
                    pu=tp,
                    pv=self.adult_pid(par),
                    rate=0.03,
                    sigma=1.0,
                    mlen=2.0,
                    p_uv=0.7,
                    p_vu=0.6,
                    gap=240.0,
                )
                if rng.random() < p_stray:
                    others = ch[(school == s) & ~np.isin(cls, cs[tix == ti])]
                    if len(others):
                        self.stray(t, others[rng.integers(len(others))], tp)
            i, j = np.triu_indices(n_t, 1)
            pick = rng.random(len(i)) < 0.5
            self.rel(
                teachers[i[pick]],
                teachers[j[pick]],
                pu=tp,
                pv=tp,
                rate=0.05,
                sigma=1.0,
                mlen=2.0,
                p_uv=0.7,
                p_vu=0.7,
                gap=180.0,
            )
        self.P["n_teachers"] = n_teach

    def stray(self, adult: int, child: int, pa: int) -> None:
        """A benign adult contacts a child they do not know (a friend's child, lost property...)."""
        rng = self.rng
        t = float(rng.uniform(0, self.W - DAY))
        t = max(t, float(self.cols["created"][child]) + 60, float(self.cols["created"][adult]) + 60)
        req = rng.random() < 0.4
        self.rel(
            adult,
            child,
            pu=pa,
            pv=self.child_pid([child])[0],
            rate=0.0,
            n_fixed=1 if rng.random() < 0.8 else 2,
            mlen=1.5,
            p_uv=self.p_stray_reply,
            p_vu=0.5,
            p_init=0.95,
            gap=120.0,
            lo=t,
            hi=t + rng.uniform(1, 48) * HOUR,
            formed=req,
            t_form=t,
            p_acc=0.35,
            oneway=True,
            p_blk=self.p_stray_block,
            p_rep=self.p_stray_report_given_block,
            blk_v=1.0,
        )

    def pick_schools(self, c: int, k: int) -> np.ndarray:
        school = self.A("school")[self.children]
        ss = np.unique(school[self.A("country")[self.children] == c])
        return self.rng.choice(ss, min(k, len(ss)), replace=False)

    def build_teams(self) -> None:
        rng = self.rng
        ch = self.children
        per = self.U("children_per_team", 60, 160)
        n_teams = max(1, round(len(ch) / per))
        rate = self.U("rate_coach_child_per_day", 0.01, 0.06)
        p_cp = self.U("p_coach_parent_tie", 0.2, 0.7)
        p_bc = self.U("p_coach_broadcast_before_training", 0.4, 0.9)
        p_hnd = self.U("p_team_group_chat_handle", 0.15, 0.5)
        reply = self.U("p_reply_to_coach_broadcast", 0.03, 0.2)
        age = self.A("age")[ch]
        school = self.A("school")[ch]
        ctry = self.A("country")[ch]
        created = self.A("created")[ch]
        self.teams: list[dict[str, Any]] = []
        for _ in range(n_teams):
            c = int(ctry[rng.integers(len(ch))])
            ss = self.pick_schools(c, int(rng.integers(1, 4)))
            a = int(rng.integers(9, 17))
            span = int(rng.integers(1, 3))
            pool = ch[np.isin(school, ss) & (age >= a) & (age < a + span + 1) & (created < 0)]
            if len(pool) < 5:
                continue
            members = rng.choice(pool, min(len(pool), int(rng.integers(8, 23))), replace=False)
            train = tuple(int(x) for x in np.sort(rng.choice(5, 2, replace=False)))
            match = int(rng.integers(5, 7))
            cp = self.pid("coach", c, (train, match))
            coaches = self.benign_adults(1 + int(rng.random() < 0.3), "coach", c, p_new=0.05)
            for co in coaches:
                co = int(co)
                k = len(members)
                self.rel(
                    np.full(k, co),
                    members,
                    pu=cp,
                    pv=self.child_pid(members),
                    rate=rate,
                    sigma=0.8,
                    mlen=1.8,
                    p_uv=0.5,
                    p_vu=0.6,
                    p_init=0.7,
                    gap=90.0,
                    p_blk=self.p_mistake_block,
                    p_rep=self.p_mistake_report_given_block,
                    blk_v=1.0,
                )
                par = self.parents_of(members)
                par = par[rng.random(len(par)) < p_cp]
                self.rel(
                    np.full(len(par), co),
                    par,
                    pu=cp,
                    pv=self.adult_pid(par),
                    rate=0.05,
                    sigma=0.8,
                    mlen=2.0,
                    p_uv=0.7,
                    p_vu=0.7,
                    gap=180.0,
                )
                t_min = float(max(0, self.cols["created"][co]))
                times = np.concatenate(
                    [
                        self.weekly_times(c, list(train), 11, 16.5, p_bc, t_min=t_min),
                        self.weekly_times(c, [(match - 1) % 7], 17, 21, 0.7, t_min=t_min),
                        self.weekly_times(c, [match], 7, 9.5, 0.5, t_min=t_min),
                    ]
                )
                self.broadcast(co, members, times, reply)
                if rng.random() < p_hnd:
                    th = self.weekly_times(c, list(train), 15, 20, 1.0, t_min=t_min)
                    if len(th):
                        t_h = th[rng.integers(len(th))]
                        self.broadcast(co, members, [t_h], 0.0, kind=HND)
                        self.broadcast(co, par, [t_h + rng.uniform(60, 900)], 0.0, kind=HND)
                if rng.random() < self.p_stray_role:
                    self.stray(co, int(ch[rng.integers(len(ch))]), cp)
            # teammates from different schools get to know each other
            m = len(members)
            n_t = rng.poisson(1.2 * m / 2)
            i, j = rng.integers(0, m, n_t), rng.integers(0, m, n_t)
            self.child_child(members[i], members[j], "community", 0.25, 0.85)
            self.teams.append(
                {
                    "members": members,
                    "coaches": coaches,
                    "country": c,
                    "parents": self.parents_of(members),
                }
            )
        self.P["n_teams"] = len(self.teams)

    def build_youth(self) -> None:
        rng = self.rng
        ch = self.children
        per = self.U("children_per_youth_group", 120, 300)
        n_g = max(1, round(len(ch) / per))
        rate = self.U("rate_youth_worker_child_per_day", 0.01, 0.05)
        p_start = self.U("p_youth_worker_starts_new_group", 0.1, 0.4)
        p_acc = self.U("p_accept_youth_worker_invite", 0.5, 0.9)
        reply = self.U("p_reply_to_youth_broadcast", 0.03, 0.15)
        age = self.A("age")[ch]
        school = self.A("school")[ch]
        ctry = self.A("country")[ch]
        created = self.A("created")[ch]
        self.youth: list[dict[str, Any]] = []
        for _ in range(n_g):
            c = int(ctry[rng.integers(len(ch))])
            ss = self.pick_schools(c, int(rng.integers(2, 5)))
            a = int(rng.integers(10, 15))
            pool_all = ch[np.isin(school, ss) & (age >= a) & (age < a + 4) & (created < 0)]
            if len(pool_all) < 8:
                continue
            members = rng.choice(
                pool_all, min(len(pool_all), int(rng.integers(10, 29))), replace=False
            )
            day = int(rng.integers(0, 5))
            yp = self.pid("youth", c, day)
            workers = self.benign_adults(
                1 + int(rng.random() < 0.25), "youth_worker", c, p_new=0.04
            )
            for w in workers:
                w = int(w)
                k = len(members)
                self.rel(
                    np.full(k, w),
                    members,
                    pu=yp,
                    pv=self.child_pid(members),
                    rate=rate,
                    sigma=0.8,
                    mlen=1.8,
                    p_uv=0.5,
                    p_vu=0.6,
                    p_init=0.65,
                    gap=90.0,
                    p_blk=self.p_mistake_block,
                    p_rep=self.p_mistake_report_given_block,
                    blk_v=1.0,
                )
                par = self.parents_of(members)
                par = par[rng.random(len(par)) < 0.3]
                self.rel(
                    np.full(len(par), w),
                    par,
                    pu=yp,
                    pv=self.adult_pid(par),
                    rate=0.03,
                    sigma=1.0,
                    mlen=2.0,
                    p_uv=0.7,
                    p_vu=0.7,
                    gap=180.0,
                )
                t_min = float(max(0, self.cols["created"][w]))
                times = np.concatenate(
                    [
                        self.weekly_times(c, [(day - 1) % 7], 17, 21, 0.5, t_min=t_min),
                        self.weekly_times(c, [day], 12, 17, 0.5, t_min=t_min),
                    ]
                )
                self.broadcast(w, members, times, reply)
                if rng.random() < p_start:
                    # a new group starts: an invitation wave to children the worker did not know
                    rest = np.setdiff1d(pool_all, members)
                    if len(rest) < 6:
                        rest = ch[(ctry == c) & (age >= a) & (age < a + 4) & (created < 0)]
                        rest = np.setdiff1d(rest, members)
                    if len(rest) >= 6:
                        new = rng.choice(
                            rest, min(len(rest), int(rng.integers(8, 21))), replace=False
                        )
                        t_w = float(rng.uniform(0, self.W - 5 * DAY))
                        t_w = max(t_w, t_min)
                        self.rel(
                            np.full(len(new), w),
                            new,
                            pu=yp,
                            pv=self.child_pid(new),
                            rate=rate,
                            sigma=0.8,
                            mlen=1.8,
                            p_uv=0.5,
                            p_vu=0.6,
                            p_init=0.65,
                            gap=90.0,
                            formed=True,
                            t_form=t_w + rng.uniform(0, 1.5 * DAY, len(new)),
                            p_acc=p_acc,
                        )
                        t2 = self.weekly_times(c, [(day - 1) % 7], 17, 21, 0.6, t_min=t_w + 2 * DAY)
                        self.broadcast(w, new, t2, 0.0)
                if rng.random() < self.p_stray_role:
                    self.stray(w, int(ch[rng.integers(len(ch))]), yp)
            self.youth.append(
                {
                    "members": members,
                    "workers": workers,
                    "country": c,
                    "parents": self.parents_of(members),
                }
            )
        self.P["n_youth_groups"] = len(self.youth)

    def build_games(self) -> None:
        rng = self.rng
        ch = self.children
        age = self.A("age")[ch]
        ctry = self.A("country")[ch]
        n_srv = max(2, round(self.scale * self.U("game_servers", 3, 12)))
        intl = self.U("server_cross_country_weight", 0.1, 0.5)
        p_game = self.U("p_child_on_game_server", 0.2, 0.5)
        lam = self.U("ties_per_server_member", 0.5, 2.0)
        share_formed = self.U("share_server_ties_formed_in_window", 0.2, 0.5)
        p_acc = self.U("p_accept_server_peer_request", 0.5, 0.85)
        s_ctry = np.array(
            [
                self.home
                if rng.random() < 0.6
                else self.domestic()
                if rng.random() < 0.5
                else int(rng.integers(len(COUNTRIES)))
                for _ in range(n_srv)
            ]
        )
        w = rng.lognormal(0, 0.8, n_srv)
        fac = np.where(age < 10, 0.15, np.where(age < 12, 0.5, np.where(age < 13, 0.8, 1.0)))
        join = rng.random(len(ch)) < p_game * fac * 1.3
        W = w[None, :] * np.where(ctry[:, None] == s_ctry[None, :], 1.0, intl)
        W = W / W.sum(axis=1, keepdims=True)
        cum = W.cumsum(axis=1)
        pick1 = (rng.random(len(ch))[:, None] > cum).sum(axis=1)
        pick2 = (rng.random(len(ch))[:, None] > cum).sum(axis=1)
        two = rng.random(len(ch)) < 0.3
        self.servers: list[dict[str, Any]] = []
        for s in range(n_srv):
            mem = ch[join & ((pick1 == s) | (two & (pick2 == s)))]
            self.servers.append(
                {"members": mem, "gamers": np.zeros(0, np.int64), "country": int(s_ctry[s])}
            )
            k = len(mem)
            if k < 2:
                continue
            m = rng.poisson(lam * k / 2)
            i, j = rng.integers(0, k, m), rng.integers(0, k, m)
            d = np.abs(self.A("age")[mem[i]] - self.A("age")[mem[j]])
            ok = rng.random(m) < np.exp(-d / 2)
            self.child_child(mem[i[ok]], mem[j[ok]], "community", share_formed, p_acc)
        self.P["n_game_servers"] = n_srv
        # adult gamers who play with a few teenagers
        n_g = max(2, round(len(ch) * self.U("adult_gamers_per_child", 0.02, 0.06)))
        p_none = self.U("p_gamer_without_teen_contacts", 0.2, 0.5)
        rate = self.U("rate_gamer_teen_per_day", 0.04, 0.25)
        p_hnd = self.U("p_gamer_teen_handle_swap", 0.05, 0.25)
        gc = np.array(
            [
                self.home if rng.random() < 0.5 else int(rng.integers(len(COUNTRIES)))
                for _ in range(n_g)
            ]
        )
        gamers = self.benign_adults(n_g, "gamer", gc, p_new=0.04)
        gpid = self.adult_pid(gamers, "gamer")
        sw = w / w.sum()
        gs = rng.choice(n_srv, n_g, p=sw)
        for s in range(n_srv):
            self.servers[s]["gamers"] = gamers[gs == s]
        for gi, g in enumerate(gamers):
            srv = self.servers[int(gs[gi])]
            mem = srv["members"]
            teens = mem[self.A("age")[mem] >= 12.5]
            if len(teens) == 0 or rng.random() < p_none:
                continue
            k = min(len(teens), 1 + min(int(rng.poisson(1.2)), 5))
            tt = rng.choice(teens, k, replace=False)
            self.rel(
                np.full(k, int(g)),
                tt,
                pu=int(gpid[gi]),
                pv=self.child_pid(tt),
                rate=rate,
                sigma=0.8,
                mlen=rng.uniform(3, 6),
                p_uv=0.7,
                p_vu=0.7,
                p_init=0.5,
                gap=45.0,
                formed=rng.random(k) < 0.2,
                t_form=rng.uniform(0, self.W, k),
                p_acc=0.75,
                p_hnd=p_hnd,
                p_blk=self.p_mistake_block * 2,
                p_rep=self.p_mistake_report_given_block,
                blk_v=1.0,
            )
        m = rng.poisson(2.0 * n_g / 2)
        i, j = rng.integers(0, n_g, m), rng.integers(0, n_g, m)
        self.rel(
            gamers[i],
            gamers[j],
            pu=gpid[i],
            pv=gpid[j],
            rate=0.2,
            sigma=1.0,
            mlen=4.0,
            p_uv=0.7,
            p_vu=0.7,
            gap=40.0,
            p_hnd=0.05,
        )
        self.gamers = gamers

    def build_creators(self) -> None:
        rng = self.rng
        ch = self.children
        n_cr = max(1, round(self.scale * self.U("creators", 3, 14)))
        p_fan = self.U("p_child_follows_creator", 0.15, 0.45)
        p_contact = self.U("p_fan_contacts_creator_in_window", 0.05, 0.3)
        p_acc = self.U("p_creator_accepts_fan", 0.02, 0.15)
        p_reply = self.U("p_creator_replies", 0.01, 0.08)
        cc = np.array(
            [
                self.home if rng.random() < 0.5 else int(rng.integers(len(COUNTRIES)))
                for _ in range(n_cr)
            ]
        )
        creators = self.benign_adults(n_cr, "creator", cc)
        cpid = self.adult_pid(creators)
        pop = rng.lognormal(0, 1.0, n_cr)
        pop /= pop.sum()
        fan = rng.random(len(ch)) < p_fan
        f1 = rng.choice(n_cr, len(ch), p=pop)
        f2 = rng.choice(n_cr, len(ch), p=pop)
        two = rng.random(len(ch)) < 0.3
        self.fans: list[dict[str, Any]] = []
        for k in range(n_cr):
            mem = ch[fan & ((f1 == k) | (two & (f2 == k)))]
            self.fans.append({"members": mem, "creator": int(creators[k])})
            contact = mem[rng.random(len(mem)) < p_contact]
            n = len(contact)
            self.rel(
                contact,
                np.full(n, int(creators[k])),
                pu=self.child_pid(contact),
                pv=int(cpid[k]),
                rate=0.0,
                n_fixed=1 + rng.poisson(0.5, n),
                mlen=1.3,
                p_uv=p_reply,
                p_vu=0.3,
                p_init=0.97,
                gap=60.0,
                formed=rng.random(n) < 0.7,
                t_form=rng.uniform(0, self.W, n),
                p_acc=p_acc,
                oneway=True,
            )
            fm = len(mem)
            if fm >= 2:
                m = rng.poisson(self.fan_ties * fm / 2)
                i, j = rng.integers(0, fm, m), rng.integers(0, fm, m)
                self.child_child(mem[i], mem[j], "community", 0.45, 0.6)
        # creators know each other and some ordinary adults
        i, j = np.triu_indices(n_cr, 1)
        pick = rng.random(len(i)) < 0.3
        self.rel(
            creators[i[pick]],
            creators[j[pick]],
            pu=cpid[i[pick]],
            pv=cpid[j[pick]],
            rate=0.1,
            sigma=1.0,
            mlen=3.0,
            p_uv=0.7,
            p_vu=0.7,
            gap=90.0,
        )
        self.creators = creators
        self.P["n_creators"] = n_cr

    def build_adults(self) -> None:
        rng = self.rng
        n = max(10, round(len(self.children) * self.U("ordinary_adults_per_child", 0.25, 0.6)))
        p_abroad = self.U("p_ordinary_adult_abroad", 0.02, 0.1)
        c = np.array([self.domestic() for _ in range(n)])
        ab = rng.random(n) < p_abroad
        c[ab] = rng.integers(0, len(COUNTRIES), int(ab.sum()))
        adults = self.benign_adults(
            n, "adult", c, p_new=self.U("share_adults_new_accounts", 0.02, 0.08)
        )
        self.adults = adults
        apid = self.adult_pid(adults)
        lam = self.U("ties_per_ordinary_adult", 1.5, 5.0)
        rate = self.U("rate_adult_ties_per_day", 0.05, 0.3)
        m = rng.poisson(lam * n / 2)
        i = rng.integers(0, n, m)
        # mostly same-country partners
        so = np.argsort(c, kind="stable")
        lo = np.searchsorted(c[so], c[i], "left")
        hi = np.searchsorted(c[so], c[i], "right")
        j = so[lo + (rng.random(m) * (hi - lo)).astype(np.int64)]
        any_ = rng.random(m) < 0.1
        j[any_] = rng.integers(0, n, int(any_.sum()))
        self.rel(
            adults[i],
            adults[j],
            pu=apid[i],
            pv=apid[j],
            rate=rate,
            sigma=1.0,
            mlen=rng.uniform(2, 5),
            p_uv=0.7,
            p_vu=0.7,
            gap=rng.uniform(40, 300, m),
            formed=rng.random(m) < 0.04,
            t_form=rng.uniform(0, self.W, m),
            p_acc=0.8,
            p_hnd=0.02,
            p_blk=0.004,
            p_rep=0.15,
        )
        # the other benign adult roles have an ordinary adult social life too
        others = np.flatnonzero(
            np.isin(
                self.A("role"),
                [
                    RID[r]
                    for r in (
                        "parent",
                        "relative",
                        "teacher",
                        "coach",
                        "youth_worker",
                        "gamer",
                        "creator",
                    )
                ],
            )
        )
        k = rng.poisson(self.U("ordinary_ties_per_other_adult", 0.5, 3.0), len(others))
        a = np.repeat(others, k)
        b = adults[rng.integers(0, n, len(a))]
        self.rel(
            a,
            b,
            pu=self.adult_pid(a),
            pv=self.adult_pid(b),
            rate=rate,
            sigma=1.0,
            mlen=3.0,
            p_uv=0.7,
            p_vu=0.7,
            gap=120.0,
            p_hnd=0.02,
        )
        # some ordinary adults follow creators
        fol = adults[rng.random(n) < 0.08]
        cr = self.creators[rng.integers(0, len(self.creators), len(fol))]
        self.rel(
            fol,
            cr,
            pu=self.adult_pid(fol),
            pv=self.adult_pid(cr),
            rate=0.0,
            n_fixed=1,
            mlen=1.2,
            p_uv=0.05,
            p_vu=0.3,
            p_init=0.97,
            gap=60.0,
            lo=rng.uniform(0, self.W - DAY, len(fol)),
            oneway=True,
        )
        # benign adults who contact a child they do not know
        adult_like = np.flatnonzero(
            np.isin(self.A("role"), [RID[r] for r in ("parent", "relative", "gamer", "adult")])
        )
        st = adult_like[rng.random(len(adult_like)) < self.p_stray_role * 0.3]
        ch = self.children
        ctry = self.A("country")
        so = np.argsort(ctry[ch], kind="stable")
        cs = ctry[ch][so]
        for a in st:
            lo_, hi_ = np.searchsorted(cs, ctry[a], "left"), np.searchsorted(cs, ctry[a], "right")
            kid = ch[so[rng.integers(lo_, hi_)]] if hi_ > lo_ else ch[rng.integers(len(ch))]
            self.stray(int(a), int(kid), int(self.adult_pid(a)[0]))
        self.P["n_stray_contacts_ordinary"] = len(st)

    # ------------------------------------------------------------------ offenders
    def new_offender(
        self,
        arch: str,
        g: dict[str, Any],
        t_first: float,
        *,
        country: int | None = None,
        force_new: bool = False,
    ) -> int:
        rng = self.rng
        if country is None:
            country = (
                self.abroad[int(rng.integers(len(self.abroad)))]
                if rng.random() < g["p_abroad"]
                else self.domestic()
            )
        bp = np.asarray(g["band_p"], np.float64)
        band = (B13, B16, BAD, BUNK)[int(rng.choice(4, p=bp / bp.sum()))]
        if (force_new or rng.random() < g["p_new"]) and t_first > 30 * 60:
            created = t_first - rng.uniform(600, min(2 * DAY, t_first - 60))
        else:
            created = -rng.uniform(20, 1500) * DAY
        o = int(
            self.add(1, f"offender_{arch}", country=country, created=int(created), band=band)[0]
        )
        self.own_pid[o] = self.pid(g.get("rhythm", "adult"), country, g.get("rhythm_extra"))
        log = {"account": o, "archetype": arch}
        for k, v in g.items():
            if isinstance(v, float):
                log[k] = sig(v)
            elif isinstance(v, int | str | bool | tuple | list):
                log[k] = v
        self.off_log.append(log)
        return o

    def age_factor(self, c: int) -> float:
        a = self.cols["age"][c]
        return 0.6 if a < 12 else 1.0 if a < 16 else 0.8

    def after(self, who: int, t: float, horizon: float) -> float:
        lo = t + 30
        hi = min(float(self.W), t + horizon)
        if lo >= hi:
            return INF
        return float(self.sample_times([self.cpid[who]], self.cpid[who], lo, hi)[0])

    def engage(
        self,
        o: int,
        c: int,
        t0: float,
        g: dict[str, Any],
        *,
        direct: bool = False,
        acc_boost: float = 1.0,
    ) -> tuple[float, list[float], float]:
        """Offender account o approaches child c at t0. Returns (accept time or inf, the
        child's block/report times, the end of contact)."""
        rng = self.rng
        W = float(self.W)
        t0 = max(t0, float(self.cols["created"][c]) + 600, float(self.cols["created"][o]) + 60)
        negs: list[float] = []
        if t0 >= W - 900:
            return INF, negs, INF
        op = self.cols["open"][c]
        if direct:
            ta = t0
        else:
            self.emit(t0, REQ, o, c)
            p = min(0.95, op * g["acc_mult"] * acc_boost * self.age_factor(c))
            if rng.random() >= p:
                if rng.random() < self.p_req_block * g.get("req_block_mult", 1.0) * (1.5 - op):
                    tb = self.after(c, t0, 3 * DAY)
                    if tb < W:
                        self.emit(tb, BLK, c, o)
                        negs.append(tb)
                        if rng.random() < self.p_rep_after_req * g.get("rep_mult", 1.0):
                            tr = tb + float(self.report_delay(1)[0])
                            self.emit(tr, REP, c, o)
                            negs.append(tr)
                return INF, negs, INF
            ta = self.after(
                c, t0, float(np.clip(rng.lognormal(math.log(g["acc_med"]), 1.0), 600, 5 * DAY))
            )
            if ta >= W:
                return INF, negs, INF
            self.emit(ta, ACC, c, o)
        dur = g["duration"] * rng.lognormal(0, 0.4)
        t_end = min(W, ta + dur)
        t_drop = ta + rng.exponential(g["drop_mean"])
        t_give = t_drop + rng.uniform(0.5, 4) * DAY
        t_stop = min(t_end, t_give)
        t_h = INF
        if rng.random() < g["p_handle"]:
            t_h = ta + rng.uniform(g["handle_lo"], g["handle_hi"])
        t_b = INF
        if rng.random() < g["p_block"] * (1.3 - op):
            if g.get("block_after_handle") and t_h < t_stop:
                t_b = t_h + rng.lognormal(math.log(g["blk_med"]), 1.0)
            else:
                t_b = rng.uniform(ta + 600, max(ta + 1200, min(t_stop, W)))
        t_stop = min(t_stop, t_b)
        if t_stop > ta:
            span = t_stop - ta
            r0, r1 = g["r0"], g["r1"]
            n = int(rng.poisson((r0 + r1) / 2 * span / DAY))
            # density r0 + (r1 - r0) x on [0, 1]: a mixture of uniform and triangular
            tri = rng.random(n) < abs(r1 - r0) / 2 / ((r0 + r1) / 2 + 1e-9)
            x = rng.random(n)
            tx = np.sqrt(rng.random(n))
            x = np.where(tri, tx if r1 >= r0 else 1 - tx, x)
            anchors = ta + x * span
            keep = (anchors < t_h) | (rng.random(n) < g["post_handle"])
            keep &= (anchors < t_drop) | (rng.random(n) < 0.3)
            anchors, x = anchors[keep], x[keep]
            first = ta + min(rng.lognormal(math.log(g["first_delay"]), 0.8), 6 * HOUR)
            lo = np.r_[first, np.maximum(ta, anchors - 6 * HOUR)]
            hi = np.r_[first + 900, np.minimum(t_stop, anchors + 6 * HOUR)]
            x = np.r_[0.0, x]
            late = rng.random(len(x)) < g["late0"] + (g["late1"] - g["late0"]) * x
            cc = int(self.cols["country"][c])
            pc = np.where(late, self.pid("late", cc), self.cpid[c])
            ts0 = self.sample_times(
                np.full(len(x), self.own_pid[o]), pc, lo, np.maximum(hi, lo + 60)
            )
            L = np.minimum(rng.geometric(1.0 / max(g["mlen"], 1.0), len(x)), 60)
            reply = np.where(ts0 < t_drop, g["reply"], 0.0)
            ts, act, tgt, _ = self.expand(
                ts0,
                np.full(len(x), o),
                np.full(len(x), c),
                L,
                reply,
                np.full(len(x), 0.85),
                np.full(len(x), g["gap"]),
                rng.random(len(x)) < 0.8,
            )
            ok = (ts < t_stop) & ((act == o) | (ts < t_drop))
            self.emit(ts[ok], MSG, act[ok], tgt[ok])
        if t_h < min(t_b, t_give, W):
            self.emit(t_h, HND, o, c)
            if rng.random() < g.get("p_handle_back", 0.15) and t_h < t_drop:
                self.emit(t_h + rng.exponential(600) + 20, HND, c, o)
        if t_b < W:
            self.emit(t_b, BLK, c, o)
            negs.append(t_b)
        if rng.random() < g["p_report"] * (2.0 if t_b < W else 0.5):
            base = t_b if t_b < W else (t_h if t_h < W else min(t_drop, t_stop))
            tr = base + float(self.report_delay(1)[0])
            if tr < W:
                self.emit(tr, REP, c, o)
                negs.append(tr)
        return ta, negs, min(t_stop, W)

    def campaign(
        self, o: int, arch: str, targets: np.ndarray, times: np.ndarray, g: dict[str, Any]
    ) -> None:
        """Approach targets in time order; an account blocked often enough may reappear as a
        new account that carries on with the rest of the list."""
        rng = self.rng
        cur = o
        negs: list[float] = []
        shift = 0.0
        next_check = g.get("recreate_after", 10**9)
        made = 0
        accepted: list[int] = []
        for c, t in zip(targets, times, strict=True):
            t = float(t) + shift
            if t >= self.W - 900:
                break
            if made < g.get("max_recreate", 0) and sum(x <= t for x in negs) >= next_check:
                if rng.random() < g["p_recreate"]:
                    t_new = t + rng.uniform(0.5, 24) * HOUR
                    shift += t_new - t
                    t = t_new
                    keep_c = rng.random() < 0.8
                    cur = self.new_offender(
                        arch,
                        g,
                        t,
                        country=int(self.cols["country"][cur]) if keep_c else None,
                        force_new=True,
                    )
                    made += 1
                    negs = []
                    next_check = g["recreate_after"]
                    for again in [x for x in accepted if rng.random() < 0.3][:3]:
                        _, n2, _ = self.engage(cur, again, t + rng.uniform(0, 2) * HOUR, g)
                        negs += n2
                else:
                    next_check += g["recreate_after"]
            ta, n, _ = self.engage(cur, int(c), t, g)
            negs += n
            if ta < INF:
                accepted.append(int(c))

    def pool(self, lo_age: float, hi_age: float, *, base: np.ndarray | None = None) -> np.ndarray:
        ch = self.children if base is None else base
        a = self.A("age")[ch]
        return ch[(a >= lo_age) & (a < hi_age)]

    def choose(self, pool: np.ndarray, k: int, w: np.ndarray | None = None) -> np.ndarray:
        k = min(k, len(pool))
        if k <= 0:
            return pool[:0]
        if w is None:
            return self.rng.choice(pool, k, replace=False)
        w = np.asarray(w, np.float64)
        k = min(k, int((w > 0).sum()))
        return self.rng.choice(pool, k, replace=False, p=w / w.sum())

    def burst_times(
        self, o: int, n: int, t_start: float, active: float, burst: float, burst_len: float
    ) -> np.ndarray:
        rng = self.rng
        nb = max(1, math.ceil(n / burst))
        p = self.own_pid[o]
        centers = np.sort(
            self.sample_times(np.full(nb, p), p, t_start, min(self.W, t_start + active))
        )
        t = centers[np.minimum(np.arange(n) // max(1, round(burst)), nb - 1)] + rng.uniform(
            0, burst_len, n
        )
        return np.sort(t)

    def g_common(self, arch: str, tempo: float) -> dict[str, Any]:
        rng = self.rng
        P = self.P
        return {
            "p_abroad": P[f"{arch}_p_abroad"],
            "p_new": P[f"{arch}_p_new_account"],
            "rhythm": "gamer" if rng.random() < 0.35 else "adult",
            "tempo": tempo,
            "req_block_mult": rng.uniform(*REQ_BLOCK_MULT[arch]),
        }

    def arch_spray(self, k: int, tempo: float) -> None:
        rng = self.rng
        for _ in range(k):
            g = self.g_common("spray", tempo)
            r0 = rng.uniform(1, 3)
            g.update(
                n_targets=int(rng.uniform(25, 150) * tempo),
                active=rng.uniform(1, 6) * DAY,
                burst=rng.uniform(3, 15),
                burst_len=rng.uniform(10, 60) * 60,
                band_p=(0.05, 0.1, 0.6, 0.25),
                acc_mult=rng.uniform(0.25, 0.7),
                rep_mult=rng.uniform(1.0, 2.0),
                acc_med=rng.uniform(1, 6) * HOUR,
                first_delay=rng.uniform(2, 30) * 60,
                duration=rng.uniform(0.5, 3) * DAY,
                drop_mean=rng.uniform(0.3, 2) * DAY,
                p_handle=rng.uniform(0.5, 0.95),
                handle_lo=rng.uniform(0.05, 0.5) * HOUR,
                handle_hi=rng.uniform(1, 12) * HOUR,
                p_block=rng.uniform(0.15, 0.45),
                block_after_handle=True,
                blk_med=rng.uniform(0.5, 6) * HOUR,
                p_report=rng.uniform(0.08, 0.25),
                r0=r0,
                r1=r0 * rng.uniform(0.2, 0.8),
                mlen=rng.uniform(2, 5),
                reply=rng.uniform(0.2, 0.5),
                gap=rng.uniform(15, 60),
                late0=rng.uniform(0.05, 0.2),
                late1=rng.uniform(0.05, 0.3),
                post_handle=rng.uniform(0.1, 0.5),
                recreate_after=int(rng.integers(3, 11)),
                p_recreate=rng.uniform(0.4, 0.9),
                max_recreate=int(rng.integers(1, 4)),
                age_lo=int(rng.integers(9, 14)),
                pref_band=int(rng.choice([U13, B13, B16], p=[0.2, 0.5, 0.3])),
            )
            g["age_hi"] = g["age_lo"] + int(rng.integers(3, 7))
            t_start = rng.uniform(0, self.W - g["active"] - HOUR)
            o = self.new_offender("spray", g, t_start)
            pool = self.pool(g["age_lo"], g["age_hi"])
            band = self.A("band")[pool]
            w = np.where(band == g["pref_band"], 3.0, np.where(band == BAD, 0.3, 1.0))
            w *= np.where(self.A("country")[pool] == self.cols["country"][o], 0.5, 1.0)
            targets = self.choose(pool, g["n_targets"], w)
            times = self.burst_times(
                o, len(targets), t_start, g["active"], g["burst"], g["burst_len"]
            )
            self.campaign(o, "spray", targets, times, g)

    def arch_peerpose(self, k: int, tempo: float) -> None:
        rng = self.rng
        p_minor = self.P["peerpose_p_minor_band"]
        for _ in range(k):
            g = self.g_common("peerpose", tempo)
            r0 = rng.uniform(3, 8)
            g.update(
                n_targets=int(rng.uniform(8, 60) * tempo),
                active=rng.uniform(2, 14) * DAY,
                burst=rng.uniform(1, 6),
                burst_len=rng.uniform(10, 90) * 60,
                band_p=(p_minor * 0.6, p_minor * 0.4, (1 - p_minor) * 0.7, (1 - p_minor) * 0.3),
                acc_mult=rng.uniform(0.8, 1.5),
                rep_mult=rng.uniform(1.0, 2.0),
                acc_med=rng.uniform(0.5, 4) * HOUR,
                first_delay=rng.uniform(1, 10) * 60,
                duration=rng.uniform(0.1, 1.5) * DAY,
                drop_mean=rng.uniform(0.2, 1.0) * DAY,
                p_handle=rng.uniform(0.7, 1.0),
                handle_lo=rng.uniform(3, 15) * 60,
                handle_hi=rng.uniform(20, 90) * 60,
                p_block=rng.uniform(0.3, 0.7),
                block_after_handle=True,
                blk_med=rng.uniform(0.5, 12) * HOUR,
                p_report=rng.uniform(0.2, 0.5),
                r0=r0,
                r1=r0 * rng.uniform(0.3, 1.0),
                mlen=rng.uniform(6, 20),
                reply=rng.uniform(0.5, 0.85),
                gap=rng.uniform(10, 40),
                late0=rng.uniform(0.1, 0.3),
                late1=rng.uniform(0.2, 0.5),
                post_handle=rng.uniform(0.05, 0.3),
                recreate_after=int(rng.integers(3, 9)),
                p_recreate=rng.uniform(0.3, 0.8),
                max_recreate=int(rng.integers(1, 3)),
            )
            t_start = rng.uniform(0, max(HOUR, self.W - g["active"]))
            o = self.new_offender("peerpose", g, t_start)
            pool = self.pool(13.0, 18.0)
            w = np.where(self.A("country")[pool] != self.cols["country"][o], 3.0, 1.0)
            targets = self.choose(pool, g["n_targets"], w)
            times = self.burst_times(
                o, len(targets), t_start, g["active"], g["burst"], g["burst_len"]
            )
            self.campaign(o, "peerpose", targets, times, g)

    def community(self, kinds: list[str]) -> tuple[str, dict[str, Any]]:
        """A random community of one of the given kinds with at least a few members."""
        rng = self.rng
        for _ in range(20):
            kind = kinds[int(rng.integers(len(kinds)))]
            src = {
                "team": self.teams,
                "server": self.servers,
                "fans": self.fans,
                "youth": self.youth,
            }.get(kind)
            if kind == "class":
                cls = self.A("cls")[self.children]
                c = cls[rng.integers(len(cls))]
                return kind, {"members": self.children[cls == c]}
            if src:
                x = src[int(rng.integers(len(src)))]
                if len(x["members"]) >= 4:
                    return kind, x
        return "any", {"members": self.children}

    def arch_patient(self, k: int, tempo: float) -> None:
        rng = self.rng
        for _ in range(k):
            g = self.g_common("patient", tempo)
            g.update(
                n_success=int(rng.integers(1, 5)),
                max_attempts=int(rng.integers(3, 16)),
                band_p=(0.03, 0.07, 0.7, 0.2),
                acc_mult=rng.uniform(1.0, 1.6),
                acc_med=rng.uniform(2, 24) * HOUR,
                first_delay=rng.uniform(10, 240) * 60,
                duration=40 * DAY,
                drop_mean=rng.uniform(10, 40) * DAY,
                p_handle=rng.uniform(0.6, 0.95),
                handle_lo=rng.uniform(5, 10) * DAY,
                handle_hi=rng.uniform(11, 20) * DAY,
                p_block=rng.uniform(0.02, 0.1),
                p_report=rng.uniform(0.05, 0.2),
                r0=rng.uniform(0.2, 0.8) * tempo,
                r1=rng.uniform(1.5, 4.0) * tempo,
                mlen=rng.uniform(6, 20),
                reply=rng.uniform(0.6, 0.9),
                gap=rng.uniform(30, 120),
                late0=rng.uniform(0.05, 0.2),
                late1=rng.uniform(0.4, 0.8),
                post_handle=rng.uniform(0.3, 0.8),
                p_handle_back=rng.uniform(0.1, 0.4),
                p_preexisting=rng.uniform(0.0, 0.5),
                age_lo=int(rng.integers(10, 13)),
                adult_ties=int(rng.poisson(3)),
            )
            kind, com = self.community(["server", "server", "fans", "team", "any"])
            g["community"] = kind
            t = rng.uniform(0, 0.4 * self.W)
            o = self.new_offender("patient", g, t)
            pool = self.pool(g["age_lo"], g["age_lo"] + 4, base=com["members"])
            if len(pool) < 3:
                pool = self.pool(g["age_lo"], g["age_lo"] + 4)
            order = rng.permutation(pool)[: g["max_attempts"]]
            succ = 0
            for i, c in enumerate(order):
                if succ >= g["n_success"] or t >= self.W - DAY:
                    break
                if i == 0 and self.cols["created"][o] < 0 and rng.random() < g["p_preexisting"]:
                    g2 = dict(
                        g,
                        r0=(g["r0"] + g["r1"]) / 2,
                        handle_lo=g["handle_lo"] / 2,
                        handle_hi=g["handle_hi"] / 2,
                    )
                    ta, _, _ = self.engage(o, int(c), rng.uniform(0, DAY), g2, direct=True)
                else:
                    ta, _, _ = self.engage(o, int(c), t, g)
                if ta < INF:
                    succ += 1
                t += rng.uniform(1, 6) * DAY
            self.cover_ties(o, g["adult_ties"])

    def cover_ties(
        self, o: int, k: int, among: np.ndarray | None = None, t_form: float | None = None
    ) -> None:
        """Ordinary-looking adult contacts of an offender account."""
        rng = self.rng
        pool = self.adults if among is None or len(among) == 0 else among
        if k <= 0 or len(pool) == 0:
            return
        b = self.choose(pool, k)
        new = self.cols["created"][o] > 0 or t_form is not None
        t = t_form if t_form is not None else float(max(0, self.cols["created"][o]))
        self.rel(
            np.full(len(b), o),
            b,
            pu=self.own_pid[o],
            pv=self.adult_pid(b),
            rate=rng.uniform(0.05, 0.3),
            sigma=0.8,
            mlen=2.5,
            p_uv=0.7,
            p_vu=0.6,
            p_init=0.6,
            gap=120.0,
            formed=new,
            t_form=t + rng.uniform(0, 3 * DAY, len(b)),
            p_acc=rng.uniform(0.6, 0.9),
        )

    def arch_insider(self, k: int, tempo: float) -> None:
        rng = self.rng
        for _ in range(k):
            g = self.g_common("insider", tempo)
            g.update(
                band_p=(0.02, 0.03, 0.8, 0.15),
                phase1_days=rng.uniform(3, 10),
                joined_before=bool(rng.random() < self.P["insider_p_joined_before_window"]),
                n_kids=int(rng.integers(2, 9)),
                kid_gap_days=rng.uniform(1.5, 5),
                acc_mult=rng.uniform(1.3, 2.2),
                acc_med=rng.uniform(2, 24) * HOUR,
                first_delay=rng.uniform(10, 180) * 60,
                duration=40 * DAY,
                drop_mean=rng.uniform(6, 30) * DAY,
                p_handle=rng.uniform(0.5, 0.9),
                handle_lo=rng.uniform(3, 6) * DAY,
                handle_hi=rng.uniform(7, 12) * DAY,
                p_block=rng.uniform(0.03, 0.12),
                p_report=rng.uniform(0.05, 0.2),
                r0=rng.uniform(0.2, 0.6) * tempo,
                r1=rng.uniform(0.8, 2.5) * tempo,
                mlen=rng.uniform(4, 12),
                reply=rng.uniform(0.5, 0.85),
                gap=rng.uniform(30, 120),
                late0=rng.uniform(0.05, 0.15),
                late1=rng.uniform(0.3, 0.6),
                post_handle=rng.uniform(0.3, 0.7),
            )
            kind, com = self.community(["team", "server", "class", "youth"])
            g["community"] = kind
            members = com["members"]
            if kind == "team":
                adults = np.r_[com["coaches"], com["parents"]]
                g["rhythm"] = "adult"
            elif kind == "server":
                adults = com["gamers"]
                g["rhythm"] = "gamer"
            elif kind == "youth":
                adults = np.r_[com["workers"], com["parents"]]
            else:
                adults = self.parents_of(members)
            t_join = 0.0 if g["joined_before"] else rng.uniform(0, 0.35 * self.W)
            o = self.new_offender("insider", g, max(t_join, 1.0))
            if g["joined_before"]:
                self.cols["created"][o] = min(self.cols["created"][o], -int(30 * DAY))
            n_ad = int(rng.integers(3, 11))
            if g["joined_before"]:
                self.cover_ties(o, n_ad, adults)
                t = rng.uniform(0, 3) * DAY
            else:
                self.cover_ties(o, n_ad, adults, t_form=t_join)
                t = t_join + g["phase1_days"] * DAY
            kids = rng.permutation(members)[: g["n_kids"]]
            for i, c in enumerate(kids):
                if t >= self.W - DAY:
                    break
                if i == 0 and g["joined_before"] and rng.random() < 0.4:
                    self.engage(o, int(c), rng.uniform(0, DAY), g, direct=True)
                else:
                    self.engage(o, int(c), t, g)
                t += g["kid_gap_days"] * DAY * rng.lognormal(0, 0.3)

    def arch_mimic(self, k: int, tempo: float) -> None:
        rng = self.rng
        for _ in range(k):
            g = self.g_common("mimic", tempo)
            mode = "coach" if rng.random() < 0.5 else "gamer"
            g.update(
                mode=mode,
                band_p=(0.02, 0.05, 0.8, 0.13),
                acc_mult=rng.uniform(1.0, 1.5),
                acc_med=rng.uniform(2, 24) * HOUR,
                first_delay=rng.uniform(30, 600) * 60,
                duration=40 * DAY,
                drop_mean=rng.uniform(10, 40) * DAY,
                p_block=rng.uniform(0.02, 0.06),
                p_report=rng.uniform(0.02, 0.08),
                r0=rng.uniform(0.05, 0.25) * tempo,
                r1=rng.uniform(0.1, 0.4) * tempo,
                reply=rng.uniform(0.4, 0.7),
                gap=rng.uniform(40, 150),
                late0=0.0,
                late1=0.0,
                post_handle=rng.uniform(0.3, 0.8),
            )
            if mode == "coach":
                train = tuple(int(x) for x in np.sort(rng.choice(5, 2, replace=False)))
                match = int(rng.integers(5, 7))
                g.update(
                    rhythm="coach",
                    rhythm_extra=(train, match),
                    n_targets=int(rng.integers(3, 9)),
                    mlen=rng.uniform(1, 3),
                    p_handle=rng.uniform(0.3, 0.6),
                    handle_lo=rng.uniform(10, 15) * DAY,
                    handle_hi=rng.uniform(16, 25) * DAY,
                )
                kind, com = self.community(["class", "team", "youth"])
                pool = self.pool(10, 16, base=com["members"])
            else:
                g.update(
                    rhythm="gamer",
                    n_targets=int(rng.integers(2, 6)),
                    mlen=rng.uniform(2, 5),
                    p_handle=rng.uniform(0.4, 0.7),
                    handle_lo=rng.uniform(7, 12) * DAY,
                    handle_hi=rng.uniform(13, 20) * DAY,
                    p_handle_back=rng.uniform(0.2, 0.5),
                )
                kind, com = self.community(["server"])
                pool = self.pool(12.5, 18, base=com["members"])
            g["community"] = kind
            if len(pool) < 2:
                pool = self.pool(11, 17)
            t_start = rng.uniform(0, 0.4 * self.W)
            o = self.new_offender("mimic", g, t_start)
            targets = self.choose(pool, g["n_targets"])
            since, until = [], []
            for c in targets:
                ta, _, te = self.engage(o, int(c), t_start + rng.uniform(0, 5) * DAY, g)
                since.append(ta)
                until.append(te)
            if mode == "coach":
                c0 = int(self.cols["country"][o])
                times = self.weekly_times(
                    c0, list(g["rhythm_extra"][0]), 14, 19, 0.6, t_min=t_start
                )
                self.broadcast(o, targets, times, 0.0, since=np.array(since), until=np.array(until))
                par = self.parents_of(targets)
                self.cover_ties(o, int(rng.integers(0, 3)), par, t_form=t_start)
            self.cover_ties(o, int(rng.integers(1, 5)))

    def arch_crew(self, k: int, tempo: float) -> None:
        rng = self.rng
        sizes: list[int] = []
        while k > 0:
            s = min(max(2, int(rng.integers(2, 5))), max(k, 2))
            sizes.append(s)
            k -= s
        for ci, size in enumerate(sizes):
            kind, com = self.community(["class", "server", "fans", "server"])
            if kind == "class":
                yg = self.A("yg")[com["members"][0]]
                com = {"members": self.yg_members[int(yg)]}
            pool = com["members"]
            abroad = rng.random() < self.P["crew_p_abroad"]
            country = (
                self.abroad[int(rng.integers(len(self.abroad)))] if abroad else self.domestic()
            )
            t_crew = rng.uniform(0.5 * DAY, self.W - 5 * DAY)
            kmax = int(rng.uniform(5, 25) * tempo) + 1
            shared = self.choose(pool, int(kmax * rng.uniform(1.1, 1.6)))
            members: list[int] = []
            accepted: set[int] = set()
            rhythm = "gamer" if rng.random() < 0.5 else "adult"
            for _ in range(size):
                g = self.g_common("crew", tempo)
                r0 = rng.uniform(1, 3)
                g.update(
                    crew=ci,
                    community=kind,
                    rhythm=rhythm,
                    band_p=(0.1, 0.15, 0.5, 0.25),
                    acc_mult=rng.uniform(0.5, 1.1),
                    acc_med=rng.uniform(1, 8) * HOUR,
                    first_delay=rng.uniform(2, 60) * 60,
                    duration=rng.uniform(1, 5) * DAY,
                    drop_mean=rng.uniform(0.5, 3) * DAY,
                    p_handle=rng.uniform(0.5, 0.9),
                    handle_lo=rng.uniform(0.5, 4) * HOUR,
                    handle_hi=rng.uniform(6, 48) * HOUR,
                    p_block=rng.uniform(0.15, 0.35),
                    block_after_handle=bool(rng.random() < 0.5),
                    blk_med=rng.uniform(1, 12) * HOUR,
                    p_report=rng.uniform(0.1, 0.3),
                    r0=r0,
                    r1=r0 * rng.uniform(0.5, 1.2),
                    mlen=rng.uniform(4, 10),
                    reply=rng.uniform(0.4, 0.75),
                    gap=rng.uniform(15, 60),
                    late0=rng.uniform(0.1, 0.3),
                    late1=rng.uniform(0.1, 0.4),
                    post_handle=rng.uniform(0.1, 0.5),
                )
                t0 = t_crew + rng.uniform(0, 2) * DAY
                o = self.new_offender("crew", g, t0, country=country, force_new=rng.random() < 0.7)
                members.append(o)
                targets = self.choose(shared, int(rng.integers(max(2, kmax // 2), kmax + 1)))
                t = t0
                for c in targets:
                    t += rng.uniform(5, 90) * 60
                    boost = 1.5 if int(c) in accepted else 1.0
                    ta, _, _ = self.engage(o, int(c), t, g, acc_boost=boost)
                    if ta < INF:
                        accepted.add(int(c))
            mem = np.array(members)
            i, j = np.triu_indices(len(mem), 1)
            cr = self.A("created")[mem]
            self.rel(
                mem[i],
                mem[j],
                pu=np.array([self.own_pid[int(x)] for x in mem[i]]),
                pv=np.array([self.own_pid[int(x)] for x in mem[j]]),
                rate=rng.uniform(0.5, 2.0),
                mlen=rng.uniform(3, 8),
                p_uv=0.75,
                p_vu=0.75,
                gap=40.0,
                formed=np.maximum(cr[i], cr[j]) > 0,
                t_form=np.maximum(np.maximum(cr[i], cr[j]), 0) + 600,
                p_acc=1.0,
            )

    def arch_isolator(self, k: int, tempo: float) -> None:
        rng = self.rng
        deg = self.child_degree
        for _ in range(k):
            g = self.g_common("isolator", tempo)
            g.update(
                band_p=(0.05, 0.1, 0.65, 0.2),
                low_degree_quantile=rng.uniform(0.1, 0.25),
                age_lo=int(rng.integers(10, 15)),
                n_targets=int(rng.uniform(4, 15) * tempo) + 1,
                gap_days=rng.uniform(0.5, 3),
                acc_mult=rng.uniform(0.9, 1.6),
                acc_med=rng.uniform(1, 12) * HOUR,
                first_delay=rng.uniform(5, 120) * 60,
                duration=rng.uniform(5, 20) * DAY,
                drop_mean=rng.uniform(2, 10) * DAY,
                p_handle=rng.uniform(0.5, 0.8),
                handle_lo=rng.uniform(1, 2) * DAY,
                handle_hi=rng.uniform(3, 5) * DAY,
                p_block=rng.uniform(0.05, 0.2),
                p_report=rng.uniform(0.05, 0.15),
                r0=rng.uniform(0.5, 1.0),
                r1=rng.uniform(1.0, 3.0),
                mlen=rng.uniform(5, 15),
                reply=rng.uniform(0.3, 0.6),
                gap=rng.uniform(20, 90),
                late0=rng.uniform(0.1, 0.3),
                late1=rng.uniform(0.3, 0.6),
                post_handle=rng.uniform(0.2, 0.6),
            )
            pool = self.pool(g["age_lo"], g["age_lo"] + 3)
            d = deg[pool]
            cut = np.quantile(d, g["low_degree_quantile"]) if len(d) else 0
            pool = pool[d <= cut]
            t = rng.uniform(0, 0.5 * self.W)
            o = self.new_offender("isolator", g, t)
            for c in rng.permutation(pool)[: g["n_targets"]]:
                if t >= self.W - DAY:
                    break
                self.engage(o, int(c), t, g)
                t += g["gap_days"] * DAY * rng.lognormal(0, 0.5)
            self.cover_ties(o, int(rng.poisson(1.5)))

    def build_offenders(self) -> None:
        rng = self.rng
        n_base = max(len(ARCHETYPES), round(self.scale * self.U("offenders_base", 15, 34)))
        conc = self.U("archetype_mix_concentration", 1.5, 5.0)
        w = rng.dirichlet(np.full(len(ARCHETYPES), conc))
        counts = rng.multinomial(n_base, w)
        while (counts == 0).any() and n_base >= len(ARCHETYPES):
            counts[int(np.argmax(counts))] -= 1
            counts[int(np.argmin(counts))] += 1
        if counts[ARCHETYPES.index("crew")] == 1:
            counts[ARCHETYPES.index("crew")] = 2
        self.P["offender_accounts_drawn_per_archetype"] = {
            a: int(c) for a, c in zip(ARCHETYPES, counts, strict=True)
        }
        self.p_req_block = self.U("p_child_blocks_unknown_request", 0.03, 0.15)
        self.p_rep_after_req = self.U("p_report_after_request_block", 0.05, 0.3)
        self.U("peerpose_p_minor_band", 0.3, 0.8)
        self.U("insider_p_joined_before_window", 0.3, 0.7)
        ranges = {
            "spray": ((0.4, 0.85), (0.5, 0.9)),
            "peerpose": ((0.6, 0.95), (0.4, 0.85)),
            "patient": ((0.05, 0.3), (0.05, 0.3)),
            "insider": ((0.02, 0.15), (0.3, 0.6)),
            "mimic": ((0.1, 0.4), (0.1, 0.3)),
            "crew": ((0.4, 0.8), (0.5, 0.9)),
            "isolator": ((0.1, 0.4), (0.2, 0.5)),
        }
        for a, (ab, nw) in ranges.items():
            self.U(f"{a}_p_abroad", *ab)
            self.U(f"{a}_p_new_account", *nw)
        # child degree (friends among children) for offenders who seek isolated children
        C = self.rel_parts
        u = np.concatenate(C["u"])
        v = np.concatenate(C["v"])
        minor = self.A("role") == RID["minor"]
        both = minor[u] & minor[v]
        self.child_degree = np.bincount(np.r_[u[both], v[both]], minlength=self._n)
        for a, k in zip(ARCHETYPES, counts, strict=True):
            tempo = self.U(f"{a}_tempo", 0.6, 1.5)
            if k:
                getattr(self, f"arch_{a}")(int(k), tempo)

    # ------------------------------------------------------------------ the whole world
    def build(self) -> None:
        self.setup_time()
        self.setup_countries()
        self.setup_calendar()
        self.readd_delay = self.U("new_account_readd_delay_mean_s", 2 * HOUR, 1.5 * DAY)
        self.accept_median = self.U("accept_delay_median_s", 0.5 * HOUR, 8 * HOUR)
        self.report_median = self.U("report_delay_median_s", 4 * HOUR, 48 * HOUR)
        self.p_mistake_block = self.U("p_child_blocks_known_adult_by_mistake", 0.002, 0.012)
        self.p_mistake_report_given_block = self.U("p_report_given_mistaken_block", 0.05, 0.3)
        self.p_stray_role = self.U("p_benign_adult_contacts_unknown_child", 0.02, 0.12)
        self.p_stray_reply = self.U("p_child_replies_unknown_benign_adult", 0.2, 0.6)
        self.p_stray_block = self.U("p_child_blocks_unknown_benign_adult", 0.03, 0.15)
        self.p_stray_report_given_block = self.U("p_report_given_stray_block", 0.05, 0.3)
        self.fan_ties = self.U("ties_per_fan", 0.2, 0.8)
        self.build_children()
        self.build_friendships()
        self.build_families()
        self.build_teachers()
        self.build_teams()
        self.build_youth()
        self.build_games()
        self.build_creators()
        self.build_adults()
        self.build_offenders()
        self.run_relations()

    def finish(self, out: Path) -> dict[str, Any]:
        rng = self.rng
        n = self._n
        ts = np.concatenate([e[0] for e in self.ev])
        kind = np.concatenate([e[1] for e in self.ev])
        a = np.concatenate([e[2] for e in self.ev])
        b = np.concatenate([e[3] for e in self.ev])
        # declared bands of adults: mostly adult, some unknown, a few wrong
        role = self.A("role")
        band = self.A("band").copy()
        adult = (role != RID["minor"]) & (role < FIRST_OFFENDER_ROLE)
        p_wrong = self.U("p_adult_declares_minor_band", 0.01, 0.04)
        r = rng.random(n)
        band[adult] = BAD
        band[adult & (r < self.p_unknown)] = BUNK
        wrong = adult & (r >= self.p_unknown) & (r < self.p_unknown + p_wrong)
        band[wrong] = np.where(rng.random(int(wrong.sum())) < 0.6, B16, B13)
        # noise: missing, duplicated and jittered events
        p_drop = self.U("noise_p_missing", 0.0, 0.03)
        p_dup = self.U("noise_p_duplicate", 0.0, 0.01)
        p_jit = self.U("noise_p_jitter", 0.0, 0.3)
        jit_s = self.U("noise_jitter_scale_s", 1.0, 120.0)
        keep = rng.random(len(ts)) >= p_drop
        ts, kind, a, b = ts[keep], kind[keep], a[keep], b[keep]
        dup = np.flatnonzero(rng.random(len(ts)) < p_dup)
        ts = np.r_[ts, ts[dup] + rng.integers(0, 3, len(dup))]
        kind, a, b = np.r_[kind, kind[dup]], np.r_[a, a[dup]], np.r_[b, b[dup]]
        jit = rng.random(len(ts)) < p_jit
        ts = ts + np.where(jit, np.rint(rng.laplace(0, jit_s, len(ts))), 0).astype(np.int64)
        created = self.A("created")
        ts = np.maximum(ts, np.maximum(created[a], created[b]))
        ts = np.clip(ts, 0, self.W - 1)
        # random-looking ids; every file sorted by id (accounts) or by time (events)
        raw = rng.integers(0, 2**32, size=2 * n + 64, dtype=np.uint64)
        _, first = np.unique(raw, return_index=True)
        idnum = raw[np.sort(first)][:n]
        ids = pl.Series("account_id", [f"a{int(x):08x}" for x in idnum])
        order = np.lexsort((idnum[b], idnum[a], kind, ts))
        ts, kind, a, b = ts[order], kind[order], a[order], b[order]

        def iso(sec: np.ndarray) -> pl.Series:
            return pl.from_epoch(
                pl.Series(sec.astype(np.int64) + self.epoch0), time_unit="s"
            ).dt.strftime("%Y-%m-%dT%H:%M:%SZ")

        out.mkdir(parents=True, exist_ok=True)
        events = pl.DataFrame(
            {
                "ts": iso(ts),
                "kind": pl.Series(KINDS).gather(kind.astype(np.int64)),
                "actor": ids.gather(a),
                "target": ids.gather(b),
            }
        )
        events.write_csv(out / "events.csv")
        ao = np.argsort(idnum)
        country = np.array(COUNTRIES)[self.A("country")]
        country[rng.random(n) < self.p_country_missing] = ""
        accounts = pl.DataFrame(
            {
                "account_id": ids.gather(ao),
                "created_at": iso(created[ao]),
                "age_band": pl.Series(BANDS).gather(band[ao].astype(np.int64)),
                "country": pl.Series(country[ao].tolist(), dtype=pl.String),
            }
        )
        accounts.write_csv(out / "accounts.csv")
        truth = pl.DataFrame(
            {
                "account_id": ids.gather(ao),
                "role": pl.Series(ROLES).gather(role[ao].astype(np.int64)),
            }
        )
        truth.write_csv(out / "truth.csv")
        by_role = {
            r: int(c) for r, c in zip(ROLES, np.bincount(role, minlength=len(ROLES)), strict=True)
        }
        by_kind = {
            k: int(c) for k, c in zip(KINDS, np.bincount(kind, minlength=len(KINDS)), strict=True)
        }
        offenders = []
        for rec in self.off_log:
            rec = dict(rec)
            rec["account"] = ids[int(rec["account"])]
            offenders.append(rec)
        params = dict(self.P)
        params["offenders"] = offenders
        params["counts"] = {
            "accounts": n,
            "events": len(ts),
            "by_role": by_role,
            "by_event_kind": by_kind,
        }
        (out / "params.json").write_text(json.dumps(params, indent=1, default=_json_default) + "\n")
        return params


def _json_default(x: Any) -> Any:
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    if isinstance(x, tuple):
        return list(x)
    raise TypeError(type(x))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--seed", required=True, type=int)
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args()
    t0 = time.perf_counter()
    sim = Sim(args.seed, args.scale)
    sim.build()
    p = sim.finish(args.out)
    c = p["counts"]
    offs = {a: c["by_role"][f"offender_{a}"] for a in ARCHETYPES}
    print(
        f"seed={args.seed} scale={args.scale:g} accounts={c['accounts']} events={c['events']} "
        f"offenders={sum(offs.values())} "
        + " ".join(f"{a}={k}" for a, k in offs.items())
        + f" window={p['window_start'][:10]}+{p['window_days']}d {time.perf_counter() - t0:.1f}s"
    )


if __name__ == "__main__":
    main()
