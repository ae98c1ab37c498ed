"""`safeguard pathways ...`: grooming and sextortion risk from behavioural metadata (issue #7).

safeguard pathways score --accounts FILE --events FILE [--json] [--capacity N | --threshold X]
safeguard pathways explain ACCOUNT --accounts FILE --events FILE [--json]
safeguard pathways features --accounts FILE --events FILE --out FILE [--engine polars|spark]
safeguard pathways simulate --out DIR [--seed N] [--scale X] [--format csv|jsonl|parquet]
safeguard pathways evaluate [--seeds 9001-9005 | --data DIR] [--json]
safeguard pathways train [--seeds 101-112] [--calibration-seeds 201-209] [--data DIR] [--out FILE]

Only who-contacted-whom-when metadata is read; no message content, ever.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import typer
from rich.table import Table

from safeguard.cli.output import err_console, out_console, print_json, reporter
from safeguard.errors import InvalidRequest

app = typer.Typer(
    help="Grooming and sextortion risk from behavioural metadata (works on encrypted services).",
    no_args_is_help=True,
)

JSON = typer.Option(False, "--json", help="Print JSON instead of text.")
ACCOUNTS = typer.Option(..., "--accounts", help="Accounts file (CSV, JSON Lines or Parquet).")
EVENTS = typer.Option(..., "--events", help="Events file (CSV, JSON Lines or Parquet).")
MODEL = typer.Option(None, "--model", help="A model file from `train` (default: the shipped one).")
RANDOMISE = typer.Option(
    False,
    "--randomise",
    help="Domain randomisation: each seed's population draws its own parameters.",
)


def check_scale(scale: float) -> None:
    """A population scale the simulator can draw (its counts multiplied by `scale`)."""
    if not 0 < scale <= 100:
        raise InvalidRequest("--scale must be above 0 and at most 100")


def parse_seeds(text: str) -> list[int]:
    """'9001-9005', '9001,9003' or a mix: the seeds, in order."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if not part:
                continue
            if "-" in part[1:]:
                lo, hi = part.split("-", 1)
                a, b = int(lo), int(hi)
                if b < a or b - a > 1000:
                    raise ValueError
                seeds += list(range(a, b + 1))
            else:
                seeds.append(int(part))
    except ValueError:
        raise InvalidRequest(f"bad seed list {text!r} (e.g. 9001-9005 or 7,8,9)") from None
    if not seeds:
        raise InvalidRequest("no seeds given")
    return seeds


def _as_of(text: str | None) -> datetime | None:
    if text is None:
        return None
    import polars as pl

    from safeguard.pathways.io import parse_timestamps

    parsed = parse_timestamps(pl.Series("as_of", [text]))[0]
    if parsed is None:
        raise InvalidRequest(f"--as-of {text!r} is not an ISO 8601 UTC time")
    return parsed


def _warn_unknown(unknown: dict[str, int], path: Path) -> None:
    if unknown:
        listed = ", ".join(f"{k!r} x{n}" for k, n in unknown.items())
        err_console.print(
            f"warning: {path}: skipped {sum(unknown.values())} event(s) of unknown kind: {listed}",
            markup=False,
        )


