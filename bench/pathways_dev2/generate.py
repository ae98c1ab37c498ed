#!/usr/bin/env python3
"""Synthetic platform population generator (development population, second edition).

Writes accounts, contact-metadata events, ground-truth roles and the drawn parameters of one
synthetic population of a photo/short-video social app. Metadata only: who contacted whom and
when. No message content of any kind is modelled.

    python bench/pathways_dev2/generate.py --out DIR --seed N [--scale S]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import time
from pathlib import Path

import numpy as np
import polars as pl

DAY = 86400
HOUR = 3600
MINUTE = 60

KINDS = [
    "contact_request",
    "contact_accept",
    "message",
    "block",
    "report",
    "off_platform_handle",
]
REQ, ACC, MSG, BLK, REP, HND = range(6)

BANDS = ["under_13", "13_15", "16_17", "adult", "unknown"]
B_U13, B_1315, B_1617, B_ADULT, B_UNK = range(5)

BENIGN_ROLES = [
    "minor",
    "parent",
    "relative",
    "teacher",
    "coach",
    "youth_worker",
    "gamer",
    "creator",
    "adult",
]
ARCHETYPES = ["broadcaster", "scout", "peer_poser", "patient", "insider", "slow_mimic", "ring"]
ROLES = BENIGN_ROLES + [f"offender_{a}" for a in ARCHETYPES]
R = {name: i for i, name in enumerate(ROLES)}

# country -> UTC offset in hours (standard time; daylight saving is ignored)
COUNTRIES = {
    "GB": 0,
    "IE": 0,
    "US": -5,
    "CA": -5,
    "MX": -6,
    "BR": -3,
    "DE": 1,
    "FR": 1,
    "NL": 1,
    "ES": 1,
    "IT": 1,
    "PL": 1,
    "SE": 1,
    "NG": 1,
    "ZA": 2,
    "TR": 3,
    "AE": 4,
    "IN": 5.5,
    "PH": 8,
    "JP": 9,
    "AU": 10,
    "NZ": 12,
}
CC = list(COUNTRIES)
TZ = np.array([COUNTRIES[c] for c in CC], dtype=float)
HOME_MARKETS = ["GB", "US", "IE", "AU", "CA", "DE", "FR", "NL", "ES", "IT", "BR", "PH", "MX", "PL"]

COMMUNITY_TYPES = ["dance", "football", "swimming", "music_fandom", "gaming", "local_area", "art"]
SQUAD_TYPES = {"dance", "football", "swimming"}
INTL_TYPES = {"music_fandom", "gaming"}

# rhythm profiles
(
    P_CHILD,
    P_LATE,
    P_ADULT,
    P_PARENT,
    P_TEACHER,
    P_COACH,
    P_YOUTH,
    P_GAMER,
    P_CREATOR,
    P_NIGHT,
    P_OFFICE,
) = range(11)
# day types
D_TERM, D_WEEKEND, D_HOLIDAY, D_EXAM = range(4)


def _bumps(spec, base=0.02):
    h = np.arange(24) + 0.5
    w = np.full(24, base)
    for c, s, a in spec:
        d = np.abs(h - c)
        d = np.minimum(d, 24 - d)
        w = w + a * np.exp(-0.5 * (d / s) ** 2)
    return w


def build_profiles(u):
    """Local-time hour weights per day type, and day multipliers, for each rhythm profile."""
    s0 = u(6.9, 8.2)  # morning scroll before school
    se = u(14.7, 16.3)  # school ends
    bed = u(21.2, 22.8)
    drawn = {"school_morning_hour": s0, "school_end_hour": se, "child_bed_hour": bed}
    child = np.stack(
        [
            _bumps([(s0, 0.5, 0.5), (12.6, 0.5, 0.45), (se + 0.8, 1.2, 1.2), (19.5, 1.3, 0.9)])
            + _bumps([(bed, 0.7, 0.5)], 0),
            _bumps([(11.5, 2.0, 0.7), (15.5, 2.5, 0.9), (20.5, 1.8, 1.0), (bed + 0.8, 1, 0.4)]),
            _bumps([(12.5, 2.0, 0.7), (16.0, 2.5, 0.9), (21.0, 1.8, 1.0), (bed + 1.5, 1, 0.6)]),
            _bumps([(s0, 0.5, 0.4), (12.6, 0.5, 0.4), (se + 0.8, 1.2, 0.9), (20.0, 1.3, 0.6)]),
        ]
    )
    late_extra = _bumps([(0.7, 1.2, 0.9), (2.0, 1.0, 0.3)], 0)
    late = child + np.stack([late_extra, late_extra * 1.3, late_extra * 1.5, late_extra * 0.5])
    adult_wd = _bumps([(7.5, 1.0, 0.4), (12.5, 0.8, 0.5), (19.5, 2.0, 1.0), (22.0, 1.0, 0.4)])
    adult_we = _bumps([(11.0, 2.5, 0.7), (19.0, 3.0, 0.9)])
    parent_wd = _bumps([(7.3, 0.7, 0.6), (12.5, 0.8, 0.4), (se, 0.8, 0.6), (19.0, 1.5, 0.9)])
    parent_we = _bumps([(10.0, 2.0, 0.8), (17.0, 3.0, 0.7)])
    teach_wd = _bumps([(8.0, 0.6, 0.6), (12.5, 0.5, 0.5), (se + 0.3, 1.0, 0.9), (19.0, 1.0, 0.5)])
    teach_we = _bumps([(11.0, 2.0, 0.2), (19.0, 1.5, 0.3)])
    coach_wd = _bumps([(17.5, 1.0, 0.9), (20.0, 1.0, 0.6)])
    coach_we = _bumps([(8.8, 1.2, 1.2), (13.0, 2.0, 0.6), (18.0, 1.5, 0.3)])
    youth_wd = _bumps([(18.5, 1.5, 0.9), (21.0, 1.0, 0.3)])
    youth_we = _bumps([(11.0, 2.0, 0.7), (16.0, 2.0, 0.6)])
    gamer_wd = _bumps([(20.5, 1.8, 1.0), (0.2, 1.2, 0.6)])
    gamer_we = _bumps([(15.0, 3.0, 0.8), (22.0, 2.5, 1.0), (1.0, 1.2, 0.5)])
    creator = _bumps([(11.0, 3.0, 0.7), (18.0, 3.0, 0.9)])
    night = _bumps([(21.5, 1.5, 0.9), (0.5, 1.5, 0.8)])
    office_wd = _bumps([(10.0, 1.5, 0.8), (14.5, 1.5, 0.8), (17.5, 1.0, 0.4)])
    office_we = _bumps([(12.0, 3.0, 0.3)])

    def four(wd, we, hol=None, exam=None):
        return np.stack([wd, we, we if hol is None else hol, wd if exam is None else exam])

    hw = [
        child,
        late,
        four(adult_wd, adult_we),
        four(parent_wd, parent_we),
        four(teach_wd, teach_we, teach_we, teach_wd),
        four(coach_wd, coach_we, coach_wd),
        four(youth_wd, youth_we, youth_we),
        four(gamer_wd, gamer_we),
        four(creator, creator),
        four(night, night),
        four(office_wd, office_we, office_wd),
    ]
    dm = [
        [1.0, 1.15, 1.2, 0.8],
        [1.0, 1.2, 1.3, 0.7],
        [1.0, 1.1, 1.0, 1.0],
        [1.0, 1.1, 1.1, 1.0],
        [1.0, 0.25, 0.15, 0.9],
        [1.0, 1.7, 0.6, 1.0],
        [1.0, 1.2, 1.1, 1.0],
        [1.0, 1.3, 1.2, 1.0],
        [1.0, 1.1, 1.0, 1.0],
        [1.0, 1.1, 1.0, 1.0],
        [1.0, 0.3, 0.9, 1.0],
    ]
    return [np.asarray(h, float) for h in hw], [np.asarray(d, float) for d in dm], drawn


class Clock:
    """Samples event times in window seconds from a rhythm profile in a given time zone."""

    def __init__(self, rng, days, start_date, hw, dm, holiday, exam, day_jitter):
        self.rng = rng
        self.H = days * 24
        self.hw, self.dm = hw, dm
        # local days -1 .. days (time zones shift local dates by up to one day)
        dtype = np.empty(days + 2, int)
        self.dow = np.empty(days + 2, int)
        for i in range(days + 2):
            d = start_date + dt.timedelta(days=i - 1)
            wd = d.weekday()
            self.dow[i] = wd
            j = i - 1
            if wd >= 5:
                dtype[i] = D_WEEKEND
            elif 0 <= j < days and holiday[j]:
                dtype[i] = D_HOLIDAY
            elif 0 <= j < days and exam[j]:
                dtype[i] = D_EXAM
            else:
                dtype[i] = D_TERM
        self.dtype = dtype
        self.jit = day_jitter
        self.cache = {}

    def cdf(self, prof, tzi):
        key = (int(prof), int(tzi))
        if key not in self.cache:
            tz = TZ[tzi]
            u = np.arange(self.H) + 0.5
            loc = u + tz
            ld = np.floor(loc / 24).astype(int)
            lh = np.clip(np.floor(loc - ld * 24).astype(int), 0, 23)
            ty = self.dtype[ld + 1]
            w = self.hw[prof][ty, lh] * self.dm[prof][ty] * self.jit[ld + 1]
            c = np.concatenate([[0.0], np.cumsum(w)])
            self.cache[key] = c / c[-1]
        return self.cache[key]

    def _f(self, c, t):
        t = np.clip(t, 0, self.H * HOUR).astype(float)
        u = np.minimum((t // HOUR).astype(int), self.H - 1)
        frac = (t - u * HOUR) / HOUR
        return c[u] + frac * (c[u + 1] - c[u])

    def sample(self, prof, tzi, t0, t1):
        """One time per item in [t0, t1), following the profile (inverse of the rhythm CDF)."""
        n = len(t0)
        prof = np.broadcast_to(np.asarray(prof, np.int64), (n,))
        tzi = np.broadcast_to(np.asarray(tzi, np.int64), (n,))
        t0 = np.asarray(t0, np.int64)
        t1 = np.asarray(t1, np.int64)
        out = np.empty(n, np.int64)
        if n == 0:
            return out
        key = prof * 1000 + tzi
        for k in np.unique(key):
            m = np.nonzero(key == k)[0]
            c = self.cdf(k // 1000, k % 1000)
            f0 = self._f(c, t0[m])
            f1 = self._f(c, t1[m])
            r = f0 + self.rng.random(len(m)) * (f1 - f0)
            u = np.clip(np.searchsorted(c, r, side="right") - 1, 0, self.H - 1)
            span = np.maximum(c[u + 1] - c[u], 1e-300)
            frac = np.clip((r - c[u]) / span, 0.0, 0.999999)
            out[m] = (u * HOUR + frac * HOUR).astype(np.int64)
        return np.clip(out, t0, np.maximum(t1 - 1, t0))


class Events:
    def __init__(self):
        self.parts = []

    def add(self, ts, kind, a, b):
        ts = np.asarray(ts, np.int64)
        n = ts.shape[0]
        if n == 0:
            return
        a = np.broadcast_to(np.asarray(a, np.int64), (n,))
        b = np.broadcast_to(np.asarray(b, np.int64), (n,))
        self.parts.append((ts, np.full(n, kind, np.int8), a.copy(), b.copy()))

    def arrays(self):
        if not self.parts:
            z = np.zeros(0, np.int64)
            return z, z.astype(np.int8), z, z
        return tuple(np.concatenate([p[i] for p in self.parts]) for i in range(4))


class _Col:
    """Late-bound view of a growing account column."""

    def __init__(self, g, name):
        self.g, self.name = g, name

    def __getitem__(self, i):
        return getattr(self.g, self.name)[i]


def _vec(x, n, dtype=float):
    return np.broadcast_to(np.asarray(x, dtype), (n,)).copy()


class Generator:
    def __init__(self, seed, scale):
        self.seed = seed
        self.scale = scale
        self.rng = np.random.default_rng([seed, 0x5AFE_D2])
        self.P = {}  # every drawn seed-level value
        self.ev = Events()
        # account columns (lists of arrays until finalised)
        self._acc = {"role": [], "created": [], "band": [], "country": []}
        self.n = 0
        self.offenders = []

    # ------------------------------------------------------------------ helpers
    def u(self, lo, hi, name=None):
        v = float(self.rng.uniform(lo, hi))
        if name:
            self.P[name] = round(v, 6)
        return v

    def ui(self, lo, hi, name=None):
        v = int(self.rng.integers(lo, hi + 1))
        if name:
            self.P[name] = v
        return v

    def add_accounts(self, n, role, created, band, country):
        idx = np.arange(self.n, self.n + n)
        self._acc["role"].append(_vec(role, n, np.int64))
        self._acc["created"].append(_vec(created, n, np.int64))
        self._acc["band"].append(_vec(band, n, np.int64))
        self._acc["country"].append(_vec(country, n, np.int64))
        self.n += n
        self._sync()
        return idx

    def _sync(self):
        for k in list(self._acc):
            if len(self._acc[k]) > 1:
                self._acc[k] = [np.concatenate(self._acc[k])]
        self.role = self._acc["role"][0]
        self.created = self._acc["created"][0]
        self.band = self._acc["band"][0]
        self.country = self._acc["country"][0]

    def old_created(self, n, lo_days, hi_days):
        """Creation times before the window (log-uniform age in days)."""
        age = np.exp(self.rng.uniform(math.log(lo_days), math.log(hi_days), n))
        return -(age * DAY).astype(np.int64) - self.rng.integers(0, DAY, n)

    def adult_created(self, n, p_new):
        c = self.old_created(n, 20, 3000)
        new = self.rng.random(n) < p_new
        c[new] = self.rng.integers(0, int(self.W * 0.85), new.sum())
        return c

    def adult_bands(self, n):
        r = self.rng.random(n)
        b = np.full(n, B_ADULT)
        pu, pm = self.P["adult_band_unknown"], self.P["adult_band_minor"]
        b[r < pu] = B_UNK
        m = (r >= pu) & (r < pu + pm)
        b[m] = self.rng.choice([B_1315, B_1617], m.sum())
        return b

    def foreign_country(self, n):
        others = [i for i, c in enumerate(CC) if i != self.home]
        return self.rng.choice(others, n)

    def tz_of(self, idx):
        return self.country[idx]

    # ------------------------------------------------------------------ primitives
    def sessions_to_messages(self, a, b, st, mean_len, p_switch, b_reply, a_first, gap, t_end, ev):
        rng = self.rng
        ns = len(st)
        if ns == 0:
            return
        L = rng.geometric(1.0 / np.maximum(mean_len, 1.0001))
        L = np.minimum(L, 60)
        n = int(L.sum())
        sid = np.repeat(np.arange(ns), L)
        starts = np.cumsum(L) - L
        first = np.zeros(n, bool)
        first[starts] = True
        g = rng.lognormal(np.log(gap[sid]), 1.1)
        g[first] = 0
        cs = np.cumsum(g)
        off = cs - cs[starts][sid]
        ts = st[sid] + off.astype(np.int64)
        fl = rng.random(n) < p_switch[sid]
        fl[first] = False
        cf = np.cumsum(fl)
        par = ((cf - cf[starts][sid]) & 1).astype(bool)
        from_a = a_first[sid] ^ par
        keep = from_a | (rng.random(n) < b_reply[sid])
        keep &= (ts < t_end[sid]) & (ts < self.W)
        actor = np.where(from_a, a[sid], b[sid])
        target = np.where(from_a, b[sid], a[sid])
        ev.add(ts[keep], MSG, actor[keep], target[keep])

    def converse(
        self,
        a,
        b,
        t0,
        t1,
        rate,
        prof,
        tzi,
        mean_len=4.0,
        p_switch=0.6,
        b_reply=0.9,
        p_afirst=0.5,
        gap=50.0,
        ev=None,
    ):
        """Direct-message sessions between pairs (a, b) at `rate` sessions/day in [t0, t1)."""
        ev = self.ev if ev is None else ev
        a = np.asarray(a, np.int64)
        n = len(a)
        if n == 0:
            return
        b = np.asarray(b, np.int64)
        t0 = np.maximum(_vec(t0, n, np.int64), 0)
        t1 = np.minimum(_vec(t1, n, np.int64), self.W)
        dur = np.maximum(t1 - t0, 0) / DAY
        k = self.rng.poisson(_vec(rate, n) * dur)
        idx = np.repeat(np.arange(n), k)
        if len(idx) == 0:
            return
        st = self.clock.sample(
            _vec(prof, n, np.int64)[idx], _vec(tzi, n, np.int64)[idx], t0[idx], t1[idx]
        )
        a_first = self.rng.random(len(idx)) < _vec(p_afirst, n)[idx]
        self.sessions_to_messages(
            a[idx],
            b[idx],
            st,
            _vec(mean_len, n)[idx],
            _vec(p_switch, n)[idx],
            _vec(b_reply, n)[idx],
            a_first,
            _vec(gap, n)[idx],
            t1[idx],
            ev,
        )

    def handshake(self, req, tgt, t_req, p_acc, acc_med, acc_sig=1.3, ev=None):
        ev = self.ev if ev is None else ev
        n = len(req)
        ok = t_req < self.W
        req, tgt, t_req = req[ok], tgt[ok], t_req[ok]
        p_acc = _vec(p_acc, n)[ok]
        n = len(req)
        ev.add(t_req, REQ, req, tgt)
        t_acc = t_req + np.maximum(
            20, self.rng.lognormal(np.log(_vec(acc_med, n)), acc_sig).astype(np.int64)
        )
        acc = (self.rng.random(n) < p_acc) & (t_acc < self.W)
        ev.add(t_acc[acc], ACC, tgt[acc], req[acc])
        return req, tgt, t_req, acc, t_acc

    def relation(
        self,
        a,
        b,
        rate,
        prof,
        tzi,
        mean_len=4.0,
        p_formed=0.0,
        p_acc=0.95,
        b_reply=0.9,
        p_switch=0.6,
        gap=50.0,
        p_afirst=0.5,
        formed_prof=None,
    ):
        """A benign relationship: usually connected before the window; otherwise a request and
        accept inside it (always so when either account is created in the window)."""
        a = np.asarray(a, np.int64)
        b = np.asarray(b, np.int64)
        keep = a != b
        a, b = a[keep], b[keep]
        n = len(a)
        if n == 0:
            return np.zeros(0, np.int64)
        rng = self.rng
        cs = np.maximum(np.maximum(self.created[a], self.created[b]), 0)
        late = cs > 0
        formed = late | (rng.random(n) < p_formed)
        t0 = np.zeros(n, np.int64)
        if formed.any():
            fi = np.nonzero(formed)[0]
            tr = np.where(
                late[fi],
                cs[fi] + rng.exponential(0.6 * DAY, len(fi)).astype(np.int64),
                self.clock.sample(
                    _vec(prof if formed_prof is None else formed_prof, n, np.int64)[fi],
                    _vec(tzi, n, np.int64)[fi],
                    np.zeros(len(fi), np.int64),
                    np.full(len(fi), self.W, np.int64),
                ),
            )
            flip = rng.random(len(fi)) < 0.5
            rq = np.where(flip, b[fi], a[fi])
            tg = np.where(flip, a[fi], b[fi])
            ok = tr < self.W
            _, _, _, acc, t_acc = self.handshake(
                rq[ok], tg[ok], tr[ok], _vec(p_acc, n)[fi][ok], 2 * HOUR
            )
            tt = np.full(len(fi), self.W, np.int64)
            tt[np.nonzero(ok)[0][acc]] = t_acc[acc]
            t0[fi] = tt
        self.converse(
            a,
            b,
            t0,
            self.W,
            rate,
            prof,
            tzi,
            mean_len,
            p_switch,
            _vec(b_reply, len(keep))[keep] if np.ndim(b_reply) else b_reply,
            p_afirst,
            gap,
        )
        return t0

    # ------------------------------------------------------------------ world
    def draw_window(self):
        rng = self.rng
        days = self.ui(14, 28, "window_days")
        first = dt.date(2023, 1, 1)
        span = (dt.date(2026, 12, 31) - first).days
        start = first + dt.timedelta(days=int(rng.integers(0, span + 1)))
        self.P["window_start"] = start.isoformat() + "T00:00:00Z"
        self.start_date = start
        self.start_epoch = int(
            dt.datetime(start.year, start.month, start.day, tzinfo=dt.UTC).timestamp()
        )
        self.days = days
        self.W = days * DAY
        holiday = np.zeros(days, bool)
        exam = np.zeros(days, bool)
        summer = start.month in (7, 8)
        if summer:
            holiday[:] = True
            self.P["holiday"] = "summer"
        elif rng.random() < 0.4:
            ln = int(rng.integers(3, 11))
            s = int(rng.integers(0, max(1, days - ln)))
            holiday[s : s + ln] = True
            self.P["holiday"] = {"first_day": s, "length": ln}
        else:
            self.P["holiday"] = None
        if not summer and rng.random() < 0.3:
            ln = int(rng.integers(4, 9))
            s = int(rng.integers(0, max(1, days - ln)))
            exam[s : s + ln] = ~holiday[s : s + ln]
            self.P["exam_period"] = {"first_day": s, "length": ln}
        else:
            self.P["exam_period"] = None
        self.holiday = holiday
        hw, dm, drawn = build_profiles(self.u)
        self.P.update({k: round(v, 4) for k, v in drawn.items()})
        jit = rng.lognormal(0, self.u(0.05, 0.2, "day_activity_sigma"), days + 2)
        self.clock = Clock(rng, days, start, hw, dm, holiday, exam, jit)

    def build_minors(self):
        rng, u, ui = self.rng, self.u, self.ui
        s = self.scale
        M = max(60, round(s * u(2000, 6000, "minors_base")))
        self.P["n_minors"] = M
        self.home = CC.index(HOME_MARKETS[int(rng.integers(len(HOME_MARKETS)))])
        self.P["home_country"] = CC[self.home]
        self.P["adult_band_unknown"] = round(u(0.03, 0.15), 4)
        self.P["adult_band_minor"] = round(u(0.005, 0.03), 4)
        # ages 9..17
        share_u13 = u(0.12, 0.35, "share_under_13")
        young = rng.random(M) < share_u13
        age = np.where(
            young,
            rng.choice([9, 10, 11, 12], M, p=[0.08, 0.17, 0.3, 0.45]),
            rng.choice([13, 14, 15, 16, 17], M, p=[0.2, 0.22, 0.22, 0.2, 0.16]),
        )
        # schools
        n_sch = max(2, round(M / u(180, 500, "pupils_per_school")))
        foreign_share = u(0.03, 0.15, "foreign_school_share")
        sch_country = np.where(
            rng.random(n_sch) < foreign_share, self.foreign_country(n_sch), self.home
        )
        sw = rng.lognormal(0, 0.5, n_sch)
        school = rng.choice(n_sch, M, p=sw / sw.sum())
        country = sch_country[school]
        # declared bands
        r = rng.random(M)
        band = np.empty(M, np.int64)
        pu = u(0.04, 0.15, "minor_band_unknown")
        p_u13_true = u(0.05, 0.3, "under13_declare_true")
        p_u13_adult = u(0.03, 0.15, "under13_declare_adult")
        p_teen_adult = u(0.02, 0.1, "teen_declare_adult")
        p_teen_older = u(0.05, 0.25, "teen_declare_older")
        for lo, hi, true_b in ((9, 12, B_U13), (13, 15, B_1315), (16, 17, B_1617)):
            m = (age >= lo) & (age <= hi)
            b = np.full(m.sum(), true_b)
            rr = r[m]
            if true_b == B_U13:
                b = np.where(
                    rr < p_u13_true, B_U13, rng.choice([B_1315, B_1617], m.sum(), p=[0.8, 0.2])
                )
                b[(rr >= p_u13_true) & (rr < p_u13_true + p_u13_adult)] = B_ADULT
            else:
                b[rr < p_teen_older] = B_1617 if true_b == B_1315 else B_ADULT
                b[(rr >= p_teen_older) & (rr < p_teen_older + p_teen_adult)] = B_ADULT
            b[rng.random(m.sum()) < pu] = B_UNK
            band[m] = b
        created = self.old_created(M, 10, 365 * 4)
        p_new = u(0.01, 0.05, "minor_new_account_share")
        new = rng.random(M) < p_new
        created[new] = rng.integers(0, int(self.W * 0.8), new.sum())
        idx = self.add_accounts(M, R["minor"], created, band, country)
        self.minors = idx
        self.M = M
        self.age = age
        self.school = school
        self.cohort = school * 20 + age
        public_p = u(0.15, 0.45, "public_profile_share")
        self.public = rng.random(M) < np.where(age >= 13, public_p * 1.2, public_p * 0.7)
        infl_p = u(0.02, 0.08, "mini_influencer_share_of_public")
        self.influencer = self.public & (rng.random(M) < infl_p)
        self.late = (age >= 13) & (rng.random(M) < u(0.1, 0.3, "late_night_share"))
        self.isolated = rng.random(M) < u(0.04, 0.12, "isolated_share")
        self.activity = rng.lognormal(0, u(0.4, 0.8, "minor_activity_sigma"), M)
        self.reply = rng.beta(2.0, 2.0, M)
        self.vigil = rng.beta(2.0, 5.0, M)
        self.m_prof = np.where(self.late, P_LATE, P_CHILD)
        ui(0, 0)  # keep stream layout stable if fields are added later

    def minor_network(self):
        rng, u = self.rng, self.u
        M = self.M
        # cliques inside each cohort (school x age)
        order = np.lexsort((rng.random(M), self.cohort))
        coh_sorted = self.cohort[order]
        bounds = np.flatnonzero(np.diff(coh_sorted)) + 1
        groups = np.split(order, bounds)
        pa, pb = [], []
        self.clique = np.full(M, -1)
        cid = 0
        for g in groups:
            g = g[~self.isolated[g]]
            i = 0
            while i < len(g):
                k = int(rng.choice([2, 3, 4, 5, 6, 7], p=[0.15, 0.22, 0.25, 0.18, 0.12, 0.08]))
                c = g[i : i + k]
                i += k
                self.clique[c] = cid
                cid += 1
                for x in range(len(c)):
                    for y in range(x + 1, len(c)):
                        pa.append(c[x])
                        pb.append(c[y])
        strong = (np.array(pa, np.int64), np.array(pb, np.int64))
        # weak ties within cohort, within school, across communities (below)
        coh_start = np.zeros(M, np.int64)
        coh_size = np.zeros(M, np.int64)
        st = np.concatenate([[0], bounds])
        en = np.concatenate([bounds, [M]])
        for s_, e_ in zip(st, en, strict=True):
            coh_start[order[s_:e_]] = s_
            coh_size[order[s_:e_]] = e_ - s_
        k = rng.poisson(np.where(self.isolated, 0.7, u(1.5, 4.0, "weak_ties_per_minor")))
        src = np.repeat(np.arange(M), k)
        dst = order[coh_start[src] + (rng.random(len(src)) * coh_size[src]).astype(np.int64)]
        sch_order = np.argsort(self.school, kind="stable")
        sch_sorted = self.school[sch_order]
        k2 = rng.poisson(np.where(self.isolated, 0.2, 0.6), M)
        src2 = np.repeat(np.arange(M), k2)
        lo = np.searchsorted(sch_sorted, self.school[src2], "left")
        hi = np.searchsorted(sch_sorted, self.school[src2], "right")
        dst2 = sch_order[lo + (rng.random(len(src2)) * (hi - lo)).astype(np.int64)]
        weak_a = np.concatenate([src, src2])
        weak_b = np.concatenate([dst, dst2])
        # households and siblings (same school)
        hh = np.full(M, -1)
        hid = 0
        for g in np.split(sch_order, np.flatnonzero(np.diff(sch_sorted)) + 1):
            g = g[rng.permutation(len(g))]
            i = 0
            while i < len(g):
                k = int(rng.choice([1, 2, 3], p=[0.55, 0.33, 0.12]))
                hh[g[i : i + k]] = hid
                hid += 1
                i += k
        self.household = hh
        self.n_hh = hid
        sa, sb = self._pairs_within(hh)
        # extended families: pairs of households (cousins)
        fam = rng.permutation(hid) // 2
        self.family_of_hh = fam
        fm = fam[hh]
        ca, cb = self._pairs_within(fm)
        cousin = hh[ca] != hh[cb]
        keepc = cousin & (rng.random(len(ca)) < 0.5)
        ca, cb = ca[keepc], cb[keepc]
        # communities
        n_comm = max(4, round(u(6, 14, "communities_base") * max(self.scale, 0.05) ** 0.5))
        ctype = rng.choice(len(COMMUNITY_TYPES), n_comm)
        ctype[: min(n_comm, 3)] = [1, 0, 4][: min(n_comm, 3)]  # always a sport, dance, gaming
        cw = rng.lognormal(0, 0.8, n_comm)
        ccountry = np.full(n_comm, self.home)
        memb_k = np.minimum(rng.poisson(u(0.5, 1.2, "communities_per_minor"), M), 3)
        ms = np.repeat(np.arange(M), memb_k)
        mc = rng.choice(n_comm, len(ms), p=cw / cw.sum())
        is_intl = np.isin(np.array(COMMUNITY_TYPES)[ctype[mc]], list(INTL_TYPES))
        ok = is_intl | (self.country[ms] == ccountry[mc])
        pairs = np.unique(np.stack([mc[ok], ms[ok]], 1), axis=0)
        self.comm_type = np.array(COMMUNITY_TYPES)[ctype]
        self.comm_members = [pairs[pairs[:, 0] == c, 1] for c in range(n_comm)]
        self.P["community_types"] = self.comm_type.tolist()
        self.P["community_sizes"] = [int(len(m)) for m in self.comm_members]
        cma, cmb = [], []
        kc = u(0.4, 1.5, "community_ties_per_member")
        for mem in self.comm_members:
            if len(mem) < 2:
                continue
            k = rng.poisson(kc, len(mem))
            s_ = np.repeat(mem, k)
            cma.append(s_)
            cmb.append(mem[rng.integers(0, len(mem), len(s_))])
        cma = np.concatenate(cma) if cma else np.zeros(0, np.int64)
        cmb = np.concatenate(cmb) if cmb else np.zeros(0, np.int64)
        return strong, (weak_a, weak_b), (sa, sb), (ca, cb), (cma, cmb)

    @staticmethod
    def _pairs_within(group):
        order = np.argsort(group, kind="stable")
        g = group[order]
        a, b = [], []
        for lag in (1, 2):
            same = g[lag:] == g[:-lag]
            a.append(order[lag:][same])
            b.append(order[:-lag][same])
        return np.concatenate(a), np.concatenate(b)

    def _dedupe(self, a, b, exclude=None):
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        keep = lo != hi
        key = lo[keep] * 10_000_000 + hi[keep]
        key, first = np.unique(key, return_index=True)
        if exclude is not None and len(exclude):
            m = ~np.isin(key, exclude)
            key = key[m]
        return key // 10_000_000, key % 10_000_000

    def minor_events(self, nets):
        rng, u = self.rng, self.u
        strong, weak, sib, cous, comm = nets
        act = self.activity
        mp, tz = self.m_prof, self.country
        sa, sb = self._dedupe(*strong)
        keys_strong = sa * 10_000_000 + sb
        self.P["friend_rate"] = round(u(0.12, 0.4), 4)
        rate = self.P["friend_rate"] * rng.lognormal(0, 0.8, len(sa)) * np.sqrt(act[sa] * act[sb])
        ml = u(3, 8, "minor_session_len")
        self.relation(sa, sb, rate, mp[sa], tz[sa], ml, p_formed=0.02, b_reply=0.95)
        wa, wb = self._dedupe(
            np.concatenate([weak[0], comm[0]]), np.concatenate([weak[1], comm[1]]), keys_strong
        )
        rate = u(0.015, 0.07, "weak_tie_rate") * rng.lognormal(0, 0.9, len(wa)) * act[wa]
        pf = u(0.04, 0.15, "weak_tie_formed_in_window")
        self.relation(wa, wb, rate, mp[wa], tz[wa], ml * 0.7, p_formed=pf, b_reply=0.8)
        self.minor_pairs = (np.concatenate([sa, wa]), np.concatenate([sb, wb]))
        ka, kb = self._dedupe(*sib)
        self.relation(ka, kb, u(0.04, 0.2, "sibling_rate"), mp[ka], tz[ka], 3, b_reply=0.8)
        ka, kb = self._dedupe(*cous)
        self.relation(ka, kb, u(0.01, 0.06, "cousin_rate"), mp[ka], tz[ka], 3, b_reply=0.7)
        # friends sharing other-app handles (ordinary among teenagers)
        p_h = u(0.005, 0.03, "minor_handle_share")
        pa, pb = self.minor_pairs
        m = rng.random(len(pa)) < p_h
        flip = rng.random(m.sum()) < 0.5
        a_, b_ = np.where(flip, pb[m], pa[m]), np.where(flip, pa[m], pb[m])
        t = self.clock.sample(
            mp[a_],
            tz[a_],
            np.maximum(self.created[a_], self.created[b_]).clip(0),
            np.full(len(a_), self.W),
        )
        self.ev.add(t, HND, a_, b_)
        # fallouts: blocks between minors
        m = rng.random(len(pa)) < u(0.002, 0.01, "minor_fallout_block")
        t = rng.integers(0, self.W, m.sum())
        self.ev.add(t, BLK, pa[m], pb[m])
        # unsolicited requests to public minors (other minors, some adults later)
        pub = np.nonzero(self.public)[0]
        lam = np.where(
            self.influencer[pub],
            u(20, 150, "influencer_requests"),
            u(0.3, 3.0, "public_minor_requests"),
        )
        k = rng.poisson(lam)
        tg = np.repeat(pub, k)
        rq = rng.integers(0, self.M, len(tg))
        ok = rq != tg
        tg, rq = tg[ok], rq[ok]
        t0 = np.maximum(np.maximum(self.created[tg], self.created[rq]), 0)
        tr = self.clock.sample(mp[rq], tz[rq], t0, np.full(len(rq), self.W))
        p_acc = np.where(
            self.influencer[tg], u(0.02, 0.1, "influencer_accept"), u(0.15, 0.5, "public_accept")
        )
        rq, tg, tr, acc, t_acc = self.handshake(rq, tg, tr, p_acc, 6 * HOUR, 1.6)
        self.converse(
            rq[acc], tg[acc], t_acc[acc], self.W, 0.08, mp[rq[acc]], tz[rq[acc]], 2.5, 0.5, 0.5, 0.8
        )
        # a few ignored requesters get blocked
        m = ~acc & (rng.random(len(acc)) < 0.02)
        self.ev.add(tr[m] + rng.integers(60, 2 * DAY, m.sum()), BLK, tg[m], rq[m])

    # ------------------------------------------------------------------ benign adults
    def build_adults(self):
        rng, u = self.rng, self.u
        hh_of = self.household
        tz = _Col(self, "country")
        p_new = u(0.01, 0.05, "adult_new_account_share")
        # parents
        p_par = u(0.25, 0.65, "parent_on_platform_share")
        hh_has = rng.random(self.n_hh) < p_par
        n_par = np.where(hh_has, rng.choice([1, 2], self.n_hh, p=[0.7, 0.3]), 0)
        par_hh = np.repeat(np.arange(self.n_hh), n_par)
        hh_country = np.zeros(self.n_hh, np.int64)
        hh_country[hh_of] = self.country[self.minors]
        parents = self.add_accounts(
            len(par_hh),
            R["parent"],
            self.adult_created(len(par_hh), p_new),
            self.adult_bands(len(par_hh)),
            hh_country[par_hh],
        )
        self.parents, self.par_hh = parents, par_hh
        # relatives, attached to extended families
        fam = self.family_of_hh
        n_fam = int(fam.max()) + 1
        k = rng.poisson(u(0.2, 0.9, "relatives_per_family"), n_fam)
        rel_fam = np.repeat(np.arange(n_fam), k)
        fam_country = np.zeros(n_fam, np.int64)
        fam_country[fam] = hh_country
        abroad = rng.random(len(rel_fam)) < u(0.1, 0.35, "relative_abroad_share")
        rc = np.where(abroad, self.foreign_country(len(rel_fam)), fam_country[rel_fam])
        relatives = self.add_accounts(
            len(rel_fam),
            R["relative"],
            self.adult_created(len(rel_fam), p_new),
            self.adult_bands(len(rel_fam)),
            rc,
        )
        self.relatives, self.rel_fam = relatives, rel_fam
        # parent <-> child, parent <-> parent, relatives
        kids_of_hh = self._members_by(hh_of, self.n_hh)
        pa, pc = self._expand(parents, [kids_of_hh[h] for h in par_hh])
        r_pc = u(0.15, 0.7, "parent_child_rate")
        self.relation(
            pc, pa, r_pc * rng.lognormal(0, 0.6, len(pa)), P_PARENT, tz[pc], 3, b_reply=0.75
        )
        same = par_hh[1:] == par_hh[:-1]
        self.relation(
            parents[1:][same],
            parents[:-1][same],
            u(0.1, 0.5, "coparent_rate"),
            P_PARENT,
            tz[parents[1:][same]],
            3,
        )
        hh_of_fam = self._members_by(fam, n_fam)
        kids_of_fam = [
            np.concatenate([kids_of_hh[h] for h in hs]) if len(hs) else np.zeros(0, np.int64)
            for hs in hh_of_fam
        ]
        ra, rk = self._expand(relatives, [kids_of_fam[f] for f in rel_fam])
        self.relation(
            rk,
            ra,
            u(0.01, 0.08, "relative_child_rate"),
            P_ADULT,
            tz[ra],
            2.5,
            b_reply=0.6,
            p_afirst=0.3,
        )
        self.family_adult_pairs = (ra, rk, pa, pc)
        # parent groups per cohort
        par_kid = (
            np.array([kids_of_hh[h][0] for h in par_hh], np.int64)
            if len(par_hh)
            else np.zeros(0, np.int64)
        )
        coh = self.cohort[par_kid] if len(par_kid) else np.zeros(0, np.int64)
        order = np.argsort(coh, kind="stable")
        cs = coh[order]
        kk = rng.poisson(1.2, len(order))
        src = np.repeat(np.arange(len(order)), kk)
        lo = np.searchsorted(cs, cs[src], "left")
        hi = np.searchsorted(cs, cs[src], "right")
        dst = lo + (rng.random(len(src)) * (hi - lo)).astype(np.int64)
        ga, gb = self._dedupe(parents[order[src]], parents[order[dst]])
        self.relation(
            ga, gb, u(0.02, 0.1, "parent_group_rate"), P_PARENT, tz[ga], 2.5, p_formed=0.05
        )
        self.kids_of_hh = kids_of_hh
        self.parent_of_kid = np.full(self.M, -1, np.int64)
        for p, h in zip(parents, par_hh, strict=True):
            self.parent_of_kid[kids_of_hh[h]] = p
        # ordinary adults
        n_ad = max(10, round(self.M * u(0.3, 0.9, "ordinary_adults_per_minor")))
        adults = self.add_accounts(
            n_ad,
            R["adult"],
            self.adult_created(n_ad, p_new),
            self.adult_bands(n_ad),
            np.where(rng.random(n_ad) < 0.85, self.home, self.foreign_country(n_ad)),
        )
        self.adults = adults

    def _members_by(self, group, n):
        order = np.argsort(group, kind="stable")
        g = group[order]
        b = np.searchsorted(g, np.arange(n + 1))
        return [order[b[i] : b[i + 1]] for i in range(n)]

    @staticmethod
    def _expand(heads, lists):
        k = np.array([len(x) for x in lists], np.int64)
        a = np.repeat(np.asarray(heads, np.int64), k)
        b = np.concatenate(lists) if len(lists) else np.zeros(0, np.int64)
        return a, b.astype(np.int64)

    def weekly_slots(self, n_slots, tzi, hour_lo, hour_hi, weekdays):
        """Times in window seconds at fixed weekly local slots (jittered by ~20 minutes)."""
        rng = self.rng
        wd = rng.choice(weekdays, n_slots)
        hr = rng.uniform(hour_lo, hour_hi, n_slots)
        out = []
        dow = self.clock.dow[1:-1]
        for w, h in zip(wd, hr, strict=True):
            days = np.nonzero(dow == w)[0]
            t = days * DAY + (h - TZ[tzi]) * HOUR + rng.normal(0, 20 * MINUTE, len(days))
            out.append(t.astype(np.int64))
        t = np.sort(np.concatenate(out)) if out else np.zeros(0, np.int64)
        return t[(t >= 0) & (t < self.W)]

    def school_adults(self):
        rng, u = self.rng, self.u
        tz = _Col(self, "country")
        n_sch = int(self.school.max()) + 1
        n_t = rng.poisson(u(2, 7, "teachers_per_school"), n_sch)
        t_sch = np.repeat(np.arange(n_sch), n_t)
        sch_country = np.zeros(n_sch, np.int64)
        sch_country[self.school] = self.country[self.minors]
        p_new = self.P["adult_new_account_share"]
        teachers = self.add_accounts(
            len(t_sch),
            R["teacher"],
            self.adult_created(len(t_sch), p_new * 0.5),
            self.adult_bands(len(t_sch)),
            sch_country[t_sch],
        )
        mode = rng.choice(3, len(teachers), p=[0.45, 0.3, 0.25])  # class, school channel, tutor
        self.P["teacher_modes"] = {
            k: int((mode == i).sum()) for i, k in enumerate(["class", "school_channel", "tutor"])
        }
        pupils_of_school = self._members_by(self.school, n_sch)
        r_q = u(0.01, 0.06, "pupil_question_rate")
        ann = u(0.3, 2.5, "class_announcements_per_week")
        for t, s_, m in zip(teachers, t_sch, mode, strict=True):
            pool = pupils_of_school[s_]
            if len(pool) == 0:
                continue
            if m == 0:
                coh_age = rng.choice(self.age[pool])
                cls = pool[self.age[pool] == coh_age]
                cls = cls[rng.random(len(cls)) < u(0.3, 0.9)][:30]
                if len(cls) == 0:
                    continue
                self.relation(
                    cls,
                    np.full(len(cls), t),
                    r_q,
                    P_TEACHER,
                    tz[t],
                    2.5,
                    b_reply=0.7,
                    p_afirst=0.8,
                    p_formed=0.05,
                )
                self.broadcast(t, cls, ann / 7, P_TEACHER, reply_p=0.08)
            elif m == 1:
                k = rng.integers(0, 3)
                if k:
                    who = rng.choice(pool, k)
                    self.relation(
                        who, np.full(k, t), 0.3 / self.days, P_TEACHER, tz[t], 1.5, b_reply=0.5
                    )
            else:
                k = int(rng.integers(2, 7))
                pup = rng.choice(self.M, k, replace=False)
                pup = pup[self.age[pup] >= 10]
                for p in pup:
                    slots = self.weekly_slots(
                        int(rng.integers(1, 3)), tz[p], 16.0, 19.5, [0, 1, 2, 3, 4, 5]
                    )
                    new = rng.random() < 0.25
                    t0 = 0
                    par = self.parent_of_kid[p]
                    if new:
                        tr = int(rng.integers(0, int(self.W * 0.6)))
                        tr = max(tr, int(self.created[t]), int(self.created[p]), 0)
                        if par >= 0:
                            tr = max(tr, int(self.created[par]))
                            self.handshake(
                                np.array([t]), np.array([par]), np.array([tr]), 0.95, HOUR
                            )
                            tr += int(rng.integers(HOUR, 3 * DAY))
                        _, _, _, acc, ta = self.handshake(
                            np.array([t]), np.array([p]), np.array([tr]), 0.9, 3 * HOUR
                        )
                        if not acc[0] if len(acc) else True:
                            continue
                        t0 = int(ta[0])
                    sl = slots[(slots >= t0) & (rng.random(len(slots)) < 0.7)]
                    st = sl - rng.integers(MINUTE, 3 * HOUR, len(sl))
                    st = st[st >= t0]
                    n = len(st)
                    self.sessions_to_messages(
                        np.full(n, t),
                        np.full(n, p),
                        st,
                        np.full(n, 2.5),
                        np.full(n, 0.6),
                        np.full(n, 0.8),
                        rng.random(n) < 0.6,
                        np.full(n, 60.0),
                        np.full(n, self.W),
                        self.ev,
                    )
                    if par >= 0:
                        self.relation(np.array([par]), np.array([t]), 0.15, P_PARENT, tz[par], 2)
        self.teachers = teachers

    def broadcast(self, sender, recips, rate_per_day, prof, reply_p=0.1, handle=False, t0=0):
        """Announcements: the same sender messages every recipient within minutes."""
        rng = self.rng
        recips = np.asarray(recips, np.int64)
        if len(recips) == 0:
            return
        k = rng.poisson(rate_per_day * max(self.W - t0, 0) / DAY)
        if k == 0:
            return
        st = self.clock.sample(
            np.full(k, prof), np.full(k, self.country[sender]), np.full(k, t0), np.full(k, self.W)
        )
        n = len(recips)
        step = rng.uniform(2, 25)
        ts = (
            st[:, None]
            + (np.arange(n)[None, :] * step + rng.uniform(0, 5, (k, n))).astype(np.int64)
        ).ravel()
        rc = np.tile(recips, k)
        ok = ts >= np.maximum(self.created[rc], self.created[sender])
        self.ev.add(ts[ok], MSG, sender, rc[ok])
        rep = ok & (rng.random(len(ts)) < reply_p)
        tr = ts[rep] + rng.lognormal(np.log(15 * MINUTE), 1.3, rep.sum()).astype(np.int64)
        self.ev.add(tr, MSG, rc[rep], sender)
        back = rng.random(len(tr)) < 0.5
        self.ev.add(tr[back] + rng.integers(60, 3 * HOUR, back.sum()), MSG, sender, rc[rep][back])

    def group_handle(self, sender, recips, t):
        recips = np.asarray(recips, np.int64)
        ts = (
            t
            + np.arange(len(recips)) * int(self.rng.integers(2, 30))
            + self.rng.integers(0, 5, len(recips))
        )
        ok = ts >= np.maximum(self.created[recips], self.created[sender])
        self.ev.add(ts[ok], HND, sender, recips[ok])

    def clubs(self):
        rng, u = self.rng, self.u
        tz = _Col(self, "country")
        p_new = self.P["adult_new_account_share"]
        coaches, squads = [], []
        sq_lo, sq_hi = 8, self.ui(14, 26, "squad_max")
        for c, mem in enumerate(self.comm_members):
            if self.comm_type[c] not in SQUAD_TYPES or len(mem) < 4:
                continue
            mem = mem[rng.permutation(len(mem))]
            i = 0
            while i < len(mem):
                k = int(rng.integers(sq_lo, sq_hi + 1))
                squads.append((c, mem[i : i + k]))
                i += k
        n = len(squads)
        cc = np.array([tz[s[1][0]] for s in squads], np.int64) if n else np.zeros(0, np.int64)
        coaches = self.add_accounts(
            n, R["coach"], self.adult_created(n, p_new), self.adult_bands(n), cc
        )
        self.coaches = coaches
        self.coach_of_comm = {}
        ann = u(0.7, 4, "coach_announcements_per_week")
        p_ch = u(0.3, 0.8, "coach_group_handle_share")
        for co, (c, sq) in zip(coaches, squads, strict=True):
            self.coach_of_comm.setdefault(c, []).append(co)
            par = self.parent_of_kid[sq]
            par = np.unique(par[par >= 0])
            who = np.concatenate([sq, par])
            self.relation(
                sq,
                np.full(len(sq), co),
                0.03,
                P_COACH,
                tz[co],
                2.5,
                b_reply=0.6,
                p_afirst=0.7,
                p_formed=0.05,
            )
            self.relation(par, np.full(len(par), co), 0.05, P_COACH, tz[co], 2.5, b_reply=0.7)
            self.broadcast(co, who, ann / 7, P_COACH, reply_p=u(0.03, 0.2))
            if rng.random() < p_ch:
                t = int(
                    self.clock.sample(
                        np.array([P_COACH]), np.array([tz[co]]), np.array([0]), np.array([self.W])
                    )[0]
                )
                self.group_handle(co, who, t)
        # youth workers
        n_yw = max(1, round(self.M / u(120, 400, "minors_per_youth_worker")))
        cohorts = rng.choice(self.M, n_yw)
        yw = self.add_accounts(
            n_yw,
            R["youth_worker"],
            self.adult_created(n_yw, p_new),
            self.adult_bands(n_yw),
            tz[cohorts],
        )
        self.youth_workers = yw
        p_camp = u(0.2, 0.5, "camp_share") * (1.6 if self.holiday.any() else 1.0)
        n_camps = 0
        sch_members = self._members_by(self.school, int(self.school.max()) + 1)
        for w, seed_kid in zip(yw, cohorts, strict=True):
            pool = sch_members[self.school[seed_kid]]
            grp = pool[rng.random(len(pool)) < min(1.0, u(8, 30) / max(len(pool), 1))]
            self.relation(
                grp, np.full(len(grp), w), 0.03, P_YOUTH, tz[w], 2.5, b_reply=0.6, p_afirst=0.6
            )
            self.broadcast(w, grp, u(0.3, 1.5) / 7, P_YOUTH, reply_p=0.08)
            if rng.random() < 0.4:
                t = int(
                    self.clock.sample(
                        np.array([P_YOUTH]), np.array([tz[w]]), np.array([0]), np.array([self.W])
                    )[0]
                )
                self.group_handle(w, grp, t)
            if rng.random() < p_camp:
                n_camps += 1
                cday = int(rng.integers(0, self.days))
                others = rng.choice(self.M, int(rng.integers(10, 41)), replace=False)
                others = others[self.country[others] == tz[w]]
                n = len(others)
                if n == 0:
                    continue
                tr = cday * DAY + rng.integers(8 * HOUR, 30 * HOUR, n) - int(TZ[tz[w]] * HOUR)
                tr = np.clip(tr, 0, self.W - 1)
                tr = np.maximum(tr, np.maximum(self.created[others], self.created[w]))
                kid_asks = rng.random(n) < 0.6
                rq = np.where(kid_asks, others, w)
                tg = np.where(kid_asks, w, others)
                rq, tg, tr, acc, ta = self.handshake(rq, tg, tr, 0.85, 2 * HOUR)
                kid = np.where(rq == w, tg, rq)
                self.converse(
                    kid[acc],
                    np.full(acc.sum(), w),
                    ta[acc],
                    self.W,
                    0.1,
                    P_YOUTH,
                    tz[w],
                    2,
                    0.5,
                    0.7,
                    0.5,
                )
                if rng.random() < 0.5 and acc.any():
                    self.group_handle(
                        w, kid[acc], int(ta[acc].max()) + int(rng.integers(HOUR, DAY))
                    )
        self.P["camps"] = n_camps

    def hobby_adults(self):
        rng, u = self.rng, self.u
        tz = _Col(self, "country")
        p_new = self.P["adult_new_account_share"]
        comms = [
            c
            for c in range(len(self.comm_members))
            if self.comm_type[c] in ("gaming", "music_fandom", "art") and len(self.comm_members[c])
        ]
        n_g = max(1, round(self.M / u(60, 180, "minors_per_gamer")))
        g = self.add_accounts(
            n_g,
            R["gamer"],
            self.adult_created(n_g, p_new),
            self.adult_bands(n_g),
            np.where(rng.random(n_g) < 0.8, self.home, self.foreign_country(n_g)),
        )
        self.gamers = g
        p_h = u(0.1, 0.5, "gamer_handle_share")
        for x in g:
            if comms:
                mem = self.comm_members[comms[int(rng.integers(len(comms)))]]
                mem = mem[self.age[mem] >= 13] if (self.age[mem] >= 13).any() else mem
            else:
                mem = np.nonzero(self.age >= 13)[0]
            k = min(len(mem), int(rng.integers(1, 6)))
            teens = rng.choice(mem, k, replace=False)
            t0 = self.relation(
                np.full(k, x),
                teens,
                u(0.1, 0.6) * np.ones(k),
                P_GAMER,
                tz[teens],
                u(4, 10),
                p_formed=0.4,
                p_acc=0.7,
                b_reply=0.85,
            )
            h = (rng.random(len(t0)) < p_h) & (t0 < self.W - DAY)
            if h.any():
                th = t0[h] + rng.integers(HOUR, 6 * DAY, h.sum())
                flip = rng.random(h.sum()) < 0.4
                a_ = np.where(flip, teens[h], x)
                b_ = np.where(flip, x, teens[h])
                ok = th < self.W
                self.ev.add(th[ok], HND, a_[ok], b_[ok])
        # creators
        n_c = max(1, round(self.scale * u(3, 15, "creators_base")))
        cr = self.add_accounts(
            n_c,
            R["creator"],
            self.old_created(n_c, 200, 3000),
            B_ADULT,
            np.where(rng.random(n_c) < 0.6, self.home, self.foreign_country(n_c)),
        )
        self.creators = cr
        pop = rng.pareto(1.2, n_c) + 1
        fan_req = np.minimum(
            rng.poisson(u(40, 250, "creator_fan_requests") * pop / pop.mean()), self.M // 2
        )
        fan_msg = np.minimum(
            rng.poisson(u(30, 200, "creator_fan_messagers") * pop / pop.mean()), self.M // 2
        )
        c_acc = u(0.03, 0.25, "creator_accept")
        c_rep = u(0.02, 0.1, "creator_reply")
        for c, kr, km in zip(cr, fan_req, fan_msg, strict=True):
            fans = rng.choice(self.M, int(kr), replace=False)
            t0 = np.maximum(self.created[fans], 0)
            tr = self.clock.sample(self.m_prof[fans], tz[fans], t0, np.full(len(fans), self.W))
            fans, _, _, acc, ta = self.handshake(
                fans, np.full(len(fans), c), tr, c_acc, 2 * DAY, 1.2
            )
            self.converse(
                fans[acc],
                np.full(acc.sum(), c),
                ta[acc],
                self.W,
                0.2,
                self.m_prof[fans[acc]],
                tz[fans[acc]],
                1.5,
                0.3,
                c_rep,
                1.0,
            )
            old = rng.choice(self.M, int(km), replace=False)
            self.converse(
                old,
                np.full(len(old), c),
                0,
                self.W,
                u(0.05, 0.3),
                self.m_prof[old],
                tz[old],
                1.6,
                0.3,
                c_rep,
                1.0,
            )

    def adult_network(self):
        rng, u = self.rng, self.u
        tz = _Col(self, "country")
        pool = np.concatenate(
            [
                self.parents,
                self.relatives,
                self.teachers,
                self.coaches,
                self.youth_workers,
                self.gamers,
                self.adults,
            ]
        )
        k = rng.poisson(u(2, 6, "adult_ties_per_adult"), len(pool))
        a = np.repeat(pool, k)
        b = pool[rng.integers(0, len(pool), len(a))]
        a, b = self._dedupe(a, b)
        self.relation(
            a,
            b,
            u(0.04, 0.2, "adult_pair_rate") * rng.lognormal(0, 0.8, len(a)),
            P_ADULT,
            tz[a],
            u(2, 5, "adult_session_len"),
            p_formed=0.03,
            b_reply=0.85,
        )
        ra, rp = [], []
        for r, f in zip(self.relatives, self.rel_fam, strict=True):
            for h in np.nonzero(self.family_of_hh == f)[0]:
                ps = self.parents[self.par_hh == h] if len(self.parents) else []
                ra.extend([r] * len(ps))
                rp.extend(ps)
        ra, rp = np.array(ra, np.int64), np.array(rp, np.int64)
        self.relation(
            ra, rp, u(0.03, 0.15, "relative_parent_rate"), P_ADULT, tz[ra], 3, b_reply=0.8
        )
        self.adult_pairs = (a, b)

    def benign_oddities(self):
        """Adults who contact an unknown child once; mistaken blocks and reports."""
        rng, u = self.rng, self.u
        tz = _Col(self, "country")
        pool = np.concatenate([self.adults, self.parents, self.relatives])
        n_once = rng.binomial(len(pool), u(0.005, 0.03, "adult_contacts_unknown_child_share"))
        who = rng.choice(pool, n_once, replace=False)
        a, b = self.adult_pairs
        kid = np.empty(n_once, np.int64)
        for i, w in enumerate(who):
            friends = np.concatenate([b[a == w], a[b == w]])
            fk = friends[self.role[friends] == R["parent"]]
            if len(fk) and rng.random() < 0.6:
                hh = self.par_hh[np.searchsorted(self.parents, fk[0])]
                kids = self.kids_of_hh[hh]
                kid[i] = kids[rng.integers(len(kids))]
            else:
                same = np.nonzero(self.country[: self.M] == self.country[w])[0]
                kid[i] = rng.choice(same if len(same) else np.arange(self.M))
        t0 = np.maximum(np.maximum(self.created[who], self.created[kid]), 0)
        tr = self.clock.sample(np.full(n_once, P_ADULT), tz[who], t0, np.full(n_once, self.W))
        who, kid, tr, acc, ta = self.handshake(who, kid, tr, 0.45, 4 * HOUR)
        nm = acc.sum()
        self.sessions_to_messages(
            who[acc],
            kid[acc],
            ta[acc] + rng.integers(60, 2 * HOUR, nm),
            np.full(nm, 1.8),
            np.full(nm, 0.6),
            np.full(nm, 0.6),
            np.ones(nm, bool),
            np.full(nm, 90.0),
            np.full(nm, self.W),
            self.ev,
        )
        m = ~acc & (rng.random(len(acc)) < 0.1)
        self.ev.add(tr[m] + rng.integers(HOUR, 3 * DAY, m.sum()), BLK, kid[m], who[m])
        # mistaken blocks/reports of benign adults connected to children
        ra, rk, pa, pc = self.family_adult_pairs
        cand_a = np.concatenate(
            [ra, pa, self.teachers, self.coaches, self.youth_workers, self.gamers]
        )
        n_m = rng.binomial(len(cand_a), u(0.003, 0.02, "mistaken_block_share"))
        bad = rng.choice(cand_a, n_m)
        kid = rng.integers(0, self.M, n_m)
        t = rng.integers(0, self.W, n_m)
        rep = rng.random(n_m) < 0.25
        self.ev.add(t[~rep], BLK, kid[~rep], bad[~rep])
        self.ev.add(t[rep], REP, kid[rep], bad[rep])

    # ------------------------------------------------------------------ offenders
    def child_accept_mod(self, tg):
        return (
            np.where(self.public[tg], 0.8, 1.0)
            * np.where(self.influencer[tg], 0.3, 1.0)
            * np.where(self.isolated[tg], 1.7, 1.0)
            * (0.5 + self.reply[tg])
            * np.where(self.age[tg] < 13, 1.1, 1.0)
        )

    def new_offender(self, arch, created, band, country, params):
        i = int(self.add_accounts(1, R[f"offender_{arch}"], int(created), band, country)[0])
        self.offenders.append({"index": i, "archetype": arch, **params})
        return i

    def off_band(self, p_teen=0.1):
        r = self.rng.random()
        if r < p_teen:
            return int(self.rng.choice([B_1315, B_1617]))
        return B_ADULT if r < 0.75 else B_UNK

    def engage(self, o, tg, t_req, p_acc, c, ev=None):
        """An offender account contacts children: request, (non-)acceptance, conversation,
        a push to another app, and the children's blocks and reports."""
        rng = self.rng
        ev = self.ev if ev is None else ev
        tg = np.asarray(tg, np.int64)
        t_req = np.maximum(
            np.asarray(t_req, np.int64), np.maximum(self.created[tg], self.created[o])
        )
        _, tg, t_req, acc, t_acc = self.handshake(
            np.full(len(tg), o), tg, t_req, np.clip(p_acc, 0, 0.97), c["acc_med"], ev=ev
        )
        n = len(tg)
        vig = 0.5 + self.vigil[tg]
        na = ~acc
        blk_r = na & (rng.random(n) < c["p_block_req"] * vig)
        rep_r = na & (rng.random(n) < c["p_report_req"] * vig)
        t_br = t_req + rng.lognormal(np.log(8 * HOUR), 1.6, n).astype(np.int64)
        ev.add(t_br[blk_r], BLK, tg[blk_r], o)
        ev.add(t_br[rep_r] + 30, REP, tg[rep_r], o)
        stop = t_acc + rng.exponential(c["stop_mean_d"] * DAY, n).astype(np.int64)
        t_h = t_acc + rng.lognormal(np.log(c["handle_med"]), c.get("handle_sig", 0.8), n).astype(
            np.int64
        )
        hs = acc & (rng.random(n) < c["p_handle"]) & (t_h < np.minimum(stop, self.W))
        ev.add(t_h[hs], HND, o, tg[hs])
        ch = hs & (rng.random(n) < c.get("p_child_handle", 0.25))
        ev.add(t_h[ch] + rng.integers(30, 2 * HOUR, ch.sum()), HND, tg[ch], o)
        pb = np.where(hs, c["p_block_h"], c["p_block_conv"]) * vig
        bl = acc & (rng.random(n) < pb)
        base = np.where(
            hs, t_h, t_acc + (rng.random(n) * np.maximum(stop - t_acc, 1)).astype(np.int64)
        )
        t_bl = base + rng.lognormal(np.log(c["block_delay_med"]), 1.5, n).astype(np.int64)
        rp = bl & (rng.random(n) < c["p_report_given_block"])
        bonly = bl & (rng.random(n) < 0.85)
        ev.add(t_bl[bonly], BLK, tg[bonly], o)
        ev.add(t_bl[rp] - 20, REP, tg[rp], o)
        end = np.minimum(np.where(bl, np.minimum(stop, t_bl), stop), self.W)
        ai = np.nonzero(acc)[0]
        if len(ai):
            tzc = (
                self.country[tg[ai]]
                if c.get("child_tz", True)
                else np.full(len(ai), self.country[o])
            )
            pre_end = np.where(hs[ai], t_h[ai], end[ai])
            op = t_acc[ai] + rng.lognormal(np.log(c["open_med"]), 1.0, len(ai)).astype(np.int64)
            oki = op < pre_end
            k = int(oki.sum())
            self.sessions_to_messages(
                np.full(k, o),
                tg[ai][oki],
                op[oki],
                np.full(k, c["conv_len"]),
                np.full(k, 0.55),
                self.reply[tg[ai][oki]] * c["reply_mult"],
                np.ones(k, bool),
                np.full(k, c.get("gap", 40.0)),
                pre_end[oki],
                ev,
            )
            self.converse(
                np.full(len(ai), o),
                tg[ai],
                t_acc[ai],
                pre_end,
                c["conv_rate"],
                c["prof"],
                tzc,
                c["conv_len"],
                0.6,
                np.clip(self.reply[tg[ai]] * c["reply_mult"], 0, 1),
                0.75,
                c.get("gap", 40.0),
                ev,
            )
            post = hs[ai]
            self.converse(
                np.full(post.sum(), o),
                tg[ai][post],
                t_h[ai][post],
                end[ai][post],
                c["conv_rate"] * c.get("post_factor", 0.2),
                c["prof"],
                tzc[post],
                c["conv_len"] * 0.6,
                0.5,
                0.5,
                0.7,
                c.get("gap", 40.0),
                ev,
            )
        return {"tg": tg, "acc": acc, "t_acc": t_acc, "blocked": blk_r | rep_r | bl}

    def pick(self, pool, k, w=None):
        pool = np.asarray(pool, np.int64)
        k = int(min(k, len(pool)))
        if k <= 0:
            return np.zeros(0, np.int64)
        p = None if w is None else w / w.sum()
        return self.rng.choice(pool, k, replace=False, p=p)

    def offender_adult_friends(self, o):
        k = self.rng.poisson(self.rng.uniform(0, 4))
        if k:
            fr = self.rng.choice(self.adults, k)
            self.relation(np.full(k, o), fr, 0.1, P_ADULT, self.country[o], 3)

    def off_broadcaster(self, _):
        rng, W = self.rng, self.W
        pub = np.nonzero(self.public)[0]
        n_t = int(rng.uniform(40, 400))
        start = int(rng.uniform(0, 0.7) * W)
        act_d = rng.uniform(2, 10)
        end = min(W, start + int(act_d * DAY))
        r = rng.random()
        country = self.foreign_country(1)[0] if r < 0.6 else self.home
        created = (
            start - int(rng.uniform(0.2, 30) * DAY)
            if rng.random() < 0.6
            else int(self.old_created(1, 60, 900)[0])
        )
        prm = {
            "n_targets": n_t,
            "active_days": round(act_d, 2),
            "burst_size": int(rng.integers(10, 61)),
            "p_accept_base": round(rng.uniform(0.04, 0.15), 3),
            "handle_hours": round(rng.uniform(0.3, 6), 2),
            "p_handle": round(rng.uniform(0.6, 0.95), 3),
        }
        o = self.new_offender(
            "broadcaster", min(created, start - 60), self.off_band(0.1), country, prm
        )
        w = np.where(self.influencer[pub], 5.0, 1.0)
        tg = self.pick(pub, n_t, w)
        nb = max(1, math.ceil(len(tg) / prm["burst_size"]))
        bs = np.sort(
            self.clock.sample(
                np.full(nb, P_NIGHT), np.full(nb, country), np.full(nb, start), np.full(nb, end)
            )
        )
        b_of = np.sort(rng.integers(0, nb, len(tg)))
        gap = rng.exponential(rng.uniform(20, 240), len(tg)).astype(np.int64)
        first = np.r_[True, b_of[1:] != b_of[:-1]]
        cs = np.cumsum(gap)
        starts = np.maximum.accumulate(np.where(first, np.arange(len(tg)), 0))
        t_req = bs[b_of] + cs - cs[starts]
        c = {
            "acc_med": 3 * HOUR,
            "p_block_req": rng.uniform(0.01, 0.05),
            "p_report_req": rng.uniform(0.005, 0.02),
            "stop_mean_d": rng.uniform(0.5, 3),
            "handle_med": prm["handle_hours"] * HOUR,
            "p_handle": prm["p_handle"],
            "p_block_h": rng.uniform(0.1, 0.35),
            "p_block_conv": 0.05,
            "block_delay_med": rng.uniform(1, 48) * HOUR,
            "p_report_given_block": rng.uniform(0.2, 0.5),
            "open_med": 3 * MINUTE,
            "conv_len": rng.uniform(2, 5),
            "conv_rate": rng.uniform(1, 3),
            "reply_mult": rng.uniform(0.5, 1.0),
            "prof": P_NIGHT,
            "child_tz": False,
        }
        self.engage(o, tg, t_req, prm["p_accept_base"] * self.child_accept_mod(tg), c)

    def off_scout(self, _):
        rng, W = self.rng, self.W
        cands = [
            c
            for c in range(len(self.comm_members))
            if self.comm_type[c]
            in ("dance", "football", "swimming", "music_fandom", "gaming", "art")
        ]
        sizes = np.array([len(self.comm_members[c]) for c in cands], float)
        comm = cands[int(rng.choice(len(cands), p=sizes / sizes.sum()))]
        mem = self.comm_members[comm]
        start = int(rng.uniform(0, 0.6) * W)
        spread = rng.uniform(2, 10)
        prm = {
            "community": int(comm),
            "community_type": str(self.comm_type[comm]),
            "n_targets": int(rng.integers(15, 81)),
            "spread_days": round(spread, 2),
            "p_accept_base": round(rng.uniform(0.15, 0.45), 3),
            "handle_hours": round(rng.uniform(12, 72), 1),
            "p_handle": round(rng.uniform(0.5, 0.9), 3),
        }
        country = self.home if rng.random() < 0.6 else self.foreign_country(1)[0]
        created = start - int(rng.uniform(1, 90) * DAY)
        o = self.new_offender(
            "scout", created, B_ADULT if rng.random() < 0.8 else B_UNK, country, prm
        )
        tg = self.pick(mem, prm["n_targets"], np.where(self.public[mem], 2.0, 1.0))
        t_req = self.clock.sample(
            np.full(len(tg), P_OFFICE),
            np.full(len(tg), country),
            np.full(len(tg), start),
            np.full(len(tg), min(W, start + int(spread * DAY))),
        )
        c = {
            "acc_med": 6 * HOUR,
            "p_block_req": rng.uniform(0.01, 0.04),
            "p_report_req": rng.uniform(0.01, 0.04),
            "stop_mean_d": rng.uniform(1, 5),
            "handle_med": prm["handle_hours"] * HOUR,
            "p_handle": prm["p_handle"],
            "p_block_h": rng.uniform(0.05, 0.2),
            "p_block_conv": 0.03,
            "block_delay_med": rng.uniform(2, 72) * HOUR,
            "p_report_given_block": rng.uniform(0.2, 0.6),
            "open_med": 10 * MINUTE,
            "conv_len": rng.uniform(2, 6),
            "conv_rate": rng.uniform(0.5, 2),
            "reply_mult": rng.uniform(0.6, 1.1),
            "prof": P_OFFICE,
            "gap": 120.0,
        }
        self.engage(o, tg, t_req, prm["p_accept_base"] * self.child_accept_mod(tg), c)
        self.offender_adult_friends(o)

    def off_peer_poser(self, chain_len):
        rng, W = self.rng, self.W
        teens = np.nonzero((self.age >= 13) & (self.country[: self.M] == self.home))[0]
        if len(teens) == 0:
            teens = np.nonzero(self.age >= 13)[0]
        anchor = rng.choice(teens)
        local = teens[self.school[teens] == self.school[anchor]]
        start = int(rng.uniform(0, 0.5) * W)
        prev_ok = np.zeros(0, np.int64)
        for j in range(chain_len):
            start = min(start, W - int(rng.uniform(0.5, 1.5) * DAY))
            act = rng.uniform(1, 4)
            thr = int(rng.integers(3, 11))
            prm = {
                "chain_position": j,
                "chain_length": chain_len,
                "n_targets": int(rng.integers(20, 121)),
                "active_days": round(act, 2),
                "block_threshold": thr,
                "p_accept_base": round(rng.uniform(0.2, 0.5), 3),
                "handle_hours": round(rng.uniform(0.5, 8), 2),
                "p_handle": round(rng.uniform(0.6, 0.9), 3),
            }
            created = start - int(rng.uniform(0.01, 1.0) * DAY)
            o = self.new_offender(
                "peer_poser", created, int(rng.choice([B_1315, B_1617])), self.home, prm
            )
            n_loc = int(prm["n_targets"] * rng.uniform(0.3, 0.8))
            tg = np.unique(
                np.concatenate(
                    [
                        self.pick(local, n_loc),
                        self.pick(
                            teens, prm["n_targets"] - n_loc, np.where(self.public[teens], 3.0, 1.0)
                        ),
                        self.pick(prev_ok, int(len(prev_ok) * rng.uniform(0.1, 0.4))),
                    ]
                )
            )
            tg = tg[rng.permutation(len(tg))]
            t_req = self.clock.sample(
                np.full(len(tg), P_LATE),
                self.country[tg],
                np.full(len(tg), start),
                np.full(len(tg), min(W, start + int(act * DAY))),
            )
            c = {
                "acc_med": 1 * HOUR,
                "p_block_req": rng.uniform(0.03, 0.1),
                "p_report_req": rng.uniform(0.02, 0.06),
                "stop_mean_d": rng.uniform(0.5, 2),
                "handle_med": prm["handle_hours"] * HOUR,
                "p_handle": prm["p_handle"],
                "p_block_h": rng.uniform(0.2, 0.45),
                "p_block_conv": 0.08,
                "block_delay_med": rng.uniform(0.5, 24) * HOUR,
                "p_report_given_block": rng.uniform(0.3, 0.6),
                "open_med": 1 * MINUTE,
                "conv_len": rng.uniform(3, 8),
                "conv_rate": rng.uniform(2, 5),
                "reply_mult": rng.uniform(0.7, 1.2),
                "prof": P_LATE,
                "gap": 25.0,
                "p_child_handle": 0.35,
            }
            tmp = Events()
            res = self.engage(
                o, tg, t_req, prm["p_accept_base"] * self.child_accept_mod(tg) * 1.2, c, ev=tmp
            )
            ts, k, a, b = tmp.arrays()
            hits = np.sort(ts[(b == o) & ((k == BLK) | (k == REP))])
            t_end = (
                int(hits[thr - 1])
                if len(hits) >= thr
                else min(W, start + int((act + rng.uniform(0, 5)) * DAY))
            )
            keep = ts <= t_end
            self.ev.parts.append((ts[keep], k[keep], a[keep], b[keep]))
            self.offenders[-1]["ended_after_days"] = round((t_end - start) / DAY, 2)
            prev_ok = res["tg"][res["acc"] & ~res["blocked"]]
            start = t_end + int(rng.uniform(0.5, 3) * DAY)

    def off_patient(self, _):
        rng, W = self.rng, self.W
        pool = np.nonzero((self.age >= 10) & (self.age <= 15))[0]
        w = (
            np.where(self.isolated[pool], 5.0, 1.0)
            * (0.2 + self.reply[pool]) ** 2
            * np.where(self.late[pool], 1.5, 1.0)
        )
        n_t = int(rng.choice([1, 2, 3], p=[0.5, 0.35, 0.15]))
        tg = self.pick(pool, n_t, w)
        prm = {
            "n_targets": int(len(tg)),
            "handle_after_days": round(rng.uniform(10, 35), 1),
            "rate_start": round(rng.uniform(0.3, 0.8), 3),
            "rate_end": round(rng.uniform(1.5, 4), 3),
            "hour_start": round(rng.uniform(16.5, 19), 2),
            "hour_end": round(rng.uniform(22, 24.5), 2),
            "session_len": round(rng.uniform(5, 15), 1),
            "p_handle": round(rng.uniform(0.6, 0.95), 3),
        }
        o = self.new_offender(
            "patient", int(self.old_created(1, 60, 1500)[0]), self.off_band(0.25), self.home, prm
        )
        self.offender_adult_friends(o)
        for x in tg:
            if rng.random() < 0.5 and self.created[x] < -5 * DAY:
                t_first = -int(rng.uniform(3, 25) * DAY)
                t_acc = 0
            else:
                t_first = max(int(rng.uniform(0, 0.5) * W), int(self.created[x]))
                _, _, _, acc, ta = self.handshake(
                    np.array([o]),
                    np.array([x]),
                    np.array([t_first]),
                    rng.uniform(0.5, 0.9),
                    4 * HOUR,
                )
                if not len(acc) or not acc[0]:
                    continue
                t_acc = int(ta[0])
            span = prm["handle_after_days"] * DAY
            t_h = t_first + int(span)
            tzh = TZ[self.country[x]]
            d0 = max(0, t_acc // DAY)
            days = np.arange(d0, self.days)
            prog = np.clip((days * DAY - t_first) / span, 0, 1)
            rate = prm["rate_start"] + (prm["rate_end"] - prm["rate_start"]) * prog
            rate = np.where(days * DAY > t_h, rate * 0.15, rate)
            k = rng.poisson(rate)
            dd = np.repeat(days, k)
            pg = np.repeat(prog, k)
            hr = rng.normal(prm["hour_start"] + (prm["hour_end"] - prm["hour_start"]) * pg, 1.0)
            st = (dd * DAY + (hr - tzh) * HOUR).astype(np.int64)
            st = np.sort(st[(st >= t_acc) & (st < W)])
            n = len(st)
            self.sessions_to_messages(
                np.full(n, o),
                np.full(n, x),
                st,
                np.full(n, prm["session_len"]),
                np.full(n, 0.7),
                np.full(n, min(1.0, 0.5 + self.reply[x] * 0.5)),
                rng.random(n) < 0.6,
                np.full(n, 45.0),
                np.full(n, W),
                self.ev,
            )
            if t_h < W and t_h >= t_acc and rng.random() < prm["p_handle"]:
                self.ev.add([t_h], HND, o, x)
                if rng.random() < 0.3:
                    self.ev.add([t_h + int(rng.integers(60, 3 * HOUR))], HND, x, o)
            if rng.random() < 0.05:
                tb = int(rng.integers(max(t_acc, 0), W))
                self.ev.add([tb], BLK, x, o)

    def off_insider(self, _):
        rng, W = self.rng, self.W
        cands = [
            c
            for c in range(len(self.comm_members))
            if self.comm_type[c] in ("dance", "football", "swimming", "local_area", "music_fandom")
            and len(self.comm_members[c]) >= 3
        ]
        if not cands:
            cands = [int(np.argmax([len(m) for m in self.comm_members]))]
        comm = cands[int(rng.integers(len(cands)))]
        mem = self.comm_members[comm]
        p1 = int(rng.uniform(0, 0.25) * W)
        p1_len = rng.uniform(3, 10)
        wait = rng.uniform(4, 12)
        prm = {
            "community": int(comm),
            "community_type": str(self.comm_type[comm]),
            "n_adults": int(rng.integers(3, 11)),
            "phase1_days": round(p1_len, 2),
            "approach_after_days": round(wait, 2),
            "n_children": int(rng.integers(3, 11)),
            "gap_days": round(rng.uniform(1, 4), 2),
            "p_accept_base": round(rng.uniform(0.4, 0.7), 3),
            "handle_days": round(rng.uniform(4, 12), 2),
            "p_handle": round(rng.uniform(0.5, 0.8), 3),
        }
        country = int(self.country[mem[0]])
        created = p1 - int(rng.uniform(0, 40) * DAY)
        o = self.new_offender(
            "insider", created, B_ADULT if rng.random() < 0.85 else B_UNK, country, prm
        )
        par = self.parent_of_kid[mem]
        par = np.unique(par[par >= 0])
        adults = np.concatenate([np.array(self.coach_of_comm.get(comm, []), np.int64), par])
        ad = self.pick(adults, prm["n_adults"])
        if len(ad):
            tr = self.clock.sample(
                np.full(len(ad), P_PARENT),
                np.full(len(ad), country),
                np.full(len(ad), max(p1, 0)),
                np.full(len(ad), min(W, p1 + int(p1_len * DAY))),
            )
            tr = np.maximum(tr, np.maximum(self.created[ad], self.created[o]))
            _, ad2, _, acc, ta = self.handshake(
                np.full(len(ad), o), ad, tr, rng.uniform(0.6, 0.9), 3 * HOUR
            )
            self.converse(
                np.full(acc.sum(), o),
                ad2[acc],
                ta[acc],
                W,
                rng.uniform(0.1, 0.4),
                P_ADULT,
                country,
                3,
                0.6,
                0.7,
                0.7,
            )
        kids_w = np.ones(len(mem))
        if len(ad):
            kids_w = np.where(np.isin(self.parent_of_kid[mem], ad), 4.0, 1.0)
        tg = self.pick(mem, prm["n_children"], kids_w)
        t2 = p1 + int(wait * DAY)
        t_req = t2 + np.cumsum(rng.exponential(prm["gap_days"] * DAY, len(tg))).astype(np.int64)
        t_req = np.array(
            [
                int(
                    self.clock.sample(
                        np.array([P_PARENT]),
                        np.array([country]),
                        np.array([t]),
                        np.array([t + DAY]),
                    )[0]
                )
                if t < W
                else t
                for t in t_req
            ],
            np.int64,
        )
        c = {
            "acc_med": 5 * HOUR,
            "p_block_req": 0.01,
            "p_report_req": 0.005,
            "stop_mean_d": rng.uniform(5, 15),
            "handle_med": prm["handle_days"] * DAY,
            "handle_sig": 0.4,
            "p_handle": prm["p_handle"],
            "p_block_h": rng.uniform(0.03, 0.12),
            "p_block_conv": 0.02,
            "block_delay_med": rng.uniform(6, 96) * HOUR,
            "p_report_given_block": rng.uniform(0.2, 0.5),
            "open_med": 30 * MINUTE,
            "conv_len": rng.uniform(3, 8),
            "conv_rate": rng.uniform(0.5, 2),
            "reply_mult": rng.uniform(0.8, 1.2),
            "prof": P_PARENT,
        }
        ok = t_req < W
        self.engage(
            o, tg[ok], t_req[ok], prm["p_accept_base"] * self.child_accept_mod(tg[ok]) * 1.3, c
        )

    def off_slow_mimic(self, _):
        rng, W = self.rng, self.W
        if rng.random() < 0.5 and len(self.comm_members):
            sizes = np.array([len(m) for m in self.comm_members], float)
            pool = self.comm_members[int(rng.choice(len(sizes), p=sizes / sizes.sum()))]
        else:
            s = rng.choice(self.school)
            pool = np.nonzero(self.school == s)[0]
        pool = pool[(self.age[pool] >= 11) & (self.age[pool] <= 16)]
        prm = {
            "n_targets": int(rng.integers(2, 6)),
            "n_weekly_slots": int(rng.integers(1, 3)),
            "slot_hour_lo": round(rng.uniform(16.5, 18.5), 2),
            "p_slot_used": round(rng.uniform(0.5, 0.9), 3),
            "handle_after_days": round(rng.uniform(14, 35), 1),
            "p_handle": round(rng.uniform(0.3, 0.6), 3),
            "session_len": round(rng.uniform(2, 5), 2),
        }
        country = self.home
        o = self.new_offender(
            "slow_mimic", int(self.old_created(1, 90, 2000)[0]), self.off_band(0.05), country, prm
        )
        self.offender_adult_friends(o)
        tg = self.pick(pool, prm["n_targets"])
        slots = self.weekly_slots(
            prm["n_weekly_slots"],
            country,
            prm["slot_hour_lo"],
            prm["slot_hour_lo"] + 1.5,
            [0, 1, 2, 3, 4, 5],
        )
        for x in tg:
            if rng.random() < 0.5 and self.created[x] < -10 * DAY:
                t_first = -int(rng.uniform(3, 20) * DAY)
                t_acc = 0
            else:
                cand = slots[slots >= max(0, self.created[x])]
                if not len(cand):
                    continue
                t_first = int(rng.choice(cand))
                _, _, _, acc, ta = self.handshake(
                    np.array([o]),
                    np.array([x]),
                    np.array([t_first]),
                    rng.uniform(0.4, 0.8),
                    6 * HOUR,
                )
                if not len(acc) or not acc[0]:
                    continue
                t_acc = int(ta[0])
            st = slots[(slots > t_acc) & (rng.random(len(slots)) < prm["p_slot_used"])]
            st = st + rng.integers(-15 * MINUTE, 15 * MINUTE, len(st))
            n = len(st)
            self.sessions_to_messages(
                np.full(n, o),
                np.full(n, x),
                st,
                np.full(n, prm["session_len"]),
                np.full(n, 0.6),
                np.full(n, 0.5 + 0.5 * self.reply[x]),
                rng.random(n) < 0.7,
                np.full(n, 60.0),
                np.full(n, W),
                self.ev,
            )
            t_h = t_first + int(prm["handle_after_days"] * DAY)
            if t_h < W and t_h > t_acc and rng.random() < prm["p_handle"]:
                cand = slots[slots >= t_h]
                th = int(cand[0]) if len(cand) else t_h
                self.ev.add([th], HND, o, x)
            if rng.random() < 0.03:
                self.ev.add([int(rng.integers(max(t_acc, 0), W))], REP, x, o)

    def off_ring(self, size):
        rng, W = self.rng, self.W
        if rng.random() < 0.5:
            sizes = np.array([len(m) for m in self.comm_members], float)
            pool = self.comm_members[int(rng.choice(len(sizes), p=sizes / sizes.sum()))]
        else:
            pool = np.nonzero(self.public)[0]
        n_pool = int(rng.integers(8, 41))
        targets = self.pick(pool, n_pool)
        start = int(rng.uniform(0, 0.6) * W)
        spread = rng.uniform(1, 5)
        country = self.home if rng.random() < 0.5 else self.foreign_country(1)[0]
        members = []
        grp_id = len(self.offenders)
        for j in range(size):
            prm = {
                "group": grp_id,
                "group_size": size,
                "member": j,
                "n_pool": n_pool,
                "p_follow": round(rng.uniform(0.4, 0.8), 3),
                "p_accept_base": round(rng.uniform(0.1, 0.35), 3),
                "handle_hours": round(rng.uniform(2, 24), 2),
                "p_handle": round(rng.uniform(0.5, 0.9), 3),
            }
            created = (
                start - int(rng.uniform(0.5, 20) * DAY)
                if rng.random() < 0.5
                else int(self.old_created(1, 30, 700)[0])
            )
            members.append(self.new_offender("ring", created, self.off_band(0.15), country, prm))
        lead_t = self.clock.sample(
            np.full(len(targets), P_NIGHT),
            self.country[targets],
            np.full(len(targets), start),
            np.full(len(targets), min(W, start + int(spread * DAY))),
        )
        for j, o in enumerate(members):
            prm = self.offenders[-size + j]
            if j == 0:
                tg, tr = targets, lead_t
            else:
                m = rng.random(len(targets)) < prm["p_follow"]
                tg = targets[m]
                tr = lead_t[m] + rng.integers(2 * HOUR, 48 * HOUR, m.sum())
            c = {
                "acc_med": 4 * HOUR,
                "p_block_req": rng.uniform(0.02, 0.08),
                "p_report_req": rng.uniform(0.01, 0.04),
                "stop_mean_d": rng.uniform(1, 6),
                "handle_med": prm["handle_hours"] * HOUR,
                "p_handle": prm["p_handle"],
                "p_block_h": rng.uniform(0.1, 0.3),
                "p_block_conv": 0.05,
                "block_delay_med": rng.uniform(2, 48) * HOUR,
                "p_report_given_block": rng.uniform(0.2, 0.5),
                "open_med": 10 * MINUTE,
                "conv_len": rng.uniform(2, 6),
                "conv_rate": rng.uniform(0.7, 2.5),
                "reply_mult": rng.uniform(0.6, 1.0),
                "prof": P_NIGHT,
            }
            ok = tr < W
            self.engage(o, tg[ok], tr[ok], prm["p_accept_base"] * self.child_accept_mod(tg[ok]), c)
        ma, mb = [], []
        for x in range(size):
            for y in range(x + 1, size):
                ma.append(members[x])
                mb.append(members[y])
        if ma:
            self.relation(np.array(ma), np.array(mb), rng.uniform(0.3, 1.0), P_NIGHT, country, 4)

    def build_offenders(self):
        rng = self.rng
        n_total = max(3, round(self.u(20, 46, "offender_accounts_base") * self.scale))
        w = rng.dirichlet(np.full(len(ARCHETYPES), 2.0))
        self.P["archetype_weights"] = dict(zip(ARCHETYPES, np.round(w, 4).tolist(), strict=True))
        if n_total >= len(ARCHETYPES) + 1:
            cnt = 1 + rng.multinomial(n_total - len(ARCHETYPES), w)
        else:
            cnt = rng.multinomial(n_total, w)
        ri = ARCHETYPES.index("ring")
        if cnt[ri] == 1:
            others = np.where(np.arange(len(cnt)) == ri, -1, cnt)
            cnt[ri] = 2
            cnt[int(np.argmax(others))] -= 1
        for a, k in zip(ARCHETYPES, cnt, strict=True):
            k = int(k)
            if a == "peer_poser":
                units = []
                while k > 0:
                    c = min(k, int(rng.integers(1, 4)))
                    units.append(c)
                    k -= c
            elif a == "ring":
                units = []
                while k > 0:
                    c = min(k, int(rng.integers(2, 5)))
                    if k - c == 1:
                        c += 1
                    units.append(c)
                    k -= c
            else:
                units = [1] * k
            for un in units:
                getattr(self, f"off_{a}")(un)

    # ------------------------------------------------------------------ assembly
    def noise_and_finish(self):
        rng, u = self.rng, self.u
        ts, kind, a, b = self.ev.arrays()
        ok = (a != b) & (ts >= 0) & (ts < self.W)
        ts, kind, a, b = ts[ok], kind[ok], a[ok], b[ok]
        # keep the volume inside the drawn event budget: thin benign-only message traffic by
        # whole (pair, day) blocks so that the remaining sessions stay intact
        budget = self.u(0.3, 0.95, "event_budget_millions") * 1e6 * self.scale
        benign = self.role < len(BENIGN_ROLES)
        msg = (kind == MSG) & benign[a] & benign[b]
        n_msg = int(msg.sum())
        q = 1.0
        if len(ts) > budget and n_msg:
            q = float(np.clip((budget - (len(ts) - n_msg)) / n_msg, 0.05, 1.0))
            lo, hi = np.minimum(a, b), np.maximum(a, b)
            key = (lo * self.n + hi) * (self.days + 1) + ts // DAY
            uk, inv = np.unique(key[msg], return_inverse=True)
            keep_k = rng.random(len(uk)) < q
            keep = np.ones(len(ts), bool)
            keep[np.nonzero(msg)[0][~keep_k[inv]]] = False
            ts, kind, a, b = ts[keep], kind[keep], a[keep], b[keep]
        self.P["benign_message_keep_share"] = round(q, 4)
        n = len(ts)
        drop = rng.random(n) < u(0.005, 0.03, "noise_missing_share")
        ts, kind, a, b = ts[~drop], kind[~drop], a[~drop], b[~drop]
        n = len(ts)
        dup = rng.random(n) < u(0.002, 0.02, "noise_duplicate_share")
        dts = ts[dup] + rng.integers(0, 3, dup.sum())
        ts = np.concatenate([ts, dts])
        kind = np.concatenate([kind, kind[dup]])
        a = np.concatenate([a, a[dup]])
        b = np.concatenate([b, b[dup]])
        n = len(ts)
        jit = rng.random(n) < u(0.02, 0.1, "noise_jitter_share")
        js = u(5, 120, "noise_jitter_seconds")
        ts = ts + np.where(jit, rng.normal(0, js, n), 0).astype(np.int64)
        ts = np.clip(ts, 0, self.W - 1)
        ok = ts >= np.maximum(self.created[a], self.created[b])
        ts, kind, a, b = ts[ok], kind[ok], a[ok], b[ok]
        order = np.lexsort((b, a, kind, ts))
        self.events = (ts[order], kind[order], a[order], b[order])
        # account-level noise: missing countries
        self.country_shown = self.country.copy()
        miss = rng.random(self.n) < u(0.03, 0.15, "noise_missing_country_share")
        offm = (self.role >= len(BENIGN_ROLES)) & (rng.random(self.n) < 0.25)
        self.country_shown[miss | offm] = -1

    def run(self):
        self.draw_window()
        self.build_minors()
        nets = self.minor_network()
        self.minor_events(nets)
        self.build_adults()
        self.school_adults()
        self.clubs()
        self.hobby_adults()
        self.adult_network()
        self.benign_oddities()
        self.build_offenders()
        self.noise_and_finish()

    def write(self, out):
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        rng = self.rng
        ids = np.empty(0, np.int64)
        while len(ids) < self.n:
            ids = np.unique(np.concatenate([ids, rng.integers(100_000_000, 1_000_000_000, self.n)]))
        ids = rng.permutation(ids)[: self.n]
        sid = np.array([f"p{x}" for x in ids])
        order = np.argsort(ids)
        fmt = "%Y-%m-%dT%H:%M:%SZ"

        def iso(sec):
            s = pl.Series(np.asarray(sec, np.int64) + self.start_epoch)
            return pl.from_epoch(s, time_unit="s").dt.strftime(fmt)

        cc = np.array(CC + [""])
        acc = pl.DataFrame(
            {
                "account_id": sid[order],
                "created_at": iso(self.created[order]),
                "age_band": np.array(BANDS)[self.band[order]],
                "country": cc[self.country_shown[order]],
            }
        )
        acc.write_csv(out / "accounts.csv")
        pl.DataFrame(
            {"account_id": sid[order], "role": np.array(ROLES)[self.role[order]]}
        ).write_csv(out / "truth.csv")
        ts, kind, a, b = self.events
        ev = pl.DataFrame(
            {
                "ts": iso(ts),
                "kind": pl.Series(kind.astype(np.int64)).replace_strict(
                    dict(enumerate(KINDS)), return_dtype=pl.String
                ),
                "actor": sid[a],
                "target": sid[b],
            }
        )
        ev.write_csv(out / "events.csv")
        roles = np.array(ROLES)[self.role]
        P = dict(self.P)
        P["seed"] = self.seed
        P["scale"] = self.scale
        P["counts_by_role"] = {r: int((roles == r).sum()) for r in ROLES if (roles == r).any()}
        P["counts_by_kind"] = {k: int((kind == i).sum()) for i, k in enumerate(KINDS)}
        P["n_accounts"] = int(self.n)
        P["n_events"] = int(len(ts))
        offs = []
        for o in self.offenders:
            d = {k: v for k, v in o.items() if k != "index"}
            d["account_id"] = str(sid[o["index"]])
            offs.append(d)
        offs.sort(key=lambda d: d["account_id"])
        P["offenders"] = offs
        (out / "params.json").write_text(
            json.dumps(P, indent=1, sort_keys=True, default=_json_default) + "\n"
        )
        return P


def _json_default(x):
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    raise TypeError(type(x))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    g = Generator(args.seed, args.scale)
    g.run()
    P = g.write(args.out)
    off = sum(v for k, v in P["counts_by_role"].items() if k.startswith("offender_"))
    print(
        f"seed={args.seed} scale={args.scale} window={P['window_start'][:10]}+{P['window_days']}d "
        f"accounts={P['n_accounts']} events={P['n_events']} offenders={off} "
        f"time={time.perf_counter() - t0:.1f}s -> {args.out}"
    )


if __name__ == "__main__":
    main()
