"""The long-running daemon (`intake run`): IDLE wake-up, SIGTERM, schema guard, all samples."""

from __future__ import annotations

import email
import signal
import subprocess
import sys
import time
from email.policy import default as default_policy

from sqlmodel import select

from intake.db import make_engine
from intake.models import Case, InboundMessage
from tests.e2e.harness import wait_for, REPO, SAMPLES, make_env, sample_bytes


def test_daemon_picks_up_new_mail_by_idle_and_stops_on_sigterm(tmp_path, dovecot, smtp_sink):
    env = make_env(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path / 'intake.db'}")
    proc = subprocess.Popen([sys.executable, "-m", "intake", "--config", str(env.config), "run"],
                            cwd=str(REPO), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)                       # the daemon is connected and idling
        env.append(sample_bytes("sample-001.eml"))
        # poll_seconds is 5 in the test config, so a pickup within 4 s means IDLE woke the fetcher
        if not wait_for(lambda: len(smtp_sink.messages()) >= 2, 20):
            proc.send_signal(signal.SIGTERM)
            raise AssertionError("acknowledgement and task not sent:\n" + proc.communicate(timeout=30)[1][-5000:])
        env.append(sample_bytes("sample-002.eml"))
        assert wait_for(lambda: len(smtp_sink.messages()) >= 4, 20)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err[-3000:]
    assert "2026-000001" in err and "intake daemon stopping" in err
    with env.session() as s:
        assert len(s.exec(select(Case)).all()) == 2


def test_run_refuses_an_old_schema(tmp_path, dovecot, smtp_sink):
    env = make_env(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path / 'fresh.db'}")
    (tmp_path / "fresh.db").unlink()
    for suffix in ("-wal", "-shm"):
        if (tmp_path / f"fresh.db{suffix}").exists():
            (tmp_path / f"fresh.db{suffix}").unlink()
    result = env.run_cli("run", "--once")
    assert result.returncode != 0 and "intake db upgrade" in result.stderr
    assert env.run_cli("db", "upgrade").returncode == 0
    assert env.run_cli("run", "--once").returncode == 0


def test_all_samples_end_to_end_never_answer_robots(tmp_path, dovecot, smtp_sink):
    """Every sample through Dovecot and SMTP: zero acknowledgements to any auto-reply, bounce or spam."""
    import json

    labels = [json.loads(line) for line in (SAMPLES / "labels.jsonl").read_text(encoding="utf-8").splitlines()]
    env = make_env(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path / 'intake.db'}")
    for row in labels:
        env.append(sample_bytes(row["file"]))
    result = env.run_cli("run", "--once", timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    robots = {r["from_address"].lower() for r in labels if r["kind"] in ("auto-reply", "bounce", "spam")}
    acks = []
    for m in smtp_sink.messages():
        msg = email.message_from_bytes(m.raw, policy=default_policy)
        if msg["Auto-Submitted"] == "auto-replied":
            acks.append(m.rcpt_to[0].lower())
    assert not set(acks) & robots, "an auto-reply, bounce or spam sender was answered"
    assert "scanner@sonosa.or.kr" not in acks, "postal scans get a phone call, not an e-mail to the scanner"
    engine = make_engine(env.db_url)
    from intake.db import transaction

    with transaction(engine) as s:
        rows = s.exec(select(InboundMessage)).all()
        assert len(rows) == len(labels)
        assert not [r for r in rows if r.stage in ("set-aside", "received")], "every message processed"
        # `run --once` decides outside the transaction and applies in group transactions: every
        # kind must be the label's, as in the pure evaluation (`intake eval`), except that a
        # follow-up to a case this fresh database does not hold is registered as a new case.
        from intake.stages.fetch import header_message_id

        expected = {header_message_id(sample_bytes(r["file"])): r["kind"] for r in labels}
        got = {r.message_id: r.kind for r in rows}
        misses = {mid: (got.get(mid), kind) for mid, kind in expected.items()
                  if got.get(mid) != kind and not (kind == "follow-up" and got.get(mid) == "case")}
        assert not misses, misses
        assert sum(1 for k in expected.values() if k != "follow-up") >= 60
        by_kind = {}
        for r in rows:
            by_kind[r.kind] = by_kind.get(r.kind, 0) + 1
        assert by_kind.get("spam") == 3 and by_kind.get("bounce") == 3
        posts = s.exec(select(Case).where(Case.channel == "post")).all()
        assert len(posts) == 5 and all(c.policy == "phone-call" for c in posts)
        assert all(c.customer_phone for c in posts), "a postal request must carry the number to call"
