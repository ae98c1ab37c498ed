"""The pathways feature job (polars): one row of behavioural features per scored account.

Scored accounts ("subjects") are every adult or unknown-age account, and every account declaring
13-15 or 16-17 that contacted a minor (adults posing as teenagers declare a teenage age). For each
subject the job looks at the minors (declared under 18) it is in touch with and summarises, over
a sliding window ending at `as_of`, how it reaches them. Only who-contacted-whom-when metadata is
used.

The same job, step for step, runs on Spark in spark_features.py; tests check they agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

import numpy as np
import polars as pl

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

DEFAULT_WINDOW_DAYS = 30
#: an account younger than this at first contact counts as "new" for the two-hop aggregate
NEW_ACCOUNT_DAYS = 7.0
DAY_US = 86_400_000_000
#: how long a child has to accept or answer before a silence counts in accept/reply rates:
#: half a day (a message sent during school is answered by the evening; chosen on the
#: development seeds 301-303, where it flagged offenders sooner and no more staff than a day)
SETTLE_US = DAY_US // 2
#: how many of the minors an account wrote to most count as its favourites (ties included)
FAVOURITES = 3
#: the rows of a feature table whose account is in touch with minors (what training learns
#: from, and what calibration and evaluation compare)
IN_TOUCH = pl.col("minors_contacted") > 0


@dataclass(frozen=True)
class Feature:
    name: str
    #: +1: a higher value never lowers risk; -1: a higher value never raises it; 0: either
    direction: int
    meaning: str
    why: str


FEATURES: tuple[Feature, ...] = (
    Feature(
        "minors_contacted",
        0,
        "distinct minors the account requested, messaged or sent a handle to in the window",
        "context only: teachers and creators reach many children too",
    ),
    Feature(
        "minors_initiated",
        1,
        "of those, minors the account approached first (before the child said anything)",
        "offenders make the first move; children approach creators and parents' contacts",
    ),
    Feature(
        "max_new_minors_24h",
        1,
        "most minors first approached within any 24 hours",
        "bursts of cold approaches are the financial-sextortion pattern",
    ),
    Feature(
        "max_new_minors_7d",
        1,
        "most minors first approached within any 7 days",
        "a steadier stream of new children than any teacher's class needs",
    ),
    Feature(
        "no_mutual_share",
        1,
        "share of approached minors with no connection in common with the account",
        "adults who know a child through school, club or family share connections with them",
    ),
    Feature(
        "target_groups",
        1,
        "separate groups the approached minors form: two are in one group when they are "
        "connected, or share a connection with another minor (chains of such links count)",
        "a class or team is one group; children picked one by one from across the "
        "platform are many",
    ),
    Feature(
        "target_group_share",
        1,
        "target_groups divided by minors approached (1.0: no two of them know each other)",
        "the same, independent of how many children were approached",
    ),
    Feature(
        "under13_share",
        1,
        "share of approached minors declared under 13",
        "the youngest children are the most at risk from unsolicited adult contact",
    ),
    Feature(
        "wide_age_gap_share",
        1,
        "share of approached minors two or more age bands younger than the account (an adult "
        "and a child under 16; a 16-17-year-old and a child under 13)",
        "the age gap: a teenager's friends are near their own age; an adult seeking out "
        "children, or an older teenager seeking out much younger ones, is not",
    ),
    Feature(
        "minors_first_share",
        -1,
        "share of the minors in touch with the account who made the first move (requested or "
        "messaged it before it reached out to them)",
        "children approach their friends, their coach and people they know; they rarely "
        "approach the stranger who is grooming them",
    ),
    Feature(
        "accept_rate",
        -1,
        "share of the account's contact requests to minors, made at least 12 hours ago, that "
        "the minor accepted",
        "children ignore requests from strangers; they accept their teacher's",
    ),
    Feature(
        "reply_rate",
        -1,
        "share of minors approached at least 12 hours ago who sent the account a message",
        "unanswered approaches suggest the children do not know the account",
    ),
    Feature(
        "minors_blocking",
        1,
        "distinct minors who blocked the account",
        "children block accounts that make them uncomfortable",
    ),
    Feature(
        "minors_reporting",
        1,
        "distinct minors who reported the account",
        "a report from a child is the strongest signal a platform gets",
    ),
    Feature(
        "complaint_rate",
        1,
        "minors who blocked or reported, divided by minors contacted",
        "the same, relative to how many children the account reaches",
    ),
    Feature(
        "account_age_days",
        -1,
        "age of the account in days when it first contacted a minor (or now, if never)",
        "throwaway accounts contact children within days of being created",
    ),
    Feature(
        "cross_country_share",
        1,
        "share of approached minors in a different country from the account",
        "organised sextortion runs from abroad; local adults mostly know local children",
    ),
    Feature(
        "off_platform_minors",
        1,
        "distinct minors the account sent a handle or link for another app",
        "moving a child to an unmoderated or encrypted app is a key step in grooming",
    ),
    Feature(
        "off_platform_rate",
        1,
        "off_platform_minors divided by minors contacted",
        "the same, relative to how many children the account reaches",
    ),
    Feature(
        "unanswered_persistence",
        1,
        "most messages the account sent one minor who never wrote back in the window",
        "groomers keep writing to a child who does not answer; a teacher's or coach's "
        "messages to a silent child stay few",
    ),
    Feature(
        "favourite_ratio",
        1,
        "messages to the minor the account wrote to most, divided by the median over the "
        "minors it wrote to (1.0: the child it wrote to most got no more than a typical one)",
        "grooming singles out a few children from a group the account reaches; staff write "
        "to a group's children about evenly",
    ),
    Feature(
        "handles_to_favourites",
        1,
        "of the minors the account sent a handle for another app, the share among the three "
        "it wrote to most (0 when it sent none)",
        "a club's group-chat handle goes to the whole group; a groomer moves the children "
        "it singled out to a private app",
    ),
    Feature(
        "closest_exchange",
        1,
        "most messages exchanged both ways with one minor (the fewer of those sent and received)",
        "grooming is a long one-to-one conversation with a child; children write little to "
        "their teachers and coaches",
    ),
    Feature(
        "favourite_messages",
        1,
        "messages to the minor the account wrote to most",
        "the child singled out gets many messages; staff write to each child a few times",
    ),
    Feature(
        "favourite_share",
        1,
        "share of the account's messages to minors that went to the one it wrote to most",
        "the same, relative to all the account writes to children",
    ),
    Feature(
        "quiet_hours_share",
        1,
        "share of the account's messages to minors sent in the six hours of the day when "
        "children in the child's country send fewest messages",
        "contact with a child late at night, when children's own activity is lowest, is a "
        "grooming pattern; staff write in the day",
    ),
    Feature(
        "cocontactors",
        0,
        "two-hop: other scored accounts that also approached any of the same minors",
        "context for the next feature",
    ),
    Feature(
        "risky_cocontactors",
        1,
        "two-hop: of those, accounts blocked or reported by two or more minors, or that "
        "approached three or more while under a week old",
        "rings of accounts share their target lists",
    ),
    Feature(
        "declared_teen",
        0,
        "1 when the account declares an age of 13-17, else 0",
        "lets the trees read a declared teenager's contacts with children apart from an adult's",
    ),
)
FEATURE_NAMES = tuple(f.name for f in FEATURES)
COUNT_FEATURES = (
    "minors_contacted",
    "minors_initiated",
    "max_new_minors_24h",
    "max_new_minors_7d",
    "target_groups",
    "minors_blocking",
    "minors_reporting",
    "off_platform_minors",
    "unanswered_persistence",
    "closest_exchange",
    "favourite_messages",
    "cocontactors",
    "risky_cocontactors",
)
#: the value a rate takes when there is nothing to divide by (no evidence either way)
RATE_DEFAULTS = {"accept_rate": 1.0, "reply_rate": 1.0, "favourite_ratio": 1.0}
#: shares (of minors approached, written to, or in touch): 0.0 for an account with none
MINOR_SHARES = (
    "under13_share",
    "wide_age_gap_share",
    "no_mutual_share",
    "cross_country_share",
    "favourite_share",
    "quiet_hours_share",
    "minors_first_share",
)
#: the length of the quiet part of the day (hours), found per country from children's own messages
QUIET_HOURS = 6

_BAND_CODE = {b: i for i, b in enumerate(AGE_BANDS)}  # under_13=0 13_15=1 16_17=2 adult=3 unknown=4


def relevant(subject_band: pl.Expr, minor_band: pl.Expr) -> pl.Expr:
    """True where `minor_band` is a minor this subject is scored against (band codes)."""
    return (subject_band >= 1) & (minor_band <= 2)


def _subject_table(accounts: pl.DataFrame) -> pl.DataFrame:
    return accounts.with_row_index("id").select(
        pl.col("id"),
        pl.col("account_id"),
        pl.col("created_at"),
        pl.col("age_band").replace_strict(_BAND_CODE, return_dtype=pl.Int8).alias("band"),
        pl.col("country").fill_null(""),
    )


def encode_events(accounts: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """Events with integer account ids (`a` actor, `b` target) in the accounts table's order."""
    enum = pl.Enum(accounts["account_id"].to_list())
    return events.select(
        pl.col("ts"),
        pl.col("kind"),
        pl.col("actor").cast(enum).to_physical().cast(pl.UInt32).alias("a"),
        pl.col("target").cast(enum).to_physical().cast(pl.UInt32).alias("b"),
    )


