"""A simulator of synthetic platform populations, with ground truth, for training and evaluation.

It writes the same accounts and events tables a platform would (metadata only), plus a truth
table saying which role each account plays. Benign adults who talk to children (parents,
relatives, teachers, coaches, youth workers, gamers, creators) are modelled as carefully as the
offender patterns, because they are what a detector must not flag. Every parameter is a field of
SimParams, documented in docs/pathways.md; the same seed always gives the same population.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from safeguard.pathways.schema import (
    AGE_BANDS,
    BLOCK,
    CONTACT_ACCEPT,
    CONTACT_REQUEST,
    MESSAGE,
    OFF_PLATFORM_HANDLE,
    REPORT,
)

HOUR = 3600
DAY = 86_400
HOME = "GB"
ABROAD = ("US", "IE", "FR", "DE", "NG", "PH", "IN", "CA", "AU", "BR")
KIND_NAMES = (CONTACT_REQUEST, CONTACT_ACCEPT, MESSAGE, BLOCK, REPORT, OFF_PLATFORM_HANDLE)
K_REQ, K_ACC, K_MSG, K_BLOCK, K_REPORT, K_HANDLE = range(6)

BENIGN_ROLES = (
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
OFFENDER_ROLES = (
    "offender_burst",
    "offender_slow",
    "offender_ring",
    "offender_patient",
    "offender_mimic",
)
#: the groups whose flagged rate must stay at or under 1%
PROTECTED_ROLES = ("teacher", "coach", "youth_worker", "parent", "relative")


@dataclass(frozen=True)
class SimParams:
    """Everything the simulator draws from. `scale` multiplies every population count."""

    seed: int = 1
    start: datetime = datetime(2025, 3, 3)
    days: int = 28
    scale: float = 1.0
    # children: schools of classes, plus clubs and youth centres that mix schools
    schools: int = 12
    classes_per_school: int = 6
    class_size: int = 25
    friend_p_class: float = 0.25
    cross_class_friends: float = 1.5
    clubs: int = 30
    club_size: int = 15
    friend_p_club: float = 0.3
    youth_centres: int = 10
    centre_size: int = 40
    friend_p_centre: float = 0.12
    minor_msgs_per_day: float = 0.4
    # families: siblings share parents; relatives reach one or two families
    parents_per_family: float = 1.4
    relatives_per_family: float = 0.8
    # adults who work with children
    teachers_per_school: int = 10
    classes_per_teacher: tuple[int, int] = (1, 3)
    coaches_per_club: tuple[int, int] = (1, 2)
    youth_workers_per_centre: int = 4
    new_account_p_staff: float = 0.08
    staff_parent_links: float = 0.15
    staff_unlinked_p: float = 0.1
    # other adults
    gamers: int = 200
    creators: int = 20
    adults: int = 3000
    adult_friends: float = 4.0
    adult_msgs_per_day: float = 0.3
    adult_contacts_minor_p: float = 0.05
    abroad_p: float = 0.08
    # offender patterns
    offenders_burst: int = 16
    burst_targets: tuple[int, int] = (15, 60)
    offenders_slow: int = 8
    slow_targets: tuple[int, int] = (3, 8)
    rings: int = 3
    ring_size: tuple[int, int] = (3, 5)
    ring_pool: tuple[int, int] = (25, 50)
    offender_start_days: tuple[float, float] = (6.0, 18.0)
    # adversarial variants (issue #18): none in the default population, some in every
    # randomised one (`randomised`)
    offenders_patient: int = 0
    patient_targets: tuple[int, int] = (1, 4)
    patient_handle_days: tuple[float, float] = (5.0, 12.0)
    offenders_mimic: int = 0
    mimic_targets: tuple[int, int] = (1, 3)
    # benign variety (issue #18): none in the default population, some in every randomised
    # one. Staff who, on reaching a class, team or youth group, send every child they reached
    # one handle for the group's chat on another app (a club's messaging group)
    staff_group_handle_p: float = 0.0
    # what a platform's log does to the events (issue #18): none in the default population,
    # some in every randomised one
    missing_events_p: float = 0.0  # each event lost
    duplicate_events_p: float = 0.0  # each event delivered twice
    clock_skew_minutes: float = 0.0  # each event's time off by up to this, either way
    age_band_error_p: float = 0.0  # each account's declared age band is another band

    def scaled(self, n: float) -> int:
        return max(1, round(n * self.scale))

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = v.isoformat() if isinstance(v, datetime) else v
        return out


#: domain randomisation (issue #18): the fields drawn per population, and how. Counts and
#: rates move by a factor from half to double their default (log-uniform), probabilities by
#: the same factor kept under 0.95, ranges by one factor for both ends.
RANDOMISED_COUNTS = (
    "schools", "class_size", "clubs", "club_size", "youth_centres", "centre_size",
    "teachers_per_school", "youth_workers_per_centre", "gamers", "creators", "adults",
    "offenders_burst", "offenders_slow", "rings",
)  # fmt: skip
RANDOMISED_RATES = (
    "cross_class_friends", "minor_msgs_per_day", "parents_per_family", "relatives_per_family",
    "adult_friends", "adult_msgs_per_day",
)  # fmt: skip
RANDOMISED_PROBABILITIES = (
    "friend_p_class", "friend_p_club", "friend_p_centre", "new_account_p_staff",
    "staff_parent_links", "staff_unlinked_p", "adult_contacts_minor_p", "abroad_p",
)  # fmt: skip
RANDOMISED_RANGES = ("burst_targets", "slow_targets", "ring_pool")
RANDOM_FACTOR = (0.5, 2.0)
#: adversarial offenders per randomised population (drawn uniformly, ends included)
RANDOMISED_ADVERSARIES = {"offenders_patient": (3, 10), "offenders_mimic": (3, 8)}
#: log noise per randomised population (drawn uniformly, after the adversaries)
RANDOMISED_NOISE = {
    "missing_events_p": (0.0, 0.1),
    "duplicate_events_p": (0.0, 0.05),
    "clock_skew_minutes": (0.0, 30.0),
    "age_band_error_p": (0.0, 0.03),
}
#: benign behaviours per randomised population (drawn uniformly, after the noise)
RANDOMISED_BENIGN = {"staff_group_handle_p": (0.0, 0.5)}


def randomised(seed: int, scale: float = 1.0, base: SimParams | None = None) -> SimParams:
    """A population's parameters drawn around `base` (the defaults): the same for the same
    seed, different from seed to seed, so a model trained across many is not fitted to one
    set of constants. The draw uses its own random stream, apart from the simulation's."""
    base = base or SimParams()
    rng = np.random.default_rng([seed, 18])
    lo, hi = np.log(RANDOM_FACTOR[0]), np.log(RANDOM_FACTOR[1])

    def factor() -> float:
        return float(np.exp(rng.uniform(lo, hi)))

    drawn: dict[str, Any] = {}
    for name in RANDOMISED_COUNTS:
        drawn[name] = max(1, round(getattr(base, name) * factor()))
    for name in RANDOMISED_RATES:
        drawn[name] = getattr(base, name) * factor()
    for name in RANDOMISED_PROBABILITIES:
        drawn[name] = min(0.95, getattr(base, name) * factor())
    for name in RANDOMISED_RANGES:
        k = factor()
        a, b = getattr(base, name)
        drawn[name] = (max(1, round(a * k)), max(2, round(b * k)))
    start, end = base.offender_start_days
    shift = rng.uniform(-4.0, 4.0)
    drawn["offender_start_days"] = (max(1.0, start + shift), min(base.days - 4.0, end + shift))
    for name, (lo_n, hi_n) in RANDOMISED_ADVERSARIES.items():  # drawn last: the rest as before
        drawn[name] = int(rng.integers(lo_n, hi_n + 1))
    for name, (lo_f, hi_f) in (*RANDOMISED_NOISE.items(), *RANDOMISED_BENIGN.items()):
        drawn[name] = float(rng.uniform(lo_f, hi_f))
    return SimParams(**{**base.__dict__, **drawn, "seed": seed, "scale": scale})


