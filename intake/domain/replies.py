"""Template contexts for outgoing messages (pure: no I/O, no ORM, no Jinja).

The context schema is defined ONCE here: for every message name, the variables a
template may use, each with a description and an example value.  The schema
drives three things that must never drift apart:

* ``python -m intake.adapters.templates --write-docs docs/templates.md``
  (the admin documentation of variables),
* template lint (declared variables must exist here; sample contexts are built
  from the examples),
* ``intake templates preview`` (renders with the example context).

The ``*_context`` builders (``reply_contexts.py``, re-exported here) turn typed
records into plain data -- dicts, lists, ``str``, ``int``, ``bool``, ``date``
and ``datetime`` only -- so a template can never reach a record, an ORM row or
any object with behaviour.  A test checks that every builder produces exactly
the keys the schema declares.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from intake.domain.reply_contexts import (  # noqa: F401  (re-exported: replies.<name>_context)
    case_context, handler_context, org_context, department_context, evidence_context,
    acknowledgement_context, fax_acknowledgement_context, kept_aside_context,
    fax_acknowledgement_status, staff_task_context, follow_up_notice_context,
    phone_call_task_context, progress_notice_context, extension_notice_context, reply_relay_context,
    reminder_context, overdue_escalation_context, daily_digest_context, bounce_task_context,
    command_error_context, template_rejected_context, calendar_review_context, letter_context,
    case_reassigned_context, decision_notice_context, survey_context, survey_recovery_context,
    operator_alert_context, fax_gateway_new_context)
from intake.domain.reply_contexts import sign_in_link_context  # noqa: F401  (re-exported, the console's)

CUSTOMER = "customer"
STAFF = "staff"
AUDIENCES = (CUSTOMER, STAFF)

#: Handler fields every customer-facing message must show (customer charter).
CHARTER_HANDLER_FIELDS = ("name", "department", "phone", "email")

_KST = timezone(timedelta(hours=9), "KST")


# --------------------------------------------------------------------------- schema


@dataclass(frozen=True)
class Field:
    """One key of a dict-valued variable (``case.ref``) or of a list item."""

    name: str
    description: str
    example: Any


@dataclass(frozen=True)
class Variable:
    """One top-level template variable.

    ``kind`` is ``"value"`` (scalar: str/int/bool/date/datetime), ``"dict"``
    (``fields`` lists its keys) or ``"list"`` (a list of dicts whose keys are
    ``fields``).  For ``value`` variables ``example`` is the example value; for
    ``dict``/``list`` ones the example is built from the fields (a list example
    holds ``list_examples`` items, or one item built from the fields).
    """

    name: str
    description: str
    kind: str = "value"
    example: Any = None
    fields: tuple[Field, ...] = ()
    list_examples: tuple[dict, ...] = ()

    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def example_value(self) -> Any:
        if self.kind == "dict":
            return {f.name: copy.deepcopy(f.example) for f in self.fields}
        if self.kind == "list":
            if self.list_examples:
                return copy.deepcopy(list(self.list_examples))
            return [{f.name: copy.deepcopy(f.example) for f in self.fields}]
        return copy.deepcopy(self.example)


@dataclass(frozen=True)
class MessageSpec:
    name: str
    audience: str            # "customer" | "staff"
    description: str
    variables: tuple[Variable, ...]

    def variable(self, name: str) -> Variable | None:
        for var in self.variables:
            if var.name == name:
                return var
        return None

    def variable_names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variables)


_RECEIVED = datetime(2026, 11, 25, 10, 12, tzinfo=_KST)
_DUE = datetime(2026, 11, 27, 18, 0, tzinfo=_KST)

_CASE_CUSTOMER_FIELDS: tuple[Field, ...] = (
    Field("ref", "접수번호 (case reference)", "2026-000123"),
    Field("subject", "고객이 쓴 제목 (customer's subject, one line)", "방북증명서 발급 문의"),
    Field("received_at", "접수 일시 (datetime, Asia/Seoul); use |kdatetime or |edatetime", _RECEIVED),
    Field("due_at", "처리 기한 (datetime, Asia/Seoul); use |kdatetime or |edatetime", _DUE),
    Field("category_label", "민원 종류 (Korean service name)", "방북증명서 발급"),
    Field("channel", "접수 경로: email | fax | post", "email"),
    Field("customer_name", "고객 이름 (may be empty)", "홍길동"),
    Field("language", "고객 언어: ko | en | mixed", "ko"),
)

_CASE_STAFF_EXTRA: tuple[Field, ...] = (
    Field("category", "민원 종류 id (e.g. visit-certificate)", "visit-certificate"),
    Field("policy", "처리 기한 정책 id", "charter-3-business-days"),
    Field("text", "고객 요청 본문 (may be long)", "안녕하십니까. 방북증명서 발급 절차를 문의드립니다."),
    Field("customer_address", "고객 전자우편 주소 (empty when unknown)", "hong@example.com"),
    Field("customer_phone", "고객 전화번호 (empty when unknown)", "010-1234-5678"),
    Field("customer_fax", "고객 팩스번호 (empty when unknown)", ""),
    Field("pii", "개인정보 포함 여부 (bool)", False),
    Field("needs_manual_reading", "팩스·스캔 문서를 자동으로 읽지 못함 (bool)", False),
)

CASE_CUSTOMER = Variable(
    "case", "접수 건 (what the customer may see)", "dict", fields=_CASE_CUSTOMER_FIELDS
)
CASE_STAFF = Variable(
    "case", "접수 건 (staff view: includes request text and customer contact)", "dict",
    fields=_CASE_CUSTOMER_FIELDS + _CASE_STAFF_EXTRA,
)
HANDLER = Variable(
    "handler", "담당자 (charter: customer mails must show all four fields)", "dict",
    fields=(
        Field("name", "담당자 이름", "김민준"),
        Field("department", "담당 부서 이름", "교류지원부"),
        Field("phone", "담당자 전화번호; use |phone", "02-6004-1234"),
        Field("email", "담당자 전자우편", "minjun.kim@sonosa.or.kr"),
    ),
)
ORG = Variable(
    "org", "기관 정보", "dict",
    fields=(
        Field("name", "기관 이름", "남북교류협력지원협회"),
        Field("intake_address", "민원 접수 전자우편 주소", "consulting@sonosa.or.kr"),
    ),
)
EVIDENCE = Variable(
    "evidence", "분류 근거 (list of rule/detail/score)", "list",
    fields=(
        Field("rule", "규칙 id", "category.visit-certificate.kw:방북"),
        Field("detail", "무엇이 어디에서 일치했는지", "본문에 '방북증명서' 포함"),
        Field("score", "점수 (float)", 0.8),
    ),
)
DEPARTMENT = Variable(
    "department", "담당 부서", "dict",
    fields=(
        Field("id", "부서 id", "business"),
        Field("name", "부서 이름", "교류지원부"),
        Field("head", "부서장", "박부장"),
    ),
)
RECIPIENT_NAME = Variable("recipient_name", "받는 직원 이름", example="김민준")
KEPT_ASIDE = Variable(
    "kept_aside", "크기·개수 제한으로 따로 보관한 첨부 (저장됨, 자동 판독 안 함; empty list when none)", "list",
    fields=(
        Field("filename", "파일 이름 (정리된 이름)", "도면.tif"),
        Field("content_type", "내용으로 판별한 형식", "image/tiff"),
        Field("size", "크기 (bytes, int)", 31457280),
        Field("reason", "따로 보관한 이유", "크기 30.0 MB가 첨부 한 개의 제한 25.0 MB를 넘습니다"),
    ),
)
FAX_ACKNOWLEDGEMENT = Variable(
    "fax_acknowledgement", "팩스 접수 확인서 발송 상태 (fax cases; status is empty for other channels)", "dict",
    fields=(
        Field("status", "gateway (팩스 게이트웨이로 발송) | by-hand (담당자가 직접 팩스; PDF 첨부) | "
                        "not-sent (보내지 않음, reason 참조) | empty", "by-hand"),
        Field("number", "고객 팩스번호 (may be empty)", "02-992-4410"),
        Field("address", "게이트웨이 주소 (status gateway only)", ""),
        Field("reason", "직접 보내야 하거나 보내지 않은 이유", "팩스 게이트웨이가 설정되어 있지 않습니다"),
    ),
)

MESSAGES: dict[str, MessageSpec] = {}


def _spec(name: str, audience: str, description: str, *variables: Variable) -> None:
    MESSAGES[name] = MessageSpec(name, audience, description, tuple(variables))


_spec("acknowledgement", CUSTOMER, "접수 확인 전자우편 (email acknowledgement to the customer)",
      CASE_CUSTOMER, HANDLER, ORG)
_spec("fax-acknowledgement", CUSTOMER, "팩스 접수 확인서 본문 (text for the fax PDF)",
      CASE_CUSTOMER, HANDLER, ORG,
      Variable("recipient_fax", "회신 팩스번호 (empty when unknown)", example="02-555-0100"))
_spec("staff-task", STAFF, "담당자 배정 업무 메일 (task mail to the handler)",
      CASE_STAFF, HANDLER, ORG, EVIDENCE,
      Variable("low_confidence", "자동 분류 신뢰도가 낮음 (bool)", example=False),
      FAX_ACKNOWLEDGEMENT, KEPT_ASIDE,
      Variable("caller_id", "팩스 발신번호가 없을 때: withheld (발신번호 표시 없음) | not-found (찾지 못함) | "
                            "empty (번호가 있거나 팩스가 아님)", example=""))
_spec("follow-up-notice", STAFF, "추가 메일 도착 안내 (a customer's follow-up attached to a case)",
      CASE_STAFF, HANDLER, ORG,
      Variable("message", "도착한 추가 메일", "dict", fields=(
          Field("sender", "보낸 사람", "hong@example.com"),
          Field("subject", "제목", "Re: [접수 2026-000123] 방북증명서 발급 문의"),
          Field("text", "본문 (인용문 제외, 주민등록번호 가림)", "추가 서류를 첨부합니다."),
          Field("received_at", "도착 일시 (datetime)", _DUE),
      )),
      Variable("reopened", "종결된 건이 다시 열림 (bool)", example=False))
_spec("phone-call-task", STAFF,
      "우편 접수: 고객에게 2일 이내 전화 요청 (postal request: call the customer)",
      CASE_STAFF, HANDLER, ORG, EVIDENCE,
      Variable("call_by", "전화 기한 (datetime)", example=datetime(2026, 11, 27, 10, 12, tzinfo=_KST)),
      KEPT_ASIDE)
_spec("progress-notice", CUSTOMER, "처리 진행 상황 안내 (progress notice)",
      CASE_CUSTOMER, HANDLER, ORG,
      Variable("progress", "진행 상황 (담당자가 쓴 내용; empty when situation is set)",
               example="관계 기관에 사실 확인을 요청하였습니다."),
      Variable("reason", "지연·보류 사유 (may be empty)", example="관계 기관 협의가 진행 중입니다."),
      Variable("situation", "안내 종류: overdue (기한 경과, 자동) | on-hold (처리 보류, reason 참조) | "
                            "resumed (처리 재개) | empty (담당자가 쓴 progress)", example=""),
      Variable("waiting_on", "기한 경과 시 진행 중인 다른 절차 (overdue only; label is empty when none)", "dict",
               fields=(Field("label", "절차 이름", "민원 답변"), Field("policy", "절차(policy) id", "reply"))),
      Variable("expected_at", "새 처리 예정 일시 (datetime; empty when no new date is known); use |kdatetime",
               example=datetime(2026, 12, 2, 18, 0, tzinfo=_KST)))
_spec("extension-notice", CUSTOMER, "처리 기한 연장 안내 (deadline extension notice)",
      CASE_CUSTOMER, HANDLER, ORG,
      Variable("previous_due_at", "종전 처리 기한 (datetime)", example=_DUE),
      Variable("reason", "연장 사유", example="관계 기관 협의가 필요합니다."))
_spec("reply-relay", CUSTOMER, "담당자 답변 전달 (staff answer sent to the customer, signed)",
      CASE_CUSTOMER, HANDLER, ORG,
      Variable("answer", "담당자 답변 본문", example="문의하신 방북증명서는 통일부 누리집에서 신청하실 수 있습니다."))
_spec("reminder", STAFF, "처리 기한 알림 (reminder to the handler)",
      CASE_STAFF, HANDLER, ORG,
      Variable("days_left", "남은 일수 (int; 0 = 오늘 마감)", example=1))
_spec("overdue-escalation", STAFF, "기한 경과 보고 (to the department head)",
      CASE_STAFF, HANDLER, ORG, DEPARTMENT,
      Variable("overdue_days", "기한 경과 일수 (int)", example=2))
_spec("daily-digest", STAFF, "일일 현황 (daily digest)",
      ORG, RECIPIENT_NAME,
      Variable("date", "기준일 (date); use |kdate", example=date(2026, 11, 26)),
      Variable("cases", "미처리 건 목록", "list", fields=(
          Field("ref", "접수번호", "2026-000123"),
          Field("subject", "제목", "방북증명서 발급 문의"),
          Field("category_label", "민원 종류", "방북증명서 발급"),
          Field("due_at", "처리 기한 (datetime)", _DUE),
          Field("handler_name", "담당자 이름", "김민준"),
          Field("state", "open | due-soon | overdue", "due-soon"),
      )),
      Variable("open_count", "미처리 건수 (int)", example=1),
      Variable("due_soon_count", "24시간 이내 마감 건수 (int)", example=1),
      Variable("overdue_count", "기한 경과 건수 (int)", example=0))
_spec("bounce-task", STAFF, "고객 회신 반송 처리 요청 (bounce task)",
      CASE_STAFF, HANDLER, ORG,
      Variable("failed_recipient", "반송된 주소", example="hong@example.com"),
      Variable("bounce_status", "반송 상태 코드 (e.g. 5.1.1; may be empty)", example="5.1.1"),
      Variable("diagnostic", "반송 진단 메시지 (may be empty)", example="550 5.1.1 User unknown"))
_spec("command-error", STAFF, "담당자 명령 처리 오류 안내 (command error)",
      ORG, RECIPIENT_NAME,
      Variable("command", "담당자가 보낸 명령 (제목 등)", example="[완료] 2026-000123"),
      Variable("error", "무엇이 잘못되었는지", example="접수번호 2026-000123 을(를) 찾을 수 없습니다."),
      Variable("case_ref", "관련 접수번호 (may be empty)", example="2026-000123"))
_spec("case-reassigned", STAFF, "담당자 변경 안내 (a case reassigned to a new handler by staff)",
      CASE_STAFF, HANDLER, ORG,
      Variable("previous_handler", "종전 담당자", "dict", fields=(
          Field("name", "종전 담당자 이름", "박지영"),
          Field("department", "종전 담당 부서 이름", "총괄사업부"),
      )),
      Variable("reason", "변경 사유 (직원이 쓴 내용)", example="방북 관련 문의로 종합지원센터 소관입니다."),
      Variable("changed_by", "변경한 사람 (직원 id)", example="park.jiyoung"),
      Variable("category_changed", "민원 종류도 바뀌었음 (bool)", example=False))
_spec("template-rejected", STAFF, "템플릿 수정 거부 안내 (to the admins: an edited template failed lint)",
      ORG, RECIPIENT_NAME,
      Variable("template", "템플릿 이름 (e.g. en/acknowledgement)", example="acknowledgement"),
      Variable("serving_version", "계속 사용 중인 이전 버전 (may be empty)", example="3f2a9c0d1e2b4a5c"),
      Variable("problems", "문제 목록", "list", fields=(
          Field("file", "파일", "acknowledgement.txt.j2"),
          Field("line", "줄 (int)", 12),
          Field("message", "문제", "handler.phone is missing from the output"),
      )))
_spec("calendar-review", STAFF, "휴일 달력 점검 요청 (to the admins: the year has no reviewed entry in calendar.toml)",
      ORG, RECIPIENT_NAME,
      Variable("year", "점검할 연도 (int)", example=2027),
      Variable("reviewed_years", "점검을 마친 연도 (comma-separated; may be empty)", example="2025, 2026"),
      Variable("calendar_file", "달력 파일 경로", example="/etc/intake/calendar.toml"))
_spec("operator-alert", STAFF, "운영 경보 (to the admins: a message set aside, a server unreachable, a backlog, "
      "an overdue case whose handler is away)",
      ORG, RECIPIENT_NAME,
      Variable("condition", "경보 종류 id", example="imap-unreachable"),
      Variable("title", "경보 제목", example="메일 서버(IMAP)에 20분째 연결하지 못하고 있습니다"),
      Variable("since", "발생 시각 (KST, text)", example="2026-11-25 10:30"),
      Variable("details", "세부 내용", "list", fields=(Field("line", "한 줄", "미발송 메일 3건"),)))
_spec("fax-gateway-new", STAFF, "새 팩스 게이트웨이 등록 요청 (to the admins, once per sender: a fax came from a "
      "gateway not in channels.toml)",
      ORG, RECIPIENT_NAME,
      Variable("sender", "게이트웨이 발신 주소", example="noreply@mobilefax.co.kr"),
      Variable("case_ref", "그 팩스로 등록된 접수번호", example="2026-001204"),
      Variable("config_line", "channels.toml 에 추가할 내용", example="[[fax]]\nid = \"mobilefax-co-kr\""),
      Variable("channels_file", "channels.toml 경로", example="/etc/intake/channels.toml"),
      Variable("rules", "판단 근거 (rule ids)", example="channel.fax-any.subject, channel.fax-any.pages"))
_spec("letter", CUSTOMER, "인쇄용 회신 문서 본문 (printable reply letter body)",
      CASE_CUSTOMER, HANDLER, ORG,
      Variable("answer", "회신 본문", example="문의하신 사항에 대하여 다음과 같이 회신합니다."),
      Variable("letter_date", "문서 일자 (date)", example=date(2026, 11, 26)))

_spec("decision-notice", CUSTOMER, "제안 심사 결과 안내 (a suggestion's review outcome)",
      CASE_CUSTOMER, HANDLER, ORG,
      Variable("outcome", "심사 결과: 채택 | 불채택", example="채택"),
      Variable("reason", "결과의 사유 (담당자가 쓴 내용)", example="좋은 제안에 감사드립니다. 다음 달부터 반영하겠습니다."))

_spec("survey", CUSTOMER, "고객 만족도 조사 (satisfaction survey, one per case after it was answered)",
      CASE_CUSTOMER, HANDLER, ORG,
      Variable("links", "점수별 한 번 누르기 주소 (list; empty when [web] base_url is not set)", "list", fields=(
          Field("score", "점수 (int, 5 = 매우 만족)", 5),
          Field("label", "점수 이름", "매우 만족"),
          Field("url", "누르면 그 점수로 응답되는 주소", "https://intake.example.org/survey/0123456789abcdef.a1b2c3.5.x"),
      )),
      Variable("expires_at", "응답 기한 (datetime); use |kdatetime", example=_DUE))
_spec("survey-recovery", STAFF, "만족도 조사 낮은 점수: 시정 업무 (service recovery task to the department head)",
      CASE_STAFF, HANDLER, ORG, DEPARTMENT,
      Variable("score", "고객이 준 점수 (int, 1 = 매우 불만족)", example=1),
      Variable("score_label", "점수 이름", example="매우 불만족"),
      Variable("comment", "고객 의견 (may be empty)", example="답변이 너무 늦었습니다."),
      Variable("due_at", "시정 처리 기한 (datetime); use |kdatetime", example=_DUE))

_spec("sign-in-link", STAFF, "관리 화면 로그인 링크 (the console's single-use sign-in link, to the staff member "
      "who asked for it at /login)",
      ORG, RECIPIENT_NAME,
      Variable("link", "로그인 링크 (한 번만 쓸 수 있음)", example="https://intake.example.org/login/link/Xq3v9TzA1bC2dE4f"),
      Variable("minutes", "링크가 유효한 시간 (분, int)", example=15))

MESSAGE_NAMES: tuple[str, ...] = tuple(MESSAGES)


def message_spec(name: str) -> MessageSpec:
    try:
        return MESSAGES[name]
    except KeyError:
        raise KeyError(f"unknown message {name!r}; known: {', '.join(MESSAGE_NAMES)}") from None


# --------------------------------------------------------------------------- examples / samples


def example_context(name: str, language: str = "ko") -> dict:
    """The documented example context of message ``name`` (fresh copy)."""
    spec = message_spec(name)
    ctx = {var.name: var.example_value() for var in spec.variables}
    if language == "en" and isinstance(ctx.get("case"), dict):
        ctx["case"].update(
            subject="Inquiry about a visit certificate",
            customer_name="Jane Doe",
            language="en",
        )
    return ctx


#: (label, channel, handler, language) variations used by lint.
_SAMPLE_HANDLERS = (
    ("email", "email", {"name": "김민준", "department": "교류지원부",
                        "phone": "02-6004-1234", "email": "minjun.kim@sonosa.or.kr"}),
    ("fax", "fax", {"name": "이서연", "department": "남북협력지원센터",
                    "phone": "031-789-4321", "email": "seoyeon.lee@sonosa.or.kr"}),
    ("post", "post", {"name": "박지훈 & 최", "department": "연구<조사>팀",
                      "phone": "+82 2 6004 9876", "email": "j.park@sonosa.or.kr"}),
)


def sample_contexts(name: str, language: str = "ko") -> list[tuple[str, dict]]:
    """Contexts lint renders a template with: email, fax and post cases with
    different handlers (so hard-coded handler details are caught) and a
    customer subject containing markup characters.  For ``language="en"`` the
    case is an English one.  Each is ``(label, context)``."""
    out: list[tuple[str, dict]] = []
    for label, channel, handler in _SAMPLE_HANDLERS:
        ctx = example_context(name, language)
        if isinstance(ctx.get("case"), dict):
            ctx["case"]["channel"] = channel
            if label == "post":
                ctx["case"]["subject"] = "<script>alert(1)</script> R&D 문의"
                ctx["case"]["customer_name"] = ""
        if isinstance(ctx.get("handler"), dict):
            ctx["handler"] = dict(handler)
        out.append((f"{language}/{label}", ctx))
    return out


def sample_context_without_phone(name: str, language: str = "ko") -> dict:
    """A context whose handler has no phone: customer-facing messages must be
    refused with it, never rendered with a blank."""
    ctx = example_context(name, language)
    if isinstance(ctx.get("handler"), dict):
        ctx["handler"]["phone"] = ""
    return ctx


def missing_handler_fields(context: dict) -> list[str]:
    """Charter fields (name, department, phone, email) that are absent or blank
    in ``context["handler"]``."""
    handler = context.get("handler")
    if not isinstance(handler, dict):
        return list(CHARTER_HANDLER_FIELDS)
    return [f for f in CHARTER_HANDLER_FIELDS
            if not isinstance(handler.get(f), str) or not handler.get(f).strip()]
