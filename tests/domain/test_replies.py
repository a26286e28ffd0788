"""Template contexts: builders match the schema, plain data only."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from intake.domain import replies
from intake.domain.records import CaseFacts, Channel, Department, Evidence, OrgFacts, StaffMember

KST = timezone(timedelta(hours=9))
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=KST)


def make_case(**kw) -> CaseFacts:
    base = dict(
        ref="2026-000123", channel=Channel.EMAIL, category="visit-certificate",
        category_label="방북증명서 발급", subject="방북증명서 문의", customer_name="홍길동",
        customer_address="hong@example.com", customer_phone=None, customer_fax="02-555-0100",
        received_at=datetime(2026, 11, 25, 10, 12, tzinfo=KST),
        due_at=datetime(2026, 11, 27, 18, 0, tzinfo=KST), policy="charter-3",
        text="요청 본문", evidence=(Evidence("category.visit-certificate.kw:방북", "본문에 '방북'", 0.8),),
    )
    base.update(kw)
    return CaseFacts(**base)


HANDLER = StaffMember("kim", "김민준", "business", "02-6004-1234", "kim@sonosa.or.kr")
DEPT = Department("business", "교류지원부", "박부장")
ORG = OrgFacts("남북교류협력지원협회", "consulting@sonosa.or.kr", "sonosa.or.kr")


KEPT_ASIDE = [("도면.tif", "image/tiff", 31457280, "크기 제한 초과")]


def built_contexts() -> dict[str, dict]:
    case = make_case()
    return {
        "acknowledgement": replies.acknowledgement_context(case, HANDLER, DEPT, ORG),
        "fax-acknowledgement": replies.fax_acknowledgement_context(case, HANDLER, DEPT, ORG),
        "staff-task": replies.staff_task_context(
            case, HANDLER, DEPT, ORG, low_confidence=True, kept_aside=KEPT_ASIDE,
            fax_acknowledgement=replies.fax_acknowledgement_status("by-hand", "02-992-4410", reason="게이트웨이 없음")),
        "phone-call-task": replies.phone_call_task_context(case, HANDLER, DEPT, ORG,
                                                           call_by=NOW + timedelta(days=2), kept_aside=KEPT_ASIDE),
        "progress-notice": replies.progress_notice_context(case, HANDLER, DEPT, ORG, "진행 중"),
        "calendar-review": replies.calendar_review_context("관리자", ORG, 2027, [2026], "calendar.toml"),
        "sign-in-link": replies.sign_in_link_context("김민준", ORG, "https://x/login/link/t", 15),
        "operator-alert": replies.operator_alert_context("관리자", ORG, "backlog", "밀려 있습니다", "2026-11-25 10:30",
                                                         ["미발송 메일: 2026-11-25 09:00부터"]),
        "fax-gateway-new": replies.fax_gateway_new_context("관리자", ORG, "noreply@mobilefax.co.kr", "2026-001204",
                                                           "[[fax]]", "channels.toml", ["channel.fax-any.pages"]),
        "extension-notice": replies.extension_notice_context(
            case, HANDLER, DEPT, ORG, previous_due_at=NOW, reason="협의 필요"),
        "reply-relay": replies.reply_relay_context(case, HANDLER, DEPT, ORG, "답변"),
        "decision-notice": replies.decision_notice_context(case, HANDLER, DEPT, ORG, "채택", "반영합니다"),
        "survey": replies.survey_context(case, HANDLER, DEPT, ORG, [(5, "매우 만족", "https://x/survey/t")], NOW),
        "survey-recovery": replies.survey_recovery_context(case, HANDLER, DEPT, ORG, 1, "매우 불만족", "늦음", NOW),
        "reminder": replies.reminder_context(case, HANDLER, DEPT, ORG, now=NOW),
        "overdue-escalation": replies.overdue_escalation_context(
            case, HANDLER, DEPT, ORG, now=NOW + timedelta(days=3)),
        "daily-digest": replies.daily_digest_context(date(2026, 11, 26), NOW, HANDLER,
                                                     [(case, HANDLER)], ORG),
        "bounce-task": replies.bounce_task_context(case, HANDLER, DEPT, ORG, "hong@example.com",
                                                   "5.1.1", None),
        "command-error": replies.command_error_context(HANDLER, ORG, "[완료] x", "없는 접수번호"),
        "letter": replies.letter_context(case, HANDLER, DEPT, ORG, "회신", date(2026, 11, 26)),
        "case-reassigned": replies.case_reassigned_context(
            case, HANDLER, DEPT, ORG, previous_handler=HANDLER, previous_department=DEPT, reason="소관 부서 변경",
            changed_by="kim"),
        "template-rejected": replies.template_rejected_context(
            "관리자", ORG, "acknowledgement", "abc", [("acknowledgement.txt.j2", 3, "handler.phone missing")]),
        "follow-up-notice": replies.follow_up_notice_context(
            case, HANDLER, DEPT, ORG, sender="hong@example.com", subject="Re: 문의", text="추가 자료입니다.",
            received_at=NOW, reopened=True),
    }


def assert_plain(value, path="ctx"):
    if isinstance(value, dict):
        assert type(value) is dict, path
        for k, v in value.items():
            assert type(k) is str, path
            assert_plain(v, f"{path}.{k}")
    elif isinstance(value, list):
        assert type(value) is list, path
        for i, v in enumerate(value):
            assert_plain(v, f"{path}[{i}]")
    else:
        assert type(value) in (str, int, float, bool, date, datetime), f"{path}: {type(value)}"


def test_every_message_has_a_builder_and_a_schema():
    assert set(built_contexts()) == set(replies.MESSAGE_NAMES)
    assert len(replies.MESSAGE_NAMES) >= 14


@pytest.mark.parametrize("name", replies.MESSAGE_NAMES)
def test_builder_output_matches_schema_exactly(name):
    ctx = built_contexts()[name]
    spec = replies.message_spec(name)
    assert set(ctx) == set(spec.variable_names())
    for var in spec.variables:
        if var.kind == "dict":
            assert set(ctx[var.name]) == set(var.field_names()), var.name
        elif var.kind == "list":
            assert ctx[var.name], var.name
            for item in ctx[var.name]:
                assert set(item) == set(var.field_names()), var.name


@pytest.mark.parametrize("name", replies.MESSAGE_NAMES)
def test_builders_and_examples_are_plain_data(name):
    assert_plain(built_contexts()[name])
    assert_plain(replies.example_context(name))
    assert_plain(replies.example_context(name, "en"))


@pytest.mark.parametrize("name", replies.MESSAGE_NAMES)
def test_example_context_covers_the_schema(name):
    spec = replies.message_spec(name)
    ctx = replies.example_context(name)
    assert set(ctx) == set(spec.variable_names())
    for var in spec.variables:
        assert var.description
        if var.kind == "dict":
            assert set(ctx[var.name]) == set(var.field_names())


def test_customer_case_hides_staff_fields():
    ctx = replies.acknowledgement_context(make_case(), HANDLER, DEPT, ORG)
    for hidden in ("text", "customer_address", "customer_phone", "customer_fax", "policy"):
        assert hidden not in ctx["case"]
    staff = replies.staff_task_context(make_case(), HANDLER, DEPT, ORG)
    assert staff["case"]["text"] == "요청 본문"
    assert staff["case"]["customer_phone"] == ""          # None becomes ""
    assert staff["evidence"] == [{"rule": "category.visit-certificate.kw:방북",
                                  "detail": "본문에 '방북'", "score": 0.8}]


def test_channel_is_a_plain_string_and_handler_shows_department_name():
    ctx = replies.acknowledgement_context(make_case(channel=Channel.FAX), HANDLER, DEPT, ORG)
    assert type(ctx["case"]["channel"]) is str and ctx["case"]["channel"] == "fax"
    assert ctx["handler"] == {"name": "김민준", "department": "교류지원부",
                              "phone": "02-6004-1234", "email": "kim@sonosa.or.kr"}
    assert ctx["org"] == {"name": "남북교류협력지원협회", "intake_address": "consulting@sonosa.or.kr"}


def test_fax_acknowledgement_recipient_fax():
    ctx = replies.fax_acknowledgement_context(make_case(), HANDLER, DEPT, ORG)
    assert ctx["recipient_fax"] == "02-555-0100"


def test_reminder_and_overdue_day_counts():
    case = make_case()
    assert replies.reminder_context(case, HANDLER, DEPT, ORG, now=NOW)["days_left"] == 1
    assert replies.reminder_context(case, HANDLER, DEPT, ORG,
                                    now=case.due_at - timedelta(hours=2))["days_left"] == 0
    esc = replies.overdue_escalation_context(case, HANDLER, DEPT, ORG,
                                             now=case.due_at + timedelta(days=2))
    assert esc["overdue_days"] == 2
    assert esc["department"] == {"id": "business", "name": "교류지원부", "head": "박부장"}


def test_daily_digest_states_and_counts():
    a = make_case(ref="2026-000001", due_at=NOW - timedelta(hours=1))
    b = make_case(ref="2026-000002", due_at=NOW + timedelta(hours=5))
    c = make_case(ref="2026-000003", due_at=NOW + timedelta(days=3))
    ctx = replies.daily_digest_context(date(2026, 11, 26), NOW, HANDLER,
                                       [(c, HANDLER), (a, HANDLER), (b, HANDLER)], ORG)
    assert [(x["ref"], x["state"]) for x in ctx["cases"]] == [
        ("2026-000001", "overdue"), ("2026-000002", "due-soon"), ("2026-000003", "open")]
    assert (ctx["open_count"], ctx["due_soon_count"], ctx["overdue_count"]) == (3, 1, 1)


def test_command_error_without_case():
    ctx = replies.command_error_context(HANDLER, ORG, "x", "y")
    assert ctx["case_ref"] == "" and ctx["recipient_name"] == "김민준"


def test_missing_handler_fields():
    ok = replies.acknowledgement_context(make_case(), HANDLER, DEPT, ORG)
    assert replies.missing_handler_fields(ok) == []
    nophone = StaffMember("lee", "이서연", "business", "", "lee@sonosa.or.kr")
    ctx = replies.acknowledgement_context(make_case(), nophone, DEPT, ORG)
    assert replies.missing_handler_fields(ctx) == ["phone"]
    assert replies.missing_handler_fields({"handler": {"name": " "}}) == [
        "name", "department", "phone", "email"]
    assert replies.missing_handler_fields({}) == list(replies.CHARTER_HANDLER_FIELDS)


def test_sample_contexts_vary_channel_and_handler():
    samples = replies.sample_contexts("acknowledgement")
    assert [ctx["case"]["channel"] for _, ctx in samples] == ["email", "fax", "post"]
    handlers = [ctx["handler"] for _, ctx in samples]
    for key in replies.CHARTER_HANDLER_FIELDS:
        assert len({h[key] for h in handlers}) == 3, key   # hard-coded values get caught
    assert any("<script>" in ctx["case"]["subject"] for _, ctx in samples)
    en = replies.sample_contexts("acknowledgement", "en")
    assert all(ctx["case"]["language"] == "en" for _, ctx in en)
    assert replies.sample_context_without_phone("acknowledgement")["handler"]["phone"] == ""


def test_schema_audiences():
    customer = {n for n, s in replies.MESSAGES.items() if s.audience == replies.CUSTOMER}
    assert customer == {"acknowledgement", "fax-acknowledgement", "progress-notice",
                        "extension-notice", "reply-relay", "letter", "decision-notice", "survey"}
    for name in customer:
        assert {"case", "handler", "org"} <= set(replies.message_spec(name).variable_names())


def test_unknown_message_name():
    with pytest.raises(KeyError, match="unknown message"):
        replies.message_spec("nope")


def test_task_contexts_default_to_no_fax_and_nothing_kept_aside():
    ctx = replies.staff_task_context(make_case(), HANDLER, DEPT, ORG)
    assert ctx["fax_acknowledgement"] == {"status": "", "number": "", "address": "", "reason": ""}
    assert ctx["kept_aside"] == []
    assert replies.phone_call_task_context(make_case(), HANDLER, DEPT, ORG, call_by=NOW)["kept_aside"] == []


@pytest.mark.parametrize("status, ok", [("", True), ("gateway", True), ("by-hand", True), ("not-sent", True),
                                        ("sent", False), ("GATEWAY", False)])
def test_fax_acknowledgement_status_values(status, ok):
    if ok:
        assert replies.fax_acknowledgement_status(status, None)["status"] == status
    else:
        with pytest.raises(ValueError):
            replies.fax_acknowledgement_status(status, None)
