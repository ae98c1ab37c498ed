"""Group commit: events judged together in one transaction come out as if they had been
written one after another (a case opened by one event is joined by the next, reports
earlier in the batch count towards a reports rule, a repeated event id answers its first
verdict). The same over HTTP under concurrent requests: tests/api/test_events_concurrency.py."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

from safeguard import Safeguard
from safeguard.access.people import Actor
from safeguard.act import EventInput
from safeguard.act.combine import GroupCommit
from tests.conftest import Cli
from tests.review.test_rules_in_the_loop import _submit

RULES = """
rules:
  - name: hold-known
    when:
      kind: upload
      match: {}
    then:
      verdict: hold
      case: {priority: 2, child_safety: true}
  - name: reported-twice
    when:
      kind: report
      reports: {at_least: 2, within: 1h}
    then:
      case: {priority: 3, child_safety: false}
"""


def test_one_batch_reads_as_events_written_one_after_another(
    cli: Cli, train_images: list[Path], tmp_path: Path
) -> None:
    assert cli("bank", "create", "known").exit_code == 0
    assert cli("bank", "add", "known", train_images[40]).exit_code == 0
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    assert cli("rules", "apply", rules).exit_code == 0
    photo = str(train_images[40])
    report = {"kind": "report", "account_id": "r", "reporter": "u1", "reason": "spam"}
    verdicts = _submit(
        cli,
        tmp_path,
        [
            {"kind": "upload", "account_id": "r", "path": photo},  # before r has a case
            report,
            {**report, "reporter": "u2"},  # the second report: the rule fires, a case opens
            {"kind": "upload", "account_id": "m", "path": photo},  # opens m's case
            {"kind": "upload", "account_id": "m", "path": photo, "id": "m-2"},  # joins it
            {"kind": "upload", "account_id": "r", "path": photo},  # joins r's case
        ],
    )
    assert [v["verdict"] for v in verdicts] == ["hold", "allow", "allow", "hold", "hold", "hold"]
    assert [v["rules"] for v in verdicts[1:3]] == [[], ["reported-twice"]]
    first_r, case_r, case_m = verdicts[0]["case_id"], verdicts[2]["case_id"], verdicts[3]["case_id"]
    assert first_r and case_r and case_m and len({first_r, case_m}) == 2
    # r's first upload opened a case of its own; the second report joined it
    assert case_r == first_r == verdicts[5]["case_id"] and verdicts[1]["case_id"] == first_r
    assert verdicts[4]["case_id"] == case_m
    shown = cli.json("cases", "show", case_m)
    assert [i["kind"] for i in shown["items"]] == ["match", "match"]
    shown_r = cli.json("cases", "show", case_r)
    assert sorted(i["kind"] for i in shown_r["items"]) == ["match", "match", "report", "report"]
    assert shown_r["priority"] == 3  # raised by the reports rule, kept by the later match

    # an event id given twice in one batch: one event, the second answer is the first's
    again = _submit(
        cli,
        tmp_path,
        [
            {"kind": "upload", "account_id": "d", "path": photo, "id": "d-1"},
            {"kind": "upload", "account_id": "d", "path": photo, "id": "d-1"},
            {"kind": "upload", "account_id": "m", "path": photo, "id": "m-2"},  # seen before
        ],
    )
    assert again[0]["verdict"] == "hold" and "repeated" not in again[0]
    assert again[1]["repeated"] is True and again[1]["event_id"] == again[0]["event_id"]
    assert again[2]["repeated"] is True and again[2]["event_id"] == verdicts[4]["event_id"]
    shown_d = cli.json("cases", "show", again[0]["case_id"])
    assert len(shown_d["items"]) == 1


def test_group_commit_hands_each_caller_its_part_and_the_errors_of_its_batch() -> None:
    batches: list[list[int]] = []
    gate = threading.Event()

    def double(items: list[int]) -> list[int]:
        batches.append(items)
        if not gate.is_set():
            gate.wait(5)  # the first batch runs while the others queue
        if -1 in items:
            raise ValueError("a bad batch")
        return [2 * i for i in items]

    gc: GroupCommit[int, int] = GroupCommit()
    out: dict[int, object] = {}

    def call(n: int, key: str) -> None:
        try:
            out[n] = gc.run(key, [n, n + 100] if n else [-1], double)
        except ValueError as e:
            out[n] = e

    first = threading.Thread(target=call, args=(5, "a"))
    first.start()
    while not batches:
        threading.Event().wait(0.001)
    rest = [threading.Thread(target=call, args=(n, "a" if n else "b")) for n in (0, 1, 2, 3)]
    for t in rest:
        t.start()
    while len(gc._queue) < 4:  # noqa: SLF001 (wait until all four are queued)
        threading.Event().wait(0.001)
    gate.set()
    for t in [first, *rest]:
        t.join(timeout=10)
    assert out[5] == [10, 210]
    assert all(out[n] == [2 * n, 2 * n + 200] for n in (1, 2, 3))
    assert isinstance(out[0], ValueError)  # its own group failed; the others did not
    # the three queued callers of key "a" ran as one batch, "b" as another
    assert sorted(map(sorted, batches[1:])) == [[-1], [1, 2, 3, 101, 102, 103]]
    assert gc.batches == 2


def test_callers_on_an_event_loop_share_batches_with_threads_and_never_block_it() -> None:
    gate = threading.Event()
    batches: list[list[int]] = []
    loop_thread: list[int] = []

    def double(items: list[int]) -> list[int]:
        assert threading.get_ident() not in loop_thread  # never run on the event loop
        batches.append(items)
        if not gate.is_set():
            gate.wait(5)
        return [2 * i for i in items]

    gc: GroupCommit[int, int] = GroupCommit()
    blocker = threading.Thread(target=gc.run, args=("k", [1], double))
    blocker.start()  # the first batch holds the turn while the others queue
    while not batches:
        threading.Event().wait(0.001)

    async def main() -> list[list[int]]:
        loop_thread.append(threading.get_ident())
        calls = [asyncio.create_task(gc.run_async("k", [n, n + 10], double)) for n in (2, 3)]
        while len(gc._queue) < 2:  # noqa: SLF001 (both queued, and the loop still turns)
            await asyncio.sleep(0.001)
        gate.set()
        return [await c for c in calls]

    got = asyncio.run(main())
    blocker.join(timeout=10)
    assert got == [[4, 24], [6, 26]]
    assert sorted(batches[1]) == [2, 3, 12, 13]  # the two waiting callers ran as one batch
    assert gc.batches == 2


def test_a_loop_runs_the_batch_itself_when_it_need_not_wait_else_the_helper_does() -> None:
    loop_thread: list[int] = []
    ran: list[tuple[str, bool, list[int]]] = []  # (form, on the loop, items)
    free = threading.Event()  # whether `here` may run now (a lock that is free)

    def double(items: list[int]) -> list[int]:
        ran.append(("run", threading.get_ident() in loop_thread, items))
        return [2 * i for i in items]

    def double_here(items: list[int]) -> list[int] | None:
        if not free.is_set():
            return None  # would wait: nothing done
        ran.append(("here", threading.get_ident() in loop_thread, items))
        return [2 * i for i in items]

    gc: GroupCommit[int, int] = GroupCommit()

    async def main() -> list[list[int]]:
        loop_thread.append(threading.get_ident())
        free.set()
        first = await gc.run_async("k", [1], double, here=double_here)
        free.clear()
        second = await gc.run_async("k", [2, 3], double, here=double_here)
        free.set()
        # callers that arrive together share the loop's batch
        both = await asyncio.gather(
            gc.run_async("k", [4], double, here=double_here),
            gc.run_async("k", [5], double, here=double_here),
        )
        return [first, second, *both]

    assert asyncio.run(main()) == [[2], [4, 6], [8], [10]]
    assert ran == [
        ("here", True, [1]),  # the lock was free: done on the loop
        ("run", False, [2, 3]),  # it was not: done once, on the helper thread
        ("here", True, [4, 5]),
    ]
    assert gc.batches == 3 and gc.items == 5


def test_a_refused_batch_is_tried_again_on_the_loop_before_the_helper_takes_it() -> None:
    """Another writer's turn usually ends within a millisecond: the loop tries the batch
    again (what arrived meanwhile joining it) and hands it to the helper thread only once
    its patience is spent."""
    loop_thread: list[int] = []
    ran: list[tuple[str, bool, list[int]]] = []
    free = threading.Event()

    def double(items: list[int]) -> list[int]:
        ran.append(("run", threading.get_ident() in loop_thread, items))
        return [2 * i for i in items]

    def double_here(items: list[int]) -> list[int] | None:
        if not free.is_set():
            return None
        ran.append(("here", threading.get_ident() in loop_thread, items))
        return [2 * i for i in items]

    async def main(gc: GroupCommit[int, int], frees_after: float | None) -> list[list[int]]:
        loop_thread.append(threading.get_ident())
        if frees_after is not None:
            asyncio.get_running_loop().call_later(frees_after, free.set)
        first = asyncio.create_task(gc.run_async("k", [1], double, here=double_here))
        await asyncio.sleep(0.005)
        second = await gc.run_async("k", [2], double, here=double_here)  # joins the retry
        return [await first, second]

    patient: GroupCommit[int, int] = GroupCommit(loop_retry=0.001, loop_patience=5.0)
    assert asyncio.run(main(patient, frees_after=0.03)) == [[2], [4]]
    assert ran == [("here", True, [1, 2])] and patient.batches == 1
    ran.clear()
    free.clear()
    hasty: GroupCommit[int, int] = GroupCommit(loop_retry=0.001, loop_patience=0.002)
    assert asyncio.run(main(hasty, frees_after=None)) == [[2], [4]]
    assert [(form, on_loop) for form, on_loop, _ in ran] == [("run", False)] * len(ran)
    assert sorted(i for _, _, items in ran for i in items) == [1, 2]


def test_the_helper_takes_its_batch_once_the_writers_turn_is_its_own() -> None:
    """A batch handed to the helper because another writer is at work is taken when the
    helper holds the writers' turn (its gate), so callers that queued while it waited for
    that writer join the same batch instead of each waiting for a transaction of its own."""
    turn = threading.Lock()  # the store's writers' turn, held by "another writer"
    turn.acquire()
    batches: list[list[int]] = []
    sizes: list[int] = []

    def double(items: list[int]) -> list[int]:
        batches.append(items)
        return [2 * i for i in items]

    @contextlib.contextmanager
    def gate() -> Iterator[None]:
        with turn:
            yield

    gc: GroupCommit[int, int] = GroupCommit()
    gc.helper_gate = gate
    gc.on_batch = sizes.append

    async def main() -> list[list[int]]:
        # `here` refuses (the lock is another writer's): the first caller's batch goes to
        # the helper, which waits at the gate while three more callers arrive
        first = asyncio.create_task(gc.run_async("k", [1], double, here=lambda _: None))
        for _ in range(2000):
            if gc._helper is not None:  # noqa: SLF001 (the helper has the turn)
                break
            await asyncio.sleep(0.001)
        later = [
            asyncio.create_task(gc.run_async("k", [n], double, here=lambda _: None))
            for n in (2, 3, 4)
        ]
        for _ in range(2000):  # until all four queue (the helper waiting at the gate)
            if len(gc._queue) >= 4:  # noqa: SLF001
                break
            await asyncio.sleep(0.001)
        turn.release()  # the other writer is done
        return [await first] + [await c for c in later]

    assert asyncio.run(main()) == [[2], [4], [6], [8]]
    assert batches == [[1, 2, 3, 4]] and sizes == [4] and gc.batches == 1


def test_a_gate_that_fails_still_lets_the_batch_run() -> None:
    """The helper's gate failing (the writers' lock file gone, say) must not stop the helper:
    the batch runs without it, and later batches still run."""

    def broken() -> contextlib.AbstractContextManager[None]:
        raise OSError("no such file")

    gc: GroupCommit[int, int] = GroupCommit()
    gc.helper_gate = broken

    async def main() -> list[list[int]]:
        got = []
        for n in (1, 2):  # `here` refuses: both go to the helper, one after the other
            call = gc.run_async("k", [n], lambda items: [2 * i for i in items], here=lambda _: None)
            got.append(await asyncio.wait_for(call, 10))
        return got

    assert asyncio.run(main()) == [[2], [4]]


def test_an_upload_the_caches_lack_is_judged_inline_once_they_are_filled(sg: Safeguard) -> None:
    """An upload matching an entry this process has not matched before: the event loop's
    judge cannot judge it from the caches, a thread reads what they lack (warm_inline), and
    then it is judged on the loop after all, its write joining the loop's batches."""
    banked = "0" * 31 + "7"
    sg.create_bank("known")
    sg.banks.add("known", {"md5": banked})
    service = sg.events_for(Actor.operator("test"))
    upload = [
        EventInput.from_json({"kind": "upload", "account_id": "a1", "hashes": {"md5": banked}})
    ]
    assert service.judge_inline(upload) is None  # the entry's details are not cached yet
    assert service.warm_inline(upload)
    judgement = service.judge_inline(upload)
    assert judgement is not None and [m.bank for m in judgement.judged[0].found] == ["known"]
    (verdict,) = asyncio.run(service.finish_async(judgement))
    assert verdict.verdict == "hold" and verdict.case_id is not None
    # events only the database can judge are left to submit_many: nothing to warm
    report = [EventInput.from_json({"kind": "report", "account_id": "a1", "reporter": "r"})]
    assert not service.warm_inline(report)
