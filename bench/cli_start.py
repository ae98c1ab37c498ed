"""CLI start-up benchmark: the CPU a short `safeguard` command costs, most of it imports.

Runs each command `--runs` times as a real process (the installed entry point, against a
throwaway store with one bank) and prints the median CPU seconds (user + system, the
process and its children) of each, beside the baseline in the same run: the interpreter
importing SQLAlchemy and Typer, which every command that opens the store needs. Two
checkouts can be compared by running this from each: the ratios to the baseline are what
to compare, as the machine's speed moves between runs.

    python bench/cli_start.py --json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

COMMANDS = {
    "--help": ["--help"],
    "bank list": ["bank", "list"],
    "match (one PDQ hash)": ["match", "--hashes", "{hashes}", "--signal-type", "pdq"],
    "cases list": ["cases", "list"],
    "stats --help": ["stats", "--help"],
}
BASELINE = [sys.executable, "-c", "import sqlalchemy, typer"]


def _cpu(argv: list[str], env: dict[str, str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(argv, env=env, capture_output=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed: {done.stderr.decode()[-500:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    exe = str(Path(sys.executable).with_name("safeguard"))
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "SAFEGUARD_HOME": tmp}
        env.pop("SAFEGUARD_DATABASE_URL", None)
        hashes = Path(tmp, "hashes.txt")
        hashes.write_text("f" * 64 + "\n")
        subprocess.run([exe, "bank", "create", "known"], env=env, check=True, capture_output=True)
        runs: dict[str, list[float]] = {"baseline": [], **{name: [] for name in COMMANDS}}
        for _ in range(args.runs):  # interleaved, so every command sees the same machine
            runs["baseline"].append(_cpu(BASELINE, env))
            for name, argv in COMMANDS.items():
                real = [a.replace("{hashes}", str(hashes)) for a in argv]
                runs[name].append(_cpu([exe, *real], env))
    base = statistics.median(runs["baseline"])
    result = {
        "runs": args.runs,
        "baseline": "python -c 'import sqlalchemy, typer'",
        "cpu_s": {name: round(statistics.median(v), 3) for name, v in runs.items()},
        "ratio_to_baseline": {
            name: round(statistics.median(v) / base, 2) for name, v in runs.items()
        },
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for name, cpu in result["cpu_s"].items():
            print(f"{name:24s} {cpu:6.3f} s CPU  x{result['ratio_to_baseline'][name]}")


if __name__ == "__main__":
    main()