@dataclass
class Population:
    """A simulated population: accounts, events and truth (role of every account)."""

    accounts: pl.DataFrame
    events: pl.DataFrame
    truth: pl.DataFrame
    params: SimParams = field(default_factory=SimParams)


class _Builder:
    def __init__(self, p: SimParams) -> None:
        self.p = p
        self.rng = np.random.default_rng(p.seed)
        self.end = p.days * DAY
        self.role: list[str] = []
        self.band: list[str] = []
        self.country: list[str] = []
        self.created: list[float] = []
        self.chunks: list[tuple[np.ndarray, ...]] = []

    # -- accounts --
    def accounts(
        self, n: int, role: str, band: str | list[str], age_days: tuple[float, float]
    ) -> np.ndarray:
        rng = self.rng
        first = len(self.role)
        self.role += [role] * n
        self.band += [band] * n if isinstance(band, str) else list(band)
        abroad = rng.random(n) < self.p.abroad_p
        self.country += [
            str(rng.choice(ABROAD)) if a else (HOME if rng.random() > 0.03 else "") for a in abroad
        ]
        lo, hi = age_days
        self.created += list(-rng.uniform(lo, hi, n) * DAY)
        return np.arange(first, first + n)

    def set_created(self, ids: np.ndarray, t: np.ndarray | list[float]) -> None:
        for i, v in zip(ids.tolist(), np.asarray(t, dtype=float).tolist(), strict=True):
            self.created[i] = v

    def set_country(self, ids: np.ndarray, c: str) -> None:
        for i in ids.tolist():
            self.country[i] = c

    # -- events --
    def add(self, kind: int, a: np.ndarray, b: np.ndarray, t: np.ndarray) -> None:
        a = np.asarray(a, dtype=np.int64)
        if a.size == 0:
            return
        b = np.asarray(b, dtype=np.int64)
        t = np.broadcast_to(np.asarray(t, dtype=np.float64), a.shape)
        keep = (t >= 0) & (t < self.end)
        self.chunks.append(
            (t[keep].astype(np.int64), np.full(int(keep.sum()), kind, np.int8), a[keep], b[keep])
        )

    def messages(self, a: np.ndarray, b: np.ndarray, t0: np.ndarray, n: np.ndarray, span: float):
        """n[i] messages from a[i] to b[i], spread over [t0, t0 + span)."""
        n = np.asarray(n, dtype=np.int64)
        if n.sum() == 0:
            return
        aa, bb, tt = np.repeat(a, n), np.repeat(b, n), np.repeat(t0, n)
        self.add(K_MSG, aa, bb, tt + self.rng.uniform(60, span, aa.size))

    def relate(
        self,
        src: np.ndarray,
        dst: np.ndarray,
        t0: np.ndarray | float,
        *,
        p_accept: float,
        p_reply: float,
        per_day: float,
        back_per_day: float,
        span_days: float = 60.0,
        p_handle: float = 0.0,
        handle_needs_reply: bool = False,
        p_block: float = 0.0,
        p_report: float = 0.0,
        cold_msgs: float = 0.3,
        handle_after_days: tuple[float, float] | None = None,
    ) -> None:
        """src asks dst to connect at t0; dst may accept, talk back, block or report. A
        handle goes within three days of the first reply, or `handle_after_days` after it."""
        rng = self.rng
        src = np.asarray(src, dtype=np.int64)
        dst = np.asarray(dst, dtype=np.int64)
        n = src.size
        if n == 0:
            return
        t0 = np.broadcast_to(np.asarray(t0, dtype=np.float64), (n,)).copy()
        span = np.clip(np.minimum(self.end - t0, span_days * DAY), 120, None)
        self.add(K_REQ, src, dst, t0)
        acc = rng.random(n) < p_accept
        t_acc = t0 + rng.exponential(3 * HOUR, n) + 30
        self.add(K_ACC, dst[acc], src[acc], t_acc[acc])
        days = span / DAY
        n_out = np.where(acc, rng.poisson(per_day * days), rng.poisson(cold_msgs, n))
        self.messages(src, dst, np.where(acc, t_acc, t0), n_out, float(span.mean()))
        rep = acc & (rng.random(n) < p_reply)
        n_back = np.where(rep, 1 + rng.poisson(back_per_day * days), 0)
        t_rep = t_acc + rng.exponential(2 * HOUR, n)
        self.add(K_MSG, dst[rep], src[rep], t_rep[rep])
        self.messages(dst, src, t_rep, np.maximum(n_back - 1, 0), float(span.mean()))
        if p_handle > 0:
            h = rng.random(n) < p_handle
            if handle_needs_reply:
                h &= rep
            if handle_after_days is None:
                wait = rng.uniform(0.2, 1.0, n) * np.minimum(span, 3 * DAY)
            else:
                wait = rng.uniform(*handle_after_days, n) * DAY
            th = np.where(rep, t_rep, t0) + wait
            self.add(K_HANDLE, src[h], dst[h], th[h])
        for p_, kind in ((p_block, K_BLOCK), (p_report, K_REPORT)):
            if p_ > 0:
                m = rng.random(n) < p_
                tb = t0 + rng.uniform(0.05, 1.0, n) * np.minimum(span, 2 * DAY)
                self.add(kind, dst[m], src[m], tb[m])

    def pairs_within(self, members: np.ndarray, p: float) -> tuple[np.ndarray, np.ndarray]:
        k = members.size
        if k < 2:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        i, j = np.triu_indices(k, 1)
        keep = self.rng.random(i.size) < p
        return members[i[keep]], members[j[keep]]

    def friendships(
        self, a: np.ndarray, b: np.ndarray, per_day: float, t_hi: float, t_lo: float = 0.0
    ) -> None:
        """Mutual friends: who asks is random; nearly always accepted; they chat both ways."""
        if a.size == 0:
            return
        swap = self.rng.random(a.size) < 0.5
        src, dst = np.where(swap, b, a), np.where(swap, a, b)
        t0 = self.rng.uniform(t_lo, max(t_hi, t_lo + 60), a.size)
        self.relate(
            src, dst, t0, p_accept=0.97, p_reply=0.95, per_day=per_day, back_per_day=per_day
        )