@app.command("score")
def score(
    accounts: Path = ACCOUNTS,
    events: Path = EVENTS,
    model_path: Path | None = MODEL,
    as_of: str | None = typer.Option(
        None, "--as-of", help="Score as of this time (default: the last event)."
    ),
    threshold: float | None = typer.Option(
        None, "--threshold", help="Flag at or above this score (default: the model's)."
    ),
    capacity: int | None = typer.Option(
        None, "--capacity", help="Reviewers can take at most this many: flag the top N only."
    ),
    window_days: float = typer.Option(30.0, "--window-days", help="Sliding window for activity."),
    flagged_only: bool = typer.Option(False, "--flagged-only", help="List flagged accounts only."),
    rows_shown: int = typer.Option(20, "--limit", help="Rows in the text table."),
    json_output: bool = JSON,
) -> None:
    """Score every adult, unknown-age and older-teen account; highest risk first."""
    from safeguard.pathways.calibration import Calibration, compare
    from safeguard.pathways.io import load
    from safeguard.pathways.model import Model
    from safeguard.pathways.scoring import explain, score_log

    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise InvalidRequest("--threshold must be between 0 and 1")
    if capacity is not None and capacity < 0:
        raise InvalidRequest("--capacity must be 0 or more")
    if window_days <= 0:
        raise InvalidRequest("--window-days must be positive")
    model = Model.load(model_path)
    log = load(accounts, events)
    _warn_unknown(log.unknown_kinds, events)
    scored, thr = score_log(
        log,
        model,
        as_of=_as_of(as_of),
        threshold=threshold,
        capacity=capacity,
        window_days=window_days,
    )
    rows = explain(scored, model, all_rows=False)
    if flagged_only:
        rows = [r for r in rows if r.flagged]
    calibration = Calibration.of(model.info.get("false_positive_budget"))
    seen = compare(scored, calibration)
    if seen.shifted:
        assert calibration is not None
        err_console.print(
            f"warning: a tenth of the {seen.in_touch:,} accounts in touch with minors score "
            f"over {seen.quantiles['p90']:.3g}, above what 99% of benign accounts reached on "
            f"the model's calibration populations ({calibration.benign_quantiles['p99']:.3g}): "
            "this population is unlike them, and the threshold's false-positive estimate may "
            "not hold here; review a sample of the flags, or flag by --capacity",
            markup=False,
        )
    if json_output:
        sys.stdout.write("[")
        for i, r in enumerate(rows):
            sys.stdout.write(("," if i else "") + "\n" + json.dumps(r.to_json()))
        sys.stdout.write("\n]\n")
        return
    n_flagged = sum(r.flagged for r in rows)
    out_console.print(
        f"{len(scored):,} account(s) scored, {n_flagged:,} flagged (threshold {thr:.4g})"
    )
    if calibration is not None:
        note = "" if thr == calibration.threshold else f"; this run flags at {thr:.4g}"
        out_console.print(calibration.describe() + note, markup=False, soft_wrap=True)
    if seen.quantiles:
        out_console.print(
            f"scores of the {seen.in_touch:,} accounts in touch with minors: "
            + _quantiles(seen.quantiles)
            + (
                f" (benign accounts on the calibration populations, highest score each: 99th "
                f"percentile {calibration.benign_quantiles['p99']:.3g})"
                if calibration is not None
                else ""
            ),
            markup=False,
            soft_wrap=True,
        )
    table = Table("account", "score", "flagged", "reasons")
    for r in rows[:rows_shown]:
        table.add_row(
            r.account_id,
            f"{r.score:.4f}",
            "yes" if r.flagged else "",
            "\n".join(f"{x['code']}: {x['text']}" for x in r.reasons),
        )
    out_console.print(table)


