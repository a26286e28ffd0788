"""Staff mark a case as spam, end to end: the handler's real reply through Dovecot (``#스팸``), and
``intake cases spam`` on the command line; the SMTP sink shows what reached the sender."""

from __future__ import annotations

import email
from datetime import timedelta
from email.policy import default as default_policy

from sqlmodel import select

from intake.models import Correction, InboundMessage, Outbox
from tests.e2e.test_foundation import decoded_subject
from tests.e2e.test_staff_mail import STAFF, WED_10, desk, utf8_mail  # noqa: F401  (fixture)

SPAMMER = "ranking@seo-best.example"


def test_handler_marks_spam_by_reply_and_the_pending_answer_is_cancelled(desk):  # noqa: F811
    case = desk.request("홈페이지 검색 1위 보장", "귀 기관 홈페이지를 포털 검색 1위로 올려 드립니다. 월 30만원.",
                        WED_10, sender=SPAMMER)
    before = len(desk.to(SPAMMER))            # the acknowledgement went out before anyone looked
    at = WED_10 + timedelta(hours=1)
    # In one pass: the handler's plain answer (queued for the sender) and then the #스팸 command.
    desk.reply_to_task(case, "문의하신 내용은 검토하겠습니다.", at, run=False)
    desk.reply_to_task(case, "#스팸 검색 순위 광고", at + timedelta(minutes=1), run=False)
    desk.run(at + timedelta(minutes=2))

    assert len(desk.to(SPAMMER)) == before, [decoded_subject(m.raw) for m in desk.to(SPAMMER)]
    closed = desk.case(case.ref)
    assert closed.status == "closed"
    assert all(c.state in ("met", "cancelled") for c in desk.clocks(case.ref).values())
    with desk.env.session() as s:
        relay = s.exec(select(Outbox).where(Outbox.case_id == case.id, Outbox.purpose == "reply-relay")).one()
        assert relay.status == "cancelled"
        corr = s.exec(select(Correction).where(Correction.case_id == case.id, Correction.kind == "spam")).one()
        assert corr.to_value == "spam" and corr.reason == "검색 순위 광고" and corr.actor == case.handler_id
        stages = {m.kind: m.stage for m in s.exec(select(InboundMessage).where(InboundMessage.case_id == case.id))}
        assert stages["case"] == "quarantine" and stages["staff-command"] == "done"
    assert any(e.event == "marked-spam" for e in desk.events(case.ref))

    # The spammer writes again about the case: quarantined with it, the case stays closed, nobody told.
    ack = email.message_from_bytes(desk.to(SPAMMER)[0].raw, policy=default_policy)
    staff_mail_before = len(desk.to(STAFF[case.handler_id]))
    desk.env.append(utf8_mail(SPAMMER, "consulting@sonosa.or.kr", "Re: " + str(ack["Subject"]), "특가 연장!",
                              "<again-1@seo-best.example>", in_reply_to=str(ack["Message-ID"])),
                    internaldate=at + timedelta(minutes=3))
    desk.run(at + timedelta(minutes=3))
    assert desk.case(case.ref).status == "closed" and len(desk.to(STAFF[case.handler_id])) == staff_mail_before
    with desk.env.session() as s:
        again = s.exec(select(InboundMessage).where(InboundMessage.message_id == "<again-1@seo-best.example>")).one()
        assert (again.stage, again.case_id) == ("quarantine", case.id)

    # A second #spam on the case is refused with an error mail to the handler; nothing else changes.
    desk.reply_to_task(case, "#spam", at + timedelta(minutes=5))
    assert len(desk.to(SPAMMER)) == before
    assert any("already marked as spam" in (e.detail or "") for e in desk.events(case.ref)
               if e.event == "command-refused")


def test_cases_spam_on_the_command_line(desk):  # noqa: F811
    # Marketing the rules let through (it reads like a request): staff mark it on the command line.
    case = desk.request("협력 제안드립니다", "귀 기관과 협력하고 싶습니다. 저희 회사 사무용품 카탈로그를 보내 드립니다.", WED_10)
    res = desk.env.run_cli("cases", "spam", case.ref, "--reason", "주식 광고", "--actor", "admin.kim")
    assert res.returncode == 0, res.stderr
    assert f"{case.ref} closed as spam" in res.stdout
    again = desk.env.run_cli("cases", "spam", case.ref, "--actor", "admin.kim")
    assert again.returncode == 1 and "already marked as spam" in again.stderr
    with desk.env.session() as s:
        corr = s.exec(select(Correction).where(Correction.case_id == case.id)).one()
        assert (corr.kind, corr.actor, corr.reason) == ("spam", "admin.kim", "주식 광고")
    assert desk.case(case.ref).status == "closed"
