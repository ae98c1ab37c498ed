#!/usr/bin/env python
"""An independent synthetic population for *evaluating* grooming-risk scoring (issue #18, item 3).

Written from a plain-language description only (see README.md next to this file), without
reading the project's own simulator, features or model, so that a score measured here is not
a score the scorer was shaped to. It writes metadata only: who did what kind of thing to whom,
and when. There is no message content of any kind.

    python bench/pathways_independent/generate.py --out DIR --seed N [--scale X]

writes DIR/accounts.csv, DIR/events.csv, DIR/truth.csv and DIR/params.json. The same seed
and scale give byte-identical files. Every rate, rhythm and size is drawn per seed from a
range (the ranges are in `draw_params`; the values drawn go to params.json).

Used to report, never to tune.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

KINDS = (
    "contact_request",
    "contact_accept",
    "message",
    "block",
    "report",
    "off_platform_handle",
)
REQ, ACC, MSG, BLK, REP, HND = range(6)
DAYS = 28
HOURS = DAYS * 24  # the window, in hours from T0 (00:00 UTC on the first day)

# countries and a representative UTC offset (whole hours; daylight saving ignored)
# fmt: off
TZ = {
    "GB": 0, "IE": 0, "US": -5, "CA": -5, "AU": 10, "NZ": 12, "DE": 1, "NL": 1,
    "FR": 1, "ES": 1, "IT": 1, "PL": 1, "SE": 1, "RO": 2, "ZA": 2, "EG": 2, "TR": 3,
    "IN": 5, "PK": 5, "ID": 7, "PH": 8, "MY": 8, "NG": 1, "GH": 0, "CI": 0, "MA": 1,
    "BR": -3, "MX": -6, "CO": -5, "KE": 3, "VN": 7, "AR": -3,
}
# fmt: on
HOME_CHOICES = ("GB", "IE", "US", "CA", "AU", "NZ", "DE", "NL")

# fmt: off
BENIGN_ROLES = (
    "minor", "parent", "relative", "teacher", "coach", "youth_worker", "gamer", "creator",
    "adult",
)
# fmt: on
ARCHETYPES = ("burst", "patient", "sextortion", "insider", "mimic", "drip")

# hourly activity in local time, for a school/work day and a free day (weekend, holiday);
# relative weights, perturbed per seed
# fmt: off
_T = {
    "child": (
        [0, 0, 0, 0, 0, 0, .05, .4, .3, .03, .03, .05,
         .15, .05, .05, .7, 1, 1, .9, 1, .7, .25, .05, .01],
        [.01, 0, 0, 0, 0, 0, .02, .15, .4, .6, .7, .7,
         .7, .7, .8, .8, .9, .9, .9, 1, .7, .3, .08, .02],
    ),
    "teen": (
        [.2, .08, .03, .01, .01, .01, .05, .35, .3, .06, .06, .08,
         .25, .08, .08, .7, .9, .9, .9, 1.1, 1.2, 1.1, .8, .45],
        [.45, .25, .1, .04, .02, .01, .01, .03, .08, .2, .4, .6,
         .7, .8, .8, .85, .9, .9, 1, 1.1, 1.2, 1.2, 1, .7],
    ),
    "adult": (
        [.05, .02, .01, .01, .01, .02, .15, .5, .5, .35, .35, .35,
         .6, .5, .35, .35, .45, .7, .9, 1, 1, .9, .6, .25],
        [.1, .05, .02, .01, .01, .01, .05, .2, .4, .6, .7, .7,
         .7, .6, .6, .6, .7, .8, .9, 1, 1, .9, .6, .3],
    ),
    "parent": (
        [.02, .01, 0, 0, 0, .02, .3, .8, .6, .2, .2, .2,
         .4, .3, .3, .6, .8, .9, .8, .7, .7, .6, .3, .1],
        [.04, .02, .01, 0, 0, .01, .1, .3, .5, .6, .6, .6,
         .6, .6, .6, .6, .7, .8, .8, .7, .7, .6, .3, .1],
    ),
    "teacher": (
        [0, 0, 0, 0, 0, .01, .05, .5, .9, 1, 1, .9,
         .9, 1, 1, .9, .6, .3, .2, .3, .35, .25, .08, .01],
        [0, 0, 0, 0, 0, 0, 0, .01, .02, .04, .05, .05,
         .04, .04, .04, .05, .06, .08, .1, .12, .12, .08, .03, 0],
    ),
    "gamer": (
        [.7, .45, .25, .1, .03, .01, .01, .03, .05, .05, .05, .05,
         .1, .06, .06, .1, .2, .4, .7, 1, 1.2, 1.3, 1.2, 1],
        [.9, .7, .45, .2, .06, .02, .01, .02, .05, .1, .2, .35,
         .5, .6, .65, .7, .8, .9, 1, 1.1, 1.2, 1.3, 1.2, 1.1],
    ),
    "late": (
        [.6, .4, .2, .05, .02, .01, .01, .02, .05, .05, .05, .05,
         .1, .1, .1, .25, .4, .5, .6, .8, 1, 1.2, 1.2, 1],
        [.7, .5, .3, .1, .03, .01, .01, .02, .05, .1, .15, .2,
         .3, .3, .3, .4, .5, .6, .7, .9, 1.1, 1.2, 1.2, 1.1],
    ),
    "flat": (
        [.3, .2, .15, .1, .1, .15, .3, .5, .6, .7, .7, .7,
         .7, .7, .7, .7, .7, .8, .9, 1, 1, .9, .7, .5],
        [.3, .2, .15, .1, .1, .15, .3, .5, .6, .7, .7, .7,
         .7, .7, .7, .7, .7, .8, .9, 1, 1, .9, .7, .5],
    ),
}
# fmt: on
# tables whose "school day" is a term-time weekday (children, teachers); the rest use Mon-Fri
_TERM = {"child", "teen", "teacher"}


def U(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def draw_params(rng: np.random.Generator, seed: int, scale: float) -> dict:
    """Every size, rate and rhythm knob, drawn from its range for this seed."""

    def n(lo: float, hi: float, least: int = 1) -> int:
        return max(least, round(U(rng, lo, hi) * scale))

    home = str(rng.choice(HOME_CHOICES))
    foreign = [c for c in TZ if c != home]
    p: dict = {
        "seed": seed,
        "scale": scale,
        "days": DAYS,
        "start_offset_days": int(rng.integers(0, 300)),  # after 2025-01-06
        "home_country": home,
        "holiday_week": int(rng.integers(0, 4)) if rng.random() < U(rng, 0.2, 0.6) else -1,
        "rhythm_noise_sigma": U(rng, 0.05, 0.3),
        "rhythm_shift_p": U(rng, 0.1, 0.4),
        "daily_noise_sigma": U(rng, 0.05, 0.25),
        # children and their world
        "n_children": n(2000, 4000, 40),
        "age_weight_slope": U(rng, 0.0, 0.12),  # teens over-represented by this much per year
        "school_size": U(rng, 250, 700),
        "class_size": U(rng, 18, 32),
        "friend_group_mean": U(rng, 3.0, 5.5),
        "cross_class_friends_per_child": U(rng, 0.3, 1.2),
        "acquaintances_per_child": U(rng, 1.0, 3.5),
        "friend_rate": U(rng, 0.2, 0.5),  # conversations a day per friend pair (mean)
        "friend_msgs": U(rng, 3.0, 6.0),  # messages per conversation (mean)
        "acq_rate": U(rng, 0.01, 0.05),
        "p_new_friend_in_window": U(rng, 0.02, 0.07),
        "random_adds_per_child": U(rng, 0.1, 0.6),
        "p_accept_peer_add": U(rng, 0.4, 0.75),
        "p_peer_block": U(rng, 0.002, 0.012),
        "p_peer_report": U(rng, 0.0005, 0.004),
        "p_peer_handle_new": U(rng, 0.05, 0.2),
        "p_peer_handle_old": U(rng, 0.005, 0.03),
        "p_child_new_account": U(rng, 0.01, 0.04),
        "p_u13_claims_13": U(rng, 0.2, 0.5),
        "p_child_claims_adult": U(rng, 0.005, 0.025),
        # families
        "family_size_p2": U(rng, 0.3, 0.45),
        "family_size_p3": U(rng, 0.08, 0.18),
        "p_parent_on_platform": U(rng, 0.35, 0.7),
        "parent_rate": U(rng, 0.15, 0.5),
        "sibling_rate": U(rng, 0.05, 0.25),
        "relatives_per_family": U(rng, 0.3, 1.2),
        "p_relative_foreign": U(rng, 0.05, 0.25),
        "relative_rate": U(rng, 0.02, 0.15),
        "class_parent_links": U(rng, 0.5, 2.0),
        # teachers
        "teachers_per_class": U(rng, 0.3, 0.7),
        "p_teacher_linked_child": U(rng, 0.4, 0.9),
        "teacher_rate": U(rng, 0.02, 0.1),
        "p_teacher_linked_parent": U(rng, 0.05, 0.25),
        # clubs and groups
        "p_club": U(rng, 0.15, 0.35),
        "team_size": U(rng, 12, 22),
        "p_assistant_coach": U(rng, 0.2, 0.6),
        "coach_rate": U(rng, 0.05, 0.2),
        "p_coach_parent": U(rng, 0.2, 0.6),
        "p_group_chat_handle": U(rng, 0.1, 0.35),
        "p_youth_group": U(rng, 0.05, 0.15),
        "youth_group_size": U(rng, 15, 35),
        "youth_rate": U(rng, 0.03, 0.15),
        "p_youth_group_starts_in_window": U(rng, 0.1, 0.35),
        # gaming
        "p_gaming_circle": U(rng, 0.15, 0.35),
        "circle_size": U(rng, 3, 8),
        "p_foreign_teen_in_circle": U(rng, 0.05, 0.3),
        "circle_rate": U(rng, 0.1, 0.4),
        "n_gamers": n(50, 120),
        "p_gamer_foreign": U(rng, 0.1, 0.35),
        "p_gamer_joins_circle": U(rng, 0.5, 0.85),
        "gamer_extra_teens": U(rng, 0.5, 2.5),
        "p_gamer_met_in_window": U(rng, 0.15, 0.5),
        "gamer_rate": U(rng, 0.08, 0.5),
        "p_gamer_handle": U(rng, 0.15, 0.45),
        # creators
        "n_creators": n(6, 15),
        "creator_followers_median": U(rng, 40, 200),
        "p_fan_messages": U(rng, 0.3, 0.7),
        "fan_rate": U(rng, 0.02, 0.15),
        "p_fan_request": U(rng, 0.1, 0.4),
        "p_creator_accepts": U(rng, 0.03, 0.2),
        "creator_replies_to": U(rng, 3, 20),
        # other adults
        "adults_per_child": U(rng, 0.9, 1.6),
        "p_adult_foreign": U(rng, 0.04, 0.15),
        "adult_degree": U(rng, 2.0, 6.0),
        "adult_rate": U(rng, 0.04, 0.15),
        "p_adult_contacts_child": U(rng, 0.01, 0.05),
        "p_benign_adult_new_account": U(rng, 0.02, 0.08),
        "p_adult_declares_wrong_band": U(rng, 0.01, 0.05),
        "p_mistaken_block": U(rng, 0.002, 0.01),
        "p_mistaken_report": U(rng, 0.0005, 0.004),
        # how children answer strangers
        "p_accept_stranger_adult": U(rng, 0.08, 0.25),
        "p_accept_peer_looking": U(rng, 0.25, 0.5),
        "p_accept_with_context": U(rng, 0.45, 0.8),
        "p_block_on_request": U(rng, 0.02, 0.08),
        "p_report_on_request": U(rng, 0.005, 0.03),
        "accept_delay_median_h": U(rng, 0.5, 4.0),
        "p_accepted_but_silent": U(rng, 0.15, 0.4),  # accept a stranger, never answer
        # offenders, per archetype
        "n_burst": n(5, 12),
        "n_patient": n(4, 10),
        "n_sextortion": n(4, 10),
        "n_insider": n(3, 6),
        "n_mimic": n(3, 8),
        "n_drip": n(3, 6),
        "burst_targets": [U(rng, 10, 25), U(rng, 40, 90)],
        "burst_p_new_account": U(rng, 0.6, 0.9),
        "burst_p_foreign": U(rng, 0.5, 0.85),
        "burst_p_handle": U(rng, 0.5, 0.9),
        "sext_countries": [str(c) for c in rng.choice(foreign, int(rng.integers(1, 4)), False)],
        "sext_targets": [U(rng, 6, 12), U(rng, 20, 45)],
        "sext_p_block": U(rng, 0.25, 0.55),
        "sext_p_report": U(rng, 0.1, 0.4),
        "patient_victims_max": int(rng.integers(2, 5)),
        "patient_handle_after_days": [U(rng, 7, 12), U(rng, 18, 28)],
        "insider_parents": [U(rng, 2, 4), U(rng, 6, 12)],
        "insider_children_max": int(rng.integers(2, 6)),
        "mimic_p_never_handle": U(rng, 0.3, 0.6),
        "drip_requests_per_day": [U(rng, 0.4, 0.8), U(rng, 1.2, 3.0)],
        # noise in the logs
        "p_event_dropped": U(rng, 0.005, 0.03),
        "p_event_duplicated": U(rng, 0.002, 0.01),
        "p_ts_jitter": U(rng, 0.01, 0.05),
        "ts_jitter_minutes": U(rng, 1, 30),
        "p_ts_skew": U(rng, 0.0005, 0.003),
        "p_band_unknown": U(rng, 0.01, 0.04),
        "p_country_missing": U(rng, 0.01, 0.05),
    }
    p["foreign_countries"] = foreign
    return p


class World:
    def __init__(self, seed: int, scale: float) -> None:
        self.rng = np.random.default_rng(seed)
        self.P = draw_params(self.rng, seed, scale)
        P, rng = self.P, self.rng
        self.t0 = np.datetime64("2025-01-06T00:00:00", "s") + np.timedelta64(
            P["start_offset_days"], "D"
        )
        self.dow0 = P["start_offset_days"] % 7  # 2025-01-06 is a Monday
        hw = P["holiday_week"]
        self.holiday = np.arange(7 * hw, 7 * hw + 7) if hw >= 0 else np.array([], int)
        self.home = P["home_country"]
        # perturb the rhythm tables for this seed
        self.tables: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for name, (a, b) in _T.items():
            pair = []
            for row in (a, b):
                r = np.asarray(row, float) * rng.lognormal(0, P["rhythm_noise_sigma"], 24)
                if rng.random() < P["rhythm_shift_p"]:
                    r = np.roll(r, int(rng.choice([-1, 1])))
                pair.append(r + 1e-4)
            self.tables[name] = (pair[0], pair[1])
        self.day_factor = rng.lognormal(0, P["daily_noise_sigma"], DAYS + 2)
        self.prof_keys: dict[tuple, int] = {}
        self.cdfs: list[np.ndarray] = []
        # accounts
        self.role: list[str] = []
        self.age: list[int] = []  # true age in years; 30 for adults
        self.country: list[str] = []
        self.created: list[float] = []  # hours from T0
        self.band: list[str] = []  # declared band (noise applied later)
        # messaging segments and point events
        self.seg: dict[str, list] = {k: [] for k in ("a", "b", "s", "e", "r", "m", "pa", "pf")}
        self.pts: dict[str, list] = {k: [] for k in ("t", "k", "a", "b")}
        # benign relationships, finished in one pass (requests, blocks, handles, messages)
        self.rel: dict[str, list] = {
            k: []
            for k in (
                "a",
                "b",
                "r",
                "m",
                "pa",
                "pf",
                "s",
                "e",
                "new",
                "pacc",
                "pblk",
                "prep",
                "phnd",
            )
        }

    # ---------------------------------------------------------------- accounts

    def add(self, n: int, role: str, age, country, created) -> np.ndarray:
        first = len(self.role)
        ages = np.broadcast_to(np.asarray(age), (n,))
        cs = np.broadcast_to(np.asarray(country, dtype=object), (n,))
        cr = np.broadcast_to(np.asarray(created, float), (n,))
        self.role += [role] * n
        self.age += [int(x) for x in ages]
        self.country += [str(x) for x in cs]
        self.created += [float(x) for x in cr]
        self.band += [band_of(int(x)) for x in ages]
        return np.arange(first, first + n)

    def old_created(self, n: int, lo_days: float = 30, hi_days: float = 1500) -> np.ndarray:
        return -24 * self.rng.uniform(lo_days, hi_days, n)

    def tz(self, i: int) -> int:
        return TZ.get(self.country[i], 0)

    def foreign(self, n: int, choices=None) -> list[str]:
        c = choices or self.P["foreign_countries"]
        return [str(x) for x in self.rng.choice(c, n)]

    # ---------------------------------------------------------------- rhythms

    def prof(self, name: str, tz: int, special: tuple = ()) -> int:
        key = (name, tz, special)
        if key in self.prof_keys:
            return self.prof_keys[key]
        h = np.arange(HOURS) + tz
        day, hour = np.divmod(h, 24)
        dow = (self.dow0 + day) % 7
        workday = dow < 5
        term = workday & ~np.isin(day, self.holiday)
        if name in ("coach", "youth"):
            work, free = self.tables["adult"]
            w = np.where(workday, work[hour], free[hour]) * 0.3
            if name == "coach":
                train, match = special
                w = w * np.where(np.isin(dow, train) & (hour >= 14) & (hour <= 20), 4, 1)
                w = w * np.where((dow == match) & (hour >= 7) & (hour <= 13), 4, 1)
                w = w * np.where((dow == (match - 1) % 7) & (hour >= 18) & (hour <= 21), 2, 1)
            else:
                (gday,) = special
                w = w * np.where((dow == gday) & (hour >= 15) & (hour <= 21), 5, 1)
                w = w * np.where((dow == (gday - 1) % 7) & (hour >= 16) & (hour <= 21), 2, 1)
        else:
            work, free = self.tables[name]
            flag = term if name in _TERM else workday
            w = np.where(flag, work[hour], free[hour])
        w = w * self.day_factor[np.clip(day + 1, 0, DAYS + 1)]
        cdf = np.concatenate([[0.0], np.cumsum(w)])
        self.cdfs.append(cdf / cdf[-1])
        self.prof_keys[key] = len(self.cdfs) - 1
        return self.prof_keys[key]

    @property
    def tz_home(self) -> int:
        return TZ[self.home]

    def times(self, prof: np.ndarray, s: np.ndarray, e: np.ndarray) -> np.ndarray:
        """One time per row, drawn from that row's rhythm within [s, e) (hours)."""
        rng = self.rng
        s = np.clip(s, 0, HOURS)
        e = np.clip(e, 0, HOURS)
        out = np.empty(len(prof))
        grid = np.arange(HOURS + 1, dtype=float)
        for p in np.unique(prof):
            m = prof == p
            C = self.cdfs[p]
            cs, ce = np.interp(s[m], grid, C), np.interp(e[m], grid, C)
            u = cs + rng.random(m.sum()) * (ce - cs)
            slot = np.clip(np.searchsorted(C, u, side="right") - 1, 0, HOURS - 1)
            w = C[slot + 1] - C[slot]
            t = slot + np.clip((u - C[slot]) / np.maximum(w, 1e-15), 0, 1)
            flat = (ce - cs) < 1e-12
            t[flat] = s[m][flat] + rng.random(flat.sum()) * (e[m][flat] - s[m][flat])
            out[m] = t
        return out

    # ---------------------------------------------------------------- events

    def point(self, kind: int, a, b, t) -> None:
        t = np.atleast_1d(np.asarray(t, float))
        n = len(t)
        self.pts["t"].append(t)
        self.pts["k"].append(np.full(n, kind, np.int8))
        self.pts["a"].append(np.broadcast_to(np.asarray(a, np.int64), (n,)).copy())
        self.pts["b"].append(np.broadcast_to(np.asarray(b, np.int64), (n,)).copy())

    def talk(self, a, b, s, e, rate, mlen, pa, prof) -> None:
        """Conversations between a and b in [s, e): `rate` a day, `mlen` messages each."""
        n = np.broadcast(a, b, s, e, rate, mlen, pa, prof).size
        for k, v in (("a", a), ("b", b), ("s", s), ("e", e), ("r", rate), ("m", mlen)):
            self.seg[k].append(np.broadcast_to(np.asarray(v, float), (n,)).copy())
        self.seg["pa"].append(np.broadcast_to(np.asarray(pa, float), (n,)).copy())
        self.seg["pf"].append(np.broadcast_to(np.asarray(prof, np.int64), (n,)).copy())

    def relate(self, a, b, rate, mlen, pa, prof, **kw) -> None:
        """A benign relationship; `new` ones start with a request in the window."""
        n = np.broadcast(a, b, rate, mlen, pa, prof).size
        vals = {"a": a, "b": b, "r": rate, "m": mlen, "pa": pa, "pf": prof}
        vals |= {
            "s": kw.get("s", 0.0),
            "e": kw.get("e", float(HOURS)),
            "new": kw.get("new", False),
            "pacc": kw.get("pacc", 0.9),
            "pblk": kw.get("pblk", 0.0),
            "prep": kw.get("prep", 0.0),
            "phnd": kw.get("phnd", 0.0),
        }
        for k, v in vals.items():
            self.rel[k].append(np.broadcast_to(np.asarray(v), (n,)).copy())

    def gam(self, mean: float, n: int, shape: float = 1.0) -> np.ndarray:
        return self.rng.gamma(shape, mean / shape, n)

    # ---------------------------------------------------------------- benign world

    def build_children(self) -> None:
        P, rng = self.P, self.rng
        n = P["n_children"]
        ages_all = np.arange(8, 18)
        w = 1 + P["age_weight_slope"] * (ages_all - 8)
        ages = rng.choice(ages_all, n, p=w / w.sum())
        created = -24 * np.minimum(rng.uniform(14, 1500, n), (ages - 7) * 365.0)
        new = rng.random(n) < P["p_child_new_account"]
        created[new] = rng.uniform(0, HOURS - 5 * 24, new.sum())
        self.kids = self.add(n, "minor", ages, self.home, created)
        self.kid_age = ages
        # schools -> classes -> friendship groups
        self.classes: list[np.ndarray] = []
        self.school_classes: list[list[int]] = []
        for level in (ages <= 10, ages >= 11):
            idx = self.kids[level]
            if len(idx) == 0:
                continue
            n_sch = max(1, round(len(idx) / P["school_size"]))
            school = rng.integers(0, n_sch, len(idx))
            for s in range(n_sch):
                mine = idx[school == s]
                cls_ids: list[int] = []
                for a in np.unique(self.kid_age[mine - self.kids[0]]):
                    cohort = mine[self.kid_age[mine - self.kids[0]] == a]
                    cohort = rng.permutation(cohort)
                    k = max(1, round(len(cohort) / P["class_size"]))
                    for c in np.array_split(cohort, k):
                        cls_ids.append(len(self.classes))
                        self.classes.append(c)
                    self._cohort_links(cohort)
                self.school_classes.append(cls_ids)
        for c in self.classes:
            self._class_links(c)
        # children who add someone their age they met elsewhere
        k = rng.poisson(P["random_adds_per_child"], n)
        a = np.repeat(self.kids, k)
        b = self.pick_kids_like(self.kid_age[a - self.kids[0]], 2)
        ok = a != b
        self.peer_rel(a[ok], b[ok], new=True, pacc=P["p_accept_peer_add"], scale=0.4)

    def pick_kids_like(self, ages: np.ndarray, spread: int) -> np.ndarray:
        """A random home child within +-spread years of each given age."""
        rng = self.rng
        want = ages + rng.integers(-spread, spread + 1, len(ages))
        want = np.clip(want, 8, 17)
        order = np.argsort(self.kid_age, kind="stable")
        sorted_ages = self.kid_age[order]
        lo = np.searchsorted(sorted_ages, want, "left")
        hi = np.searchsorted(sorted_ages, want, "right")
        empty = hi <= lo
        lo[empty], hi[empty] = 0, len(order)
        pick = lo + (rng.random(len(ages)) * (hi - lo)).astype(int)
        return self.kids[order[np.minimum(pick, len(order) - 1)]]

    def peer_rel(self, a, b, new=False, pacc=0.95, scale=1.0) -> None:
        P, rng = self.P, self.rng
        n = len(a)
        if n == 0:
            return
        younger = np.minimum(self.kid_age[a - self.kids[0]], self.kid_age[b - self.kids[0]])
        prof = np.where(
            younger < 13, self.prof("child", self.tz_home), self.prof("teen", self.tz_home)
        )
        teen = younger >= 13
        phnd = np.where(teen, P["p_peer_handle_new"] if new else P["p_peer_handle_old"], 0)
        newflag = np.broadcast_to(np.asarray(new), (n,))
        self.relate(
            a,
            b,
            self.gam(P["friend_rate"] * scale, n, 0.8),
            1 + self.gam(P["friend_msgs"] - 1, n, 2.0),
            rng.uniform(0.3, 0.7, n),
            prof,
            s=np.where(newflag, rng.uniform(0, HOURS - 24, n), 0.0),
            new=newflag,
            pacc=pacc,
            pblk=P["p_peer_block"],
            prep=P["p_peer_report"],
            phnd=phnd,
        )

    def _class_links(self, c: np.ndarray) -> None:
        P, rng = self.P, self.rng
        members = rng.permutation(c)
        sizes = []
        left = len(members)
        while left > 0:
            s = min(left, max(2, rng.poisson(P["friend_group_mean"] - 1) + 1))
            sizes.append(s)
            left -= s
        start = 0
        aa, bb = [], []
        for s in sizes:
            g = members[start : start + s]
            start += s
            i, j = np.triu_indices(len(g), 1)
            aa.append(g[i])
            bb.append(g[j])
        if aa:
            a, b = np.concatenate(aa), np.concatenate(bb)
            new = rng.random(len(a)) < P["p_new_friend_in_window"]
            self.peer_rel(a[~new], b[~new])
            self.peer_rel(a[new], b[new], new=True)
        # acquaintances: classmates who talk now and then
        k = rng.poisson(P["acquaintances_per_child"] / 2, len(c))
        a = np.repeat(c, k)
        b = rng.choice(c, len(a))
        ok = a != b
        a, b = a[ok], b[ok]
        if len(a):
            younger = np.minimum(self.kid_age[a - self.kids[0]], self.kid_age[b - self.kids[0]])
            self.relate(
                a,
                b,
                self.gam(P["acq_rate"], len(a), 0.7),
                1 + self.gam(1.5, len(a), 2.0),
                0.5,
                np.where(
                    younger < 13, self.prof("child", self.tz_home), self.prof("teen", self.tz_home)
                ),
                pblk=P["p_peer_block"],
            )

    def _cohort_links(self, cohort: np.ndarray) -> None:
        P, rng = self.P, self.rng
        k = rng.poisson(P["cross_class_friends_per_child"] / 2 * len(cohort))
        if k == 0 or len(cohort) < 2:
            return
        a, b = rng.choice(cohort, k), rng.choice(cohort, k)
        ok = a != b
        new = rng.random(k) < P["p_new_friend_in_window"]
        self.peer_rel(a[ok & ~new], b[ok & ~new], scale=0.6)
        self.peer_rel(a[ok & new], b[ok & new], new=True, scale=0.6)

    def build_families(self) -> None:
        P, rng = self.P, self.rng
        order = rng.permutation(self.kids)
        p2, p3 = P["family_size_p2"], P["family_size_p3"]
        self.parents_of: dict[int, list[int]] = {}
        self.family_of: dict[int, int] = {}
        i = 0
        pc_a, pc_b, sib_a, sib_b, sp_a, sp_b, rel_a, rel_b = ([] for _ in range(8))
        fam = 0
        n_parents = 0
        parent_slots: list[tuple[int, list[int]]] = []
        while i < len(order):
            size = int(rng.choice([1, 2, 3], p=[1 - p2 - p3, p2, p3]))
            kids = [int(x) for x in order[i : i + size]]
            i += size
            for x in kids:
                self.family_of[x] = fam
            n_par = int((rng.random(2) < P["p_parent_on_platform"]).sum())
            parent_slots.append((n_par, kids))
            n_parents += n_par
            for x in range(len(kids)):
                for y in range(x + 1, len(kids)):
                    sib_a.append(kids[x])
                    sib_b.append(kids[y])
            fam += 1
        # parents and relatives as accounts, created in one block each
        par_new = rng.random(n_parents) < P["p_benign_adult_new_account"]
        par_created = np.where(
            par_new, rng.uniform(0, HOURS - 48, n_parents), self.old_created(n_parents, 60, 3000)
        )
        parents = self.add(n_parents, "parent", 40, self.home, par_created)
        j = 0
        self.all_parents = parents
        rel_kid_lists: list[list[int]] = []
        rel_par_lists: list[list[int]] = []
        for n_par, kids in parent_slots:
            ps = [int(x) for x in parents[j : j + n_par]]
            j += n_par
            for k in kids:
                self.parents_of[k] = ps
                for p in ps:
                    pc_a.append(p)
                    pc_b.append(k)
            if n_par == 2:
                sp_a.append(ps[0])
                sp_b.append(ps[1])
            rel_kid_lists.append(kids)
            rel_par_lists.append(ps)
        # relatives
        fam_rel = rng.poisson(P["relatives_per_family"], len(parent_slots))
        n_rel = int(fam_rel.sum())
        abroad = rng.random(n_rel) < P["p_relative_foreign"]
        countries = np.where(abroad, self.foreign(n_rel), self.home)
        relatives = self.add(n_rel, "relative", 55, countries, self.old_created(n_rel, 60, 3000))
        j = 0
        for f, m in enumerate(fam_rel):
            for r in relatives[j : j + m]:
                for k in rel_kid_lists[f]:
                    if rng.random() < 0.7:
                        rel_a.append(int(r))
                        rel_b.append(k)
                for p in rel_par_lists[f]:
                    sp_a.append(int(r))
                    sp_b.append(p)
            j += m
        a, b = np.array(pc_a, np.int64), np.array(pc_b, np.int64)
        new_parent = self.created_arr(a) > 0
        self.relate(
            a,
            b,
            self.gam(P["parent_rate"], len(a), 1.2),
            1 + self.gam(2.0, len(a), 2.0),
            rng.uniform(0.45, 0.7, len(a)),
            self.prof("parent", self.tz_home),
            new=new_parent,
            pacc=0.98,
        )
        a, b = np.array(sib_a, np.int64), np.array(sib_b, np.int64)
        if len(a):
            younger = np.minimum(self.kid_age[a - self.kids[0]], self.kid_age[b - self.kids[0]])
            self.relate(
                a,
                b,
                self.gam(P["sibling_rate"], len(a), 0.8),
                1 + self.gam(1.5, len(a), 2.0),
                0.5,
                np.where(
                    younger < 13, self.prof("child", self.tz_home), self.prof("teen", self.tz_home)
                ),
                pblk=P["p_peer_block"],
            )
        a, b = np.array(sp_a, np.int64), np.array(sp_b, np.int64)
        self.adult_pairs(a, b, P["parent_rate"] * 0.5)
        a, b = np.array(rel_a, np.int64), np.array(rel_b, np.int64)
        profs = np.array([self.prof("adult", self.tz(int(x))) for x in a], np.int64)
        self.relate(
            a,
            b,
            self.gam(P["relative_rate"], len(a), 0.8),
            1 + self.gam(1.5, len(a), 2.0),
            0.6,
            profs,
            pblk=P["p_mistaken_block"],
            prep=P["p_mistaken_report"],
            phnd=0.02,
        )
        # parents who know other parents from their children's classes
        aa, bb = [], []
        for c in self.classes:
            ps = [p for k in c for p in self.parents_of.get(int(k), [])]
            if len(ps) < 2:
                continue
            m = rng.poisson(P["class_parent_links"] / 2 * len(ps))
            x, y = rng.choice(ps, m), rng.choice(ps, m)
            aa.append(x[x != y])
            bb.append(y[x != y])
        if aa:
            self.adult_pairs(np.concatenate(aa), np.concatenate(bb), P["adult_rate"])

    def created_arr(self, idx: np.ndarray) -> np.ndarray:
        c = np.asarray(self.created)
        return c[idx] if len(idx) else np.zeros(0)

    def adult_pairs(self, a: np.ndarray, b: np.ndarray, rate: float, new=False) -> None:
        if len(a) == 0:
            return
        profs = np.array([self.prof("adult", self.tz(int(x))) for x in a], np.int64)
        self.relate(
            a,
            b,
            self.gam(rate, len(a), 0.8),
            1 + self.gam(2.0, len(a), 2.0),
            self.rng.uniform(0.35, 0.65, len(a)),
            profs,
            new=new,
            pacc=0.85,
            pblk=self.P["p_mistaken_block"],
            prep=self.P["p_mistaken_report"] / 2,
        )

    def new_or_old(self, n: int) -> np.ndarray:
        P, rng = self.P, self.rng
        new = rng.random(n) < P["p_benign_adult_new_account"]
        return np.where(new, rng.uniform(0, HOURS * 0.6, n), self.old_created(n, 60, 3000))

    def build_teachers(self) -> None:
        P, rng = self.P, self.rng
        all_t = []
        for cls_ids in self.school_classes:
            nt = max(1, round(len(cls_ids) * P["teachers_per_class"]))
            ts = self.add(nt, "teacher", 40, self.home, self.new_or_old(nt))
            all_t.append(ts)
            prof = self.prof("teacher", self.tz_home)
            for t in ts:
                mine = rng.choice(cls_ids, min(len(cls_ids), int(rng.integers(1, 4))), False)
                kids = np.concatenate([self.classes[c] for c in mine])
                kids = kids[rng.random(len(kids)) < P["p_teacher_linked_child"]]
                new = self.created[int(t)] > 0
                self.relate(
                    t,
                    kids,
                    self.gam(P["teacher_rate"], len(kids), 1.5),
                    1 + self.gam(1.0, len(kids), 2.0),
                    0.7,
                    prof,
                    new=new,
                    pacc=0.85,
                    pblk=P["p_mistaken_block"],
                    prep=P["p_mistaken_report"],
                )
                ps = [p for k in kids for p in self.parents_of.get(int(k), [])]
                ps = [p for p in ps if rng.random() < P["p_teacher_linked_parent"]]
                self.adult_pairs(np.full(len(ps), t), np.array(ps, np.int64), P["adult_rate"])
            i, j = np.triu_indices(len(ts), 1)
            keep = rng.random(len(i)) < 0.5
            if keep.any():
                self.relate(
                    ts[i][keep],
                    ts[j][keep],
                    self.gam(0.2, int(keep.sum()), 1.0),
                    3.0,
                    0.5,
                    prof,
                )
        self.teachers = np.concatenate(all_t)

    def build_clubs(self) -> None:
        P, rng = self.P, self.rng
        n_teams = max(1, round(len(self.kids) * P["p_club"] / P["team_size"]))
        self.teams: list[tuple[np.ndarray, np.ndarray, int]] = []
        for _ in range(n_teams):
            centre = int(rng.integers(9, 17))
            size = max(6, int(rng.normal(P["team_size"], 3)))
            members = np.unique(self.pick_kids_like(np.full(size, centre), 1))
            train = tuple(int(x) for x in sorted(rng.choice(5, 2, replace=False)))
            match = int(rng.choice([5, 6]))
            nc = 1 + int(rng.random() < P["p_assistant_coach"])
            coaches = self.add(nc, "coach", 38, self.home, self.new_or_old(nc))
            prof = self.prof("coach", self.tz_home, (train, match))
            self.teams.append((members, coaches, prof))
            for c in coaches:
                new = self.created[int(c)] > 0
                self.relate(
                    c,
                    members,
                    self.gam(P["coach_rate"], len(members), 1.5),
                    1 + self.gam(1.0, len(members), 2.0),
                    0.7,
                    prof,
                    new=new,
                    pacc=0.9,
                    pblk=P["p_mistaken_block"],
                    prep=P["p_mistaken_report"],
                )
                ps = [p for k in members for p in self.parents_of.get(int(k), [])]
                ps = [p for p in ps if rng.random() < P["p_coach_parent"]]
                self.adult_pairs(np.full(len(ps), c), np.array(ps, np.int64), P["adult_rate"])
                if rng.random() < P["p_group_chat_handle"]:
                    # the team's group chat on another app, shared to everyone at once
                    t = float(rng.uniform(max(0, self.created[int(c)]) + 24, HOURS - 24))
                    t = t + rng.exponential(0.05, len(members))
                    self.point(HND, c, members, t)
            # teammates from other schools
            m = len(members)
            k = rng.poisson(m * 0.8)
            a, b = rng.choice(members, k), rng.choice(members, k)
            ok = a != b
            self.peer_rel(a[ok], b[ok], scale=0.3)
        # youth groups
        n_groups = max(1, round(len(self.kids) * P["p_youth_group"] / P["youth_group_size"]))
        for _ in range(n_groups):
            size = max(6, int(rng.normal(P["youth_group_size"], 5)))
            members = np.unique(self.pick_kids_like(np.full(size, int(rng.integers(11, 16))), 3))
            gday = int(rng.integers(0, 5))
            nw = 1 + int(rng.random() < 0.4)
            workers = self.add(nw, "youth_worker", 32, self.home, self.new_or_old(nw))
            prof = self.prof("youth", self.tz_home, (gday,))
            starts = rng.random() < P["p_youth_group_starts_in_window"]
            s0 = float(rng.uniform(0, 14 * 24)) if starts else 0.0
            for w in workers:
                s = max(s0, self.created[int(w)] + 1.0)
                self.relate(
                    w,
                    members,
                    self.gam(P["youth_rate"], len(members), 1.5),
                    1 + self.gam(1.0, len(members), 2.0),
                    0.65,
                    prof,
                    s=s,
                    new=bool(starts or self.created[int(w)] > 0),
                    pacc=0.85,
                    pblk=P["p_mistaken_block"],
                    prep=P["p_mistaken_report"],
                )
                if rng.random() < P["p_group_chat_handle"]:
                    t = float(rng.uniform(s + 48, HOURS)) if s + 48 < HOURS else HOURS - 1.0
                    self.point(HND, w, members, t + rng.exponential(0.05, len(members)))

    def build_gaming(self) -> None:
        P, rng = self.P, self.rng
        older = self.kids[self.kid_age >= 11]
        players = older[rng.random(len(older)) < P["p_gaming_circle"]]
        players = rng.permutation(players)
        self.circles: list[np.ndarray] = []
        i = 0
        foreign_teens = []
        while i < len(players):
            s = max(2, int(rng.poisson(P["circle_size"])))
            c = players[i : i + s]
            i += s
            if rng.random() < P["p_foreign_teen_in_circle"]:
                m = int(rng.integers(1, 3))
                ages = rng.integers(12, 18, m)
                ft = self.add(m, "minor", ages, self.foreign(m), self.old_created(m, 30, 1200))
                foreign_teens.append(ft)
                c = np.concatenate([c, ft])
            self.circles.append(c)
            a, b = np.triu_indices(len(c), 1)
            prof = self.prof("gamer", self.tz_home)
            self.relate(
                c[a],
                c[b],
                self.gam(P["circle_rate"], len(a), 0.8),
                1 + self.gam(3.0, len(a), 2.0),
                0.5,
                prof,
                new=rng.random(len(a)) < 0.08,
                pacc=0.8,
                pblk=P["p_peer_block"],
                prep=P["p_peer_report"],
                phnd=P["p_peer_handle_new"],
            )
        self.foreign_teens = (
            np.concatenate(foreign_teens) if foreign_teens else np.zeros(0, np.int64)
        )
        # adult gamers
        ng = P["n_gamers"]
        abroad = rng.random(ng) < P["p_gamer_foreign"]
        countries = np.where(abroad, self.foreign(ng), self.home)
        gamers = self.add(ng, "gamer", 24, countries, self.new_or_old(ng))
        self.gamers = gamers
        teens = self.kids[self.kid_age >= 13]
        for g in gamers:
            prof = self.prof("gamer", self.tz(int(g)))
            mates = []
            if self.circles and rng.random() < P["p_gamer_joins_circle"]:
                c = self.circles[int(rng.integers(len(self.circles)))]
                mates.append(c)
            extra = rng.poisson(P["gamer_extra_teens"])
            if extra:
                mates.append(rng.choice(teens, extra))
            if not mates:
                continue
            kids = np.unique(np.concatenate(mates))
            met = rng.random(len(kids)) < P["p_gamer_met_in_window"]
            new = met | (self.created[int(g)] > 0)
            self.relate(
                g,
                kids,
                self.gam(P["gamer_rate"], len(kids), 0.8),
                1 + self.gam(3.0, len(kids), 2.0),
                rng.uniform(0.4, 0.6, len(kids)),
                prof,
                s=np.where(met, rng.uniform(0, HOURS - 48, len(kids)), 0.0),
                new=new,
                pacc=0.7,
                pblk=P["p_mistaken_block"] * 2,
                prep=P["p_mistaken_report"] * 2,
                phnd=P["p_gamer_handle"],
            )
        k = rng.poisson(1.5 * ng / 2)
        a, b = rng.choice(gamers, k), rng.choice(gamers, k)
        self.adult_pairs(a[a != b], b[a != b], P["adult_rate"] * 2)

    def build_creators(self) -> None:
        P, rng = self.P, self.rng
        nc = P["n_creators"]
        abroad = rng.random(nc) < 0.3
        countries = np.where(abroad, self.foreign(nc), self.home)
        creators = self.add(nc, "creator", 27, countries, self.new_or_old(nc))
        self.creators = creators
        fans_pool = self.kids[self.kid_age >= 10]
        for c in creators:
            n_f = min(
                len(fans_pool), int(rng.lognormal(np.log(P["creator_followers_median"]), 0.8))
            )
            fans = rng.choice(fans_pool, n_f, replace=False)
            talkers = fans[rng.random(n_f) < P["p_fan_messages"]]
            prof_f = np.where(
                self.kid_age[talkers - self.kids[0]] < 13,
                self.prof("child", self.tz_home),
                self.prof("teen", self.tz_home),
            )
            # followers write to the creator; almost never an answer
            self.relate(
                talkers,
                c,
                self.gam(P["fan_rate"], len(talkers), 0.6),
                1 + self.gam(0.5, len(talkers), 1.0),
                0.97,
                prof_f,
                pblk=P["p_mistaken_block"],
                prep=P["p_mistaken_report"],
            )
            askers = fans[rng.random(n_f) < P["p_fan_request"]]
            t = rng.uniform(max(0.0, self.created[int(c)]), HOURS, len(askers))
            self.point(REQ, askers, c, t)
            ok = rng.random(len(askers)) < P["p_creator_accepts"]
            self.point(ACC, c, askers[ok], t[ok] + rng.exponential(20, ok.sum()))
            # the creator answers a few
            k = min(len(talkers), max(1, int(rng.poisson(P["creator_replies_to"]))))
            chosen = rng.choice(talkers, k, replace=False) if len(talkers) else talkers[:0]
            prof = self.prof("flat", self.tz(int(c)))
            self.relate(
                c,
                chosen,
                self.gam(0.08, len(chosen), 1.0),
                1.5,
                0.8,
                prof,
                s=rng.uniform(0, HOURS / 2, len(chosen)),
            )

    def build_adults(self) -> None:
        P, rng = self.P, self.rng
        n = max(10, round(len(self.kids) * P["adults_per_child"]))
        abroad = rng.random(n) < P["p_adult_foreign"]
        countries = np.where(abroad, self.foreign(n), self.home)
        ages = rng.integers(18, 80, n)
        adults = self.add(n, "adult", ages, countries, self.new_or_old(n))
        self.adults = adults
        roles = np.asarray(self.role)
        pool = np.flatnonzero(roles != "minor")
        k = rng.poisson(P["adult_degree"], n)
        a = np.repeat(adults, k)
        b = rng.choice(pool, len(a))
        ok = a != b
        new = (rng.random(len(a)) < 0.05) | (self.created_arr(a) > 0)
        self.adult_pairs(a[ok], b[ok], P["adult_rate"], new=new[ok])
        # the rare adult who contacts a child (a neighbour, a family friend, a seller)
        who = adults[rng.random(n) < P["p_adult_contacts_child"]]
        kids = rng.choice(self.kids, len(who))
        s = rng.uniform(0, HOURS - 24, len(who))
        profs = np.array([self.prof("adult", self.tz(int(x))) for x in who], np.int64)
        self.relate(
            who,
            kids,
            self.gam(0.15, len(who), 1.0),
            1 + self.gam(1.0, len(who), 2.0),
            0.6,
            profs,
            s=s,
            e=s + rng.uniform(24, 10 * 24, len(who)),
            new=rng.random(len(who)) < 0.6,
            pacc=0.45,
            pblk=0.05,
            prep=0.02,
        )

    # ---------------------------------------------------------------- offenders

    def off_add(self, arch: str, n: int, countries, created, bands) -> np.ndarray:
        ids = self.add(n, f"offender_{arch}", 35, countries, created)
        for i, b in zip(ids, bands, strict=True):
            self.band[int(i)] = str(b)
        return ids

    def bands(self, n: int, mix: dict[str, float]) -> list[str]:
        keys = list(mix)
        w = np.array([mix[k] for k in keys], float)
        return [str(x) for x in self.rng.choice(keys, n, p=w / w.sum())]

    def targets(self, n: int, lo: int, hi: int, exclude=()) -> np.ndarray:
        pool = self.kids[(self.kid_age >= lo) & (self.kid_age <= hi)]
        pool = np.setdiff1d(pool, np.asarray(exclude, np.int64))
        return self.rng.choice(pool, min(n, len(pool)), replace=False)

    def p_accept(self, kids: np.ndarray, base: float) -> np.ndarray:
        age = np.asarray(self.age)[kids]
        f = np.clip(0.7 + 0.06 * (age - 10), 0.6, 1.3)
        return np.clip(base * f * self.rng.lognormal(0, 0.2), 0, 0.95)

    def approach(self, off: int, kids: np.ndarray, t: np.ndarray, p_acc: np.ndarray):
        """Requests from an offender; children accept, ignore, block or report."""
        P, rng = self.P, self.rng
        n = len(kids)
        self.point(REQ, off, kids, t)
        delay = rng.lognormal(np.log(P["accept_delay_median_h"]), 1.0, n)
        acc = (rng.random(n) < p_acc) & (t + delay < HOURS)
        ta = t + delay
        self.point(ACC, kids[acc], off, ta[acc])
        no = ~acc
        blk = no & (rng.random(n) < P["p_block_on_request"] * 1.5)
        rep = no & (rng.random(n) < P["p_report_on_request"] * 1.5)
        self.point(BLK, kids[blk], off, t[blk] + delay[blk])
        self.point(REP, kids[rep], off, t[rep] + delay[rep] + rng.exponential(0.2, rep.sum()))
        return kids[acc], ta[acc], kids[no], t[no]

    def after_handle(self, off, kids, th, p_blk, p_rep) -> np.ndarray:
        """Some children block or report after being pushed off the platform; the end times."""
        rng = self.rng
        n = len(kids)
        tb = th + rng.lognormal(np.log(12), 1.0, n)
        blk = (rng.random(n) < p_blk) & (tb < HOURS)
        rep = (rng.random(n) < p_rep) & (tb < HOURS)
        self.point(BLK, kids[blk], off, tb[blk])
        self.point(REP, kids[rep], off, tb[rep] + rng.exponential(0.3, rep.sum()))
        return np.where(blk | rep, tb, HOURS)

    def build_offenders(self) -> None:
        P, rng = self.P, self.rng
        home = self.home
        self.offenders: dict[str, np.ndarray] = {}
        peer = P["p_accept_peer_looking"]
        stranger = P["p_accept_stranger_adult"]
        context = P["p_accept_with_context"]

        # -- burst: many unrelated children in a short burst, often new and abroad, pushing
        #    quickly to another app
        n = P["n_burst"]
        starts = rng.uniform(0, HOURS - 36, n)
        new = rng.random(n) < P["burst_p_new_account"]
        created = np.where(new, starts - rng.uniform(0.05, 72, n), self.old_created(n, 20, 700))
        abroad = rng.random(n) < P["burst_p_foreign"]
        countries = np.where(abroad, self.foreign(n), home)
        ids = self.off_add(
            "burst",
            n,
            countries,
            created,
            self.bands(n, {"adult": 0.45, "unknown": 0.2, "16_17": 0.25, "13_15": 0.1}),
        )
        self.offenders["burst"] = ids
        lo, hi = P["burst_targets"]
        for o, s0 in zip(ids, starts, strict=True):
            o = int(o)
            prof = self.prof(str(rng.choice(["flat", "late", "adult"])), self.tz(o))
            looks_peer = self.band[o] in ("13_15", "16_17")
            campaigns = [float(s0)]
            if rng.random() < 0.3:
                campaigns.append(float(rng.uniform(s0, HOURS - 12)))
            for c0 in campaigns:
                dur = float(rng.uniform(8, 96))
                kids = self.targets(int(rng.uniform(lo, hi)), 11, 17)
                t = self.times(
                    np.full(len(kids), prof),
                    np.full(len(kids), c0),
                    np.full(len(kids), min(HOURS, c0 + dur)),
                )
                base = peer if looks_peer else stranger
                acc, ta, no, tn = self.approach(o, kids, t, self.p_accept(kids, base))
                self._groom(
                    o,
                    acc,
                    ta,
                    rate=rng.uniform(1.5, 5),
                    days=rng.uniform(1, 4),
                    prof=prof,
                    p_hnd=P["burst_p_handle"],
                    hnd_h=(0.5, 24),
                    p_blk=rng.uniform(0.08, 0.25),
                    p_rep=rng.uniform(0.03, 0.15),
                )
                # a line or two to some who never accepted (message requests)
                m = rng.random(len(no)) < 0.3
                self.point(MSG, o, no[m], tn[m] + rng.exponential(0.5, m.sum()))
                h = m & (rng.random(len(no)) < 0.3)
                self.point(HND, o, no[h], tn[h] + rng.exponential(1.0, h.sum()))

        # -- patient: one to a few children, trust over weeks, then off the platform
        n = P["n_patient"]
        countries = np.where(rng.random(n) < 0.8, home, self.foreign(n))
        created = np.where(
            rng.random(n) < 0.85, self.old_created(n, 60, 2000), rng.uniform(-20 * 24, 3 * 24, n)
        )
        ids = self.off_add(
            "patient",
            n,
            countries,
            created,
            self.bands(n, {"adult": 0.6, "16_17": 0.25, "unknown": 0.15}),
        )
        self.offenders["patient"] = ids
        hlo, hhi = P["patient_handle_after_days"]
        for o in ids:
            o = int(o)
            prof = self.prof(str(rng.choice(["late", "adult", "gamer"])), self.tz(o))
            nv = int(rng.integers(1, P["patient_victims_max"] + 1))
            tries = nv + int(rng.poisson(2))
            kids = self.targets(tries, 11, 16)
            t0s = rng.uniform(max(-12 * 24, self.created[o]), 12 * 24, len(kids))
            # contacts made before the window left no request in it
            before = t0s < 0
            fresh_t = np.maximum(t0s[~before], max(0.0, self.created[o]) + 1)
            acc, ta, _, _ = self.approach(
                o, kids[~before], fresh_t, self.p_accept(kids[~before], stranger * 1.5)
            )
            kids_v = np.concatenate([kids[before], acc])[:nv]
            tv = np.concatenate([t0s[before], ta])[:nv]
            for k, tk in zip(kids_v, tv, strict=True):
                k = int(k)
                th = float(tk + 24 * rng.uniform(hlo, hhi))
                weeks = np.arange(float(tk), HOURS, 24 * 7)
                r0 = rng.uniform(0.2, 0.6)
                g = rng.uniform(1.3, 2.0)
                for w_i, ws in enumerate(weeks):
                    s, e = max(0.0, ws), min(HOURS, ws + 24 * 7)
                    if e <= s:
                        continue
                    rate = r0 * g**w_i * (0.3 if s >= th else 1)
                    self.talk(o, k, s, e, rate, 3 + 1.5 * w_i, rng.uniform(0.5, 0.65), prof)
                if th < HOURS:
                    self.point(HND, o, k, th)
                    self.after_handle(
                        o,
                        np.array([k]),
                        np.array([th]),
                        rng.uniform(0.02, 0.1),
                        rng.uniform(0.01, 0.06),
                    )

        # -- sextortion: pose as peers, approach teenagers in another country, move fast,
        #    blocked and reported often
        n = P["n_sextortion"]
        countries = np.where(rng.random(n) < 0.9, self.foreign(n, P["sext_countries"]), home)
        starts = rng.uniform(0, HOURS - 24, n)
        created = np.where(
            rng.random(n) < 0.85, starts - rng.uniform(0.1, 96, n), self.old_created(n, 10, 300)
        )
        ids = self.off_add(
            "sextortion",
            n,
            countries,
            created,
            self.bands(n, {"16_17": 0.5, "13_15": 0.3, "unknown": 0.1, "adult": 0.1}),
        )
        self.offenders["sextortion"] = ids
        lo, hi = P["sext_targets"]
        for o, s0 in zip(ids, starts, strict=True):
            o = int(o)
            prof = self.prof(str(rng.choice(["adult", "flat"])), self.tz(o))
            dur = float(rng.uniform(24, 7 * 24))
            kids = self.targets(int(rng.uniform(lo, hi)), 13, 17)
            t = self.times(
                np.full(len(kids), prof),
                np.full(len(kids), s0),
                np.full(len(kids), min(HOURS, s0 + dur)),
            )
            base = peer if self.band[o] in ("13_15", "16_17") else stranger
            acc, ta, _, _ = self.approach(o, kids, t, self.p_accept(kids, base))
            self._groom(
                o,
                acc,
                ta,
                rate=rng.uniform(4, 10),
                days=rng.uniform(0.5, 2),
                prof=prof,
                p_hnd=rng.uniform(0.6, 0.95),
                hnd_h=(0.3, 12),
                p_blk=P["sext_p_block"],
                p_rep=P["sext_p_report"],
                mlen=8.0,
            )

        # -- insider: befriend parents or join a community children are in, then reach out
        n = P["n_insider"]
        ids = self.off_add("insider", n, home, self.old_created(n, 90, 3000), ["adult"] * n)
        self.offenders["insider"] = ids
        plo, phi = P["insider_parents"]
        groups = [(m, c) for m, c, _ in self.teams]
        groups += [(c, np.zeros(0, np.int64)) for c in self.classes if len(c) > 5]
        for o in ids:
            o = int(o)
            prof = self.prof("adult", self.tz(o))
            community, leaders = groups[int(rng.integers(len(groups)))]
            if len(leaders) and rng.random() < 0.5:
                # gets to know the coach first: a helper, a volunteer driver
                t = float(rng.uniform(0, 5 * 24))
                self.point(REQ, o, leaders, t + rng.uniform(0, 24, len(leaders)))
                ta = t + 24 + rng.lognormal(np.log(3), 1, len(leaders))
                self.point(ACC, leaders, o, ta)
                self.talk(o, leaders, ta, HOURS, rng.uniform(0.1, 0.4), 3.0, 0.5, prof)
            parents = np.array(
                sorted({p for k in community for p in self.parents_of.get(int(k), [])}), np.int64
            )
            s1 = float(rng.uniform(0, 8 * 24))
            if len(parents):
                ps = rng.choice(parents, min(len(parents), int(rng.uniform(plo, phi))), False)
                t = s1 + rng.uniform(0, 5 * 24, len(ps))
                self.point(REQ, o, ps, t)
                ok = rng.random(len(ps)) < rng.uniform(0.6, 0.9)
                ta = t + rng.lognormal(np.log(3), 1, len(ps))
                self.point(ACC, ps[ok], o, ta[ok])
                self.talk(
                    np.full(ok.sum(), o),
                    ps[ok],
                    ta[ok],
                    HOURS,
                    rng.uniform(0.1, 0.5),
                    3.0,
                    0.55,
                    prof,
                )
                known = {k for k in community if set(self.parents_of.get(int(k), [])) & set(ps[ok])}
            else:
                known = set()
            s2 = s1 + 24 * float(rng.uniform(5, 14))
            if s2 >= HOURS - 24:
                continue
            nk = int(rng.integers(1, P["insider_children_max"] + 1))
            first = [k for k in community if k in known]
            rest = [k for k in community if k not in known]
            kids = np.array(
                (list(rng.permutation(first)) + list(rng.permutation(rest)))[:nk], np.int64
            )
            t = s2 + rng.uniform(0, 4 * 24, len(kids))
            acc, ta, _, _ = self.approach(o, kids, t, self.p_accept(kids, context))
            self._groom(
                o,
                acc,
                ta,
                rate=rng.uniform(0.4, 1.5),
                days=30,
                prof=prof,
                p_hnd=0.6,
                hnd_h=(4 * 24, 12 * 24),
                p_blk=0.04,
                p_rep=0.03,
                ramp=True,
            )

        # -- mimic: copies a coach's or a gamer's rhythm, few contacts, waits long (or never)
        #    before sharing a handle
        n = P["n_mimic"]
        styles = rng.choice(["coach", "gamer"], n)
        bands = [
            str(rng.choice(["adult", "16_17"], p=[0.7, 0.3])) if s == "gamer" else "adult"
            for s in styles
        ]
        ids = self.off_add("mimic", n, home, self.old_created(n, 60, 2000), bands)
        self.offenders["mimic"] = ids
        for o, style in zip(ids, styles, strict=True):
            o = int(o)
            if style == "coach" or not self.circles:
                members, _, prof = self.teams[int(rng.integers(len(self.teams)))]
                kids = rng.choice(members, min(len(members), int(rng.integers(3, 9))), False)
            else:
                prof = self.prof("gamer", self.tz(o))
                c = self.circles[int(rng.integers(len(self.circles)))]
                kids = c[c < self.kids[-1] + 1]  # home children of the circle
            if len(kids) == 0:
                continue
            t = rng.uniform(0, 6 * 24, len(kids))
            acc, ta, _, _ = self.approach(o, kids, t, self.p_accept(kids, context))
            if len(acc) == 0:
                continue
            self.talk(np.full(len(acc), o), acc, ta, HOURS, rng.uniform(0.08, 0.4), 2.5, 0.6, prof)
            focus = rng.choice(acc, min(len(acc), int(rng.integers(1, 3))), False)
            tf = ta[np.isin(acc, focus)]
            self.talk(
                np.full(len(focus), o),
                focus,
                tf + 5 * 24,
                HOURS,
                rng.uniform(0.3, 1.0),
                4.0,
                0.55,
                prof,
            )
            if rng.random() >= P["mimic_p_never_handle"]:
                th = tf + 24 * rng.uniform(15, 27, len(focus))
                inside = th < HOURS
                self.point(HND, o, focus[inside], th[inside])
            if style == "gamer" and rng.random() < 0.3:
                # the "voice chat" link to the whole circle, as real gamers do
                th = float(rng.uniform(ta.min() + 24, HOURS)) if ta.min() + 24 < HOURS else None
                if th is not None:
                    self.point(HND, o, acc, th + rng.exponential(0.05, len(acc)))

        # -- drip: a few unrelated children a day across the whole window
        n = P["n_drip"]
        countries = np.where(rng.random(n) < 0.3, self.foreign(n), home)
        new = rng.random(n) < 0.5
        created = np.where(new, rng.uniform(-3 * 24, 2 * 24, n), self.old_created(n, 30, 900))
        ids = self.off_add(
            "drip",
            n,
            countries,
            created,
            self.bands(n, {"adult": 0.5, "16_17": 0.3, "unknown": 0.2}),
        )
        self.offenders["drip"] = ids
        dlo, dhi = P["drip_requests_per_day"]
        for o in ids:
            o = int(o)
            prof = self.prof(str(rng.choice(["late", "adult"])), self.tz(o))
            s0 = max(0.0, self.created[o]) + 1
            nreq = rng.poisson(rng.uniform(dlo, dhi) * (HOURS - s0) / 24)
            kids = self.targets(int(nreq), 11, 16)
            t = self.times(
                np.full(len(kids), prof), np.full(len(kids), s0), np.full(len(kids), float(HOURS))
            )
            base = peer if self.band[o] in ("16_17",) else stranger
            acc, ta, _, _ = self.approach(o, kids, t, self.p_accept(kids, base))
            self._groom(
                o,
                acc,
                ta,
                rate=rng.uniform(1, 3),
                days=rng.uniform(2, 10),
                prof=prof,
                p_hnd=rng.uniform(0.3, 0.6),
                hnd_h=(24, 5 * 24),
                p_blk=rng.uniform(0.05, 0.15),
                p_rep=rng.uniform(0.02, 0.08),
            )

    def _groom(
        self, o, acc, ta, rate, days, prof, p_hnd, hnd_h, p_blk, p_rep, mlen=5.0, ramp=False
    ) -> None:
        """Messages after acceptance, a handle for some, then blocks and reports."""
        rng = self.rng
        n = len(acc)
        if n == 0:
            return
        end = np.minimum(ta + 24 * days, HOURS)
        # some accept and never answer: a few unanswered lines, then the offender moves on
        silent = rng.random(n) < self.P["p_accepted_but_silent"]
        end = np.where(silent, np.minimum(end, ta + 24 * rng.uniform(0.3, 3, n)), end)
        rate = np.where(silent, 0.4, 1.0) * rate
        hnd = rng.random(n) < p_hnd * np.where(silent, 0.4, 1.0)
        th = ta + rng.uniform(hnd_h[0], hnd_h[1], n)
        hnd &= th < HOURS
        cut = np.where(hnd, th, end)
        tb = self.after_handle(o, acc[hnd], th[hnd], p_blk, p_rep)
        stop = np.full(n, float(HOURS))
        stop[hnd] = tb
        # before the handle (or to the end of interest)
        if ramp:
            mid = ta + (cut - ta) / 2
            self.talk(o, acc, ta, mid, rate * 0.5, mlen * 0.7, np.where(silent, 1, 0.62), prof)
            self.talk(
                o,
                acc,
                mid,
                np.minimum(cut, stop),
                rate * 1.5,
                mlen,
                np.where(silent, 1, 0.58),
                prof,
            )
        else:
            pa = np.where(silent, 1.0, rng.uniform(0.6, 0.78))
            self.talk(
                o, acc, ta, np.minimum(cut, stop), rate, np.where(silent, 1.5, mlen), pa, prof
            )
        # a thinner tail after it
        self.talk(
            o,
            acc[hnd],
            th[hnd],
            np.minimum(end[hnd] + 24, stop[hnd]),
            rate[hnd] * 0.3,
            3.0,
            np.where(silent[hnd], 1.0, 0.7),
            prof,
        )
        self.point(HND, o, acc[hnd], th[hnd])

    # ---------------------------------------------------------------- finish

    def finish_relationships(self) -> None:
        """Benign relationships: requests and accepts, blocks, reports, handles, messages."""
        P, rng = self.P, self.rng
        R = {k: np.concatenate(v) for k, v in self.rel.items()}
        a, b = R["a"].astype(np.int64), R["b"].astype(np.int64)
        n = len(a)
        created = np.asarray(self.created)
        s = R["s"].astype(float)
        e = R["e"].astype(float)
        new = R["new"].astype(bool)
        # formed in the window but given no date: any time in it
        s = np.where(new & (s <= 0), rng.uniform(0, HOURS - 24, n), s)
        born = np.maximum(created[a], created[b])
        late = born > s
        s = np.where(late, born + rng.exponential(12, n), s)
        new |= late
        # a request by a, accepted (or not) by b
        tr = s
        delay = rng.lognormal(np.log(P["accept_delay_median_h"]), 1.2, n)
        acc = rng.random(n) < R["pacc"].astype(float)
        req = new & (tr < HOURS)
        self.point(REQ, a[req], b[req], tr[req])
        ok = req & acc & (tr + delay < HOURS)
        self.point(ACC, b[ok], a[ok], tr[ok] + delay[ok])
        live = ~new | ok
        s = np.where(new, tr + delay, s)
        # blocks and reports (usually by b, the child or the other side), cutting it short
        blk = live & (rng.random(n) < R["pblk"].astype(float))
        rep = live & (rng.random(n) < R["prep"].astype(float))
        tb = s + rng.random(n) * np.maximum(np.minimum(e, HOURS) - s, 0)
        by_b = rng.random(n) < 0.8
        who, whom = np.where(by_b, b, a), np.where(by_b, a, b)
        self.point(BLK, who[blk], whom[blk], tb[blk])
        self.point(REP, who[rep], whom[rep], tb[rep] + rng.exponential(0.5, rep.sum()))
        e = np.where(blk, tb, e)
        # handles for another app (voice chat, the family group, a friend's other account)
        hnd = live & (rng.random(n) < R["phnd"].astype(float))
        th = s + rng.random(n) * np.maximum(np.minimum(e, HOURS) - s, 0)
        by_a = rng.random(n) < 0.6
        self.point(HND, np.where(by_a, a, b)[hnd], np.where(by_a, b, a)[hnd], th[hnd])
        m = live & (e > s)
        self.talk(
            a[m],
            b[m],
            s[m],
            e[m],
            R["r"][m].astype(float),
            R["m"][m].astype(float),
            R["pa"][m].astype(float),
            R["pf"][m].astype(np.int64),
        )

    def messages(self) -> tuple[np.ndarray, ...]:
        rng = self.rng
        S = {k: np.concatenate(v) for k, v in self.seg.items()}
        dur = np.clip(np.minimum(S["e"], HOURS) - np.maximum(S["s"], 0), 0, None)
        nsess = rng.poisson(S["r"] * dur / 24)
        idx = np.repeat(np.arange(len(dur)), nsess)
        st = self.times(S["pf"][idx].astype(np.int64), S["s"][idx], S["e"][idx])
        L = rng.geometric(1 / np.maximum(S["m"][idx], 1.0))
        total = int(L.sum())
        sess = np.repeat(np.arange(len(idx)), L)
        first = np.concatenate([[0], np.cumsum(L)[:-1]])
        gaps = rng.exponential(self.gap_h, total)
        gaps[first] = 0
        cs = np.cumsum(gaps)
        t = cs - cs[first][sess] + st[sess]
        seg = idx[sess]
        from_a = rng.random(total) < S["pa"][seg]
        a, b = S["a"][seg].astype(np.int64), S["b"][seg].astype(np.int64)
        actor, target = np.where(from_a, a, b), np.where(from_a, b, a)
        return t, np.full(total, MSG, np.int8), actor, target

    def build(self) -> None:
        self.gap_h = float(self.rng.uniform(0.5, 3.0)) / 60  # minutes between messages
        self.P["message_gap_minutes"] = self.gap_h * 60
        self.build_children()
        self.build_families()
        self.build_teachers()
        self.build_clubs()
        self.build_gaming()
        self.build_creators()
        self.build_adults()
        self.build_offenders()
        self.finish_relationships()

    def write(self, out: Path) -> dict:
        P, rng = self.P, self.rng
        t, k, a, b = self.messages()
        T = np.concatenate([t] + self.pts["t"])
        K = np.concatenate([k] + self.pts["k"])
        A = np.concatenate([a] + self.pts["a"])
        B = np.concatenate([b] + self.pts["b"])
        keep = (T >= 0) & (T < HOURS) & (A != B)
        T, K, A, B = T[keep], K[keep], A[keep], B[keep]
        # noise: lost events, doubled events, clocks that drift
        n = len(T)
        keep = rng.random(n) >= P["p_event_dropped"]
        T, K, A, B = T[keep], K[keep], A[keep], B[keep]
        dup = rng.random(len(T)) < P["p_event_duplicated"]
        dt = rng.choice([0.0, 1 / 3600, 2 / 60], dup.sum())
        T = np.concatenate([T, T[dup] + dt])
        K, A, B = (np.concatenate([x, x[dup]]) for x in (K, A, B))
        n = len(T)
        jit = rng.random(n) < P["p_ts_jitter"]
        T[jit] += rng.normal(0, P["ts_jitter_minutes"] / 60, jit.sum())
        skew = rng.random(n) < P["p_ts_skew"]
        T[skew] += rng.normal(0, 3, skew.sum())
        inside = (T >= 0) & (T < HOURS)  # a clock pushed out of the window: not in this log
        T, K, A, B = T[inside], K[inside], A[inside], B[inside]
        secs = np.floor(T * 3600).astype(np.int64)
        order = np.lexsort((B, A, K, secs))
        secs, K, A, B = secs[order], K[order], A[order], B[order]

        # declared age bands, with the mistakes people make
        N = len(self.role)
        roles = np.asarray(self.role)
        band = np.asarray(self.band, dtype=object)
        age = np.asarray(self.age)
        minor = roles == "minor"
        u13 = minor & (age < 13)
        lie = u13 & (rng.random(N) < P["p_u13_claims_13"])
        band[lie] = "13_15"
        claim_adult = minor & (age >= 13) & (rng.random(N) < P["p_child_claims_adult"])
        band[claim_adult] = "adult"
        benign_adult = ~minor & ~np.char.startswith(roles.astype(str), "offender_")
        wrong = benign_adult & (rng.random(N) < P["p_adult_declares_wrong_band"])
        band[wrong] = rng.choice(["16_17", "13_15", "under_13"], wrong.sum(), p=[0.6, 0.3, 0.1])
        band[rng.random(N) < P["p_band_unknown"]] = "unknown"
        country = np.asarray(self.country, dtype=object)
        missing = rng.random(N) < P["p_country_missing"]
        country[missing] = None
        created = np.asarray(self.created)
        # an account exists before it acts
        first = np.full(N, np.inf)
        np.minimum.at(first, A, secs / 3600)
        created = np.minimum(created, first - rng.uniform(0.02, 2, N))
        ids = np.array([f"u{x:07d}" for x in rng.choice(9_000_000, N, replace=False) + 1_000_000])
        out.mkdir(parents=True, exist_ok=True)
        acc_order = np.argsort(ids)
        base = self.t0.astype("datetime64[s]").astype(np.int64)
        cr_secs = base + np.floor(created * 3600).astype(np.int64)

        def iso(x: np.ndarray) -> pl.Series:
            return pl.from_epoch(pl.Series(x), time_unit="s").dt.strftime("%Y-%m-%dT%H:%M:%SZ")

        pl.DataFrame(
            {
                "account_id": ids[acc_order],
                "created_at": iso(cr_secs[acc_order]),
                "age_band": [str(x) for x in band[acc_order]],
                "country": list(country[acc_order]),
            },
            schema={
                "account_id": pl.String,
                "created_at": pl.String,
                "age_band": pl.String,
                "country": pl.String,
            },
        ).write_csv(out / "accounts.csv")
        pl.DataFrame(
            {
                "ts": iso(base + secs),
                "kind": np.asarray(KINDS)[K],
                "actor": ids[A],
                "target": ids[B],
            }
        ).write_csv(out / "events.csv")
        pl.DataFrame({"account_id": ids[acc_order], "role": roles[acc_order]}).write_csv(
            out / "truth.csv"
        )
        counts = {r: int((roles == r).sum()) for r in BENIGN_ROLES}
        counts |= {f"offender_{x}": len(self.offenders[x]) for x in ARCHETYPES}
        kinds = {KINDS[i]: int((i == K).sum()) for i in range(6)}
        P["window_start"] = str(self.t0) + "Z"
        P["counts"] = {"accounts": N, "events": len(secs), "roles": counts, "kinds": kinds}
        P["profiles"] = len(self.cdfs)
        (out / "params.json").write_text(json.dumps(_plain(P), indent=2, sort_keys=True) + "\n")
        return P["counts"]


def band_of(age: int) -> str:
    if age < 13:
        return "under_13"
    if age < 16:
        return "13_15"
    if age < 18:
        return "16_17"
    return "adult"


def _plain(x):
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if isinstance(x, float | np.floating):
        return round(float(x), 6)
    if isinstance(x, np.integer):
        return int(x)
    return x


def generate(out: Path, seed: int, scale: float = 1.0) -> dict:
    w = World(seed, scale)
    w.build()
    return w.write(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="output directory")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--scale", type=float, default=1.0, help="population size (1 = ~3k children)")
    args = ap.parse_args(argv)
    if args.scale <= 0:
        ap.error("--scale must be positive")
    t = time.perf_counter()
    c = generate(args.out, args.seed, args.scale)
    off = " ".join(f"{k[9:]}={v}" for k, v in c["roles"].items() if k.startswith("offender_"))
    print(
        f"seed={args.seed} scale={args.scale:g}: accounts={c['accounts']} events={c['events']} "
        f"offenders={sum(v for k, v in c['roles'].items() if k.startswith('offender_'))} "
        f"({off}) in {time.perf_counter() - t:.1f}s -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
