"""`safeguard pathways evaluate --data DIR` on a population written by another generator: its
own offender patterns (any `offender_<pattern>` role), a params.json without the simulator's
fields, and the highest-scoring benign accounts listed with what their scores rest on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Cli

GENERATOR = Path(__file__).parents[2] / "bench" / "pathways_independent" / "generate.py"


def test_evaluate_a_population_from_the_independent_generator(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "pop"
    subprocess.run(
        [sys.executable, str(GENERATOR), "--out", str(out), "--seed", "7", "--scale", "0.2"],
        check=True,
        capture_output=True,
        timeout=300,
    )
    r = cli("pathways", "evaluate", "--data", out, "--step-hours", "24", "--json")
    assert r.exit_code in (0, 1), r.output  # 1: a benign group broke its limit, reported
    result = json.loads(r.stdout)
    roles = set(result["flagged_rate_by_group"])
    patterns = {x for x in roles if x.startswith("offender_")}
    assert len(patterns) >= 3 and not patterns <= {"offender_burst", "offender_slow"}
    (seed,) = result["per_seed"]
    assert seed["seed"] == 7 and seed["offenders"] > 0
    assert set(result["time_to_flag_hours"]["by_pattern_median"]) <= patterns
    top = seed["top_false_positives"]
    assert top and all(not x["role"].startswith("offender") and x["reasons"] for x in top)
    scores = [x["score"] for x in top]
    assert scores == sorted(scores, reverse=True)


BENCH = Path(__file__).parents[2] / "bench"


@pytest.mark.parametrize("generator", ["pathways_dev", "pathways_dev2"])
def test_the_development_generators_are_repeatable_and_read_by_evaluate(
    cli: Cli, tmp_path: Path, generator: str
) -> None:
    # the shipped model is fitted on pathways_dev's populations (make pathways-model), and
    # changes are judged on both: the same seed must give the same files
    script = BENCH / generator / "generate.py"
    runs = [tmp_path / "a", tmp_path / "b"]
    for out in runs:
        subprocess.run(
            [sys.executable, str(script), "--out", str(out), "--seed", "3", "--scale", "0.1"],
            check=True,
            capture_output=True,
            timeout=300,
        )
    for name in ("accounts.csv", "events.csv", "truth.csv", "params.json"):
        assert (runs[0] / name).read_bytes() == (runs[1] / name).read_bytes(), name
    r = cli("pathways", "evaluate", "--data", runs[0], "--step-hours", "24", "--json")
    assert r.exit_code in (0, 1), r.output
    result = json.loads(r.stdout)
    patterns = {x for x in result["flagged_rate_by_group"] if x.startswith("offender_")}
    assert len(patterns) >= 3 and result["per_seed"][0]["offenders"] > 0