def _max_in_window(p: pl.DataFrame, period: str, name: str) -> pl.DataFrame:
    if p.height == 0:
        return pl.DataFrame(schema={"s": pl.UInt32, name: pl.UInt32})
    return (
        p.select("s", "first_out")
        .sort("s", "first_out")
        .rolling(index_column="first_out", period=period, group_by="s")
        .agg(pl.len().alias(name))
        .group_by("s")
        .agg(pl.col(name).max())
    )


def component_labels(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected components of the undirected graph on nodes 0..n-1 with edges (a[i], b[i]):
    each node's label is the smallest node in its component.

    Numpy only (the base install has no SciPy): every root with an edge into another tree is
    hooked under the smaller root, then paths are shortened until each node points at its
    root; repeated until no edge joins two trees. A node only ever points at a smaller node,
    so there are no cycles, and each round removes at least one root.
    """
    parent = np.arange(n, dtype=np.int64)
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    while True:
        pa, pb = parent[a], parent[b]
        crossing = pa != pb
        if not crossing.any():
            return parent
        np.minimum.at(parent, np.maximum(pa, pb)[crossing], np.minimum(pa, pb)[crossing])
        while True:
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped


def _components(pm: pl.DataFrame, links: pl.DataFrame) -> pl.DataFrame:
    """Groups among each subject's approached minors: (s, target_groups).

    Per subject, a graph whose nodes are its approached minors and their minor connections,
    with an edge from each approached minor to each of its minor connections; two approached
    minors are in one group when they are connected in it (directly, or through a friend
    they share, or a chain of such links).
    """
    if pm.height == 0:
        return pl.DataFrame(schema={"s": pl.UInt32, "target_groups": pl.UInt32})
    nodes = (
        pl.concat(
            [pm.select("s", pl.col("m").alias("a")), links.select("s", pl.col("y").alias("a"))]
        )
        .unique()
        .with_row_index("node")
    )
    e = links.join(nodes, left_on=["s", "m"], right_on=["s", "a"]).join(
        nodes.rename({"node": "node_y"}), left_on=["s", "y"], right_on=["s", "a"]
    )
    labels = component_labels(nodes.height, e["node"].to_numpy(), e["node_y"].to_numpy())
    return (
        nodes.with_columns(pl.Series("label", labels))
        .join(pm, left_on=["s", "a"], right_on=["s", "m"], how="semi")
        .group_by("s")
        .agg(pl.col("label").n_unique().cast(pl.UInt32).alias("target_groups"))
    )


def minor_message_hours(acc: pl.DataFrame, ev: pl.DataFrame) -> pl.DataFrame:
    """(country, h, n): the messages minors sent in `ev` (encoded events), per country and hour
    of the day (UTC); what each country's quiet hours are found from."""
    minors = acc.filter(pl.col("band") <= 2).select(pl.col("id").alias("a"), "country")
    return (
        ev.filter(pl.col("kind") == MESSAGE)
        .join(minors, on="a")
        .group_by("country", pl.col("ts").dt.hour().cast(pl.Int8).alias("h"))
        .agg(pl.len().cast(pl.Int64).alias("n"))
    )


def quiet_hours(minor_hours: pl.DataFrame) -> pl.DataFrame:
    """(country, h) for the QUIET_HOURS consecutive hours of the day (UTC, wrapping at midnight)
    in which minors of each country sent fewest messages (the earliest start on a tie)."""
    rows = []
    for (country,), g in minor_hours.group_by("country"):
        n = np.zeros(24, dtype=np.int64)
        np.add.at(n, g["h"].to_numpy().astype(np.int64), g["n"].to_numpy())
        sums = np.array([n[(i + np.arange(QUIET_HOURS)) % 24].sum() for i in range(24)])
        i0 = int(np.argmin(sums))
        rows += [(country, (i0 + k) % 24) for k in range(QUIET_HOURS)]
    return pl.DataFrame(rows, schema={"country": pl.Utf8, "h": pl.Int8}, orient="row")


@dataclass
class PairState:
    """What the features are computed from: per (subject, minor) pair aggregates and the
    connection edges. Both merge exactly (min of times, OR of flags, sum of the message
    counts of disjoint batches of events), which is what makes incremental scoring possible
    (see scoring.IncrementalScorer)."""

    pairs: pl.DataFrame
    edges: pl.DataFrame
    hours: pl.DataFrame
    minor_hours: pl.DataFrame

    def merge(self, other: PairState) -> PairState:
        pairs = (
            pl.concat([self.pairs, other.pairs])
            .group_by("s", "m")
            .agg(
                pl.col("first_out").min(),
                pl.col("first_in").min(),
                pl.col("messages").sum(),
                pl.col("messages_in").sum(),
                *[pl.col(c).any() for c in _PAIR_FLAGS],
            )
        )
        edges = pl.concat([self.edges, other.edges]).unique()
        hours = pl.concat([self.hours, other.hours]).group_by("s", "m", "h").agg(pl.col("n").sum())
        minor_hours = (
            pl.concat([self.minor_hours, other.minor_hours])
            .group_by("country", "h")
            .agg(pl.col("n").sum())
        )
        return PairState(pairs, edges, hours, minor_hours)


_PAIR_FLAGS = ("requested", "handle", "accepted", "replied", "blocked", "reported")


def account_table(accounts: pl.DataFrame) -> pl.DataFrame:
    """Accounts with an integer id (row order), a band code and a country ("" if none)."""
    return _subject_table(accounts)


def pair_state(
    acc: pl.DataFrame, ev: pl.DataFrame, start: datetime | None, as_of: datetime
) -> PairState:
    """Stage 1: aggregate encoded events (a, b ints) into pairs (activity in (start, as_of])
    and connection edges (any time up to as_of)."""
    ev = ev.filter(pl.col("ts") <= as_of)
    bands = acc.select("id", "band")
    ev = ev.join(bands.rename({"id": "a", "band": "a_band"}), on="a", how="left").join(
        bands.rename({"id": "b", "band": "b_band"}), on="b", how="left"
    )
    acc_e = ev.filter(pl.col("kind") == CONTACT_ACCEPT).select("a", "b")
    edges = (
        pl.concat(
            [
                acc_e.rename({"a": "x", "b": "y"}),
                acc_e.select(pl.col("b").alias("x"), pl.col("a").alias("y")),
            ]
        )
        .filter(pl.col("x") != pl.col("y"))
        .unique()
    )
    act = ev if start is None else ev.filter(pl.col("ts") > start)
    out = (
        act.filter(
            pl.col("kind").is_in(OUTREACH_KINDS) & relevant(pl.col("a_band"), pl.col("b_band"))
        )
        .group_by(pl.col("a").alias("s"), pl.col("b").alias("m"))
        .agg(
            pl.col("ts").min().alias("first_out"),
            (pl.col("kind") == MESSAGE).sum().cast(pl.Int64).alias("messages"),
            (pl.col("kind") == CONTACT_REQUEST).any().alias("requested"),
            (pl.col("kind") == OFF_PLATFORM_HANDLE).any().alias("handle"),
        )
    )
    inn = (
        act.filter(relevant(pl.col("b_band"), pl.col("a_band")))
        .group_by(pl.col("b").alias("s"), pl.col("a").alias("m"))
        .agg(
            pl.col("ts").filter(pl.col("kind").is_in(FIRST_MOVE_KINDS)).min().alias("first_in"),
            (pl.col("kind") == CONTACT_ACCEPT).any().alias("accepted"),
            (pl.col("kind") == MESSAGE).any().alias("replied"),
            (pl.col("kind") == MESSAGE).sum().cast(pl.Int64).alias("messages_in"),
            (pl.col("kind") == BLOCK).any().alias("blocked"),
            (pl.col("kind") == REPORT).any().alias("reported"),
        )
    )
    pairs = (
        out.join(inn, on=["s", "m"], how="full", coalesce=True)
        .with_columns(
            pl.col(*_PAIR_FLAGS).fill_null(False), pl.col("messages", "messages_in").fill_null(0)
        )
        .select("s", "m", "first_out", "first_in", "messages", "messages_in", *_PAIR_FLAGS)
    )
    hours = (
        act.filter((pl.col("kind") == MESSAGE) & relevant(pl.col("a_band"), pl.col("b_band")))
        .group_by(
            pl.col("a").alias("s"),
            pl.col("b").alias("m"),
            pl.col("ts").dt.hour().cast(pl.Int8).alias("h"),
        )
        .agg(pl.len().cast(pl.Int64).alias("n"))
    )
    return PairState(pairs, edges, hours, minor_message_hours(acc, act))


def compute_features(
    accounts: pl.DataFrame,
    events: pl.DataFrame,
    as_of: datetime | None = None,
    window_days: float | None = DEFAULT_WINDOW_DAYS,
) -> pl.DataFrame:
    """One row per subject: account_id, the features in FEATURE_NAMES (sorted by account_id).

    `accounts` and `events` are validated frames (see io.py). Activity counts only in the
    window (as_of - window_days, as_of] (None: all of it); connections made at any time up to
    as_of count.
    """
    if as_of is None:
        as_of = cast(datetime, events["ts"].max()) if events.height else datetime(1970, 1, 1)
    start = None if window_days is None else as_of - timedelta(days=window_days)
    acc = _subject_table(accounts)
    state = pair_state(acc, encode_events(accounts, events), start, as_of)
    return features_from_state(acc, state, as_of)


def features_from_state(acc: pl.DataFrame, state: PairState, as_of: datetime) -> pl.DataFrame:
    """Stage 2: per-subject features from the pair aggregates and the connection edges."""
    pairs, edges = state.pairs, state.edges
    pairs = pairs.with_columns(
        (
            pl.col("first_out").is_not_null()
            & (pl.col("first_in").is_null() | (pl.col("first_out") <= pl.col("first_in")))
        ).alias("initiated")
    )

    # each pair's two ends with their age bands and countries
    def end(name: str) -> pl.DataFrame:
        return acc.select(
            pl.col("id").alias(name),
            pl.col("band").alias(f"{name}_band"),
            pl.col("country").alias(f"{name}_country"),
        )

    p = pairs.filter(pl.col("initiated")).join(end("m"), on="m").join(end("s"), on="s")

    # mutual connections: c connected to both the minor and the subject
    pm = p.select("s", "m")
    mutual = (
        pm.join(edges, left_on="m", right_on="x")
        .filter(pl.col("y") != pl.col("s"))
        .join(edges, left_on=["s", "y"], right_on=["x", "y"], how="semi")
        .select("s", "m")
        .unique()
        .with_columns(pl.lit(True).alias("mutual"))
    )
    p = p.join(mutual, on=["s", "m"], how="left").with_columns(pl.col("mutual").fill_null(False))

    # groups: approached minors linked directly or through minors they are connected with
    minor_ids = acc.filter(pl.col("band") <= 2).select("id")
    links = (
        pm.join(edges, left_on="m", right_on="x")
        .filter(pl.col("y") != pl.col("s"))
        .join(minor_ids, left_on="y", right_on="id", how="semi")
        .select("s", "m", "y")
    )
    groups = _components(pm, links)

    per_pair = pairs.group_by("s").agg(
        pl.col("first_out").is_not_null().sum().alias("minors_contacted"),
        (
            pl.col("first_in").is_not_null()
            & (pl.col("first_out").is_null() | (pl.col("first_in") < pl.col("first_out")))
        )
        .mean()
        .alias("minors_first_share"),
        pl.col("first_out").min().alias("first_contact"),
        pl.col("blocked").sum().alias("minors_blocking"),
        pl.col("reported").sum().alias("minors_reporting"),
        (pl.col("blocked") | pl.col("reported")).sum().alias("complainers"),
        (pl.col("handle") & pl.col("first_out").is_not_null()).sum().alias("off_platform_minors"),
    )
    # a child has had half a day to answer: younger approaches are no evidence either way
    settled = pl.col("first_out") <= pl.lit(as_of - timedelta(microseconds=SETTLE_US))
    per_init = p.group_by("s").agg(
        pl.len().alias("minors_initiated"),
        (pl.col("m_band") == 0).mean().alias("under13_share"),
        # adults (3) and accounts of unknown age (4) alike: two bands above 13-15
        (pl.min_horizontal(pl.col("s_band"), pl.lit(3)) - pl.col("m_band") >= 2)
        .mean()
        .alias("wide_age_gap_share"),
        (~pl.col("mutual")).mean().alias("no_mutual_share"),
        pl.col("accepted").filter(pl.col("requested") & settled).mean().alias("accept_rate"),
        pl.col("replied").filter(settled).mean().alias("reply_rate"),
        (
            (pl.col("s_country") != "")
            & (pl.col("m_country") != "")
            & (pl.col("s_country") != pl.col("m_country"))
        )
        .mean()
        .alias("cross_country_share"),
    )
    # how the account's messages spread over the minors it wrote to
    written = pairs.filter(pl.col("messages") > 0).with_columns(
        pl.col("messages").rank("min", descending=True).over("s").alias("rank")
    )
    quiet = (
        state.hours.join(acc.select(pl.col("id").alias("m"), "country"), on="m")
        .join(quiet_hours(state.minor_hours), on=["country", "h"], how="semi")
        .group_by("s", "m")
        .agg(pl.col("n").sum().alias("quiet"))
    )
    written = written.join(quiet, on=["s", "m"], how="left")
    per_written = written.group_by("s").agg(
        pl.min_horizontal("messages", "messages_in").max().alias("closest_exchange"),
        pl.col("messages").max().alias("favourite_messages"),
        (pl.col("messages").max() / pl.col("messages").sum()).alias("favourite_share"),
        (pl.col("quiet").fill_null(0).sum() / pl.col("messages").sum()).alias("quiet_hours_share"),
        pl.col("messages").filter(~pl.col("replied")).max().alias("unanswered_persistence"),
        (pl.col("messages").max() / pl.col("messages").median()).alias("favourite_ratio"),
        (pl.col("handle") & (pl.col("rank") <= FAVOURITES)).sum().alias("favourite_handles"),
    )
    w24 = _max_in_window(p, "24h", "max_new_minors_24h")
    w7 = _max_in_window(p, "7d", "max_new_minors_7d")

    subjects = acc.join(per_pair, left_on="id", right_on="s", how="left").filter(
        pl.col("band").is_in([3, 4])
        | (pl.col("band").is_in([1, 2]) & (pl.col("minors_contacted") > 0))
    )
    f = (
        subjects.join(per_init, left_on="id", right_on="s", how="left")
        .join(w24, left_on="id", right_on="s", how="left")
        .join(w7, left_on="id", right_on="s", how="left")
        .join(groups, left_on="id", right_on="s", how="left")
        .join(per_written, left_on="id", right_on="s", how="left")
    )
    f = f.with_columns(
        [pl.col(c).fill_null(0).cast(pl.Int64) for c in COUNT_FEATURES if c in f.columns]
        + [pl.col("complainers", "favourite_handles").fill_null(0)]
        + [pl.col(c).fill_null(v).cast(pl.Float64) for c, v in RATE_DEFAULTS.items()]
        + [pl.col(c).fill_null(0.0).cast(pl.Float64) for c in MINOR_SHARES]
    ).with_columns(
        (pl.col("target_groups") / pl.col("minors_initiated"))
        .fill_nan(0.0)
        .fill_null(0.0)
        .alias("target_group_share"),
        (pl.col("complainers") / pl.max_horizontal(pl.col("minors_contacted"), pl.lit(1)))
        .cast(pl.Float64)
        .alias("complaint_rate"),
        (pl.col("off_platform_minors") / pl.max_horizontal(pl.col("minors_contacted"), pl.lit(1)))
        .cast(pl.Float64)
        .alias("off_platform_rate"),
        (pl.col("favourite_handles") / pl.max_horizontal(pl.col("off_platform_minors"), pl.lit(1)))
        .cast(pl.Float64)
        .alias("handles_to_favourites"),
        (
            (pl.col("first_contact").fill_null(pl.lit(as_of)) - pl.col("created_at"))
            .dt.total_microseconds()
            .clip(lower_bound=0)
            / DAY_US
        ).alias("account_age_days"),
    )

    # two-hop: other subjects approaching the same minors, and which of them look risky
    risky = f.filter(
        (pl.col("complainers") >= 2)
        | ((pl.col("minors_initiated") >= 3) & (pl.col("account_age_days") < NEW_ACCOUNT_DAYS))
    ).select(pl.col("id").alias("s2"), pl.lit(True).alias("risky"))
    co = (
        pm.join(pm.rename({"s": "s2"}), on="m")
        .filter(pl.col("s") != pl.col("s2"))
        .select("s", "s2")
        .unique()
        .join(risky, on="s2", how="left")
        .group_by("s")
        .agg(
            pl.len().cast(pl.Int64).alias("cocontactors"),
            pl.col("risky").fill_null(False).sum().cast(pl.Int64).alias("risky_cocontactors"),
        )
    )
    f = (
        f.drop("cocontactors", "risky_cocontactors", strict=False)
        .join(co, left_on="id", right_on="s", how="left")
        .with_columns(pl.col("cocontactors", "risky_cocontactors").fill_null(0))
    )
    f = f.with_columns(pl.col("band").is_in([1, 2]).cast(pl.Float64).alias("declared_teen"))
    return f.select("account_id", *FEATURE_NAMES).sort("account_id")


def feature_matrix(features: pl.DataFrame) -> np.ndarray:
    """The features as a float64 matrix, columns in FEATURE_NAMES order."""
    return features.select(FEATURE_NAMES).to_numpy().astype(np.float64)
