"""The pathways feature job on Apache Spark, for platforms whose logs outgrow one machine.

It computes exactly the features of features.py, step for step (tests check that both give the
same table on the same input): per-pair aggregates, connection edges, mutual connections,
connected groups among each account's targets (by iterative min-label propagation, which gives
the same groups as the connected-components call on one machine), how each account's messages
spread over the minors it writes to, sliding-window maxima and the two-hop aggregates. Times
are handled as integer microseconds since the epoch (UTC).

    spark = local_session()                       # or your cluster's session
    feats = features_spark(accounts_sdf, events_sdf, as_of_us)   # Spark DataFrames in and out
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import polars as pl

from safeguard.extras import require
from safeguard.pathways.features import (
    COUNT_FEATURES,
    DAY_US,
    DEFAULT_WINDOW_DAYS,
    FAVOURITES,
    FEATURE_NAMES,
    MINOR_SHARES,
    NEW_ACCOUNT_DAYS,
    QUIET_HOURS,
    RATE_DEFAULTS,
    SETTLE_US,
)
from safeguard.pathways.schema import (
    AGE_BANDS,
    BLOCK,
    CONTACT_ACCEPT,
    CONTACT_REQUEST,
    FIRST_MOVE_KINDS,
    MESSAGE,
    OFF_PLATFORM_HANDLE,
    OUTREACH_KINDS,
    REPORT,
)

_EPOCH = datetime(1970, 1, 1)


def local_session(cores: int = 2, shuffle_partitions: int | None = None) -> Any:
    """A local Spark session configured for this job (UTC, few shuffle partitions, no UI)."""
    SparkSession = require("pyspark.sql", "spark", "the Spark feature job").SparkSession

    parts = shuffle_partitions or max(2, cores * 2)
    return (
        SparkSession.builder.master(f"local[{cores}]")
        .appName("safeguard-pathways")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(parts))
        .config("spark.default.parallelism", str(parts))
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )


def _us(t: datetime) -> int:
    return (t - _EPOCH) // timedelta(microseconds=1)


def _relevant(subject_band: Any, minor_band: Any) -> Any:
    return (subject_band >= 1) & (minor_band <= 2)


def features_spark(
    accounts: Any,
    events: Any,
    as_of_us: int,
    window_days: float | None = DEFAULT_WINDOW_DAYS,
    max_label_rounds: int = 50,
) -> Any:
    """Spark DataFrames in (accounts: account_id, created_us, age_band, country; events: ts_us,
    kind, actor, target), one Spark DataFrame of features out (account_id + FEATURE_NAMES)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    col = F.col
    band_code = F.create_map(*[x for i, b in enumerate(AGE_BANDS) for x in (F.lit(b), F.lit(i))])
    acc = accounts.select(
        col("account_id"),
        col("created_us").cast("long"),
        band_code[col("age_band")].alias("band"),
        F.coalesce(col("country"), F.lit("")).alias("country"),
    ).cache()
    bands = acc.select("account_id", "band")
    ev = (
        events.filter(col("ts_us") <= F.lit(as_of_us))
        .join(
            bands.withColumnRenamed("account_id", "actor").withColumnRenamed("band", "a_band"),
            "actor",
        )
        .join(
            bands.withColumnRenamed("account_id", "target").withColumnRenamed("band", "b_band"),
            "target",
        )
    )
    accepts = ev.filter(col("kind") == CONTACT_ACCEPT)
    edges = (
        accepts.select(col("actor").alias("x"), col("target").alias("y"))
        .union(accepts.select(col("target").alias("x"), col("actor").alias("y")))
        .filter(col("x") != col("y"))
        .distinct()
        .cache()
    )
    act = ev
    if window_days is not None:
        start_us = as_of_us - round(window_days * DAY_US)
        act = ev.filter(col("ts_us") > F.lit(start_us))
    out = (
        act.filter(col("kind").isin(*OUTREACH_KINDS) & _relevant(col("a_band"), col("b_band")))
        .groupBy(col("actor").alias("s"), col("target").alias("m"))
        .agg(
            F.min("ts_us").alias("first_out"),
            F.sum((col("kind") == MESSAGE).cast("long")).alias("messages"),
            F.max(col("kind") == CONTACT_REQUEST).alias("requested"),
            F.max(col("kind") == OFF_PLATFORM_HANDLE).alias("handle"),
        )
    )
    inn = (
        act.filter(_relevant(col("b_band"), col("a_band")))
        .groupBy(col("target").alias("s"), col("actor").alias("m"))
        .agg(
            F.min(F.when(col("kind").isin(*FIRST_MOVE_KINDS), col("ts_us"))).alias("first_in"),
            F.max(col("kind") == CONTACT_ACCEPT).alias("accepted"),
            F.max(col("kind") == MESSAGE).alias("replied"),
            F.sum((col("kind") == MESSAGE).cast("long")).alias("messages_in"),
            F.max(col("kind") == BLOCK).alias("blocked"),
            F.max(col("kind") == REPORT).alias("reported"),
        )
    )
    flags = ["requested", "handle", "accepted", "replied", "blocked", "reported"]
    pairs = (
        out.join(inn, ["s", "m"], "full")
        .fillna(False, subset=flags)
        .fillna(0, subset=["messages", "messages_in"])
    )
    # the quiet hours of each country's children, and each pair's messages sent in them
    msgs = act.filter(col("kind") == MESSAGE).withColumn(
        "h", F.hour(F.timestamp_micros(col("ts_us")))
    )
    minor_hours = (
        msgs.filter(col("a_band") <= 2)
        .join(acc.select(col("account_id").alias("actor"), "country"), "actor")
        .groupBy("country", "h")
        .agg(F.count(F.lit(1)).alias("n"))
    )
    starts = (
        minor_hours.select("country")
        .distinct()
        .crossJoin(
            F.broadcast(acc.sparkSession.range(24).select(col("id").cast("int").alias("start")))
        )
    )
    span = F.explode(F.sequence(F.lit(0), F.lit(QUIET_HOURS - 1))).alias("k")
    covered = starts.select("country", "start", span).withColumn(
        "h", (col("start") + col("k")) % 24
    )
    by_start = (
        covered.join(minor_hours, ["country", "h"], "left")
        .groupBy("country", "start")
        .agg(F.sum(F.coalesce(col("n"), F.lit(0))).alias("total"))
    )
    first_quietest = Window.partitionBy("country").orderBy("total", "start")
    quiet = (
        by_start.withColumn("r", F.row_number().over(first_quietest))
        .filter(col("r") == 1)
        .select("country", span.alias("k"), col("start"))
        .select(col("country").alias("m_country"), ((col("start") + col("k")) % 24).alias("h"))
    )
    quiet_messages = (
        msgs.filter(_relevant(col("a_band"), col("b_band")))
        .join(
            acc.select(col("account_id").alias("target"), col("country").alias("m_country")),
            "target",
        )
        .join(quiet, ["m_country", "h"], "left_semi")
        .groupBy(col("actor").alias("s"), col("target").alias("m"))
        .agg(F.count(F.lit(1)).alias("quiet"))
    )
    pairs = pairs.withColumn(
        "initiated",
        col("first_out").isNotNull()
        & (col("first_in").isNull() | (col("first_out") <= col("first_in"))),
    ).cache()

    # each pair's two ends with their age bands and countries
    def end(name: str) -> Any:
        return acc.select(
            col("account_id").alias(name),
            col("band").alias(f"{name}_band"),
            col("country").alias(f"{name}_country"),
        )

    p = pairs.filter(col("initiated")).join(end("m"), "m").join(end("s"), "s")
    pm = p.select("s", "m").cache()

    e1 = edges.select(col("x").alias("m"), col("y"))
    e2 = edges.select(col("x").alias("s"), col("y"))
    mutual = (
        pm.join(e1, "m")
        .filter(col("y") != col("s"))
        .join(e2, ["s", "y"], "left_semi")
        .select("s", "m")
        .distinct()
        .withColumn("mutual", F.lit(True))
    )
    p = p.join(mutual, ["s", "m"], "left").fillna(False, subset=["mutual"])

    minors = acc.filter(col("band") <= 2).select(col("account_id").alias("y"))
    links = (
        pm.join(edges.select(col("x").alias("m"), col("y")), "m")
        .filter(col("y") != col("s"))
        .join(minors, "y", "left_semi")
        .select("s", "m", "y")
    )
    adj = (
        links.select("s", col("m").alias("a"), col("y").alias("b"))
        .union(links.select("s", col("y").alias("a"), col("m").alias("b")))
        .distinct()
        .cache()
    )
    nodes = pm.select("s", col("m").alias("a")).union(links.select("s", col("y").alias("a")))
    labels = nodes.distinct().withColumn("label", col("a")).localCheckpoint()
    for _ in range(max_label_rounds):
        nbr = (
            adj.join(labels.select("s", col("a").alias("b"), col("label").alias("lb")), ["s", "b"])
            .groupBy("s", "a")
            .agg(F.min("lb").alias("lmin"))
        )
        new = (
            labels.join(nbr, ["s", "a"], "left")
            .select(
                "s",
                "a",
                F.least(col("label"), F.coalesce(col("lmin"), col("label"))).alias("label"),
            )
            .localCheckpoint()
        )
        changed = (
            new.join(labels.withColumnRenamed("label", "old"), ["s", "a"])
            .filter(col("label") != col("old"))
            .limit(1)
            .count()
        )
        labels = new
        if changed == 0:
            break
    groups = (
        labels.join(pm.select("s", col("m").alias("a")), ["s", "a"], "left_semi")
        .groupBy("s")
        .agg(F.countDistinct("label").alias("target_groups"))
    )

    as_int = lambda c: c.cast("long")  # noqa: E731
    per_pair = pairs.groupBy("s").agg(
        F.count("first_out").alias("minors_contacted"),
        F.avg(
            (
                col("first_in").isNotNull()
                & (col("first_out").isNull() | (col("first_in") < col("first_out")))
            ).cast("double")
        ).alias("minors_first_share"),
        F.min("first_out").alias("first_contact"),
        F.sum(as_int(col("blocked"))).alias("minors_blocking"),
        F.sum(as_int(col("reported"))).alias("minors_reporting"),
        F.sum(as_int(col("blocked") | col("reported"))).alias("complainers"),
        F.sum(as_int(col("handle") & col("first_out").isNotNull())).alias("off_platform_minors"),
    )
    dbl = lambda c: c.cast("double")  # noqa: E731
    settled = col("first_out") <= F.lit(as_of_us - SETTLE_US)
    per_init = p.groupBy("s").agg(
        F.count(F.lit(1)).alias("minors_initiated"),
        F.avg(dbl(col("m_band") == 0)).alias("under13_share"),
        F.avg(dbl(F.least(col("s_band"), F.lit(3)) - col("m_band") >= 2)).alias(
            "wide_age_gap_share"
        ),
        F.avg(dbl(~col("mutual"))).alias("no_mutual_share"),
        F.avg(F.when(col("requested") & settled, dbl(col("accepted")))).alias("accept_rate"),
        F.avg(F.when(settled, dbl(col("replied")))).alias("reply_rate"),
        F.avg(
            dbl(
                (col("s_country") != "")
                & (col("m_country") != "")
                & (col("s_country") != col("m_country"))
            )
        ).alias("cross_country_share"),
    )

    by_messages = Window.partitionBy("s").orderBy(F.desc("messages"))
    per_written = (
        pairs.filter(col("messages") > 0)
        .join(quiet_messages, ["s", "m"], "left")
        .withColumn("rank", F.rank().over(by_messages))
        .groupBy("s")
        .agg(
            F.max(F.least("messages", "messages_in")).alias("closest_exchange"),
            F.max("messages").alias("favourite_messages"),
            (F.max("messages") / F.sum("messages")).alias("favourite_share"),
            (F.sum(F.coalesce(col("quiet"), F.lit(0))) / F.sum("messages")).alias(
                "quiet_hours_share"
            ),
            F.max(F.when(~col("replied"), col("messages"))).alias("unanswered_persistence"),
            (F.max("messages") / F.median("messages")).alias("favourite_ratio"),
            F.sum(as_int(col("handle") & (col("rank") <= FAVOURITES))).alias("favourite_handles"),
        )
    )

    def window_max(period_us: int, name: str) -> Any:
        w = Window.partitionBy("s").orderBy("first_out").rangeBetween(-(period_us - 1), 0)
        return (
            p.select("s", "first_out")
            .withColumn("n", F.count(F.lit(1)).over(w))
            .groupBy("s")
            .agg(F.max("n").alias(name))
        )

    w24 = window_max(DAY_US, "max_new_minors_24h")
    w7 = window_max(7 * DAY_US, "max_new_minors_7d")

    f = (
        acc.join(per_pair.withColumnRenamed("s", "account_id"), "account_id", "left")
        .filter(
            col("band").isin(3, 4)
            | (col("band").isin(1, 2) & (F.coalesce(col("minors_contacted"), F.lit(0)) > 0))
        )
        .join(per_init.withColumnRenamed("s", "account_id"), "account_id", "left")
        .join(w24.withColumnRenamed("s", "account_id"), "account_id", "left")
        .join(w7.withColumnRenamed("s", "account_id"), "account_id", "left")
        .join(groups.withColumnRenamed("s", "account_id"), "account_id", "left")
        .join(per_written.withColumnRenamed("s", "account_id"), "account_id", "left")
    )
    counts = [c for c in COUNT_FEATURES if c not in ("cocontactors", "risky_cocontactors")]
    f = f.fillna(0, subset=[*counts, "complainers", "favourite_handles"])
    for c in counts:
        f = f.withColumn(c, col(c).cast("long"))
    f = f.fillna(RATE_DEFAULTS).fillna(0.0, subset=list(MINOR_SHARES))
    f = (
        f.withColumn(
            "target_group_share",
            F.when(
                col("minors_initiated") > 0, col("target_groups") / col("minors_initiated")
            ).otherwise(0.0),
        )
        .withColumn(
            "complaint_rate",
            dbl(col("complainers")) / F.greatest(col("minors_contacted"), F.lit(1)),
        )
        .withColumn(
            "off_platform_rate",
            dbl(col("off_platform_minors")) / F.greatest(col("minors_contacted"), F.lit(1)),
        )
        .withColumn(
            "handles_to_favourites",
            dbl(col("favourite_handles")) / F.greatest(col("off_platform_minors"), F.lit(1)),
        )
        .withColumn(
            "account_age_days",
            F.greatest(
                F.coalesce(col("first_contact"), F.lit(as_of_us)) - col("created_us"), F.lit(0)
            )
            / F.lit(float(DAY_US)),
        )
        .cache()
    )
    risky = f.filter(
        (col("complainers") >= 2)
        | ((col("minors_initiated") >= 3) & (col("account_age_days") < NEW_ACCOUNT_DAYS))
    ).select(col("account_id").alias("s2"), F.lit(1).alias("risky"))
    co = (
        pm.join(pm.select(col("s").alias("s2"), "m"), "m")
        .filter(col("s") != col("s2"))
        .select("s", "s2")
        .distinct()
        .join(risky, "s2", "left")
        .groupBy(col("s").alias("account_id"))
        .agg(
            F.count(F.lit(1)).alias("cocontactors"),
            F.sum(F.coalesce(col("risky"), F.lit(0))).cast("long").alias("risky_cocontactors"),
        )
    )
    f = f.join(co, "account_id", "left").fillna(0, subset=["cocontactors", "risky_cocontactors"])
    f = f.withColumn("declared_teen", col("band").isin(1, 2).cast("double"))
    return f.select("account_id", *FEATURE_NAMES)


