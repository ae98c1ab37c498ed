"""Light imports (issue #14, item 4): statistics and pathways load only what they use.

After `import safeguard.stats` or `import safeguard.pathways` (and the modules their CLI
commands use), none of the detection stack's native libraries (faiss, OpenCV, pdqhash) is in
`sys.modules`. Each check runs in a fresh interpreter, since this test process has long
imported everything. The public library API stays as it was: `from safeguard import
Safeguard, Provenance, __version__` works, each name is loaded when first used.

Pathways scoring and statistics also work with none of the optional extras installed: a
subprocess refuses every import of an extra's packages (and SciPy, which comes only with the
`pathways` extra) and scores a simulated population, imports a figure and writes a summary.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO

#: the detection stack's native libraries: statistics and pathways must not load them
HEAVY = ("faiss", "cv2", "pdqhash")

#: the packages of the optional extras (server, charts, pathways, spark) and SciPy
EXTRAS = ("fastapi", "uvicorn", "matplotlib", "sklearn", "scipy", "pyspark")

#: what `safeguard stats ...` and `safeguard pathways ...` import, and the package roots
LIGHT_MODULES = [
    "safeguard",
    "safeguard.errors",
    "safeguard.config",
    "safeguard.extras",
    "safeguard.store",
    "safeguard.store.stats_tables",
    "safeguard.stats",
    "safeguard.stats.service",
    "safeguard.stats.analysis",
    "safeguard.stats.briefing",
    "safeguard.stats.chart",
    "safeguard.stats.geography",
    "safeguard.stats.ingest",
    "safeguard.stats.periods",
    "safeguard.stats.reference",
    "safeguard.stats.repository",
    "safeguard.stats.sheets",
    "safeguard.pathways",
    "safeguard.pathways.errors",
    "safeguard.pathways.schema",
    "safeguard.pathways.io",
    "safeguard.pathways.features",
    "safeguard.pathways.rules",
    "safeguard.pathways.model",
    "safeguard.pathways.scoring",
    "safeguard.pathways.simulate",
    "safeguard.pathways.evaluate",
    "safeguard.pathways.train",
    "safeguard.pathways.spark_features",
    "safeguard.cli.pathways_cmd",
]

_REPORT = """
import json, sys
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {names!r})))
"""

_BLOCK_EXTRAS = """
import sys
class _NoExtras:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {extras!r}:
            raise ImportError(f"{{name}} is not installed (the test refuses it)")