@app.command("explain")
def explain_cmd(
    account: str = typer.Argument(..., help="The account to explain."),
    accounts: Path = ACCOUNTS,
    events: Path = EVENTS,
    model_path: Path | None = MODEL,
    as_of: str | None = typer.Option(None, "--as-of", help="Default: the last event."),
    threshold: float | None = typer.Option(
        None, "--threshold", help="Flag at or above this score (default: the model's)."
    ),
    window_days: float = typer.Option(30.0, "--window-days", help="Sliding window for activity."),
    limit: int = typer.Option(50, "--limit", help="Minors listed in the text output."),
    json_output: bool = JSON,
) -> None:
    """Why an account scored as it did: reasons, features beside benign accounts, and its
    contacts with minors (counts and times only, never content)."""
    from safeguard.pathways.explain import explain_account
    from safeguard.pathways.io import load
    from safeguard.pathways.model import Model
    from safeguard.pathways.rules import plain_words

    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise InvalidRequest("--threshold must be between 0 and 1")
    if window_days <= 0:
        raise InvalidRequest("--window-days must be positive")
    log = load(accounts, events)
    _warn_unknown(log.unknown_kinds, events)
    e = explain_account(
        log,
        account,
        Model.load(model_path),
        as_of=_as_of(as_of),
        threshold=threshold,
        window_days=window_days,
    )
    if json_output:
        print_json(e.to_json())
        return
    state = "FLAGGED" if e.flagged else "not flagged"
    out_console.print(
        f"{e.account_id} ({e.age_band.replace('_', '-')}, {e.country or 'country unknown'}, "
        f"created {e.created_at:%Y-%m-%d %H:%M} UTC)\n"
        f"score {e.score:.4f}: {state} (threshold {e.threshold:.4g}) as of "
        f"{e.as_of:%Y-%m-%d %H:%M} UTC, last {e.window_days:g} days",
        markup=False,
    )
    out_console.print("\nReasons:", markup=False)
    for r in e.reasons:
        out_console.print(f"  {r['code']}: {r['text']} ({plain_words(r['code'])})", markup=False)
    table = Table("feature", "value", "95% of benign", "")
    for f in e.features:
        edge = "" if f.benign_edge is None else f"{f.benign_edge:.3g}"
        table.add_row(f.name, f"{f.value:.3g}", edge, "beyond" if f.beyond else "")
    out_console.print(table)
    contacts = Table(
        "minor",
        "first contact",
        "first move",
        "out/in",
        "what followed",
        title=f"Minors in touch ({len(e.contacts)}; times UTC)",
    )
    for c in e.contacts[:limit]:
        followed = [
            "accepted" if c.accepted else "",
            f"{c.quiet_hours_messages} in quiet hours" if c.quiet_hours_messages else "",
            f"handle {c.handle_sent_at:%m-%d %H:%M}" if c.handle_sent_at else "",
            f"blocked {c.blocked_at:%m-%d %H:%M}" if c.blocked_at else "",
            f"reported {c.reported_at:%m-%d %H:%M}" if c.reported_at else "",
        ]
        contacts.add_row(
            f"{c.account_id} ({c.age_band})",
            f"{c.first_contact:%m-%d %H:%M}",
            "account" if c.account_moved_first else "minor",
            f"{c.messages_sent}/{c.messages_received}",
            ", ".join(x for x in followed if x),
        )
    out_console.print(contacts)


@app.command("features")
def features(
    accounts: Path = ACCOUNTS,
    events: Path = EVENTS,
    out: Path = typer.Option(..., "--out", help="Where to write (.csv, .jsonl or .parquet)."),
    engine: str = typer.Option("polars", "--engine", help="polars (one machine) or spark."),
    as_of: str | None = typer.Option(None, "--as-of", help="Default: the last event."),
    window_days: float = typer.Option(30.0, "--window-days"),
) -> None:
    """Compute the feature table (one row per scored account) without scoring it."""
    from safeguard.pathways.features import compute_features
    from safeguard.pathways.io import load, write_table

    if engine not in ("polars", "spark"):
        raise InvalidRequest("--engine must be polars or spark")
    log = load(accounts, events)
    _warn_unknown(log.unknown_kinds, events)
    when = _as_of(as_of)
    if engine == "spark":
        from safeguard.pathways.spark_features import compute_features_spark, local_session

        spark = local_session()
        try:
            table = compute_features_spark(
                spark, log.accounts, log.events, as_of=when, window_days=window_days
            )
        finally:
            spark.stop()
    else:
        table = compute_features(log.accounts, log.events, as_of=when, window_days=window_days)
    write_table(table, out)
    out_console.print(f"{table.height:,} account(s) -> {out}")


