"""The Spark feature job and the polars one give the same table on the same input."""

from __future__ import annotations

import os
import shutil
from datetime import timedelta

import polars as pl
import pytest

from safeguard.pathways.features import COUNT_FEATURES, FEATURE_NAMES, compute_features
from safeguard.pathways.simulate import SimParams, simulate

pyspark = pytest.importorskip("pyspark")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    if os.environ.get("CI"):
        raise RuntimeError(
            "Java is required for the Spark tests when CI is set (.ci/run installs it)"
        )
    pytest.skip(
        "Java is not installed: the Spark feature job needs Java 17", allow_module_level=True
    )


@pytest.fixture(scope="module")
def spark():  # type: ignore[no-untyped-def]
    from safeguard.pathways.spark_features import local_session

    # tiny input: one shuffle partition keeps the many small stages cheap
    s = local_session(cores=2, shuffle_partitions=1)
    s.sparkContext.setLogLevel("ERROR")
    yield s
    s.stop()


@pytest.mark.slow
def test_spark_and_polars_agree(spark) -> None:  # type: ignore[no-untyped-def]
    from safeguard.pathways.spark_features import compute_features_spark

    pop = simulate(SimParams(seed=31337, scale=0.06, days=14))
    # mid-way, with a window shorter than the log: exercises the window, the settling of
    # accept and reply rates, and accounts whose activity has fallen out of the window
    as_of = pop.params.start + timedelta(days=10, hours=5)
    want = compute_features(pop.accounts, pop.events, as_of=as_of, window_days=6)
    got = compute_features_spark(spark, pop.accounts, pop.events, as_of=as_of, window_days=6)
    assert got["account_id"].to_list() == want["account_id"].to_list()
    assert want.filter(pl.col("minors_initiated") > 0).height > 20
    assert want.filter(pl.col("target_groups") < pl.col("minors_initiated")).height > 5
    assert want.filter(pl.col("quiet_hours_share") > 0).height > 5
    for name in FEATURE_NAMES:
        if name in COUNT_FEATURES:
            assert got[name].to_list() == want[name].to_list(), name
        else:
            diff = (got[name] - want[name]).abs().max()
            assert diff is not None and diff < 1e-9, name
