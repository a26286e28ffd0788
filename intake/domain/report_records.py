"""Typed records of the charter compliance report (``intake report``): rows in, figures out.

Pure data, no I/O. The loader (``intake.stages.report_data``) turns database rows into the
input records; ``intake.domain.report`` computes the output records from them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

# ------------------------------------------------------------------ the charter's clauses

#: (clause id, the promise in the charter's words). Ids are a contract (json, csv, web console).
CLAUSES: tuple[tuple[str, str], ...] = (
    ("reply-electronic", "전자우편·팩스·인터넷 문의는 접수 후 2일(근무일) 이내에 회신합니다"),
    ("postal-phone-call", "우편 접수 민원은 접수 후 2일 이내에 전화로 연락합니다"),
    ("postal-written", "우편 민원인이 서면 회신을 원하면 2일 이내에 서면으로 회신합니다"),
    ("correction", "정정·불만 요청은 3일 이내에 처리합니다"),
    ("error-contact", "서비스 오류는 발견 후 24시간 이내에 고객에게 연락합니다"),
    ("error-fix", "서비스 오류는 3일 이내에 조치합니다"),
    ("review", "예비검토는 7일 이내에 처리합니다(정부 협의 기간 제외)"),
    ("issuance", "방북증명서·자동차 운행승인서는 승인 후 3일 이내에 발급합니다"),
    ("progress-notice", "처리가 길어지면 2일 기한이 지나기 전에 진행 상황을 알려 드립니다"),
    ("handler-named", "모든 회신에 담당자의 이름과 연락처를 밝힙니다"),
)
PROMISES: dict[str, str] = dict(CLAUSES)
#: Short Korean names of the clauses, for charts and tables.
CLAUSE_TITLES: dict[str, str] = {
    "reply-electronic": "전자 문의 회신", "postal-phone-call": "우편 전화 연락", "postal-written": "우편 서면 회신",
    "correction": "정정·불만 처리", "error-contact": "오류 연락", "error-fix": "오류 조치", "review": "예비검토",
    "issuance": "승인 후 발급", "progress-notice": "진행 상황 안내", "handler-named": "담당자 명시",
}

#: Outbox purposes that are replies to the customer (they must name the handler).
CUSTOMER_REPLY_PURPOSES = frozenset({
    "acknowledgement", "fax-acknowledgement", "reply-relay", "reply-relay-fax", "progress-notice",
    "extension-notice", "decision-notice",
})
#: Customer notices that tell of progress (the progress-notice clause).
PROGRESS_PURPOSES = frozenset({"progress-notice", "extension-notice"})

SUGGESTION_CATEGORY = "suggestion"
OUTCOMES = ("채택", "불채택")


# ------------------------------------------------------------------ input rows


@dataclass(frozen=True, slots=True)
class CaseRow:
    id: int
    ref: str
    channel: str
    category: str
    department: str
    status: str
    received_at: datetime
    answered_at: datetime | None = None
    closed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ClockRow:
    case_id: int
    policy: str
    state: str                               # running|paused|met|cancelled
    started_at: datetime
    due_at: datetime | None                  # as stored (None while paused)
    stopped_at: datetime | None = None
    pauses: tuple[tuple[datetime, datetime | None], ...] = ()
    extension_date: date | None = None
    extension_reason: str | None = None


@dataclass(frozen=True, slots=True)
class AnswerEvent:
    """An ``answered`` audit event: the first one of a case is its first answer."""

    case_id: int
    at: datetime
    working_hours: float | None = None       # ``working_hours_to_answer`` as audited


@dataclass(frozen=True, slots=True)
class MailRow:
    case_id: int
    purpose: str
    created_at: datetime
    status: str                              # pending|sending|sent|failed
    names_handler: bool                      # its template version names the handler


@dataclass(frozen=True, slots=True)
class SurveyRow:
    case_id: int
    sent_at: datetime
    state: str                               # sent|answered|expired|staff
    score: int | None = None
    comment: str = ""
    answered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DecisionEvent:
    """A ``decided`` audit event of a suggestion (``#decision`` / ``cases decide``)."""

    case_id: int
    at: datetime
    outcome: str                             # 채택|불채택
    reason: str


@dataclass(frozen=True)
class ReportInput:
    """The rows a report reads. Clocks, answers, mails and decisions are read once: they may be
    iterators streaming from the database (a year of 100,000 cases need not be held at once)."""

    cases: Iterable[CaseRow]
    clocks: Iterable[ClockRow] = ()
    answers: Iterable[AnswerEvent] = ()
    mails: Iterable[MailRow] = ()
    surveys: Iterable[SurveyRow] = ()
    decisions: Iterable[DecisionEvent] = ()


@dataclass(frozen=True)
class Period:
    start: date                              # inclusive, Seoul dates
    end: date                                # inclusive

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"period ends ({self.end}) before it starts ({self.start})")

    def months(self) -> list[str]:
        out, y, m = [], self.start.year, self.start.month
        while (y, m) <= (self.end.year, self.end.month):
            out.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out


# ------------------------------------------------------------------ output records


@dataclass(frozen=True)
class ClauseFigures:
    id: str
    promise: str
    cases: int
    on_time: int
    late: int
    open_overdue: int
    open: int                                # still running, not yet due
    rate: float | None                       # on_time / (on_time + late + open_overdue)
    excluded_hours: float | None = None      # review: government consultation time not counted
    survey_mean: float | None = None         # the survey answers of the cases this clause judged


@dataclass(frozen=True)
class OverdueCase:
    ref: str
    clause: str
    due_at: datetime
    reason: str                              # hold | extension | none
    state: str                               # late | open-overdue


@dataclass(frozen=True)
class SurveySummary:
    sent: int
    answered: int
    scores: tuple[int, int, int, int, int]   # counts of 1..5
    mean: float | None
    comments: tuple[tuple[str, int, str], ...] = ()   # (ref, score, comment)


@dataclass(frozen=True)
class SuggestionOutcome:
    ref: str
    received_at: datetime
    outcome: str                             # 채택 | 불채택 | 심사 중
    reason: str
    decided_at: datetime | None


@dataclass(frozen=True)
class Report:
    period: Period
    now: datetime
    filters: dict[str, str]
    clauses: tuple[ClauseFigures, ...]
    monthly_rates: dict[str, dict[str, float | None]]        # clause -> month -> rate
    monthly_requests: dict[str, dict[str, dict[str, int]]]   # channel|category|department -> value -> month -> n
    first_answer_hours: tuple[float, ...]
    first_answer_median: float | None
    first_answer_p90: float | None
    overdue: tuple[OverdueCase, ...]
    survey: SurveySummary
    suggestions: tuple[SuggestionOutcome, ...]
    requests: int = 0
    extra: dict[str, object] = field(default_factory=dict)
