"""Feature values on a hand-built log, worked out from the definitions in docs/pathways.md."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from safeguard.pathways.features import FEATURE_NAMES, compute_features

ACCOUNTS = [
    ("A", "2025-02-28T00:00:00Z", "adult", "GB"),  # new account approaching children cold
    ("T", "2020-01-01T00:00:00Z", "adult", "GB"),  # knows the children's parent
    ("P", "2019-01-01T00:00:00Z", "adult", "GB"),  # parent of k3
    ("O", "2022-01-01T00:00:00Z", "16_17", "GB"),  # older teen who writes to a younger one
    ("Q", "2022-01-01T00:00:00Z", "16_17", "GB"),  # older teen who contacts no minor
    ("U", "2024-01-01T00:00:00Z", "unknown", ""),  # unknown age, never contacts a minor
    ("k1", "2023-01-01T00:00:00Z", "13_15", "GB"),
    ("k2", "2023-01-01T00:00:00Z", "13_15", "GB"),
    ("k3", "2023-01-01T00:00:00Z", "13_15", "GB"),
    ("k4", "2023-01-01T00:00:00Z", "under_13", "FR"),
]
EVENTS = [
    # existing connections: k1-k2 friends, T-P colleagues, P-k3 parent and child
    ("2025-02-20T08:00:00Z", "contact_request", "k1", "k2"),
    ("2025-02-20T09:00:00Z", "contact_accept", "k2", "k1"),
    ("2025-02-05T08:00:00Z", "contact_request", "T", "P"),
    ("2025-02-05T09:00:00Z", "contact_accept", "P", "T"),
    ("2025-02-10T08:00:00Z", "contact_request", "P", "k3"),
    ("2025-02-10T09:00:00Z", "contact_accept", "k3", "P"),
    # T approaches k1, k2 and k3; k2 answers
    ("2025-03-01T09:00:00Z", "message", "T", "k1"),
    ("2025-03-01T09:05:00Z", "message", "T", "k2"),
    ("2025-03-01T09:06:00Z", "message", "k2", "T"),
    ("2025-03-01T09:10:00Z", "contact_request", "T", "k3"),
    # A approaches k1, k3, k4; k1 accepts and answers; k4 gets a handle, blocks and reports
    ("2025-03-01T10:00:00Z", "contact_request", "A", "k1"),
    ("2025-03-01T10:10:00Z", "contact_accept", "k1", "A"),
    ("2025-03-01T10:20:00Z", "message", "k1", "A"),
    ("2025-03-01T10:30:00Z", "contact_request", "A", "k3"),
    ("2025-03-01T11:00:00Z", "message", "A", "k4"),
    ("2025-03-01T12:00:00Z", "off_platform_handle", "A", "k4"),
    ("2025-03-01T13:00:00Z", "block", "k4", "A"),
    ("2025-03-01T13:01:00Z", "report", "k4", "A"),
    # the older teen messages a 13-15 year old, who does not answer
    ("2025-03-01T14:00:00Z", "message", "O", "k2"),
    ("2025-03-01T15:00:00Z", "message", "U", "A"),
]
AS_OF = datetime(2025, 3, 3)


def frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    return _frames(ACCOUNTS, EVENTS)


def _frames(
    accounts_rows: list[tuple[str, str, str, str]], event_rows: list[tuple[str, str, str, str]]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    ts = lambda s: datetime.fromisoformat(s.replace("Z", ""))  # noqa: E731
    accounts = pl.DataFrame(
        [(a, ts(c), b, k) for a, c, b, k in accounts_rows],
        schema=["account_id", "created_at", "age_band", "country"],
        orient="row",
    ).with_columns(pl.col("created_at").dt.cast_time_unit("us"))
    events = pl.DataFrame(
        [(ts(t), k, a, b) for t, k, a, b in event_rows],
        schema=["ts", "kind", "actor", "target"],
        orient="row",
    ).with_columns(pl.col("ts").dt.cast_time_unit("us"))
    return accounts, events


@pytest.fixture
def feats() -> dict[str, dict[str, float]]:
    accounts, events = frames()
    f = compute_features(accounts, events, as_of=AS_OF)
    return {r["account_id"]: r for r in f.iter_rows(named=True)}


def test_who_is_scored(feats) -> None:  # type: ignore[no-untyped-def]
    # adults and unknown ages always; a declared 13-15 or 16-17 year old once they contact a
    # minor (k1 sent its friend k2 a request; Q and k3 contacted no minor); under-13s never
    assert set(feats) == {"A", "T", "P", "O", "U", "k1"}


def test_cold_approacher(feats) -> None:  # type: ignore[no-untyped-def]
    a = feats["A"]
    expected = {
        "minors_contacted": 3,
        "minors_initiated": 3,
        "max_new_minors_24h": 3,
        "max_new_minors_7d": 3,
        "no_mutual_share": 1.0,  # k1's friend k2 is not A's connection; k3's parent neither
        "target_groups": 3,
        "target_group_share": 1.0,
        "under13_share": 1 / 3,
        "wide_age_gap_share": 1.0,  # an adult and children under 16
        "accept_rate": 0.5,  # requests to k1 (accepted) and k3 (not)
        "reply_rate": 1 / 3,
        "minors_blocking": 1,
        "minors_reporting": 1,
        "complaint_rate": 1 / 3,
        "account_age_days": 1 + 10 / 24,
        "cross_country_share": 1 / 3,
        "off_platform_minors": 1,
        "off_platform_rate": 1 / 3,
        "unanswered_persistence": 1,  # one message to k4, who never wrote back
        "favourite_ratio": 1.0,  # it wrote to k4 only
        "handles_to_favourites": 1.0,  # its one handle went to k4, the child it wrote to most
        "closest_exchange": 0,  # k4 got a message and never wrote back; k1 wrote, but got none
        "favourite_messages": 1,
        "favourite_share": 1.0,
        "quiet_hours_share": 0.0,  # k4 is in FR, where no child sent a message: no quiet hours
        "minors_first_share": 0.0,  # A moved first with all three
        "cocontactors": 2,  # T (k1, k3) and P (k3)
        "risky_cocontactors": 0,
        "declared_teen": 0,  # A declares an adult age
    }
    assert set(expected) == set(FEATURE_NAMES)
    for k, v in expected.items():
        assert a[k] == pytest.approx(v), k


def test_connected_adult(feats) -> None:  # type: ignore[no-untyped-def]
    t = feats["T"]
    assert t["minors_initiated"] == 3  # T wrote to k2 before k2 wrote back
    assert t["no_mutual_share"] == pytest.approx(2 / 3)  # P links T and k3
    assert t["target_groups"] == 2  # {k1, k2} are friends, {k3}
    assert t["accept_rate"] == 0.0  # one request, to k3, not accepted
    assert t["reply_rate"] == pytest.approx(1 / 3)
    assert t["account_age_days"] == pytest.approx(
        (datetime(2025, 3, 1, 9) - datetime(2020, 1, 1)).total_seconds() / 86400
    )
    assert t["cocontactors"] == 4  # A, P, O and k1 (who asked k2 to connect) share children with T
    assert t["risky_cocontactors"] == 1  # A: approached 3 children when 1.4 days old


#: one adult writes to five children unevenly and sends two of them a handle
SPREAD_ACCOUNTS = [
    ("S", "2020-01-01T00:00:00Z", "adult", "GB"),
    *[(f"c{i}", "2023-01-01T00:00:00Z", "13_15", "GB") for i in range(1, 6)],
]
SPREAD_SENT = {"c1": 12, "c2": 3, "c3": 2, "c4": 1, "c5": 1}
SPREAD_EVENTS = [
    (f"2025-03-01T{9 + i:02d}:{n:02d}:00Z", "message", "S", kid)
    for i, (kid, count) in enumerate(SPREAD_SENT.items())
    for n in range(count)
] + [
    ("2025-03-01T20:00:00Z", "message", "c2", "S"),
    ("2025-03-01T20:00:00Z", "message", "c5", "S"),
    ("2025-03-02T08:00:00Z", "off_platform_handle", "S", "c1"),
    ("2025-03-02T08:00:00Z", "off_platform_handle", "S", "c5"),
]


def test_how_messages_spread_over_the_children() -> None:
    accounts, log = _frames(SPREAD_ACCOUNTS, SPREAD_EVENTS)
    s = compute_features(accounts, log, as_of=AS_OF).row(0, named=True)
    assert s["account_id"] == "S"
    assert s["unanswered_persistence"] == 12  # c1 never answered; c2 and c5 did
    assert s["favourite_ratio"] == pytest.approx(12 / 2)  # the median child got two
    # its three most-written-to are c1, c2, c3: of the handles (c1, c5) one went to them
    assert s["handles_to_favourites"] == pytest.approx(0.5)
    assert s["off_platform_minors"] == 2


#: children in GB write at 06-23 h UTC, in the US at 00-17 h; an adult writes to one of each,
#: and answers a third child who wrote to it first
QUIET_ACCOUNTS = [
    ("S", "2020-01-01T00:00:00Z", "adult", "GB"),
    *[(f"g{i}", "2023-01-01T00:00:00Z", "13_15", "GB") for i in (1, 2, 3)],
    *[(f"u{i}", "2023-01-01T00:00:00Z", "13_15", "US") for i in (1, 2, 3)],
]
QUIET_EVENTS = [
    *[(f"2025-03-01T{h:02d}:30:00Z", "message", "g1", "g2") for h in range(6, 24)],
    *[(f"2025-03-01T{h:02d}:30:00Z", "message", "u1", "u2") for h in range(18)],
    # to g3: three messages in GB's quiet hours (00-05) and one at 14 h; g3 answers twice
    *[("2025-03-02T01:00:00Z", "message", "S", "g3")] * 3,
    ("2025-03-02T14:00:00Z", "message", "S", "g3"),
    *[("2025-03-02T14:10:00Z", "message", "g3", "S")] * 2,
    # to u3: 02 h is a busy hour for US children, 20 and 21 h are among their quiet ones
    # (18-23); a fixed night (22-06 h) or one quiet window for both countries (00-05 h) would
    # count 02 h and not 20 or 21 h
    ("2025-03-02T02:00:00Z", "message", "S", "u3"),
    ("2025-03-02T20:00:00Z", "message", "S", "u3"),
    ("2025-03-02T21:00:00Z", "message", "S", "u3"),
    # g1 writes to S first, at a busy hour, and S answers
    ("2025-03-02T15:00:00Z", "message", "g1", "S"),
    ("2025-03-02T15:05:00Z", "message", "S", "g1"),
]


def test_how_an_account_talks_with_the_children_it_is_in_touch_with() -> None:
    accounts, log = _frames(QUIET_ACCOUNTS, QUIET_EVENTS)
    s = compute_features(accounts, log, as_of=AS_OF).row(0, named=True)
    assert s["account_id"] == "S"
    assert s["quiet_hours_share"] == pytest.approx(5 / 8)  # g3's three, u3's two at 20-21 h
    assert s["closest_exchange"] == 2  # four sent to g3, two back; one each way with g1
    assert s["favourite_messages"] == 4
    assert s["favourite_share"] == pytest.approx(4 / 8)
    assert s["minors_first_share"] == pytest.approx(1 / 3)  # g1 of g1, g3 and u3


def test_older_teen_and_defaults(feats) -> None:  # type: ignore[no-untyped-def]
    o = feats["O"]
    assert (o["minors_contacted"], o["minors_initiated"], o["target_groups"]) == (1, 1, 1)
    assert o["accept_rate"] == 1.0  # no requests: no evidence either way
    assert o["wide_age_gap_share"] == 0.0  # a 16-17 and a 13-15: one band apart
    assert o["reply_rate"] == 0.0
    u = feats["U"]
    assert u["minors_contacted"] == 0 and u["reply_rate"] == 1.0 and u["target_groups"] == 0
    assert (u["unanswered_persistence"], u["favourite_ratio"], u["handles_to_favourites"]) == (
        0,
        1.0,
        0.0,
    )
    assert u["account_age_days"] == pytest.approx((AS_OF - datetime(2024, 1, 1)).days)


def test_the_age_gap_counts_bands_between_the_account_and_each_child() -> None:
    accounts = [
        ("teen", "2022-01-01T00:00:00Z", "16_17", "GB"),
        ("adult", "2020-01-01T00:00:00Z", "adult", "GB"),
        ("nobody", "2020-01-01T00:00:00Z", "unknown", "GB"),
        ("young", "2023-01-01T00:00:00Z", "under_13", "GB"),
        ("mid", "2023-01-01T00:00:00Z", "13_15", "GB"),
        ("older", "2023-01-01T00:00:00Z", "16_17", "GB"),
    ]
    events = [
        ("2025-03-01T09:00:00Z", "message", "teen", "young"),  # two bands: counts
        ("2025-03-01T09:01:00Z", "message", "teen", "mid"),  # one band
        ("2025-03-01T09:02:00Z", "message", "adult", "older"),  # one band
        ("2025-03-01T09:03:00Z", "message", "adult", "mid"),  # two bands: counts
        ("2025-03-01T09:04:00Z", "message", "adult", "young"),  # three: counts
        ("2025-03-01T09:05:00Z", "message", "nobody", "older"),  # unknown age: as an adult
    ]
    f = compute_features(*_frames(accounts, events), as_of=AS_OF)
    got = dict(zip(f["account_id"], f["wide_age_gap_share"], strict=True))
    assert got == pytest.approx({"teen": 0.5, "adult": 2 / 3, "nobody": 0.0})


def test_a_declared_teenager_is_scored_against_every_minor() -> None:
    # an adult posing as a 13-15 year old approaches children of its declared age and older;
    # a declared under-13 doing the same is not scored
    accounts = [
        ("poser", "2025-02-28T00:00:00Z", "13_15", "GB"),
        ("small", "2024-01-01T00:00:00Z", "under_13", "GB"),
        *[(f"t{i}", "2023-01-01T00:00:00Z", "13_15", "GB") for i in (1, 2, 3)],
        ("older", "2023-01-01T00:00:00Z", "16_17", "GB"),
    ]
    events = [
        *[(f"2025-03-01T0{i}:00:00Z", "message", "poser", f"t{i}") for i in (1, 2, 3)],
        ("2025-03-01T04:00:00Z", "off_platform_handle", "poser", "older"),
        ("2025-03-01T05:00:00Z", "message", "small", "t1"),
        ("2025-03-01T06:00:00Z", "message", "small", "older"),
    ]
    f = compute_features(*_frames(accounts, events), as_of=AS_OF)
    assert f["account_id"].to_list() == ["poser"]
    p = f.row(0, named=True)
    assert p["minors_contacted"] == p["minors_initiated"] == p["max_new_minors_24h"] == 4
    assert p["off_platform_minors"] == 1 and p["minors_first_share"] == 0.0
    assert p["wide_age_gap_share"] == 0.0  # no age gap between declared teenagers
    assert p["cocontactors"] == 0  # the under-13 reached t1 and older too, but is not scored
    assert p["declared_teen"] == 1


def test_window_and_as_of() -> None:
    accounts, events = frames()
    # a one-day window ending at AS_OF leaves out all of 1 March
    f = compute_features(accounts, events, as_of=AS_OF, window_days=1)
    assert f.filter(pl.col("account_id") == "A")["minors_contacted"][0] == 0
    # as of 10:45 on 1 March A has approached k1 and k3 only; neither has had 12 hours
    f = compute_features(accounts, events, as_of=datetime(2025, 3, 1, 10, 45))
    a = f.filter(pl.col("account_id") == "A").row(0, named=True)
    assert a["minors_initiated"] == 2
    assert a["accept_rate"] == 1.0 and a["reply_rate"] == 1.0  # nothing settled yet
    assert a["minors_blocking"] == 0

    def rates(hour: int, minute: int) -> tuple[float, float]:
        f = compute_features(accounts, events, as_of=datetime(2025, 3, 1, hour, minute))
        a = f.filter(pl.col("account_id") == "A").row(0, named=True)
        return a["accept_rate"], a["reply_rate"]

    # an approach counts once the child has had 12 hours to answer: at 22:15 only k1's
    # (10:00, accepted and answered); at 23:05 k3's (10:30, ignored) and k4's (11:00) too
    assert rates(22, 15) == (1.0, 1.0)
    assert rates(23, 5) == (0.5, pytest.approx(1 / 3))


def test_groups_join_through_shared_friends() -> None:
    accounts, _ = frames()
    extra = pl.DataFrame(
        {
            "account_id": ["k5", "k6"],
            "created_at": [datetime(2023, 1, 1)] * 2,
            "age_band": ["13_15", "13_15"],
            "country": ["GB", "GB"],
        }
    ).with_columns(pl.col("created_at").dt.cast_time_unit("us"))
    accounts = pl.concat([accounts, extra])
    rows = [
        # k1 - k2 - k5 are a chain of friends; k6 knows nobody; P (an adult) knows k3
        ("2025-02-20T09:00:00", "contact_accept", "k2", "k1"),
        ("2025-02-20T09:00:00", "contact_accept", "k5", "k2"),
        ("2025-02-10T09:00:00", "contact_accept", "k3", "P"),
        ("2025-02-10T09:00:00", "contact_accept", "k6", "P"),
        # A approaches k1, k5, k3 and k6, and is itself connected to k1 and k6
        ("2025-03-01T10:00:00", "message", "A", "k1"),
        ("2025-03-01T10:01:00", "message", "A", "k5"),
        ("2025-03-01T10:02:00", "message", "A", "k3"),
        ("2025-03-01T10:03:00", "message", "A", "k6"),
        ("2025-03-01T11:00:00", "contact_accept", "k1", "A"),
        ("2025-03-01T11:00:00", "contact_accept", "k6", "A"),
    ]
    events = pl.DataFrame(
        [(datetime.fromisoformat(t), k, a, b) for t, k, a, b in rows],
        schema=["ts", "kind", "actor", "target"],
        orient="row",
    ).with_columns(pl.col("ts").dt.cast_time_unit("us"))
    f = compute_features(accounts, events, as_of=AS_OF)
    a = f.filter(pl.col("account_id") == "A").row(0, named=True)
    # {k1, k5} share their friend k2; k3 and k6 are linked only through adults (P, and A
    # itself), which never joins groups
    assert a["target_groups"] == 3
    assert a["target_group_share"] == pytest.approx(3 / 4)
