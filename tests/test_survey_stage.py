"""The survey stage on a real SQLite database (the sweep's hook, reply and link answers, recovery task).

Times are Seoul business moments of December 2026 (Mon Dec 7 … Fri Dec 11); ``now`` is passed in.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select, text

from intake.app import build_app
from intake.devservers.localconfig import LocalServers, write_local_config
from intake.domain.mailparse import parse_message
from intake.domain.survey_tokens import link_token
from intake.models import Case, CaseClock, InboundMessage, Outbox, Survey
from intake.settings import load_settings
from intake.stages.survey import answer_by_link, apply_reply, send_due_surveys
from tests.report_fixtures import intake_cli

KST = timezone(timedelta(hours=9))
SECRET = "a-web-secret-of-32-bytes-for-tests"


def t(day: int, hour: int) -> datetime:
    return datetime(2026, 12, day, hour, tzinfo=KST)


@pytest.fixture
def app(tmp_path):
    servers = LocalServers(imap_port=1, imap_security="ssl", imap_user="u", imap_password="p", smtp_port=1,
                           smtp_security="starttls", ca_file=None)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "web-secret").write_text(SECRET)
    config = write_local_config(tmp_path / "config", servers, database_url=f"sqlite:///{tmp_path / 'intake.db'}",
                                storage=tmp_path / "store", extra=(
                                    '\n[survey]\nenabled = true\ndelay_hours = 24\nmin_days_between = 30\n'
                                    'expire_days = 14\n[web]\nbase_url = "https://intake.example.org"\n'
                                    'secret_file = "web-secret"\n'))
    intake_cli(config, "db", "upgrade")
    application = build_app(load_settings(config, require_secrets=False))
    yield application
    application.engine.dispose()


def add_case(app, i: int, *, answered: datetime | None, channel="email", address="hong{}@example.org",
             status="answered"):
    values = dict(id=i, ref=f"2026-{i:05d}", status=status, channel=channel, category="information",
                  department="business", handler_id="park.jiyoung", subject=f"문의 {i}", customer_name="홍길동",
                  customer_address=address.format(i) if address else None, language="ko", pii=False,
                  received_at=t(7, 10), registered_at=t(7, 10), policy="reply", due_at=t(9, 10), text="",
                  overdue=False, answered_at=answered)
    with app.engine.begin() as conn:
        conn.execute(insert(Case.__table__), [values])


def outbox(app, purpose: str) -> list:
    with app.engine.connect() as conn:
        return conn.execute(select(Outbox.__table__.c.rcpt_to, Outbox.__table__.c.raw)
                            .where(Outbox.__table__.c.purpose == purpose)).all()


def decoded(raw: bytes) -> tuple[str, str]:
    """(Reply-To, body text) of a queued mail."""
    import email
    from email import policy

    msg = email.message_from_bytes(raw, policy=policy.default)
    return str(msg["Reply-To"] or ""), msg.get_body(("plain",)).get_content()


def survey_row(app, case_id: int):
    with app.engine.connect() as conn:
        return conn.execute(select(Survey.__table__).where(Survey.__table__.c.case_id == case_id)).first()


def test_one_survey_per_case_at_the_right_time_never_twice(app):
    add_case(app, 1, answered=t(8, 10))
    assert send_due_surveys(app, t(9, 9)) == 0            # 23 h after the answer: not yet
    assert send_due_surveys(app, t(9, 10)) == 1           # 24 h
    assert send_due_surveys(app, t(9, 11)) == 0           # the ledger: never twice
    [(rcpt, raw)] = outbox(app, "survey")
    assert rcpt == "hong1@example.org"
    reply_to, body = decoded(raw)
    row = survey_row(app, 1)
    assert reply_to == f"consulting+{row.token}@sonosa.or.kr"
    assert "매우 만족 : https://intake.example.org/survey/" + row.token + ".5." in body
    assert "수신 거부" in body and "담당자" in body
    assert row.state == "sent" and row.recipient == "hong1@example.org"


def test_no_survey_at_night_or_to_those_who_must_not_get_one(app):
    add_case(app, 1, answered=t(8, 10))
    assert send_due_surveys(app, datetime(2026, 12, 9, 22, tzinfo=KST)) == 0      # night: waits
    add_case(app, 2, answered=t(8, 10), channel="post", address=None)             # post only
    add_case(app, 3, answered=t(8, 10), address="mailer-daemon@example.org")      # robot
    add_case(app, 4, answered=t(8, 10), address="bounced@example.org")
    add_case(app, 5, answered=t(8, 10), address="hong1@example.org")              # surveyed already (case 1)
    with app.engine.begin() as conn:
        conn.execute(insert(Outbox.__table__), [dict(
            case_id=4, purpose="acknowledgement", message_id="<b@x>", mail_from="a@b", rcpt_to="bounced@example.org",
            raw=b"", status="undeliverable", attempts=1, next_attempt_at=t(7, 10), created_at=t(7, 10))])
    assert send_due_surveys(app, t(9, 10)) == 1
    assert [r[0] for r in outbox(app, "survey")] == ["hong1@example.org"]
    shown = intake_cli(app.settings.config_file, "cases", "show", "2026-00004").stdout
    assert "survey-skipped" in shown and "bounced" in shown


def test_answer_by_link_is_signed_and_single_use_and_a_low_score_opens_recovery(app):
    add_case(app, 1, answered=t(8, 10))
    send_due_surveys(app, t(9, 10))
    token = survey_row(app, 1).token
    secret = SECRET.encode()
    assert not answer_by_link(app, link_token(b"wrong-secret-wrong-secret", token, 1), t(9, 11)).ok
    done = answer_by_link(app, link_token(secret, token, 1), t(9, 11), comment="너무 늦었습니다")
    assert done.ok
    again = answer_by_link(app, link_token(secret, token, 5), t(9, 12))
    assert not again.ok and "이미 응답" in again.message
    row = survey_row(app, 1)
    assert (row.score, row.answered_via, row.comment) == (1, "link", "너무 늦었습니다")
    with app.engine.connect() as conn:
        clock = conn.execute(select(CaseClock.__table__).where(CaseClock.__table__.c.case_id == 1)).one()
    assert clock.policy == "correction" and clock.state == "running"
    # 3 days = 24 working hours from Wed Dec 9 11:00 -> Mon Dec 14 11:00
    assert clock.due_at == t(14, 11).astimezone(timezone.utc)
    [(rcpt, raw)] = outbox(app, "survey-recovery")
    head = app.settings.roster.member(app.settings.roster.department("business").head)
    assert rcpt == head.email and "1점 (매우 불만족)" in decoded(raw)[1] and "너무 늦었습니다" in decoded(raw)[1]
    out = intake_cli(app.settings.config_file, "report", "--from", "2026-12-01", "--to", "2026-12-31",
                     "--format", "json").stdout
    import json

    survey = json.loads(out)["survey"]
    assert survey["sent"] == 1 and survey["answered"] == 1 and survey["scores"] == [1, 0, 0, 0, 0]


def _reply(token: str, body: str, sender="hong1@example.org") -> bytes:
    from email.message import EmailMessage

    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = sender, f"consulting+{token}@sonosa.or.kr", "Re: 고객 만족도 조사"
    m["Message-ID"] = "<reply-1@example.org>"
    m.set_content(body)
    return bytes(m)


@pytest.mark.parametrize("body, score, state, staff_mails", [
    ("④ 친절했습니다", 4, "answered", 0),
    ("매우 불만족\n아무도 전화하지 않았습니다", 1, "answered", 0),
    ("글쎄요 잘 모르겠어요", None, "staff", 1),
])
def test_answer_by_reply(app, body, score, state, staff_mails):
    add_case(app, 1, answered=t(8, 10))
    send_due_surveys(app, t(9, 10))
    token = survey_row(app, 1).token
    mail = parse_message(_reply(token, body), t(9, 12))
    with app.engine.begin() as conn:
        inbound_id = conn.execute(insert(InboundMessage.__table__).returning(InboundMessage.__table__.c.id), [dict(
            mailbox="INBOX", uidvalidity=1, uid=1, content_hash="x", raw_path="x", size=1, received_at=t(9, 12),
            fetched_at=t(9, 12), next_attempt_at=t(9, 12))]).scalar_one()
    from intake.db import transaction

    with transaction(app.engine) as session:
        row = session.get(InboundMessage, inbound_id)
        summary = apply_reply(session, app, row, mail, t(9, 12))
    assert summary is not None
    got = survey_row(app, 1)
    assert (got.score, got.state) == (score, state)
    assert len(outbox(app, "follow-up-notice")) == staff_mails
    assert bool(outbox(app, "survey-recovery")) == (score == 1)


def test_opt_out_reply_stops_future_surveys(app):
    add_case(app, 1, answered=t(8, 10))
    send_due_surveys(app, t(9, 10))
    token = survey_row(app, 1).token
    mail = parse_message(_reply(token, "수신 거부"), t(9, 12))
    from intake.db import transaction

    with app.engine.begin() as conn:
        conn.execute(text("insert into inbound_message (mailbox, uidvalidity, uid, content_hash, raw_path, size, "
                          "received_at, fetched_at, server_done, stage, attempts, next_attempt_at, "
                          "needs_manual_reading) values ('INBOX', 1, 2, 'y', 'y', 1, '2026-12-09 03:00:00', "
                          "'2026-12-09 03:00:00', 0, 'received', 0, '2026-12-09 03:00:00', 0)"))
    with transaction(app.engine) as session:
        row = session.exec(select(InboundMessage).where(InboundMessage.uid == 2)).first()[0]
        assert "opted out" in apply_reply(session, app, row, mail, t(9, 12))
    # a later case of the same customer, long after min_days_between: still no survey
    add_case(app, 2, answered=datetime(2027, 1, 20, 10, tzinfo=KST), address="hong1@example.org")
    assert send_due_surveys(app, datetime(2027, 1, 21, 10, tzinfo=KST)) == 0
