"""The report as one self-contained, printable html page; charts drawn by matplotlib's SVG backend.

Glyphs are embedded as SVG paths (``svg.fonttype = "path"``) from NanumGothic, so the page needs no
font and no script from anywhere and prints the same on any machine. Text in the tables uses the
system's NanumGothic (or any Korean sans-serif font) by name only.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("svg")   # the report never needs a display

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from intake.domain.report_formats import CHANNEL_LABELS, DISCLOSURE_HEADERS, disclosure_rows, percent  # noqa: E402
from intake.domain.report_records import CLAUSE_TITLES, Report  # noqa: E402
from intake.domain.workdays import to_seoul  # noqa: E402

FONT_FILES = ("/usr/share/fonts/truetype/nanum/NanumGothic.ttf",)
SCORE_LABELS = ("매우 불만족", "불만족", "보통", "만족", "매우 만족")
HOUR_BINS = ((0, 4, "4시간 이내"), (4, 8, "4~8시간"), (8, 16, "1~2일"), (16, 24, "2~3일"), (24, 40, "3~5일"),
             (40, float("inf"), "5일 초과"))
MAX_ROWS = 300      # overdue rows shown in the page (all of them are in json/csv)

CSS = """
body{font-family:NanumGothic,'Nanum Gothic','Noto Sans CJK KR',sans-serif;margin:24px;color:#222;max-width:1000px}
h1{font-size:22px}h2{font-size:17px;border-bottom:1px solid #999;padding-bottom:3px;margin-top:28px}
table{border-collapse:collapse;width:100%;font-size:13px;margin:8px 0}
th,td{border:1px solid #bbb;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#eef1f5;white-space:nowrap}td.n{text-align:right;white-space:nowrap}
.meta{color:#555;font-size:13px}.chart{page-break-inside:avoid;margin:8px 0}.chart svg{max-width:100%;height:auto}
@media print{body{margin:0}h2{page-break-after:avoid}}
"""


def _font() -> font_manager.FontProperties | None:
    for path in FONT_FILES:
        if Path(path).exists():
            font_manager.fontManager.addfont(path)
            return font_manager.FontProperties(fname=path)
    return None


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg"):]     # drop the XML prolog and doctype: inline in html
    return re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)   # creator/date: nothing to show


def _setup() -> None:
    font = _font()
    plt.rcParams.update({"svg.fonttype": "path", "font.size": 9, "axes.unicode_minus": False,
                         "svg.hashsalt": "intake-report"})     # stable ids: same report, same bytes
    if font is not None:
        plt.rcParams["font.family"] = font.get_name()


def chart_monthly_rates(report: Report) -> str:
    """Lines per clause over the months; for a one-month period, one bar per clause (points would overlap)."""
    months = report.period.months()
    if len(months) == 1:
        return _chart_period_rates(report)
    fig, ax = plt.subplots(figsize=(8.2, 3.6))
    for c in report.clauses:
        series = report.monthly_rates.get(c.id, {})
        xs = [i for i, m in enumerate(months) if series.get(m) is not None]
        if xs:
            ax.plot(xs, [series[months[i]] * 100 for i in xs], marker="o", label=CLAUSE_TITLES.get(c.id, c.id))
    _month_ticks(ax, months)
    ax.set_ylim(0, 105)
    ax.set_ylabel("기한 준수율 (%)")
    ax.set_title("월별 조항별 기한 준수율")
    ax.grid(axis="y", alpha=0.3)
    if ax.lines:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
    else:
        _no_data(ax)
    return _svg(fig)


def _chart_period_rates(report: Report) -> str:
    clauses = [c for c in report.clauses if c.rate is not None]
    if not clauses:
        fig, ax = plt.subplots(figsize=(8.2, 2.0))
        ax.set_title(f"조항별 기한 준수율 ({report.period.months()[0]})")
        _no_data(ax)
        return _svg(fig)
    fig, ax = plt.subplots(figsize=(8.2, 0.5 + 0.32 * max(1, len(clauses))))
    ax.barh(range(len(clauses)), [c.rate * 100 for c in clauses], color="#4c72b0")
    ax.set_yticks(range(len(clauses)), [CLAUSE_TITLES.get(c.id, c.id) for c in clauses])
    ax.invert_yaxis()
    ax.set_xlim(0, 110)
    ax.set_xlabel("기한 준수율 (%)")
    ax.set_title(f"조항별 기한 준수율 ({report.period.months()[0]})")
    for i, c in enumerate(clauses):
        ax.annotate(f"{c.rate * 100:.1f}%", (c.rate * 100, i), ha="left", va="center", fontsize=8,
                    xytext=(3, 0), textcoords="offset points")
    return _svg(fig)


def _month_ticks(ax, months: list[str]) -> None:
    step = max(1, len(months) // 12)
    rotate = len(months) > 6
    ax.set_xticks(range(0, len(months), step), months[::step], rotation=45 if rotate else 0,
                  ha="right" if rotate else "center")


def chart_channels(report: Report) -> str:
    months = report.period.months()
    per = report.monthly_requests["channel"]
    fig, ax = plt.subplots(figsize=(8.2, 3.2))
    bottom = [0] * len(months)
    for ch, counts in sorted(per.items()):
        vals = [counts.get(m, 0) for m in months]
        ax.bar(range(len(months)), vals, bottom=bottom, label=CHANNEL_LABELS.get(ch, ch))
        bottom = [b + v for b, v in zip(bottom, vals)]
    _month_ticks(ax, months)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("접수 건수")
    ax.set_title("월별 접수 경로별 요청 건수")
    if per:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    else:
        _no_data(ax)
    return _svg(fig)


def chart_first_answer(report: Report) -> str:
    counts = [sum(1 for h in report.first_answer_hours if lo <= h < hi) for lo, hi, _ in HOUR_BINS]
    fig, ax = plt.subplots(figsize=(8.2, 3.0))
    ax.bar(range(len(HOUR_BINS)), counts, color="#4c72b0")
    ax.set_xticks(range(len(HOUR_BINS)), [label for _, _, label in HOUR_BINS])
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("사례 수")
    ax.set_title(f"첫 회신까지 걸린 근무시간 (중앙값 {_h(report.first_answer_median)}, "
                 f"90% {_h(report.first_answer_p90)})")
    ax.margins(y=0.15)     # room for the count above the tallest bar
    if not any(counts):
        _no_data(ax)
        return _svg(fig)
    for i, n in enumerate(counts):
        ax.annotate(str(n), (i, n), ha="center", va="bottom", fontsize=8)
    return _svg(fig)


def chart_survey(report: Report) -> str:
    fig, ax = plt.subplots(figsize=(8.2, 2.8))
    scores = report.survey.scores
    ax.barh(range(5), scores, color=["#c44e52", "#dd8452", "#999999", "#55a868", "#2f7d4a"])
    ax.set_yticks(range(5), [f"{i + 1}. {label}" for i, label in enumerate(SCORE_LABELS)])
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("응답 수")
    mean = report.survey.mean
    ax.set_title(f"만족도 조사 응답 (발송 {report.survey.sent}, 응답 {report.survey.answered}, "
                 f"평균 {'-' if mean is None else f'{mean:.2f}'})")
    if not any(scores):
        ax.set_xticks([])
        ax.text(0.5, 0.5, "응답 없음", transform=ax.transAxes, ha="center", va="center", fontsize=11, color="#777")
        return _svg(fig)
    for i, n in enumerate(scores):
        ax.annotate(str(n), (n, i), ha="left", va="center", fontsize=8, xytext=(3, 0), textcoords="offset points")
    return _svg(fig)


def _no_data(ax) -> None:
    ax.text(0.5, 0.5, "자료 없음", transform=ax.transAxes, ha="center", va="center", fontsize=11, color="#777")
    ax.set_yticks([])     # an empty count axis would show -0.06 … 0.06


def _h(hours: float | None) -> str:
    return "-" if hours is None else f"{hours:g}시간"


def _table(headers, rows, numeric: frozenset[int] = frozenset()) -> str:
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td{' class=n' if i in numeric else ''}>{e(str(v))}</td>"
                                    for i, v in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _clause_table(report: Report) -> str:
    rows = [(f"{CLAUSE_TITLES.get(c.id, c.id)} ({c.id})", c.promise, c.cases, c.on_time, c.late, c.open_overdue, c.open, percent(c.rate),
             "-" if c.excluded_hours is None else f"{c.excluded_hours:g}시간",
             "-" if c.survey_mean is None else f"{c.survey_mean:.2f}") for c in report.clauses]
    return _table(["조항", "약속", "건수", "기한 내", "기한 후", "미처리 경과", "처리 중", "준수율", "제외 시간(협의)",
                   "만족도"], rows, frozenset(range(2, 10)))


def _other_tables(report: Report, labels: Mapping[str, str]) -> str:
    shown = report.overdue[:MAX_ROWS]
    reasons = {"hold": "보류(협의 등)", "extension": "연장", "none": "사유 없음"}
    parts = [f"<h2>기한을 넘긴 사례 ({len(report.overdue)}건"
             + (f", 앞의 {MAX_ROWS}건 표시" if len(report.overdue) > MAX_ROWS else "") + ")</h2>",
             _table(["사례", "조항", "기한", "사유", "상태"],
                    [(o.ref, CLAUSE_TITLES.get(o.clause, o.clause), f"{to_seoul(o.due_at):%Y-%m-%d %H:%M}", reasons.get(o.reason, o.reason),
                      "기한 후 처리" if o.state == "late" else "미처리") for o in shown])]
    parts.append(f"<h2>제안 심사 결과 ({len(report.suggestions)}건)</h2>")
    parts.append(_table(["사례", "접수", "결과", "사유"],
                        [(s.ref, f"{to_seoul(s.received_at):%Y-%m-%d}", s.outcome, s.reason) for s in report.suggestions]))
    parts.append("<h2>만족도 조사 의견</h2>")
    parts.append(_table(["사례", "점수", "의견"], list(report.survey.comments[:MAX_ROWS])))
    cats = report.monthly_requests["category"]
    parts.append("<h2>분야·부서별 접수 건수</h2>")
    rows = [("분야", labels.get(k, k), sum(v.values())) for k, v in sorted(cats.items())]
    rows += [("부서", labels.get(k, k), sum(v.values())) for k, v in sorted(report.monthly_requests["department"].items())]
    parts.append(_table(["구분", "이름", "건수"], rows, frozenset({2})))
    return "".join(parts)


def _page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html><html lang="ko"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{CSS}</style></head><body>{body}</body></html>\n")


def render_report_html(report: Report, labels: Mapping[str, str] = {}, org: str = "") -> str:
    _setup()
    p = report.period
    title = f"{org} 고객헌장 이행 보고서 {p.start.isoformat()} ~ {p.end.isoformat()}".strip()
    filters = ", ".join(f"{k}={v}" for k, v in report.filters.items()) or "없음"
    charts = "".join(f'<div class="chart">{svg}</div>' for svg in (
        chart_monthly_rates(report), chart_channels(report), chart_first_answer(report), chart_survey(report)))
    body = (f"<h1>{html.escape(title)}</h1>"
            f'<p class="meta">기준 시각 {to_seoul(report.now):%Y-%m-%d %H:%M} (KST) · 접수 {report.requests}건 · '
            f"필터 {html.escape(filters)} · 첫 회신 근무시간 중앙값 {_h(report.first_answer_median)}, "
            f"90% {_h(report.first_answer_p90)}</p>"
            f"<h2>고객헌장 조항별 이행</h2>{_clause_table(report)}"
            f"<h2>그래프</h2>{charts}{_other_tables(report, labels)}")
    return _page(title, body)


def render_disclosure_html(report: Report, org: str = "") -> str:
    title = f"{org} {report.period.start.year}년 고객헌장 이행 공시".strip()
    return _page(title, f"<h1>{html.escape(title)}</h1>"
                        + _table(DISCLOSURE_HEADERS, disclosure_rows(report), frozenset({2, 3, 4})))