sys.meta_path.insert(0, _NoExtras())
"""


def _python(code: str, tmp_path: Path, timeout: int = 120) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFEGUARD_")}
    env["SAFEGUARD_HOME"] = str(tmp_path / "home")
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc.stdout


def _loaded_after(code: str, tmp_path: Path) -> list[str]:
    out = _python(code + _REPORT.format(names=set(HEAVY)), tmp_path)
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.parametrize("module", ["safeguard.stats", "safeguard.pathways"])
def test_importing_stats_or_pathways_loads_no_detection_stack(module: str, tmp_path: Path) -> None:
    assert _loaded_after(f"import {module}", tmp_path) == []


def test_the_modules_their_commands_use_load_no_detection_stack(tmp_path: Path) -> None:
    """Every module in one interpreter (a heavy import anywhere shows), naming the first
    module after whose import each heavy library was there."""
    code = (
        "import importlib, json, sys\n"
        "first = {}\n"
        f"for module in {LIGHT_MODULES!r}:\n"
        "    importlib.import_module(module)\n"
        f"    for heavy in {HEAVY!r}:\n"
        "        if heavy in sys.modules:\n"
        "            first.setdefault(heavy, module)\n"
        "print(json.dumps(first))\n"
    )
    assert json.loads(_python(code, tmp_path).strip().splitlines()[-1]) == {}


def test_public_names_of_stats_and_pathways_load_no_detection_stack(tmp_path: Path) -> None:
    code = (
        "from safeguard.stats import Analysis, ImportInfo, StatsError, StatsService, Summary\n"
        "from safeguard.pathways import (EventLog, IncrementalScorer, Model, ScoredAccount,\n"
        "    compute_features, explain, load, score_log, FEATURES, FEATURE_NAMES)\n"
        "from safeguard import __version__\n"
    )
    assert _loaded_after(code, tmp_path) == []


def test_the_root_package_loads_its_names_on_first_use(tmp_path: Path) -> None:
    code = "import safeguard\nimport sys\nprint(json.dumps('safeguard.engine' in sys.modules))\n"
    out = _python("import json\n" + code, tmp_path)
    assert json.loads(out.strip().splitlines()[-1]) is False
    # PDQ is safeguard's own compiled hasher: `pdqhash` is only the tests' reference
    assert _loaded_after("from safeguard import Safeguard", tmp_path) == []


def test_opencv_and_faiss_load_with_the_first_local_features(tmp_path: Path) -> None:
    """Opening the engine, banking and matching hashes loads neither OpenCV nor faiss (about
    0.1 s each at every command's start); hashing a photo (local features) loads OpenCV,
    and the first index of local features faiss."""
    code = (
        "import json, sys\n"
        "from safeguard import Safeguard\n"
        "from safeguard.config import Settings\n"
        "from safeguard.samples import scene\n"
        "seen = []\n"
        "def report(step):\n"
        "    seen.append([step, sorted(m for m in ('cv2', 'faiss') if m in sys.modules)])\n"
        "sg = Safeguard.open(Settings.from_env())\n"
        "sg.create_bank('known')\n"
        "sg.banks_for(None).add('known', {'md5': 'a' * 32})\n"
        "sg.match({'md5': 'a' * 32})\n"
        "report('hashes')\n"
        f"scene(7).save({str(tmp_path / 'photo.png')!r})\n"
        f"signals = sg.hash_file({str(tmp_path / 'photo.png')!r}, local=True)\n"
        "report('photo hashed')\n"
        "sg.add_hashed('known', signals)\n"
        f"assert sg.match(sg.hash_file({str(tmp_path / 'photo.png')!r}, local=True)).matches\n"
        "report('photo matched')\n"
        "sg.close()\n"
        "print(json.dumps(seen))\n"
    )
    seen = json.loads(_python(code, tmp_path).strip().splitlines()[-1])
    assert seen == [
        ["hashes", []],
        ["photo hashed", ["cv2"]],
        ["photo matched", ["cv2", "faiss"]],
    ]


def test_the_public_library_api_is_unchanged() -> None:
    import safeguard
    from safeguard import Provenance, Safeguard, __version__
    from safeguard.banks import Provenance as BanksProvenance
    from safeguard.engine import Safeguard as EngineSafeguard

    assert Safeguard is EngineSafeguard and Provenance is BanksProvenance
    for name in safeguard.__all__:
        assert getattr(safeguard, name) is not None, name
        assert name in dir(safeguard)
    with pytest.raises(AttributeError):
        _ = safeguard.NoSuchName  # type: ignore[attr-defined]
    with pytest.raises(ImportError):
        from safeguard import NoSuchName  # type: ignore[attr-defined]  # noqa: F401
    # one version: the package metadata, i.e. pyproject.toml's
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert __version__ == pyproject["project"]["version"]


def test_all_is_every_extra_and_the_detection_stack_is_in_the_base() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    named = {e for e in extras if e not in ("all", "dev")}
    assert {"server", "charts", "pathways", "spark", "stats"} <= named
    (everything,) = extras["all"]
    assert everything.startswith("safeguard[")
    assert set(everything.removeprefix("safeguard[").removesuffix("]").split(",")) == named
    assert "safeguard[all]" in extras["dev"]
    # `make demo` installs the base only: it must hold the detection stack
    base = {d.split(">")[0].split("[")[0].split("=")[0] for d in project["dependencies"]}
    assert {"opencv-python-headless", "faiss-cpu", "sqlalchemy"} <= base
    # PDQ is compiled with the package (setup.py): `pdqhash` is the tests' reference only
    assert "pdqhash" not in base and any(d.startswith("pdqhash") for d in extras["dev"])


def test_stats_and_pathways_public_names_resolve() -> None:
    import safeguard.pathways as pathways
    import safeguard.stats as stats

    for package in (stats, pathways):
        for name in package.__all__:
            assert getattr(package, name) is not None, (package.__name__, name)
        with pytest.raises(AttributeError):
            _ = package.NoSuchName  # type: ignore[attr-defined]


def test_pathways_scoring_needs_no_extra(tmp_path: Path) -> None:
    code = _BLOCK_EXTRAS.format(extras=EXTRAS) + (
        "from safeguard.pathways import EventLog, score_log\n"
        "from safeguard.pathways.simulate import SimParams, simulate\n"
        "pop = simulate(SimParams(seed=3, scale=0.1))\n"
        "scored, threshold = score_log(EventLog(pop.accounts, pop.events))\n"
        "assert scored.height > 0\n"
        "print(int(scored['target_groups'].max()))\n"
    )
    out = _python(code + _REPORT.format(names=set(HEAVY) | set(EXTRAS)), tmp_path)
    lines = out.strip().splitlines()
    assert int(lines[-2]) >= 1  # the groups feature (connected components) was computed
    assert json.loads(lines[-1]) == []


def test_statistics_need_no_extra(tmp_path: Path) -> None:
    """A store, the shipped published figures, a Home Office table, a summary: no extra."""
    table = REPO / "tests" / "data" / "crime-stats" / "prc-pfa-mar2013-onwards-tables201718.csv"
    url = f"sqlite:///{tmp_path / 'stats.db'}"
    code = _BLOCK_EXTRAS.format(extras=EXTRAS) + (
        "from safeguard.config import Settings\n"
        "from safeguard.stats import StatsService\n"
        f"with StatsService.open(Settings.from_env(database_url={url!r})) as stats:\n"
        f"    stats.import_files([{str(table)!r}])\n"
        "    s = stats.summary('Cheshire', '2016/17', '2017/18')\n"
        "    print(len(s.series))\n"
    )
    out = _python(code + _REPORT.format(names=set(HEAVY) | set(EXTRAS)), tmp_path)
    lines = out.strip().splitlines()
    assert int(lines[-2]) == 2
    assert json.loads(lines[-1]) == []


def _bfs_labels(n: int, a: np.ndarray, b: np.ndarray) -> list[int]:
    """The reference: each node's component, labelled by its smallest node, by search."""
    adjacent: list[list[int]] = [[] for _ in range(n)]
    for x, y in zip(a.tolist(), b.tolist(), strict=True):
        adjacent[x].append(y)
        adjacent[y].append(x)
    labels = [-1] * n
    for start in range(n):
        if labels[start] >= 0:
            continue
        labels[start], todo = start, [start]
        while todo:
            for y in adjacent[todo.pop()]:
                if labels[y] < 0:
                    labels[y] = start
                    todo.append(y)
    return labels


def test_component_labels_match_a_graph_search() -> None:
    from safeguard.pathways.features import component_labels

    rng = np.random.default_rng(14)
    for _ in range(200):
        n = int(rng.integers(1, 120))
        m = int(rng.integers(0, 2 * n))
        a, b = rng.integers(0, n, m), rng.integers(0, n, m)
        assert component_labels(n, a, b).tolist() == _bfs_labels(n, a, b)
    # a long path with shuffled node numbers: one component, labelled 0
    order = rng.permutation(5000)
    assert set(component_labels(5000, order[:-1], order[1:]).tolist()) == {0}


@pytest.mark.parametrize("command", [["stats", "--help"], ["pathways", "--help"]])
def test_cli_help_of_stats_and_pathways_loads_no_detection_stack(
    command: list[str], tmp_path: Path
) -> None:
    code = (
        "import sys\n"
        "from safeguard.cli.app import main\n"
        f"sys.argv = ['safeguard', *{command!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
    )
    assert _loaded_after(code, tmp_path) == []


def test_a_server_loads_no_pathways_stack(tmp_path: Path) -> None:
    """The HTTP service (with its web UI) starts without the pathways package and polars
    (a case page loads them only when it shows a pathways flag) and without xmlschema
    (loaded when a referral document is first validated): a joining server is ready sooner."""
    code = (
        "import json, sys\n"
        "from fastapi.testclient import TestClient\n"
        "from safeguard.api.app import create_app\n"
        "with TestClient(create_app()) as client:\n"
        "    assert client.get('/livez').status_code == 200\n"
        "    assert client.get('/ui/login').status_code == 200\n"
        "names = ('polars', 'safeguard.pathways', 'xmlschema')\n"
        "print(json.dumps(sorted(m for m in names if m in sys.modules)))\n"
    )
    assert json.loads(_python(code, tmp_path).strip().splitlines()[-1]) == []


def test_safeguard_help_lists_every_command_and_loads_none(tmp_path: Path) -> None:
    """`safeguard --help` (and a bare `safeguard`) lists the commands from their summaries:
    no command's module is imported, so it answers in a fraction of a second."""
    from safeguard.cli.app import _COMMANDS

    code = (
        "import json, sys\n"
        "from safeguard.cli.app import main\n"
        "sys.argv = ['safeguard', '--help']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('safeguard.cli.') and\n"
        "                m.endswith('_cmd'))\n"
        "print(json.dumps(loaded))\n"
    )
    out = _python(code, tmp_path).strip().splitlines()
    assert json.loads(out[-1]) == []
    # a command's row starts at the panel's edge; its summary's wrapped lines are indented
    listed = [line.split()[1] for line in out if line.startswith("│ ") and line[2] != " "]
    assert [name for name in listed if name in _COMMANDS] == list(_COMMANDS)


def test_each_listed_summary_is_the_first_line_of_its_commands_help() -> None:
    from safeguard.cli.app import _COMMANDS, _load_command

    for name, (_, _, summary) in _COMMANDS.items():
        command = _load_command(name)
        own = (command.short_help or command.help or "").split("\n\n")[0]
        assert " ".join(own.split()) == summary, name
