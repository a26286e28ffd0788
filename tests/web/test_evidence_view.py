"""The case page's evidence and audit trail as Korean rows (pure functions, tables)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest

from intake.web.evidence_view import AuditRow, EvidenceRow, audit_rows, evidence_rows, route_text, rule_kind

DEPS = {"business": "총괄사업부", "support-center": "남북협력지원센터"}

STORED = json.dumps({
    "classification": [
        {"rule": "category.visit-certificate.kw:방북", "detail": "본문에 '방북증명서' 포함", "score": 2.0},
        {"rule": "category.model.agrees", "detail": "model v3-20261204T1910Z: visit-certificate p=0.91; top features "
                                                    "['방북']", "score": 0.91},
        {"rule": "category.scores", "detail": "visit-certificate 2.0", "score": 0.0},
    ],
    "route": "fewest open cases (3) among 2 present staff of business",
    "confidence": 0.91, "low_confidence": False}, ensure_ascii=False)


def test_stored_evidence_becomes_labelled_korean_rows():
    rows = evidence_rows(STORED, [("acknowledgement", "3f2a9c0d1e2b4a5c9999"), ("staff-task", "77aa")], DEPS)
    assert rows == [
        EvidenceRow("분류 규칙", "본문에 '방북증명서' 포함 (점수 2)", "category.visit-certificate.kw:방북"),
        EvidenceRow("학습 모델", "model v3-20261204T1910Z: visit-certificate p=0.91; top features ['방북'] (점수 0.91)",
                    "category.model.agrees"),
        EvidenceRow("분류 점수", "visit-certificate 2.0", "category.scores"),
        EvidenceRow("분류 신뢰도", "0.91"),
        EvidenceRow("배정 사유", "총괄사업부 근무자 2명 중 처리 중인 건이 가장 적음(3건)", "route"),
        EvidenceRow("모델 버전", "v3-20261204T1910Z"),
        EvidenceRow("템플릿 버전", "acknowledgement · 3f2a9c0d1e2b", "acknowledgement"),
        EvidenceRow("템플릿 버전", "staff-task · 77aa", "staff-task"),
    ]


@pytest.mark.parametrize("stored, expected", [
    (None, [EvidenceRow("모델 버전", "사용하지 않음(규칙으로 분류)")]),
    ("not json {", [EvidenceRow("기록", "not json {")]),
    ('[{"rule": "kind.auto-submitted", "detail": "Auto-Submitted: auto-replied"}]',
     [EvidenceRow("메일 종류 판단", "Auto-Submitted: auto-replied", "kind.auto-submitted"),
      EvidenceRow("모델 버전", "사용하지 않음(규칙으로 분류)")]),
    ('{"confidence": 0.4, "low_confidence": true, "bounds": ["cut"]}',
     [EvidenceRow("분류 신뢰도", "0.40 · 낮음: 분류를 확인해 주십시오"),
      EvidenceRow("모델 버전", "사용하지 않음(규칙으로 분류)"), EvidenceRow("bounds", "cut")]),
])
def test_other_and_damaged_evidence_is_shown_not_hidden(stored, expected):
    assert evidence_rows(stored) == expected


@pytest.mark.parametrize("reason, expected", [
    ("fewest open cases (0) among 3 present staff of support-center; tie with a.b, c.d broken by id",
     "남북협력지원센터 근무자 3명 중 처리 중인 건이 가장 적음(0건) · 같은 건수는 직원 id 순"),
    ("low-confidence classification: triage person kim.minsu", "자동 분류 신뢰도가 낮아 분류 확인 담당(kim.minsu)에게 배정"),
    ("no active staff in business: department head kim.minsu", "총괄사업부에 근무 중인 직원이 없어 부서장(kim.minsu)에게 배정"),
    ("all active staff absent on 2026-12-07 in business: department head kim.minsu",
     "2026-12-07에 총괄사업부 직원이 모두 부재 중이어서 부서장(kim.minsu)에게 배정"),
    ("named by staff: park.jiyoung", "직원이 지정함: park.jiyoung"),
    ("all active staff absent on 2026-12-07 in business: department head kim.minsu; kim.minsu away: delegate lee.seoyeon",
     "2026-12-07에 총괄사업부 직원이 모두 부재 중이어서 부서장(kim.minsu)에게 배정 · kim.minsu 부재 중이어서 "
     "대리인(lee.seoyeon)에게 배정"),
    ("something new", "something new"),
    ("", "-"),
])
def test_routing_reasons_in_korean(reason, expected):
    assert route_text(reason, DEPS) == expected


@pytest.mark.parametrize("rule, kind", [
    ("category.model.decides", "학습 모델"), ("category.runner-up", "차순위 분류"), ("category.general", "분류 규칙"),
    ("channel.fax-any.subject", "접수 경로 판단"), ("kind.bounce", "메일 종류 판단"), ("zzz", "판단 근거"),
    ("categoryx", "판단 근거"),
])
def test_rule_kinds(rule, kind):
    assert rule_kind(rule) == kind


@dataclass
class Event:
    at: datetime
    actor: str
    event: str
    detail: str | None


AT = datetime(2026, 12, 7, 1, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("event, expected", [
    (Event(AT, "system", "registered", '{"ref": "2026-000001"}'),
     AuditRow(AT, "시스템", "민원 접수", "registered", (("접수번호", "2026-000001"),))),
    (Event(AT, "system", "routed", '{"handler": "park.jiyoung", "reason": "named by staff: park.jiyoung"}'),
     AuditRow(AT, "시스템", "담당자 배정", "routed", (("담당자", "박지영"), ("사유", "직원이 지정함: park.jiyoung")))),
    (Event(AT, "kim.minsu", "note", '{"text": "고객과 통화함"}'),
     AuditRow(AT, "김민수", "메모", "note", (("내용", "고객과 통화함"),))),
    (Event(AT, "customer", "survey-answered", '{"score": 5, "via": "link", "low": false}'),
     AuditRow(AT, "고객", "만족도 조사 응답", "survey-answered", (("점수", "5"), ("경로", "link"), ("low", "아니요")))),
    (Event(AT, "kim.minsu", "reassigned", '{"to": "park.jiyoung", "route": "no active staff in business: '
                                          'department head kim.minsu"}'),
     AuditRow(AT, "김민수", "담당 변경", "reassigned",
              (("받는 사람", "박지영"), ("배정 사유", "총괄사업부에 근무 중인 직원이 없어 부서장(kim.minsu)에게 배정")))),
    (Event(AT, "system", "brand-new-event", None), AuditRow(AT, "시스템", "brand-new-event", "brand-new-event")),
    (Event(AT, "system", "deadline", '{"policy": "reply", "due": "2026-12-08T18:00:00+09:00"}'),
     AuditRow(AT, "시스템", "처리 기한 설정", "deadline", (("기한 정책", "reply"), ("기한", "2026-12-08 18:00")))),
    (Event(AT, "system", "clock-started", '{"started": "2026-12-05T08:59:17.123+00:00"}'),
     AuditRow(AT, "시스템", "기한 시작", "clock-started", (("시작", "2026-12-05 17:59"),))),
    (Event(AT, "system", "sent:acknowledgement", '{"template_version": "1dca9e"}'),
     AuditRow(AT, "시스템", "메일 발송(acknowledgement)", "sent:acknowledgement", (("템플릿 버전", "1dca9e"),))),
    (Event(AT, "system", "closed", "plain text"), AuditRow(AT, "시스템", "종결", "closed", (("내용", "plain text"),))),
])
def test_audit_trail_rows(event, expected):
    assert audit_rows([event], {"kim.minsu": "김민수", "park.jiyoung": "박지영"}, DEPS) == [expected]