@app.command("simulate")
def simulate_cmd(
    out: Path = typer.Option(..., "--out", help="Directory to write the population into."),
    seed: int = typer.Option(1, "--seed"),
    scale: float = typer.Option(1.0, "--scale", help="Multiply every population count."),
    days: int = typer.Option(28, "--days", help="Days of activity (at most 30)."),
    fmt: str = typer.Option("csv", "--format", help="csv, jsonl or parquet."),
    randomise: bool = RANDOMISE,
    json_output: bool = JSON,
) -> None:
    """Write a synthetic population: accounts, events, truth (role of each account), params."""
    from safeguard.pathways.io import write_table
    from safeguard.pathways.simulate import SimParams, randomised, simulate

    if fmt not in ("csv", "jsonl", "parquet"):
        raise InvalidRequest("--format must be csv, jsonl or parquet")
    check_scale(scale)
    if not 1 <= days <= 30:
        raise InvalidRequest("--days must be between 1 and 30")
    params = SimParams(seed=seed, scale=scale, days=days)
    if randomise:
        params = randomised(seed, scale, params)
    pop = simulate(params)
    out.mkdir(parents=True, exist_ok=True)
    ext = {"csv": "csv", "jsonl": "jsonl", "parquet": "parquet"}[fmt]
    write_table(pop.accounts, out / f"accounts.{ext}", fmt)
    write_table(pop.events, out / f"events.{ext}", fmt)
    write_table(pop.truth, out / "truth.csv", "csv")
    (out / "params.json").write_text(json.dumps(params.to_json(), indent=2) + "\n")
    summary = {
        "out": str(out),
        "accounts": pop.accounts.height,
        "events": pop.events.height,
        "roles": dict(sorted(pop.truth.group_by("role").len().iter_rows())),
        "files": [f"accounts.{ext}", f"events.{ext}", "truth.csv", "params.json"],
    }
    if json_output:
        print_json(summary)
        return
    out_console.print(
        f"{summary['accounts']:,} accounts and {summary['events']:,} events -> {out}\n"
        + ", ".join(f"{k} {v:,}" for k, v in summary["roles"].items())  # type: ignore[attr-defined]
    )


@app.command("evaluate")
def evaluate_cmd(
    seeds: str | None = typer.Option(
        None, "--seeds", help="Simulate and evaluate these seeds (default 9001-9005)."
    ),
    data: list[Path] = typer.Option(
        [],
        "--data",
        help="Evaluate a directory written by `simulate` (or another generator) instead; "
        "repeatable: the populations are summarised together, as seeds are.",
    ),
    model_path: Path | None = MODEL,
    scale: float = typer.Option(1.0, "--scale", help="Population scale for --seeds."),
    step_hours: float = typer.Option(3.0, "--step-hours", help="Hours between checkpoints."),
    threshold: float | None = typer.Option(None, "--threshold"),
    randomise: bool = RANDOMISE,
    json_output: bool = JSON,
) -> None:
    """Precision at k, recall, PR-AUC, flagged rate per group, time to flag."""
    from safeguard.pathways.evaluate import evaluate, evaluate_populations, load_population
    from safeguard.pathways.model import Model
    from safeguard.pathways.simulate import SimParams

    if seeds is not None and data:
        raise InvalidRequest("give --seeds or --data, not both")
    if randomise and data:
        raise InvalidRequest("--randomise draws populations for --seeds; --data is one given")
    if step_hours <= 0:
        raise InvalidRequest("--step-hours must be positive")
    check_scale(scale)
    model = Model.load(model_path)
    with reporter() as rep:
        if data:
            pops = [load_population(d) for d in data]
            rep.start(sum(int(p.params.days * 24 / step_hours) + 1 for p in pops), "replaying")
            result = evaluate_populations(
                pops, model, threshold=threshold, step_hours=step_hours, progress=rep.advance
            )
            for entry, d in zip(result["per_seed"], data, strict=True):
                entry["data"] = str(d)
        else:
            seed_list = parse_seeds(seeds or "9001-9005")
            rep.start(len(seed_list) * (int(28 * 24 / step_hours) + 1), "replaying")
            result = evaluate(
                seed_list,
                model,
                params=SimParams(scale=scale),
                threshold=threshold,
                step_hours=step_hours,
                progress=rep.advance,
                randomise=randomise,
            )
    if json_output:
        print_json(result)
    else:
        _print_evaluation(result)
    for breach in result["limit_breaches"]:
        err_console.print(
            f"limit broken: {breach['ever_flagged']} of {breach['accounts']} {breach['group']} "
            f"accounts flagged ({breach['ever_flagged_rate']:.1%}, limit "
            f"{result['protected_limit']:.0%})",
            markup=False,
        )
    if result["limit_breaches"]:
        raise typer.Exit(1)


