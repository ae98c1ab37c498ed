"""The hashing workers are not forks of the caller, so a lock that one of the caller's threads
holds (an encoder's, a server's) cannot leave a worker waiting for ever."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from safeguard.signals.files import worker_pool

_LOCK = threading.Lock()


def _needs_the_lock() -> str:
    if not _LOCK.acquire(timeout=20):
        return "the worker found the lock held: it is a fork of the caller"
    _LOCK.release()
    return "done"


def test_a_worker_runs_while_a_thread_of_the_caller_holds_a_lock_it_needs() -> None:
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with _LOCK:
            taken.set()
            release.wait(60)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    taken.wait(10)
    try:
        with worker_pool(1) as pool:
            assert pool.submit(_needs_the_lock).result(timeout=120) == "done"
    finally:
        release.set()
        holder.join()


_SCRIPT = """\
import sys
from safeguard import Safeguard
{body}
"""
_HASH = """\
with Safeguard.open(home=sys.argv[2]) as sg:
    print(sum(r.ok for r in sg.hash_paths([sys.argv[1]], workers=2)))
"""


def _run_script(tmp_path: Path, body: str, folder: Path) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "script.py"
    script.write_text(_SCRIPT.format(body=body))
    return subprocess.run(
        [sys.executable, str(script), str(folder), str(tmp_path / "home")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )


def test_a_script_hashes_a_folder_on_two_workers(tmp_path: Path, train_images: list[Path]) -> None:
    body = 'if __name__ == "__main__":\n' + "".join(f"    {line}\n" for line in _HASH.splitlines())
    done = _run_script(tmp_path, body, train_images[0].parent)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == len(list(train_images[0].parent.iterdir())) >= 4


def test_a_script_that_hashes_when_imported_is_told_what_to_change(
    tmp_path: Path, train_images: list[Path]
) -> None:
    done = _run_script(tmp_path, _HASH, train_images[0].parent)
    assert done.returncode != 0
    [said] = [x for x in done.stderr.splitlines() if x.startswith("safeguard.errors.")]
    assert said.startswith("safeguard.errors.WorkerStopped: a hashing worker process stopped")
    assert 'if __name__ == "__main__":' in said
