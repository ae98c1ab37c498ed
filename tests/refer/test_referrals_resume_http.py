"""Referrals that survive a crash and work over HTTP: a `safeguard referrals submit` process
killed with SIGKILL between submit and finish leaves the report id stored, and sending
again finishes the same report (a real process against the stand-in); the whole flow over
HTTP with a specialist's key, and 403 for a moderator's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.api.conftest import Server, make_key, store_env
from tests.conftest import Cli, run_safeguard, safeguard_exe
from tests.refer.conftest import PASSWORD, REPORTER, USER, decided_case
from tests.refer.standin import StandIn


def _agency_env(standin: StandIn) -> dict[str, str]:
    return {
        "SAFEGUARD_NCMEC_URL": standin.url,
        "SAFEGUARD_NCMEC_USERNAME": USER,
        "SAFEGUARD_NCMEC_PASSWORD": PASSWORD,
    }


def test_a_submit_killed_between_submit_and_finish_resumes_the_same_report(
    cli: Cli, standin: StandIn, train_images: list[Path], tmp_path: Path
) -> None:
    cli.env.update(_agency_env(standin))
    case_id = decided_case(cli, train_images[30:32], tmp_path, "acct-kill")
    built = cli.json("--user", "spec", "referrals", "build", case_id, "--agency", "ncmec")
    referral = built["referral_id"]
    cli.json("--user", "spec", "referrals", "approve", referral)
    # the first upload hangs (and then fails) without storing anything: the process is
    # killed while it waits, after the report was submitted and before it was finished
    standin.fail("upload", 500, delay=60)
    env = {**os.environ, **cli.env, "SAFEGUARD_USER": "spec"}
    proc = subprocess.Popen(
        [safeguard_exe(), "referrals", "submit", str(referral)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while standin.calls_to("upload") < 1:
            assert proc.poll() is None, "the submit ended before its first upload"
            assert time.monotonic() < deadline, "no upload reached the stand-in"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    (report_id,) = standin.reports
    status = cli.json("--user", "spec", "referrals", "status", referral)
    assert status["state"] == "submitted" and status["report_id"] == report_id

    resumed = cli.json("--user", "spec", "referrals", "submit", referral)
    assert resumed["state"] == "finished" and resumed["report_id"] == report_id
    assert list(standin.reports) == [report_id]  # the same report, never a second one
    assert standin.calls_to("submit") == 1
    stored = standin.reports[report_id]
    assert stored["finished"] and len(stored["files"]) == 2


def test_the_referral_flow_over_http(
    db_url: str, home: Path, standin: StandIn, train_images: list[Path], tmp_path: Path
) -> None:
    env = store_env(home, db_url, **REPORTER, **_agency_env(standin))
    cli = Cli(env)
    case_id = decided_case(cli, train_images[32:34], tmp_path, "acct-http")
    spec = make_key(cli.env, "spec-key", "review", "--user", "spec")
    mod = make_key(cli.env, "mod-key", "review", "--user", "mod")
    server = Server(cli.env)
    try:
        moderator = server.client(mod)
        r = moderator.post("/v1/referrals", json={"case_id": case_id, "agency": "ncmec"})
        assert r.status_code == 403, r.text
        specialist = server.client(spec)
        r = specialist.post("/v1/referrals", json={"case_id": case_id, "agency": "ncmec"})
        assert r.status_code == 201, r.text
        draft = r.json()
        assert draft["valid"] is True and draft["payload"].startswith("<?xml")
        referral = draft["referral_id"]
        assert moderator.get(f"/v1/referrals/{referral}").status_code == 403
        assert moderator.get("/v1/referrals").status_code == 403
        assert moderator.post(f"/v1/referrals/{referral}/submit").status_code == 403
        r = specialist.post(f"/v1/referrals/{referral}/approve")
        assert r.status_code == 200 and r.json()["state"] == "approved", r.text
        standin.fail("upload", 503, times=1)  # retried by the client
        r = specialist.post(f"/v1/referrals/{referral}/submit", json={})
        assert r.status_code == 200, r.text
        done = r.json()
        assert done["state"] == "finished" and list(standin.reports) == [done["report_id"]]
        assert len(standin.reports[done["report_id"]]["files"]) == 2
        shown = specialist.get(f"/v1/referrals/{referral}").json()
        assert shown["report_id"] == done["report_id"] and "<report" in shown["payload"]
        assert specialist.get("/v1/referrals/failed").json() == []
        # a refusal by the agency is the referral's failed state, listed and counted
        refused = decided_case(cli, train_images[34:35], tmp_path, "acct-http-2")
        r = specialist.post("/v1/referrals", json={"case_id": refused, "agency": "ncmec"})
        second = r.json()["referral_id"]
        assert specialist.post(f"/v1/referrals/{second}/approve").status_code == 200
        standin.reject("submit", 4100, "the report failed validation")
        r = specialist.post(f"/v1/referrals/{second}/submit", json={})
        assert r.status_code == 200 and r.json()["state"] == "failed", r.text
        (failed,) = specialist.get("/v1/referrals/failed").json()
        assert failed["referral_id"] == second and failed["error_kind"] == "validation"
        metrics = server.client(make_key(cli.env, "ops", "admin")).get("/metrics").text
        assert 'safeguard_referrals{agency="ncmec",state="finished"} 1.0' in metrics
        assert 'safeguard_referrals{agency="ncmec",state="failed"} 1.0' in metrics
    finally:
        server.stop()
    verified = run_safeguard(["audit", "verify", "--json"], cli.env)
    assert json.loads(verified.stdout)["ok"] is True