def _print_evaluation(r: dict) -> None:
    from safeguard.pathways.calibration import Calibration
    from safeguard.pathways.schema import WHO_IS_SCORED

    p = out_console.print
    # a directory (evaluate --data) is named by its path, a simulated population by its seed
    names = [s.get("data") or f"seed {s['seed']}" for s in r["per_seed"]]
    what = (
        f"populations {', '.join(names)}"
        if any("data" in s for s in r["per_seed"])
        else f"seeds {', '.join(str(n) for n in r['seeds'])}"
    )
    p(f"{what}  threshold {r['threshold']:.4g}  checkpoints every {r['step_hours']} h")
    p(
        f"precision@k {r['precision_at_k']:.3f} (min over seeds {r['precision_at_k_min']:.3f})  "
        f"recall {r['recall_at_threshold']:.3f}  PR-AUC {r['pr_auc']:.3f}"
    )
    unscored = r["offenders_not_scored"]
    if unscored["count"]:
        offenders = sum(s["offenders"] for s in r["per_seed"])
        bands = ", ".join(f"{n} {b}" for b, n in unscored["by_declared_age_band"].items())
        p(
            f"{unscored['count']} of {offenders} offenders were never scored (declared age: "
            f"{bands}; {WHO_IS_SCORED}) and count as missed",
            markup=False,
        )
    ro = r["rules_only"]
    p(f"rules only: precision@k {ro['precision_at_k']:.3f}  PR-AUC {ro['pr_auc']:.3f}")
    p(_time_to_flag(r["time_to_flag_hours"]), markup=False)
    c = r["children_contacted_before_flag"]
    p(f"children contacted before the flag: median {c['median']}, mean {c['mean']}")
    budget = Calibration.of(r.get("model_false_positive_budget"))
    if budget is not None:
        p(
            "the model's calibration populations: "
            + _in_touch(budget.benign_flagged, budget.benign_accounts, budget.benign_quantiles),
            markup=False,
        )
    for name, seed in zip(names, r["per_seed"], strict=True):
        b = seed["benign_in_touch"]
        if b.get("accounts"):
            p(
                f"{name}: " + _in_touch(b["ever_flagged"], b["accounts"], b["score_quantiles"]),
                markup=False,
            )
    table = Table("group", "accounts", "ever flagged", "rate", "flagged at end")
    for role, g in r["flagged_rate_by_group"].items():
        mark = " *" if role in r["protected_groups"] else ""
        table.add_row(
            role + mark,
            f"{g['accounts']:,}",
            str(g["ever_flagged"]),
            f"{g['ever_flagged_rate']:.2%}",
            f"{g['flagged_at_end_rate']:.2%}",
        )
    p(table)
    p("* groups whose flagged rate must stay at or under 1%")


def _in_touch(flagged: int, accounts: int, q: dict[str, float]) -> str:
    """A population's benign accounts in touch with minors (calibration.in_touch), in words;
    the share in percent to two significant figures (0.0043%, 0.43%, 12%)."""
    share = f"{100 * flagged / max(accounts, 1):.2g}%"
    return (
        f"{flagged:,} of {accounts:,} benign accounts in touch with minors ever flagged "
        f"({share}); their highest scores: {_quantiles(q)}"
    )