def _one_after_another(
    rng: np.random.Generator, t_start: float, n: int, gap_days: tuple[float, float]
) -> np.ndarray:
    """n start times, the first at t_start, each the next a gap of `gap_days` later."""
    gaps = rng.uniform(*gap_days, n) * DAY
    gaps[0] = 0
    return t_start + np.cumsum(gaps)


def _pick(rng: np.random.Generator, pool: np.ndarray, k: int) -> np.ndarray:
    return rng.choice(pool, size=min(k, pool.size), replace=False)


def simulate(params: SimParams | None = None) -> Population:
    """Generate one population. Deterministic for a given SimParams (seed included)."""
    p = params or SimParams()
    b = _Builder(p)
    rng = b.rng
    # the benign variety's own stream: with it or without, the rest of a population is the same
    variety = np.random.default_rng([p.seed, 33])
    end = b.end
    sc = p.scaled

    # ---- children: schools and classes (a class shares an age band) ----
    class_bands = ["under_13", "under_13", "13_15", "13_15", "16_17", "16_17"]
    classes: list[np.ndarray] = []
    school_of_class: list[int] = []
    class_band: list[str] = []
    for s in range(sc(p.schools)):
        for c in range(p.classes_per_school):
            size = max(8, int(rng.normal(p.class_size, 3)))
            band = class_bands[c % len(class_bands)]
            classes.append(b.accounts(size, "minor", band, (30, 1500)))
            school_of_class.append(s)
            class_band.append(band)
    minors = np.concatenate(classes)
    b.set_country(minors, HOME)
    school_of = np.concatenate(
        [np.full(c.size, s) for c, s in zip(classes, school_of_class, strict=True)]
    )
    band_of = np.array(b.band, dtype=object)
    n_schools = sc(p.schools)

    # friendships inside classes and across classes of the same school
    t_hi = end * 0.6
    for members in classes:
        fa, fb = b.pairs_within(members, p.friend_p_class)
        b.friendships(fa, fb, p.minor_msgs_per_day, t_hi)
    for s in range(n_schools):
        kids = minors[school_of == s]
        k = int(kids.size * p.cross_class_friends / 2)
        fa, fb = rng.choice(kids, k), rng.choice(kids, k)
        ok = fa != fb
        b.friendships(fa[ok], fb[ok], p.minor_msgs_per_day * 0.5, t_hi)

    # clubs (2-3 neighbouring schools, mixed ages) and youth centres
    clubs: list[np.ndarray] = []
    for _ in range(sc(p.clubs)):
        s0 = int(rng.integers(n_schools))
        near = minors[np.isin(school_of, [(s0 + d) % n_schools for d in range(3)])]
        members = _pick(rng, near, p.club_size)
        clubs.append(members)
        fa, fb = b.pairs_within(members, p.friend_p_club)
        b.friendships(fa, fb, p.minor_msgs_per_day * 0.5, t_hi)
    centres: list[np.ndarray] = []
    for _ in range(sc(p.youth_centres)):
        s0 = int(rng.integers(n_schools))
        near = minors[np.isin(school_of, [(s0 + d) % n_schools for d in range(4)])]
        members = _pick(rng, near, p.centre_size)
        centres.append(members)
        fa, fb = b.pairs_within(members, p.friend_p_centre)
        b.friendships(fa, fb, p.minor_msgs_per_day * 0.3, t_hi)

    # ---- families: siblings in one school; parents; relatives ----
    order = rng.permutation(minors.size)
    families: list[np.ndarray] = []
    i = 0
    by_school = {s: list(rng.permutation(minors[school_of == s])) for s in range(n_schools)}
    for s in range(n_schools):
        kids = by_school[s]
        i = 0
        while i < len(kids):
            k = int(rng.choice([1, 2, 3], p=[0.45, 0.4, 0.15]))
            families.append(np.array(kids[i : i + k]))
            i += k
    del order
    parent_of_family: list[np.ndarray] = []
    for fam in families:
        fa, fb = b.pairs_within(fam, 1.0)  # siblings are connected
        b.friendships(fa, fb, 0.2, end * 0.3)
        n_par = rng.poisson(p.parents_per_family)
        par = b.accounts(n_par, "parent", "adult", (200, 4000))
        parent_of_family.append(par)
        if n_par == 0:
            continue
        pa, pb = b.pairs_within(par, 1.0)
        b.friendships(pa, pb, 0.5, end * 0.3)
        src = np.repeat(par, fam.size)
        dst = np.tile(fam, par.size)
        parent_first = rng.random(src.size) < 0.5
        t0 = rng.uniform(0, end * 0.8, src.size)
        kw: dict[str, Any] = {"per_day": 0.6, "back_per_day": 0.4, "p_block": 0.003}
        b.relate(
            src[parent_first], dst[parent_first], t0[parent_first], p_accept=0.97, p_reply=0.9, **kw
        )
        b.relate(
            dst[~parent_first],
            src[~parent_first],
            t0[~parent_first],
            p_accept=0.99,
            p_reply=0.95,
            per_day=0.4,
            back_per_day=0.6,
        )
    # parents who know each other through school
    all_parents = np.array(b.role) == "parent"
    parent_ids = np.flatnonzero(all_parents)
    if parent_ids.size > 1:
        k = parent_ids.size
        fa, fb = rng.choice(parent_ids, k), rng.choice(parent_ids, k)
        ok = fa != fb
        b.friendships(fa[ok], fb[ok], 0.1, end * 0.8)
    n_rel = rng.poisson(p.relatives_per_family * len(families))
    rel = b.accounts(n_rel, "relative", "adult", (200, 5000))
    for r in rel:
        fam_ids = rng.choice(len(families), 1 + int(rng.random() < 0.3), replace=False)
        for fi in fam_ids:
            fam, par = families[fi], parent_of_family[fi]
            if par.size:
                b.friendships(np.array([r]), par[:1], 0.2, end * 0.5)
            kids = fam[rng.random(fam.size) < 0.8]
            first = rng.random(kids.size) < 0.6
            t0 = rng.uniform(0, end * 0.9, kids.size)
            b.relate(
                np.full(first.sum(), r),
                kids[first],
                t0[first],
                p_accept=0.95,
                p_reply=0.8,
                per_day=0.2,
                back_per_day=0.15,
                p_block=0.005,
            )
            b.relate(
                kids[~first],
                np.full((~first).sum(), r),
                t0[~first],
                p_accept=0.98,
                p_reply=0.9,
                per_day=0.15,
                back_per_day=0.2,
            )

    # ---- staff: teachers, coaches, youth workers ----
    # Staff are part of the adult community around the children they work with: they know
    # colleagues and some parents. A staff member with a new account (new_account_p_staff)
    # makes those links in the days between creating it and first reaching out to children,
    # except for a share (staff_unlinked_p) who reach out before linking to anyone.
    parents_of_minor: dict[int, np.ndarray] = {}
    for fam, par in zip(families, parent_of_family, strict=True):
        if par.size:
            for kid in fam.tolist():
                parents_of_minor[kid] = par

    def staff(role: str, n: int) -> tuple[np.ndarray, np.ndarray]:
        ids = b.accounts(n, role, "adult", (100, 4000))
        new = rng.random(n) < p.new_account_p_staff
        return ids, new

    def reach_group(
        adult: int, kids: np.ndarray, t_start: float, *, reach: float, p_handle: float
    ) -> None:
        kids = kids[rng.random(kids.size) < reach]
        if kids.size == 0:
            return
        adult_first = rng.random() < 0.6  # staff who send the requests vs. a class that joins
        t0 = t_start + rng.exponential(4 * HOUR, kids.size)
        if adult_first:
            b.relate(
                np.full(kids.size, adult),
                kids,
                t0,
                p_accept=0.93,
                p_reply=0.75,
                per_day=0.15,
                back_per_day=0.1,
                p_handle=p_handle,
                p_block=0.006,
                p_report=0.001,
            )
        else:
            b.relate(
                kids,
                np.full(kids.size, adult),
                t0,
                p_accept=0.97,
                p_reply=0.8,
                per_day=0.1,
                back_per_day=0.15,
                p_block=0.004,
            )
            if p_handle:
                h = rng.random(kids.size) < p_handle
                b.add(K_HANDLE, np.full(h.sum(), adult), kids[h], t0[h] + DAY)
        if variety.random() < p.staff_group_handle_p:
            # the group's chat, shared with everyone reached on one day once they all are
            t_group = t0.max() + variety.uniform(1, 48) * HOUR
            at = t_group + variety.uniform(0, 2 * HOUR, kids.size)
            b.add(K_HANDLE, np.full(kids.size, adult), kids, at)

    def embed(
        adult: int, new: bool, t_first: float, colleagues: np.ndarray, kids: np.ndarray
    ) -> None:
        """Links to colleagues and to some of the children's parents."""
        if new:
            created = t_first - rng.uniform(0.5, 5) * DAY
            b.set_created(np.array([adult]), [created])
            lo, hi = (created, t_first) if rng.random() > p.staff_unlinked_p else (t_first, end)
        else:
            lo, hi = 0.0, 3 * DAY
        col = colleagues[(colleagues != adult) & (rng.random(colleagues.size) < 0.6)]
        par_list = [parents_of_minor[k][0] for k in kids.tolist() if k in parents_of_minor]
        par = np.array([x for x in par_list if rng.random() < p.staff_parent_links], dtype=np.int64)
        others = np.unique(np.concatenate([col, par]).astype(np.int64))
        if others.size:
            t0 = rng.uniform(max(lo, 0), max(hi, lo + 60), others.size)
            b.relate(
                np.full(others.size, adult),
                others,
                t0,
                p_accept=0.95,
                p_reply=0.8,
                per_day=0.05,
                back_per_day=0.05,
            )

    for s in range(n_schools):
        cls = [i for i, sc_ in enumerate(school_of_class) if sc_ == s]
        t_ids, t_new = staff("teacher", p.teachers_per_school)
        for tid, new in zip(t_ids, t_new, strict=True):
            lo, hi = p.classes_per_teacher
            mine = rng.choice(cls, int(rng.integers(lo, hi + 1)), replace=False)
            starts = rng.uniform(0, end * 0.9, mine.size)
            kids = np.concatenate([classes[c] for c in mine])
            embed(int(tid), bool(new), float(starts.min()), t_ids, kids)
            for c, t_start in zip(mine, starts, strict=True):
                reach_group(int(tid), classes[c], t_start, reach=0.7, p_handle=0.01)
    for members in clubs:
        lo, hi = p.coaches_per_club
        c_ids, c_new = staff("coach", int(rng.integers(lo, hi + 1)))
        for cid, new in zip(c_ids, c_new, strict=True):
            t_start = rng.uniform(0, end * 0.9)
            embed(int(cid), bool(new), t_start, c_ids, members)
            reach_group(int(cid), members, t_start, reach=0.85, p_handle=0.02)
    for members in centres:
        y_ids, y_new = staff("youth_worker", p.youth_workers_per_centre)
        for yid, new in zip(y_ids, y_new, strict=True):
            # a centre's young people arrive over a couple of weeks, not all at once
            t_start = rng.uniform(0, end * 0.7)
            embed(int(yid), bool(new), t_start, y_ids, members)
            for part in np.array_split(rng.permutation(members), 3):
                reach_group(
                    int(yid), part, t_start + rng.uniform(0, 10) * DAY, reach=0.6, p_handle=0.03
                )

    # ---- other adults: gamers, creators, everyone else ----
    teens = minors[np.isin(band_of[minors], ["13_15", "16_17"])]
    gamers = b.accounts(
        sc(p.gamers),
        "gamer",
        list(rng.choice(["adult", "unknown"], sc(p.gamers), p=[0.8, 0.2])),
        (30, 3000),
    )
    for g in gamers:
        kids = _pick(rng, teens, int(rng.integers(1, 7)))
        first = rng.random(kids.size) < 0.4
        t0 = rng.uniform(0, end, kids.size)
        kw = {"p_accept": 0.85, "p_reply": 0.85, "per_day": 0.3, "back_per_day": 0.3}
        b.relate(
            np.full(first.sum(), g),
            kids[first],
            t0[first],
            p_handle=0.15,
            p_block=0.03,
            p_report=0.005,
            **kw,
        )
        b.relate(kids[~first], np.full((~first).sum(), g), t0[~first], **kw)
        h = (~first) & (rng.random(kids.size) < 0.15)
        b.add(K_HANDLE, np.full(h.sum(), g), kids[h], t0[h] + DAY)
    creators = b.accounts(sc(p.creators), "creator", "adult", (200, 3000))
    for c in creators:
        fans = _pick(rng, minors, int(rng.integers(20, 200)))
        t0 = rng.uniform(0, end, fans.size)
        b.relate(
            fans,
            np.full(fans.size, c),
            t0,
            p_accept=0.6,
            p_reply=0.3,
            per_day=0.05,
            back_per_day=0.03,
            cold_msgs=0.5,
        )
        few = _pick(rng, fans, int(rng.integers(0, 4)))
        b.relate(
            np.full(few.size, c),
            few,
            rng.uniform(0, end, few.size),
            p_accept=0.9,
            p_reply=0.9,
            per_day=0.05,
            back_per_day=0.05,
            p_handle=0.1,
        )
    adults = b.accounts(
        sc(p.adults),
        "adult",
        list(rng.choice(["adult", "unknown"], sc(p.adults), p=[0.9, 0.1])),
        (1, 4000),
    )
    grown = np.concatenate([adults, parent_ids, rel, gamers])
    k = int(adults.size * p.adult_friends / 2)
    fa, fb = rng.choice(adults, k), rng.choice(grown, k)
    ok = fa != fb
    b.friendships(fa[ok], fb[ok], p.adult_msgs_per_day, end)
    some = adults[rng.random(adults.size) < p.adult_contacts_minor_p]
    kids = rng.choice(minors, some.size)
    b.relate(
        some,
        kids,
        rng.uniform(0, end, some.size),
        p_accept=0.6,
        p_reply=0.6,
        per_day=0.05,
        back_per_day=0.05,
        p_block=0.05,
    )

    # ---- offenders ----
    lo_s, hi_s = p.offender_start_days

    def offender_accounts(n: int, role: str, new: bool) -> np.ndarray:
        bands = list(rng.choice(["adult", "unknown", "16_17"], n, p=[0.5, 0.4, 0.1]))
        ids = b.accounts(n, role, bands, (60, 2000))
        return ids

    def targets_for(o: int, pool: np.ndarray) -> np.ndarray:
        if b.band[o] == "16_17":
            return pool[np.isin(band_of[pool], ["under_13", "13_15"])]
        return pool

    young = minors[np.isin(band_of[minors], ["under_13", "13_15", "16_17"])]
    w = np.where(band_of[young] == "under_13", 0.3, np.where(band_of[young] == "13_15", 0.45, 0.25))
    w = w / w.sum()
    for o in offender_accounts(sc(p.offenders_burst), "offender_burst", True):
        t_start = rng.uniform(lo_s, hi_s) * DAY
        b.set_created(np.array([o]), [t_start - rng.uniform(0.05, 3) * DAY])
        if rng.random() < 0.7:
            b.set_country(np.array([o]), str(rng.choice(ABROAD)))
        n = int(rng.integers(*p.burst_targets))
        cand = targets_for(o, rng.choice(young, min(4 * n, young.size), replace=False, p=w))
        kids = cand[:n]
        t0 = t_start + np.sort(rng.uniform(0, rng.uniform(0.5, 2.5) * DAY, kids.size))
        b.relate(
            np.full(kids.size, o),
            kids,
            t0,
            p_accept=0.35,
            p_reply=0.45,
            per_day=2.0,
            back_per_day=0.8,
            span_days=4,
            p_handle=0.7,
            handle_needs_reply=True,
            p_block=0.12,
            p_report=0.04,
            cold_msgs=1.0,
        )
    younger = np.isin(band_of[minors], ["under_13", "13_15"])  # of the minors: under 16
    for o in offender_accounts(sc(p.offenders_slow), "offender_slow", False):
        t_start = rng.uniform(lo_s, hi_s) * DAY
        n = int(rng.integers(*p.slow_targets))
        per_school = [
            _pick(rng, targets_for(o, minors[(school_of == s) & younger]), 1)
            for s in rng.choice(n_schools, n, replace=n > n_schools)
        ]
        kids = np.concatenate(per_school)
        t0 = _one_after_another(rng, t_start, kids.size, (0.3, 2.5))
        b.relate(
            np.full(kids.size, o),
            kids,
            t0,
            p_accept=0.75,
            p_reply=0.8,
            per_day=1.5,
            back_per_day=1.0,
            span_days=20,
            p_handle=0.6,
            handle_needs_reply=True,
            p_block=0.05,
            p_report=0.02,
        )
    for _ in range(sc(p.rings)):
        size = int(rng.integers(p.ring_size[0], p.ring_size[1] + 1))
        members = offender_accounts(size, "offender_ring", True)
        t_start = rng.uniform(lo_s, hi_s) * DAY
        b.set_created(members, t_start - rng.uniform(0.1, 10, size) * DAY)
        if rng.random() < 0.7:
            b.set_country(members, str(rng.choice(ABROAD)))
        pa, pb = b.pairs_within(members, 0.8)
        b.friendships(pa, pb, 0.5, t_start, t_lo=t_start - 0.1 * DAY)
        k = min(int(rng.integers(*p.ring_pool)), young.size)
        pool = rng.choice(young, k, replace=False, p=w)
        for o in members:
            mine = targets_for(int(o), pool)
            mine = mine[rng.random(mine.size) < rng.uniform(0.4, 0.7)]
            t0 = t_start + np.sort(rng.uniform(0, rng.uniform(1, 4) * DAY, mine.size))
            b.relate(
                np.full(mine.size, o),
                mine,
                t0,
                p_accept=0.4,
                p_reply=0.45,
                per_day=1.5,
                back_per_day=0.6,
                span_days=4,
                p_handle=0.6,
                handle_needs_reply=True,
                p_block=0.1,
                p_report=0.03,
                cold_msgs=1.0,
            )

    # ---- adversarial variants: drawn after everything else, so a population without them
    # is the same as before they existed ----
    # patient: an established local account, very few children, days apart, off-platform
    # only after a long chat
    patients = sc(p.offenders_patient) if p.offenders_patient else 0
    for o in offender_accounts(patients, "offender_patient", False) if patients else ():
        t_start = rng.uniform(lo_s, hi_s) * DAY
        n = int(rng.integers(p.patient_targets[0], p.patient_targets[1] + 1))
        kids = _pick(rng, targets_for(o, minors[younger]), n)
        t0 = _one_after_another(rng, t_start, kids.size, (2.0, 7.0))
        b.relate(
            np.full(kids.size, o),
            kids,
            t0,
            p_accept=0.85,
            p_reply=0.85,
            per_day=1.0,
            back_per_day=0.8,
            span_days=25,
            p_handle=0.8,
            handle_needs_reply=True,
            handle_after_days=p.patient_handle_days,
            p_block=0.02,
            p_report=0.01,
        )
    # mimic: reaches a whole club like its coach, in a day and gently, without the coach's
    # links to colleagues and parents; then singles out one to three of its children
    mimics = sc(p.offenders_mimic) if p.offenders_mimic else 0
    for o in offender_accounts(mimics, "offender_mimic", False) if mimics else ():
        t_start = rng.uniform(lo_s, hi_s) * DAY
        members = targets_for(o, clubs[int(rng.integers(len(clubs)))])
        if members.size == 0:
            continue
        reach_group(int(o), members, t_start, reach=0.85, p_handle=0.0)
        n = int(rng.integers(p.mimic_targets[0], p.mimic_targets[1] + 1))
        chosen = _pick(rng, members, n)
        b.relate(
            np.full(chosen.size, o),
            chosen,
            t_start + rng.uniform(1.0, 4.0, chosen.size) * DAY,
            p_accept=0.9,
            p_reply=0.8,
            per_day=1.5,
            back_per_day=0.8,
            span_days=15,
            p_handle=0.7,
            handle_needs_reply=True,
            p_block=0.04,
            p_report=0.02,
            cold_msgs=0.0,
        )

    return _finish(b)


