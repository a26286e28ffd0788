"""Recognition stages (issue 15): an unconfigured fax gateway tells the admins once; staff release spam."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlmodel import select

from intake.app import build_app
from intake.db import make_engine, transaction, upgrade
from intake.devservers.localconfig import LocalServers, write_local_config
from tests.fixtures.registering import register_raw
from intake.models import AuditEvent, Case, InboundMessage, Notice, Outbox
from intake.settings import load_settings
from intake.stages import process
from tests.fixtures import mailbuild as mb
from tests.fixtures.pages import FONT, image_pdf

KST = timezone(timedelta(hours=9))
RECEIVED = datetime(2026, 11, 24, 9, 30, tzinfo=KST)
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=KST)

pytestmark = pytest.mark.skipif(FONT is None, reason="fonts-nanum missing")


@pytest.fixture
def app(tmp_path):
    servers = LocalServers(imap_port=1, imap_security="ssl", imap_user="intake", imap_password="unused",
                           smtp_port=1, smtp_security="starttls", ca_file=None)
    url = f"sqlite:///{tmp_path / 'intake.db'}"
    path = write_local_config(tmp_path / "config", servers, database_url=url, storage=tmp_path / "store")
    upgrade(make_engine(url))
    application = build_app(load_settings(path), clock=lambda: NOW)
    yield application
    application.engine.dispose()


def fax_mail(sender: str, number: str, uid: int) -> bytes:
    body = f"모바일팩스로 팩스가 수신되었습니다.\n발신번호 : {number}\n수신 페이지 : 1장\n"
    page = image_pdf([f"2026/11/24 09:20  FROM: {number}  P.001/001\n교육 신청\n역량강화 교육 과정에 신청합니다."])
    return mb.message(
        [("From", f"Mobile Fax <{sender}>"), ("Subject", mb.encoded_word(f"[모바일팩스] 팩스가 도착했습니다 ({number})", "utf-8")),
         ("Message-ID", f"<fax-{uid}@mobilefax.example>")],
        mb.multipart("mixed", [mb.text_part(body, "utf-8", "base64"),
                               mb.attachment_part(page, "application/pdf", 'filename="fax.pdf"')], boundary=f"b{uid}"))


def register(app, raw: bytes, uid: int) -> Case:
    return register_raw(app, raw, uid, RECEIVED)


def test_unconfigured_gateway_is_a_fax_and_admins_are_told_once(app):
    first = register(app, fax_mail("noreply@mobilefax.example", "031-752-9031", 1), 1)
    second = register(app, fax_mail("noreply@mobilefax.example", "02-588-1204", 2), 2)
    other = register(app, fax_mail("fax@other-fax.example", "070-4012-7733", 3), 3)
    assert (first.channel, first.customer_fax) == ("fax", "031-752-9031")
    assert (second.channel, second.customer_fax) == ("fax", "02-588-1204")
    with transaction(app.engine) as s:
        notices = s.exec(select(Notice).where(Notice.kind == "fax-gateway-new").order_by(Notice.id)).all()
        assert [(n.key, n.case_id) for n in notices] == [("fax-gateway:noreply@mobilefax.example", first.id),
                                                         ("fax-gateway:fax@other-fax.example", other.id)]
        mails = s.exec(select(Outbox).where(Outbox.purpose == "fax-gateway-new").order_by(Outbox.id)).all()
        assert [m.rcpt_to for m in mails] == ["minsu.kim@example.org", "minsu.kim@example.org"]
        assert "channels.toml" in mails[0].raw.decode("utf-8", "replace") or mails[0].template == "fax-gateway-new"
        assert notices[0].outbox_id == mails[0].id
        events = s.exec(select(AuditEvent).where(AuditEvent.event == "fax-gateway-unconfigured")).all()
        assert len(events) == 2
        line = json.loads(events[0].detail)["line"]
        assert "senders = ['^noreply@mobilefax\\.example$']" in line
        evidence = json.loads(s.get(Case, first.id).evidence)
        assert evidence["classification"]


def test_released_spam_becomes_a_case_and_a_correction(app):
    from intake.models import Correction
    from intake.stages.release import ReleaseError, release_message
    from intake.stages.training import corrected_case_examples

    raw = mb.message([("From", "edu@leadership-academy.example"), ("Subject", mb.encoded_word("(광고) 교육 과정 안내", "utf-8")),
                      ("Message-ID", "<ad-1@example>")],
                     mb.text_part("공공기관 관리자 교육 과정 신청을 받습니다. 무료수신거부 080-123-4567", "utf-8", "base64"))
    blob = app.store.put_message(raw)
    with transaction(app.engine) as s:
        row = InboundMessage(mailbox="INBOX", uidvalidity=1, uid=9, message_id=None, content_hash=blob.sha256,
                             raw_path=str(blob.path), size=blob.size, received_at=RECEIVED,
                             fetched_at=RECEIVED, next_attempt_at=RECEIVED)
        s.add(row)
        s.flush()
        process.apply(s, app, row, process.prepare(process.parse(raw, row), row, s, app), RECEIVED)
        row_id = row.id
        assert row.stage == "quarantine" and row.case_id is None
        assert not s.exec(select(Outbox)).all()             # quarantined spam is never acknowledged
    with transaction(app.engine) as s:
        case = release_message(s, app, row_id, "우리 교육 과정 문의입니다", "park.jiyoung", NOW)
        assert case.category == "training"
    with transaction(app.engine) as s:
        assert s.get(InboundMessage, row_id).stage == "done"
        corr = s.exec(select(Correction)).one()
        assert (corr.kind, corr.from_value, corr.to_value, corr.actor) == ("release", "spam", "training", "park.jiyoung")
        assert [o.purpose for o in s.exec(select(Outbox).order_by(Outbox.id))] == ["acknowledgement", "staff-task"]
        examples = corrected_case_examples(s)
        assert [(e.label, e.source.split()[-1]) for e in examples] == [("training", "release")]
        with pytest.raises(ReleaseError, match="not quarantined"):
            release_message(s, app, row_id, "again", "park.jiyoung", NOW)


def test_fax_without_caller_id_the_task_mail_says_so(app):
    import email
    import email.policy

    case = register(app, fax_mail("noreply@mobilefax.example", "발신번호 없음", 4), 4)
    assert (case.channel, case.customer_fax) == ("fax", None)
    assert "channel.fax-number.none" not in case.evidence     # channel evidence is on the message's decision
    with transaction(app.engine) as s:
        row = s.exec(select(InboundMessage).where(InboundMessage.case_id == case.id)).one()
        assert "channel.fax-number.none" in row.decision
        task = s.exec(select(Outbox).where(Outbox.case_id == case.id, Outbox.purpose == "staff-task")).one()
    text = email.message_from_bytes(task.raw, policy=email.policy.default).get_body(("plain",)).get_content()
    assert "팩스      : 발신번호 표시 없음" in text
    assert "※ 발신번호 표시 없음" in text and "고객 연락처를 확인하여 주십시오" in text
