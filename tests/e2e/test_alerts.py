"""Admins' alerts: raised once per condition until it clears, rate-limited, mailed in Korean."""

from __future__ import annotations

import email
from datetime import timedelta
from email.policy import default as default_policy

from sqlmodel import select

from intake.models import AlertCondition, InboundMessage, Outbox
from intake.ops_runtime import OpsRuntime, Progress
from intake.stages.alerts import check_alerts
from tests.e2e.harness import FixedClock, make_env, sample_bytes
from tests.e2e.test_privacy import NOW


def _set_stage(env, stage: str) -> None:
    with env.session() as s:
        row = s.exec(select(InboundMessage)).one()
        row.stage = stage
        s.add(row)


def test_set_aside_alert_once_until_cleared_and_rate_limited(tmp_path, dovecot, smtp_sink):
    env = make_env(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path / 'intake.db'}")
    env.append(sample_bytes("sample-001.eml"), internaldate=NOW)
    env.run_once(clock=FixedClock(NOW))
    app = env.app(FixedClock(NOW))
    _set_stage(env, "set-aside")
    assert check_alerts(app, NOW) == 1
    assert check_alerts(app, NOW + timedelta(minutes=5)) == 0, "once per condition while it lasts"
    _set_stage(env, "done")
    assert check_alerts(app, NOW + timedelta(minutes=10)) == 0
    _set_stage(env, "set-aside")
    assert check_alerts(app, NOW + timedelta(minutes=20)) == 0, "cleared 10 min ago: not raised again yet"
    assert check_alerts(app, NOW + timedelta(minutes=75)) == 2, "set aside again, and the first alert unsent 75 min"
    with env.session() as s:
        rows = s.exec(select(AlertCondition).order_by(AlertCondition.id)).all()
        assert [(r.key, r.cleared_at is None) for r in rows] == [("set-aside", False), ("set-aside", True),
                                                                 ("backlog", True)]
        alerts = s.exec(select(Outbox).where(Outbox.purpose == "operator-alert")).all()
        assert [o.rcpt_to for o in alerts] == ["minsu.kim@example.org"] * 3
    env.run_once(clock=FixedClock(NOW + timedelta(minutes=76)))
    [mail] = [m for m in smtp_sink.messages() if m.rcpt_to == ["minsu.kim@example.org"]
              and "운영 경보" in str(email.message_from_bytes(m.raw, policy=default_policy)["Subject"])][:1]
    body = email.message_from_bytes(mail.raw, policy=default_policy).get_body().get_content()
    assert "따로 보관한 메시지가 1건 있습니다" in body and "다시 보내지 않습니다" in body
    app.engine.dispose()


def test_imap_outage_from_the_fetch_loops_progress(tmp_path, dovecot, smtp_sink):
    env = make_env(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path / 'intake.db'}",
                   extra="\n[alerts]\noutage_minutes = 15\n")
    app = env.app(FixedClock(NOW))
    t = [0.0]
    ops = OpsRuntime(progress=Progress(clock=lambda: t[0], started=0.0))
    ops.tick("fetch")
    t[0] = 14 * 60
    assert check_alerts(app, NOW, ops) == 0
    t[0] = 16 * 60
    assert check_alerts(app, NOW, ops) == 1
    ops.tick("fetch")
    assert check_alerts(app, NOW + timedelta(minutes=1), ops) == 0
    with env.session() as s:
        [row] = s.exec(select(AlertCondition)).all()
        assert row.key == "imap-unreachable" and row.cleared_at is not None
    app.engine.dispose()
