"""The satisfaction survey end to end: real Dovecot, real SMTP sink, real database, a fixed clock.

A request arrives Wed 2026-11-25 10:00 and is answered at 11:00; with ``delay_hours = 24`` the
survey goes out Thu 11:00, once. The customer answers by reply ("② …"), which opens a
service-recovery task to the department head; the survey's signed links are then refused
(one answer per survey).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlmodel import select

from intake.db import transaction
from intake.models import Case, CaseClock, Survey
from intake.stages.case_actions import answer
from intake.stages.survey import answer_by_link
from tests.e2e.harness import FixedClock, make_env
from tests.e2e.test_timed_mail import CUSTOMER, KST, WED_10, Mailbox, body, head_of, request_mail


def survey_reply(token: str, text: str) -> bytes:
    head = [f"From: {CUSTOMER}", f"To: consulting+{token}@sonosa.or.kr", "Subject: Re: survey",
            "Message-ID: <survey-reply-1@example.com>", "Date: Thu, 26 Nov 2026 13:00:00 +0900",
            "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + text.encode()


def test_survey_once_at_the_right_time_answered_by_reply_low_score_opens_recovery(tmp_path, dovecot, smtp_sink):
    secret = tmp_path / "web-secret"
    secret.write_text("0123456789abcdef0123456789abcdef")
    env = make_env(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path / 'intake.db'}", extra=(
        "\n[survey]\nenabled = true\ndelay_hours = 24\n"
        f'[web]\nbase_url = "https://intake.example.org"\nsecret_file = "{secret}"\n'))
    box = Mailbox(smtp_sink)
    env.append(request_mail(1), internaldate=WED_10)
    env.run_once(clock=FixedClock(WED_10 + timedelta(minutes=5)))
    app = env.app(FixedClock(WED_10 + timedelta(hours=1)))
    with transaction(app.engine) as s:
        case = s.exec(select(Case)).one()
        answer(s, app, case, "교육 일정은 누리집에 있습니다.", "park.jiyoung", WED_10 + timedelta(hours=1))
        ref, department = case.ref, case.department
    app.engine.dispose()

    env.run_once(clock=FixedClock(datetime(2026, 11, 26, 10, 59, tzinfo=KST)))
    assert not box.to(CUSTOMER, f"[접수 {ref}] 고객 만족도"), "not before delay_hours"
    for minute in (0, 1, 30):
        env.run_once(clock=FixedClock(datetime(2026, 11, 26, 11, minute, tzinfo=KST)))
    surveys = box.to(CUSTOMER, f"[접수 {ref}] 고객 만족도")
    assert len(surveys) == 1, "one survey per case, never twice"
    text = body(surveys[0].raw)
    assert "매우 만족" in text and "수신 거부" in text
    links = re.findall(r"https://intake\.example\.org/survey/(\S+)", text)
    assert len(links) == 5
    with env.session() as s:
        token = s.exec(select(Survey)).one().token

    env.append(survey_reply(token, "② 답변이 늦었습니다\n"), internaldate=datetime(2026, 11, 26, 13, 0, tzinfo=KST))
    env.run_once(clock=FixedClock(datetime(2026, 11, 26, 13, 5, tzinfo=KST)))
    with env.session() as s:
        survey = s.exec(select(Survey)).one()
        assert (survey.score, survey.comment, survey.answered_via) == (2, "답변이 늦었습니다", "reply")
        clocks = {c.policy: c for c in s.exec(select(CaseClock)).all()}
        assert clocks["correction"].state == "running"
        assert s.exec(select(Case)).one().status == "open", "the recovery task reopens the case"
    head = head_of(env, department)
    recovery = box.to(head.email, f"[시정 {ref}]")
    assert len(recovery) == 1 and "답변이 늦었습니다" in body(recovery[0].raw)
    assert not box.to(CUSTOMER, f"[접수 {ref}] 접수"), "a survey reply is not a new case"

    app = env.app(FixedClock(datetime(2026, 11, 26, 14, 0, tzinfo=KST)))
    try:
        again = answer_by_link(app, links[0], datetime(2026, 11, 26, 14, 0, tzinfo=KST))
    finally:
        app.engine.dispose()
    assert not again.ok and "이미 응답" in again.message, "one answer per survey: the links are used up"