def _time_to_flag(t: dict) -> str:
    """The evaluation's time from first contact to flag, in words: overall and by offender
    pattern (`offender_burst` -> burst), naming the patterns whose median is not reached."""
    median = f"{t['median']:.1f} h" if t["median"] is not None else "not reached"
    by = t["by_pattern_median"]
    reached = [
        f"{k.removeprefix('offender_')} {v:.1f} h" for k, v in sorted(by.items()) if v is not None
    ]
    not_reached = [k.removeprefix("offender_") for k, v in sorted(by.items()) if v is None]
    return (
        f"time from first contact to flag: median {median} (never flagged {t['never_flagged']} "
        f"of {t['offenders']}); by pattern: {', '.join(reached) or 'none reached'}"
        + (
            f"; not reached (half or more never flagged): {', '.join(not_reached)}"
            if not_reached
            else ""
        )
    )


def _quantiles(q: dict[str, float]) -> str:
    return f"median {q['p50']:.3g}, 90th percentile {q['p90']:.3g}, 99th {q['p99']:.3g}"


@app.command("train")
def train_cmd(
    seeds: str | None = typer.Option(
        None, "--seeds", help="Simulator seeds to fit the trees on (default 101-112)."
    ),
    calibration_seeds: str | None = typer.Option(
        None, "--calibration-seeds", help="Seeds for calibration and the threshold (201-209)."
    ),
    out: Path = typer.Option(
        Path("pathways-model.json"),
        "--out",
        help="Where to write the model; `score --model FILE` uses it (`make pathways-model` "
        "rebuilds the shipped one).",
    ),
    scale: float = typer.Option(
        1.0, "--scale", help="Population scale for the seeds (the shipped model: 1)."
    ),
    randomise: bool = typer.Option(
        True,
        "--randomise/--fixed",
        help="Domain randomisation (the default, as the shipped model): each seed's population "
        "draws its own parameters, adversarial offenders and log noise; --fixed: the default "
        "population.",
    ),
    data: list[Path] = typer.Option(
        [],
        "--data",
        help="A labelled population to fit on besides the seeds: a directory of accounts, "
        "events and truth (as `evaluate --data` reads). Repeatable.",
    ),
    calibration_data: list[Path] = typer.Option(
        [],
        "--calibration-data",
        help="A labelled population to calibrate and choose the threshold on besides the "
        "calibration seeds. Repeatable.",
    ),
    json_output: bool = JSON,
) -> None:
    """Train a model on the simulator's populations, and on labelled populations of your own
    if given (`make pathways-model` adds the development generator's, as shipped)."""
    from safeguard.pathways.simulate import SimParams
    from safeguard.pathways.train import CALIBRATION_SEEDS, TRAIN_SEEDS, train

    check_scale(scale)

    tr = tuple(parse_seeds(seeds)) if seeds else TRAIN_SEEDS
    cal = tuple(parse_seeds(calibration_seeds)) if calibration_seeds else CALIBRATION_SEEDS
    if set(tr) & set(cal):
        raise InvalidRequest("training and calibration seeds must differ")
    if {p.resolve() for p in data} & {p.resolve() for p in calibration_data}:
        raise InvalidRequest("training and calibration populations must differ")
    with reporter() as rep:
        rep.start(len(tr) + len(cal) + len(data) + len(calibration_data) + 1, "training")
        model = train(
            tr,
            cal,
            SimParams(scale=scale),
            progress=lambda _msg: rep.advance(),
            randomise=randomise,
            train_data=tuple(data),
            calibration_data=tuple(calibration_data),
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out)
    info = {"out": str(out), "threshold": model.threshold, "trees": len(model.trees), **model.info}
    if json_output:
        print_json(info)
    else:
        out_console.print(
            f"model -> {out} ({len(model.trees)} trees, threshold {model.threshold:.4g})"
        )