def _finish(b: _Builder) -> Population:
    p = b.p
    n = len(b.role)
    # ids that say nothing about role or creation order
    perm = b.rng.permutation(n)
    ids = np.array([f"acct-{i:07d}" for i in perm])
    start = p.start
    created = [start + timedelta(seconds=int(c)) for c in b.created]
    t, k, a, tg = (np.concatenate(c) for c in zip(*b.chunks, strict=True))
    bands = list(b.band)
    if _noisy(p):
        t, k, a, tg, bands = _add_noise(p, t, k, a, tg, bands)
    accounts = pl.DataFrame(
        {
            "account_id": ids,
            "created_at": pl.Series(created, dtype=pl.Datetime("us")),
            "age_band": bands,
            "country": b.country,
        }
    )
    order = np.argsort(t, kind="stable")
    t, k, a, tg = t[order], k[order], a[order], tg[order]
    # nobody acts, or is contacted, before their account exists
    made = np.asarray(b.created)
    ok = (t >= made[a]) & (t >= made[tg])
    t, k, a, tg = t[ok], k[ok], a[ok], tg[ok]
    base = np.datetime64(start, "us")
    events = pl.DataFrame(
        {
            "ts": base + t.astype("timedelta64[s]").astype("timedelta64[us]"),
            "kind": pl.Series(np.array(KIND_NAMES)[k]),
            "actor": ids[a],
            "target": ids[tg],
        }
    )
    truth = pl.DataFrame(
        {"account_id": ids, "role": b.role, "offender": [r in OFFENDER_ROLES for r in b.role]}
    )
    return Population(
        accounts=accounts.sort("account_id"),
        events=events,
        truth=truth.sort("account_id"),
        params=p,
    )