def compute_features_spark(
    spark: Any,
    accounts: pl.DataFrame,
    events: pl.DataFrame,
    as_of: datetime | None = None,
    window_days: float | None = DEFAULT_WINDOW_DAYS,
) -> pl.DataFrame:
    """The Spark job on validated polars frames (handed over as Parquet); result as polars."""
    if as_of is None:
        as_of = cast(datetime, events["ts"].max()) if events.height else _EPOCH
    with tempfile.TemporaryDirectory(prefix="pathways-spark-") as d:
        a_path, e_path = Path(d) / "accounts.parquet", Path(d) / "events.parquet"
        accounts.select(
            "account_id",
            pl.col("created_at").dt.epoch("us").alias("created_us"),
            "age_band",
            "country",
        ).write_parquet(a_path)
        events.select(
            pl.col("ts").dt.epoch("us").alias("ts_us"), "kind", "actor", "target"
        ).write_parquet(e_path)
        sdf = features_spark(
            spark.read.parquet(str(a_path)),
            spark.read.parquet(str(e_path)),
            _us(as_of),
            window_days,
        )
        rows = sdf.collect()
    schema = {"account_id": pl.String} | {
        n: (pl.Int64 if n in COUNT_FEATURES else pl.Float64) for n in FEATURE_NAMES
    }
    return pl.DataFrame([r.asDict() for r in rows], schema=schema, orient="row").sort("account_id")
