"""Domain randomisation (issue #18): each seed's population draws its own parameters within
the documented ranges, the same for the same seed, and the CLI writes and uses them."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from safeguard.pathways.schema import MESSAGE, OFF_PLATFORM_HANDLE
from safeguard.pathways.simulate import (
    RANDOM_FACTOR,
    RANDOMISED_ADVERSARIES,
    RANDOMISED_BENIGN,
    RANDOMISED_COUNTS,
    RANDOMISED_NOISE,
    RANDOMISED_PROBABILITIES,
    RANDOMISED_RANGES,
    RANDOMISED_RATES,
    SimParams,
    randomised,
    simulate,
)
from tests.conftest import Cli


def test_each_seed_draws_its_own_parameters_within_the_ranges() -> None:
    base = SimParams()
    low, high = RANDOM_FACTOR
    assert randomised(5) == randomised(5)
    assert randomised(5) != randomised(6)
    seen = set()
    for seed in range(20):
        p = randomised(seed)
        assert p.seed == seed and p.days == base.days and p.start == base.start
        for name in RANDOMISED_COUNTS:
            v, d = getattr(p, name), getattr(base, name)
            assert max(1, round(d * low)) <= v <= round(d * high), (name, v)
        for name in RANDOMISED_RATES:
            assert low * getattr(base, name) <= getattr(p, name) <= high * getattr(base, name)
        for name in RANDOMISED_PROBABILITIES:
            assert 0 < getattr(p, name) <= 0.95
        for name in RANDOMISED_RANGES:
            a, b = getattr(p, name)
            assert 1 <= a <= b
        first, last = p.offender_start_days
        assert 1 <= first < last <= p.days
        for name, (lo_n, hi_n) in RANDOMISED_ADVERSARIES.items():
            assert lo_n <= getattr(p, name) <= hi_n, name
        for name, (lo_f, hi_f) in (*RANDOMISED_NOISE.items(), *RANDOMISED_BENIGN.items()):
            assert lo_f <= getattr(p, name) <= hi_f, name
        seen.add(p.offenders_burst)
    assert len(seen) > 5  # the draws spread, not one value
    assert SimParams() == base  # the defaults are untouched


def test_a_randomised_population_simulates() -> None:
    pop = simulate(randomised(11, scale=0.2))
    roles = set(pop.truth["role"])
    assert {"offender_burst", "offender_slow", "teacher", "minor"} <= roles
    assert pop.events.height > 1000


def test_adversarial_offenders_appear_only_in_randomised_populations() -> None:
    """Patient offenders reach few children and move off platform late; mimics reach a
    whole club like its coach. The default population has neither, and is unchanged."""
    assert not {"offender_patient", "offender_mimic"} & set(
        simulate(SimParams(scale=0.2)).truth["role"]
    )
    p = randomised(12, scale=0.3)
    pop = simulate(p)
    role = dict(zip(pop.truth["account_id"], pop.truth["role"], strict=True))
    patients = [a for a, r in role.items() if r == "offender_patient"]
    mimics = [a for a, r in role.items() if r == "offender_mimic"]
    assert len(patients) == max(1, round(p.offenders_patient * 0.3)) and mimics
    ev = pop.events
    for o in patients:
        mine = ev.filter(ev["actor"] == o)
        assert 1 <= mine["target"].n_unique() <= p.patient_targets[1]
        for kid in mine.filter(mine["kind"] == OFF_PLATFORM_HANDLE)["target"]:
            reply = ev.filter((ev["actor"] == kid) & (ev["target"] == o) & (ev["kind"] == MESSAGE))
            handle = mine.filter((mine["target"] == kid) & (mine["kind"] == OFF_PLATFORM_HANDLE))
            days = (handle["ts"].min() - reply["ts"].min()).total_seconds() / 86_400
            assert days >= p.patient_handle_days[0] - 1e-6
    for o in mimics:  # a club's worth of children, most of whom it never singles out
        assert ev.filter(ev["actor"] == o)["target"].n_unique() > p.mimic_targets[1]


def test_staff_share_a_group_chat_in_randomised_populations_only() -> None:
    """Some staff send everyone in a class, team or youth group they reach one handle for
    the group's chat: drawn per randomised population, on a stream of its own, so the same
    population with and without it differs only by those handles; none by default."""
    from dataclasses import replace

    assert SimParams().staff_group_handle_p == 0.0
    quiet = replace(randomised(14, scale=0.3), **dict.fromkeys(RANDOMISED_NOISE, 0.0))
    without = simulate(replace(quiet, staff_group_handle_p=0.0))
    every = simulate(replace(quiet, staff_group_handle_p=1.0))
    key = ["ts", "kind", "actor", "target"]
    assert without.events.join(every.events, on=key, how="anti").height == 0
    added = every.events.join(without.events, on=key, how="anti")
    assert set(added["kind"]) == {OFF_PLATFORM_HANDLE}
    role = dict(zip(every.truth["account_id"], every.truth["role"], strict=True))
    # a mimic reaches a club as its coach does, group chat included
    assert {role[a] for a in added["actor"]} <= {"teacher", "coach", "youth_worker",
                                                 "offender_mimic"}  # fmt: skip
    for pop, lo, hi in ((without, 0.0, 0.2), (every, 0.9, 1.0)):
        ev = pop.events.filter(
            pl.col("actor").is_in([a for a, r in role.items() if r == "coach"])
            & pl.col("target").is_in([a for a, r in role.items() if r == "minor"])
        )
        reached = ev.group_by("actor").agg(pl.col("target").n_unique().alias("n"))
        handled = (
            ev.filter(pl.col("kind") == OFF_PLATFORM_HANDLE)
            .group_by("actor")
            .agg(pl.col("target").n_unique().alias("h"))
        )
        share = reached.join(handled, on="actor", how="left").fill_null(0)
        median = (share["h"] / share["n"]).median()
        assert lo <= median <= hi, (median, lo, hi)  # type: ignore[operator]


def test_a_randomised_log_is_noisy_like_a_real_one() -> None:
    """Lost and duplicated events, skewed clocks, wrong age bands: the same population drawn
    with and without that noise differs only so."""
    from dataclasses import replace

    p = replace(
        randomised(13, scale=0.3),
        missing_events_p=0.1,
        duplicate_events_p=0.05,
        clock_skew_minutes=20.0,
        age_band_error_p=0.05,
    )
    quiet = replace(p, **dict.fromkeys(RANDOMISED_NOISE, 0.0))
    clean = simulate(quiet)
    noisy = simulate(p)
    assert noisy.truth.equals(clean.truth)  # the same accounts and roles
    key = ["ts", "kind", "actor", "target"]
    assert clean.events.select(key).is_duplicated().sum() == 0
    twice = simulate(replace(quiet, duplicate_events_p=0.05)).events.select(key)
    assert 0.05 < twice.is_duplicated().mean() < 0.15  # type: ignore[operator]
    n_clean, n_noisy = clean.events.height, noisy.events.height
    assert 0.92 * n_clean < n_noisy < 0.97 * n_clean  # a tenth lost, a twentieth twice
    lost = clean.events.join(noisy.events, on=["kind", "actor", "target"], how="anti")
    assert lost.height > 0
    bands = clean.accounts.join(noisy.accounts, on="account_id", suffix="_noisy")
    wrong = (bands["age_band"] != bands["age_band_noisy"]).mean()
    assert 0.02 < wrong < 0.1  # type: ignore[operator]
    # times move by up to the skew: the first event between two accounts stays near
    first = lambda e: e.group_by("kind", "actor", "target").agg(pl.col("ts").min())  # noqa: E731
    moved = first(clean.events).join(first(noisy.events), on=["kind", "actor", "target"])
    shift = (moved["ts_right"] - moved["ts"]).dt.total_seconds().abs()
    assert 0 < shift.median() < 20 * 60  # type: ignore[operator]


def test_simulate_randomise_writes_its_draw(cli: Cli, tmp_path: Path) -> None:
    r = cli("pathways", "simulate", "--out", tmp_path / "r", "--seed", "7", "--scale", "0.2",
            "--randomise")  # fmt: skip
    assert r.exit_code == 0, r.output
    params = json.loads((tmp_path / "r" / "params.json").read_text())
    drawn = randomised(7, 0.2)
    assert params["gamers"] == drawn.gamers and params["abroad_p"] == drawn.abroad_p
    r = cli("pathways", "evaluate", "--data", tmp_path / "r", "--randomise")
    assert r.exit_code == 2 and "--randomise" in r.stderr