def _noisy(p: SimParams) -> bool:
    return any(getattr(p, name) > 0 for name in RANDOMISED_NOISE)


def _add_noise(
    p: SimParams,
    t: np.ndarray,
    k: np.ndarray,
    a: np.ndarray,
    tg: np.ndarray,
    bands: list[str],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """What a real log does to the events: some lost, some delivered twice, times off by a few
    minutes (each copy of a duplicate by its own error), and some accounts declaring the wrong
    age band (the truth keeps their role). A random stream of its own, so a population without
    noise is unchanged."""
    rng = np.random.default_rng([p.seed, 1818])
    keep = rng.random(t.size) >= p.missing_events_p
    t, k, a, tg = t[keep], k[keep], a[keep], tg[keep]
    twice = rng.random(t.size) < p.duplicate_events_p
    t, k, a, tg = (np.concatenate([x, x[twice]]) for x in (t, k, a, tg))
    t = t + rng.uniform(-60 * p.clock_skew_minutes, 60 * p.clock_skew_minutes, t.size)
    wrong = np.flatnonzero(rng.random(len(bands)) < p.age_band_error_p)
    out = list(bands)
    for i in wrong.tolist():
        out[i] = str(rng.choice([x for x in AGE_BANDS if x != bands[i]]))
    return t, k, a, tg, out
