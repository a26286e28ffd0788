"""The progress notice's wording lives in the template: each situation renders its text."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
import pytest

from intake.adapters.templates import TemplateStore
from intake.domain import replies
from tests.adapters.templates.support import SHIPPED
from tests.domain.test_replies import DEPT, HANDLER, ORG, make_case

EXPECTED = datetime(2026, 12, 2, 18, 0, tzinfo=timezone(timedelta(hours=9)))


@pytest.fixture(scope="module")
def shipped() -> TemplateStore:
    return TemplateStore(SHIPPED)


def _text(shipped, language: str, progress: str = "", **kw) -> str:
    ctx = replies.progress_notice_context(make_case(), HANDLER, DEPT, ORG, progress, **kw)
    return shipped.render("progress-notice", ctx, language).text


@pytest.mark.parametrize("language,kw,present,absent", [
    ("ko", dict(situation="overdue", expected_at=EXPECTED),
     ["정해진 처리 기한까지 답변을 드리지 못하여 죄송합니다.\n담당자가 계속 처리하고 있으며",
      "  사유      : 담당 부서의 검토가 늦어지고 있습니다.\n", "  처리 예정 일시 : 2026년 12월 2일(수) 18:00"], []),
    ("ko", dict(situation="overdue", expected_at=EXPECTED, waiting_on={"label": "민원 답변", "policy": "reply"}),
     ["  사유      : 민원 답변 절차가 진행 중입니다.\n"], ["담당 부서의 검토"]),
    ("ko", dict(situation="on-hold", reason="서류 보완"),
     ["다음 사유로 처리 기간의 진행을 잠시 멈추었습니다: 서류 보완\n사유가 해소되면"], ["  사유      :"]),
    ("ko", dict(situation="resumed"), ["멈추었던 처리를 다시 시작하였습니다.\n"], ["  사유      :"]),
    ("ko", dict(progress="관계 기관에 확인 중입니다.", reason="협의 중"),
     ["관계 기관에 확인 중입니다.\n\n  사유      : 협의 중\n"], ["죄송합니다"]),
    ("en", dict(situation="overdue", expected_at=EXPECTED, waiting_on={"label": "민원 답변", "policy": "reply"}),
     ["We are sorry that we could not reply by the deadline.",
      "  Reason : The reply procedure is still in progress.\n"], ["민원"]),
    ("en", dict(situation="overdue", expected_at=EXPECTED),
     ["  Reason : The department's review is taking longer than planned.\n"], []),
    ("en", dict(situation="on-hold", reason="missing papers"),
     ["We have paused the processing period for the following reason: missing papers"], ["멈추었"]),
    ("en", dict(situation="resumed"), ["We have resumed processing your request."], ["멈추었"]),
])
def test_each_situation_renders_its_wording(shipped, language, kw, present, absent):
    kw = dict(kw)
    text = _text(shipped, language, kw.pop("progress", ""), **kw)
    for part in present:
        assert part in text, text
    for part in absent:
        assert part not in text, text


def test_unknown_situation_is_refused():
    with pytest.raises(ValueError, match="unknown progress situation"):
        replies.progress_notice_context(make_case(), HANDLER, DEPT, ORG, situation="late")
