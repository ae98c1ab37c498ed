"""`safeguard pathways simulate | score | evaluate | features | train` through the CLI."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from safeguard.pathways.model import SHIPPED, Model
from tests.pathways.conftest import SMALL, TEST_SEED


@pytest.fixture(scope="module")
def sim_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.pathways.conftest import Cli

    d = tmp_path_factory.mktemp("sim")
    home = tmp_path_factory.mktemp("home")
    r = Cli({"SAFEGUARD_HOME": str(home)})(
        "pathways",
        "simulate",
        "--out",
        d,
        "--seed",
        TEST_SEED + 1,
        "--scale",
        SMALL,
        "--format",
        "parquet",
        "--json",
    )
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["events"] > 1000
    assert {"teacher", "coach", "youth_worker", "parent", "relative"} <= set(summary["roles"])
    return d


def test_simulate_writes_every_format_and_is_deterministic(cli, tmp_path: Path) -> None:
    outs = []
    for fmt, d in (("csv", "a"), ("jsonl", "b"), ("csv", "c")):
        r = cli(
            "pathways",
            "simulate",
            "--out",
            tmp_path / d,
            "--seed",
            7,
            "--scale",
            0.1,
            "--format",
            fmt,
        )
        assert r.exit_code == 0, r.output
        ext = "jsonl" if fmt == "jsonl" else "csv"
        outs.append((tmp_path / d / f"events.{ext}").read_bytes())
        assert (tmp_path / d / "truth.csv").exists() and (tmp_path / d / "params.json").exists()
    assert outs[0] == outs[2]  # same seed, same bytes
    r = cli("pathways", "simulate", "--out", tmp_path / "x", "--format", "xml")
    assert r.exit_code == 2 and "--format" in r.stderr


def test_score_json_contract(cli, sim_dir: Path) -> None:
    r = cli(
        "pathways",
        "score",
        "--accounts",
        sim_dir / "accounts.parquet",
        "--events",
        sim_dir / "events.parquet",
        "--json",
    )
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert isinstance(rows, list) and rows
    threshold = Model.load().threshold
    for row in rows:
        assert set(row) == {"account_id", "score", "flagged", "reasons"}
        assert 0.0 <= row["score"] <= 1.0
        if abs(row["score"] - threshold) > 1e-6:  # scores are rounded to 6 places
            assert row["flagged"] == (row["score"] >= threshold)
        assert bool(row["reasons"]) == row["flagged"]
    scores = [x["score"] for x in rows]
    assert scores == sorted(scores, reverse=True)
    accounts = pl.read_parquet(sim_dir / "accounts.parquet")
    grown = set(accounts.filter(pl.col("age_band").is_in(["adult", "unknown"]))["account_id"])
    ids = [x["account_id"] for x in rows]
    assert len(ids) == len(set(ids)) and grown <= set(ids)
    truth = pl.read_csv(sim_dir / "truth.csv")
    roles = dict(truth.select("account_id", "role").iter_rows())
    flagged_roles = [roles[x["account_id"]] for x in rows if x["flagged"]]
    assert (
        flagged_roles
        and sum(r.startswith("offender") for r in flagged_roles) / len(flagged_roles) >= 0.8
    )


def test_score_text_and_capacity(cli, sim_dir: Path) -> None:
    args = (
        "pathways",
        "score",
        "--accounts",
        sim_dir / "accounts.parquet",
        "--events",
        sim_dir / "events.parquet",
    )
    r = cli(*args, "--capacity", 2, "--json", "--flagged-only")
    assert r.exit_code == 0, r.output
    assert len(json.loads(r.stdout)) <= 2
    r = cli(*args, "--limit", 5)
    assert r.exit_code == 0 and "flagged" in r.stdout and "account(s) scored" in r.stdout
    r = cli(*args, "--threshold", 2)
    assert r.exit_code == 2 and "--threshold" in r.stderr


def test_score_says_what_the_threshold_was_chosen_for(cli, sim_dir: Path, tmp_path: Path) -> None:
    files = ("--accounts", sim_dir / "accounts.parquet", "--events", sim_dir / "events.parquet")
    feats = tmp_path / "f.csv"
    assert cli("pathways", "features", *files, "--out", feats).exit_code == 0
    touching = set(pl.read_csv(feats).filter(pl.col("minors_contacted") > 0)["account_id"])
    r = cli("pathways", "score", *files, "--json")
    assert r.exit_code == 0, r.output
    scores = np.array([a["score"] for a in json.loads(r.stdout) if a["account_id"] in touching])
    assert "warning" not in r.stderr  # a population like the calibration ones
    r = cli("pathways", "score", *files, "--limit", 3)
    assert r.exit_code == 0, r.output
    text = " ".join(r.stdout.split())  # undo the console's wrapping
    info = Model.load().info["false_positive_budget"]
    rates = {g: v["ever_flagged"] / v["accounts"] for g, v in info["groups"].items()}
    worst = max(sorted(rates), key=lambda g: rates[g])
    assert (
        f"threshold {info['threshold']:.4g} was chosen so that at most {info['budget']:.1%} of "
        "each benign adult group (teachers, coaches, youth workers, parents, relatives)" in text
    )
    plural = {"teacher": "teachers", "coach": "coaches", "youth_worker": "youth workers"}
    touch = info["benign_in_touch"]
    assert (
        f"there it flagged at most {rates[worst]:.2%} ({plural.get(worst, worst + 's')}), and "
        f"{touch['ever_flagged']:,} of the {touch['accounts']:,} benign accounts" in text
    )
    line = re.search(
        r"scores of the ([\d,]+) accounts in touch with minors: median (\S+), "
        r"90th percentile (\S+), 99th (\S+) ",
        text,
    )
    assert line is not None and line[1] == f"{len(scores):,}"
    printed = [float(v.rstrip(",")) for v in line.groups()[1:]]
    # the JSON's scores are rounded to 6 decimals, the printed quantiles to 3 figures
    expected = np.quantile(scores, [0.5, 0.9, 0.99])
    assert np.allclose(printed, expected, rtol=5e-3, atol=2e-6), (printed, expected)
    assert f"99th percentile {info['benign_in_touch']['score_quantiles']['p99']:.3g})" in text
    r = cli("pathways", "score", *files, "--threshold", 0.5, "--limit", 1)
    assert "; this run flags at 0.5" in " ".join(r.stdout.split())

    # a model whose calibration populations' benign accounts all scored 0: this one is unlike
    doc = json.loads(resources.files("safeguard.pathways").joinpath(SHIPPED).read_text())
    doc["info"]["false_positive_budget"]["benign_in_touch"]["score_quantiles"]["p99"] = 0.0
    shifted = tmp_path / "model.json"
    shifted.write_text(json.dumps(doc))
    r = cli("pathways", "score", *files, "--model", shifted, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)  # the scores still come, with a warning beside them
    warning = " ".join(r.stderr.split())
    assert f"a tenth of the {len(scores):,} accounts in touch with minors score over" in warning
    assert "the threshold's false-positive estimate may not hold here" in warning

    # a model trained before the budget was recorded, or with it edited out of shape: the
    # scores come without the budget's line, and no traceback
    for budget in (None, {"groups": "edited", "benign_in_touch": []}):
        if budget is None:
            del doc["info"]["false_positive_budget"]
        else:
            doc["info"]["false_positive_budget"] = budget
        shifted.write_text(json.dumps(doc))
        r = cli("pathways", "score", *files, "--model", shifted, "--limit", 1)
        assert r.exit_code == 0, r.output
        assert "account(s) scored" in r.stdout and "was chosen so that" not in r.stdout
        assert "accounts in touch with minors: median" in " ".join(r.stdout.split())


def test_a_damaged_model_is_refused_by_name(cli, sim_dir: Path, tmp_path: Path) -> None:
    """A model file whose trees branch outside themselves, or in a circle, is refused with
    a message, never read out of bounds or walked for ever."""
    files = ("--accounts", sim_dir / "accounts.parquet", "--events", sim_dir / "events.parquet")
    doc = json.loads(resources.files("safeguard.pathways").joinpath(SHIPPED).read_text())
    damaged = tmp_path / "damaged.json"
    for fault, expected in (
        (lambda tree: tree["right"].__setitem__(0, 10**6), "branch out of range"),
        (
            lambda tree: tree.update(left=[0] * len(tree["left"]), right=[0] * len(tree["right"])),
            "form a cycle",
        ),
        (lambda tree: tree["feature"].__setitem__(0, 99), "feature or branch out of range"),
    ):
        broken = json.loads(json.dumps(doc))
        fault(broken["trees"][3])
        damaged.write_text(json.dumps(broken))
        r = cli("pathways", "score", *files, "--model", damaged, "--limit", 1)
        assert r.exit_code != 0
        message = " ".join(r.output.split())
        assert "the model's trees are damaged" in message and expected in message, message
        assert "Traceback" not in r.output


def test_evaluate_a_simulated_directory(cli, sim_dir: Path) -> None:
    r = cli("pathways", "evaluate", "--data", sim_dir, "--step-hours", 12, "--json")
    res = json.loads(r.stdout)
    assert r.exit_code == (1 if res["limit_breaches"] else 0), r.output
    assert 0.8 <= res["precision_at_k"] <= 1.0
    assert 0.0 <= res["pr_auc"] <= 1.0 and 0.0 <= res["recall_at_threshold"] <= 1.0
    groups = res["flagged_rate_by_group"]
    for role in ("teacher", "coach", "youth_worker", "parent", "relative"):
        assert 0.0 <= groups[role]["ever_flagged_rate"] <= 1.0
    ttf = res["time_to_flag_hours"]
    assert ttf["offenders"] == sum(g["accounts"] for k, g in groups.items() if k.startswith("off"))
    assert ttf["median"] is not None and ttf["median"] <= 48
    assert res["children_contacted_before_flag"]["median"] >= 1
    (seed,) = res["per_seed"]
    benign = seed["benign_in_touch"]
    ever = sum(g["ever_flagged"] for k, g in groups.items() if not k.startswith("off"))
    assert benign["ever_flagged"] == ever and benign["accounts"] > ever
    q = benign["score_quantiles"]
    assert 0.0 <= q["p50"] <= q["p90"] <= q["p99"] <= 1.0
    # the model's own estimate, from its calibration populations, to set beside this one's
    model_budget = Model.load().info["false_positive_budget"]
    assert res["model_false_positive_budget"] == model_budget
    r = cli("pathways", "evaluate", "--data", sim_dir, "--step-hours", 24)
    assert "precision@k" in r.stdout and "teacher *" in r.stdout
    text = " ".join(r.stdout.split())
    touch = model_budget["benign_in_touch"]
    assert (
        f"the model's calibration populations: {touch['ever_flagged']:,} of "
        f"{touch['accounts']:,} benign accounts in touch with minors ever flagged" in text
    )
    # a directory is named by its path, not by a seed another generator may repeat
    assert re.search(rf"{re.escape(str(sim_dir))}: [\d,]+ of [\d,]+ benign accounts in", text)
    # time to flag in words, pattern by pattern (this run checks every 24 h, the JSON one 12)
    words = re.search(
        r"time from first contact to flag: median [\d.]+ h \(never flagged \d+ of \d+\); "
        r"by pattern: (.*?)(; not reached \(half or more never flagged\): (.*?))? "
        r"children contacted",
        text,
    )
    assert words, text
    reached = re.findall(r"(\w+) [\d.]+ h", words.group(1))
    missed = words.group(3).split(", ") if words.group(3) else []
    assert sorted(reached + missed) == sorted(
        p.removeprefix("offender_") for p in ttf["by_pattern_median"]
    )
    assert "{" not in text and f"populations {sim_dir} " in text
    # several directories are summarised together, as seeds are, each named in its entry
    r = cli(
        "pathways", "evaluate", "--data", sim_dir, "--data", sim_dir, "--step-hours", 24, "--json"
    )
    both = json.loads(r.stdout)
    assert [s["data"] for s in both["per_seed"]] == [str(sim_dir)] * 2
    assert both["time_to_flag_hours"]["offenders"] == 2 * ttf["offenders"]
    for role, g in both["flagged_rate_by_group"].items():
        assert g["accounts"] == 2 * groups[role]["accounts"]


def test_evaluate_counts_offenders_it_never_scored_as_missed(
    cli, sim_dir: Path, tmp_path: Path
) -> None:
    # an offender who declares an age under 13 is never scored; evaluate must count it as a
    # missed offender, not leave it out of recall, precision at k and time to flag
    before = json.loads(
        cli("pathways", "evaluate", "--data", sim_dir, "--step-hours", 24, "--json").stdout
    )
    poser = tmp_path / "poser"
    poser.mkdir()
    for f in sim_dir.iterdir():
        (poser / f.name).write_bytes(f.read_bytes())
    truth = pl.read_csv(sim_dir / "truth.csv")
    accounts = pl.read_parquet(sim_dir / "accounts.parquet")
    offender = truth.filter(pl.col("role").str.starts_with("offender"))["account_id"][0]
    accounts.with_columns(
        pl.when(pl.col("account_id") == offender)
        .then(pl.lit("under_13"))
        .otherwise(pl.col("age_band"))
        .alias("age_band")
    ).write_parquet(poser / "accounts.parquet")
    r = cli("pathways", "evaluate", "--data", poser, "--step-hours", 24, "--json")
    after = json.loads(r.stdout)
    (b,), (a,) = before["per_seed"], after["per_seed"]
    assert a["offenders"] == b["offenders"] > 0
    assert a["offenders_not_scored"] == b["offenders_not_scored"] + 1
    bands = after["offenders_not_scored"]["by_declared_age_band"]
    assert (
        bands.get("under_13", 0)
        == before["offenders_not_scored"]["by_declared_age_band"].get("under_13", 0) + 1
        and sum(bands.values()) == after["offenders_not_scored"]["count"]
    )
    ttf = after["time_to_flag_hours"]
    groups = after["flagged_rate_by_group"]
    assert (
        ttf["offenders"]
        == before["time_to_flag_hours"]["offenders"]
        == sum(g["accounts"] for k, g in groups.items() if k.startswith("off"))
    )
    assert ttf["never_flagged"] >= 1
    # recall is over every offender: the unscored one is in the denominator, never flagged
    flagged_at_end = sum(
        round(g["flagged_at_end_rate"] * g["accounts"]) for k, g in groups.items() if k[:3] == "off"
    )
    assert a["recall_at_threshold"] == pytest.approx(flagged_at_end / a["offenders"])
    text = " ".join(cli("pathways", "evaluate", "--data", poser, "--step-hours", 24).stdout.split())
    n = after["offenders_not_scored"]["count"]
    assert f"{n} of {a['offenders']} offenders were never scored" in text, text


def test_evaluate_fails_when_a_protected_group_breaks_its_limit(cli, sim_dir: Path) -> None:
    args = ("pathways", "evaluate", "--data", sim_dir, "--step-hours", 24)
    r = cli(*args, "--threshold", 0, "--json")  # everyone is flagged
    assert r.exit_code == 1, r.output
    res = json.loads(r.stdout)
    assert res["protected_limit"] == 0.01
    broken = {b["group"] for b in res["limit_breaches"]}
    limited = {"teacher", "coach", "youth_worker", "parent", "relative", "gamer", "creator"}
    limited |= {"minor"}  # children: declared teenagers are scored
    assert broken == limited & set(res["flagged_rate_by_group"])
    assert "limit broken:" in r.stderr and "teacher accounts flagged (100.0%" in r.stderr
    r = cli(*args, "--threshold", 1, "--json")  # nobody is flagged
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["limit_breaches"] == []


def test_evaluate_errors(cli, tmp_path: Path) -> None:
    r = cli("pathways", "evaluate", "--data", tmp_path / "missing")
    assert r.exit_code == 2 and "missing" in r.stderr
    r = cli("pathways", "evaluate", "--seeds", "9-x")
    assert r.exit_code == 2 and "seed" in r.stderr


def test_features_command(cli, sim_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "f.csv"
    r = cli(
        "pathways",
        "features",
        "--accounts",
        sim_dir / "accounts.parquet",
        "--events",
        sim_dir / "events.parquet",
        "--out",
        out,
    )
    assert r.exit_code == 0, r.output
    f = pl.read_csv(out)
    assert f.columns[0] == "account_id" and "no_mutual_share" in f.columns


def test_train_command_writes_a_loadable_model(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # a tiny population keeps this quick; the shipped model uses scale 1
    out = tmp_path / "model.json"
    r = cli(
        "pathways", "train", "--seeds", "11-12", "--calibration-seeds", "13", "--out", out,
        "--scale", "0.12", "--json",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    assert info["train_seeds"] == [11, 12] and info["calibration_seeds"] == [13]
    assert info["randomised"] is True  # domain randomisation is the default, as shipped
    model = Model.load(out)
    assert model.trees and 0.5 <= model.threshold <= 1.0
    # what the threshold's false-positive budget came to on the calibration seed
    budget = model.info["false_positive_budget"]
    assert budget["budget"] == 0.005 and budget["threshold"] == model.threshold
    assert set(budget["groups"]) == {"teacher", "coach", "youth_worker", "parent", "relative"}
    for g in budget["groups"].values():
        assert g["accounts"] > 0 and g["ever_flagged"] <= int(0.005 * g["accounts"])
    assert budget["benign_in_touch"]["accounts"] >= sum(
        g["accounts"] for g in budget["groups"].values()
    )
    fixed = tmp_path / "fixed.json"
    r = cli(
        "pathways", "train", "--seeds", "11", "--calibration-seeds", "13", "--out", fixed,
        "--scale", "0.12", "--fixed", "--json",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["randomised"] is False
    r = cli("pathways", "train", "--seeds", "1-2", "--calibration-seeds", "2")
    assert r.exit_code == 2 and "differ" in r.stderr
    r = cli("pathways", "train", "--scale", "0")
    assert r.exit_code == 2 and "--scale" in r.stderr


def test_train_also_learns_from_labelled_populations_in_directories(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # a platform's own reviewed history, or another generator's populations: accounts, events
    # and truth in a directory, as `evaluate --data` reads them
    dirs = {}
    for name, seed in (("fit", 21), ("cal", 22)):
        dirs[name] = tmp_path / name
        r = cli(
            "pathways", "simulate", "--out", dirs[name], "--seed", str(seed), "--scale", "0.12",
            "--randomise",
        )  # fmt: skip
        assert r.exit_code == 0, r.output
    args = ("pathways", "train", "--seeds", "11", "--calibration-seeds", "13", "--scale", "0.12")
    out = tmp_path / "model.json"
    r = cli(*args, "--data", dirs["fit"], "--calibration-data", dirs["cal"], "--out", out, "--json")
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    assert info["train_data"] == ["fit"] and info["calibration_data"] == ["cal"]
    alone = tmp_path / "alone.json"
    r = cli(*args, "--out", alone, "--json")
    assert r.exit_code == 0, r.output
    # the directories' snapshots are fitted on: more of them than the seeds alone give
    assert info["snapshots"] > json.loads(r.stdout)["snapshots"]
    budget = Model.load(out).info["false_positive_budget"]
    assert (
        budget["benign_in_touch"]["accounts"]
        > (Model.load(alone).info["false_positive_budget"]["benign_in_touch"]["accounts"])
    )

    r = cli(*args, "--data", dirs["fit"], "--calibration-data", dirs["fit"], "--out", out)
    assert r.exit_code == 2 and "populations must differ" in r.stderr
    never = tmp_path / "never.json"
    r = cli(*args, "--data", tmp_path / "nowhere", "--out", never)
    assert r.exit_code == 2 and "nowhere" in r.stderr and "not a directory" in r.stderr
    assert "nothing was trained" in r.stderr and not never.exists()
    # a log longer than a replay covers is refused by name, not trained on in part (without
    # the simulator's params.json, as another generator's directory, its span is the events')
    (dirs["fit"] / "params.json").unlink()
    events = pl.read_csv(dirs["fit"] / "events.csv")
    late = events.head(1).with_columns(pl.lit("2031-01-01T00:00:00Z").alias("ts"))
    pl.concat([events, late]).write_csv(dirs["fit"] / "events.csv")
    r = cli(*args, "--data", dirs["fit"], "--out", out)
    assert r.exit_code == 2 and "split the log by time" in r.stderr, r.output
