"""The case page's decision evidence and audit trail as labelled Korean rows (pure, no I/O).

A case row keeps its evidence as JSON written at registration (``intake.stages.registration``):
``{"classification": [{"rule", "detail", "score"}, ...], "route": "...", "confidence": 0.8,
"low_confidence": false}``. Audit events keep a JSON ``detail`` with English keys. Staff read
neither: ``evidence_rows`` turns the evidence (and the template versions of the mails sent) into
rows of a table (what, value, rule id), ``audit_rows`` turns the trail into rows with Korean
action labels and Korean field names. Anything unknown is shown as it is, never hidden.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterable

#: rule-id prefix -> what kind of rule it is (longest prefix first when looked up)
RULE_KINDS = {
    "category.model": "학습 모델", "category.scores": "분류 점수", "category.runner-up": "차순위 분류",
    "category.default": "기본 분류", "category": "분류 규칙", "kind": "메일 종류 판단", "channel": "접수 경로 판단",
    "language": "언어 판단", "pii": "개인정보 판단", "spam": "스팸 판단",
}

AUDIT_LABELS = {
    "received": "메일 수신", "decided": "메일 종류 판단", "registered": "민원 접수", "classified": "분류",
    "routed": "담당자 배정", "deadline": "처리 기한 설정", "clock-started": "기한 시작",
    "acknowledgement-queued": "접수 확인 메일 준비", "acknowledgement-skipped": "접수 확인 메일 생략",
    "fax-acknowledgement-queued": "팩스 접수 확인서 준비", "fax-acknowledgement-by-hand": "팩스 접수 확인서 직접 발송 요청",
    "fax-acknowledgement-skipped": "팩스 접수 확인서 생략", "fax-gateway-unconfigured": "팩스 게이트웨이 미설정",
    "task-queued": "담당자 업무 메일 준비", "pages-read": "쪽 판독(OCR)", "follow-up": "추가 메일 도착",
    "staff-reply": "담당자 회신", "answered": "답변 완료", "note": "메모", "paused": "처리 정지", "resumed": "처리 재개",
    "extended": "기한 연장", "called": "전화 완료", "approved": "승인 완료", "service-error": "업무 오류 기록",
    "closed": "종결", "reassigned": "담당 변경", "reclassified": "분류 변경", "reminded": "기한 알림",
    "overdue": "기한 지남", "escalated": "부서장 보고", "escalation-skipped": "부서장 보고 생략",
    "due-recomputed": "기한 다시 계산", "progress-notice-queued": "진행 안내 메일 준비",
    "progress-notice-skipped": "진행 안내 메일 생략", "letter-printed": "회신 문서 인쇄", "bounce": "메일 반송",
    "send-failed": "메일 발송 실패", "failed": "처리 실패", "retry-requested": "다시 처리 요청",
    "set-aside": "보류(사람 확인 필요)", "spam-quarantined": "스팸 격리", "spam-released": "스팸에서 해제",
    "auto-reply": "자동 응답 메일", "command-refused": "명령 거부", "original-revealed": "원문 열람",
    "personal-data-purged": "개인정보 파기", "survey-sent": "만족도 조사 발송", "survey-skipped": "만족도 조사 생략",
    "survey-answered": "만족도 조사 응답", "survey-opt-out": "만족도 조사 수신 거부",
    "survey-recovery": "시정 업무 시작", "survey-recovery-unsent": "시정 업무 메일 미발송",
    "survey-reply-for-staff": "만족도 회신 담당자 확인", "digest": "일일 현황", "alert-raised": "운영 경보",
    "alert-cleared": "운영 경보 해소",
}

DETAIL_LABELS = {
    "ref": "접수번호", "category": "분류", "confidence": "신뢰도", "low_confidence": "신뢰도 낮음",
    "evidence": "근거", "handler": "담당자", "reason": "사유", "policy": "기한 정책", "due": "기한", "to": "받는 사람",
    "from": "이전", "from_department": "이전 부서", "to_department": "새 부서", "requested": "요청한 대상",
    "route": "배정 사유", "text": "내용", "note": "메모", "how": "방법", "clocks": "기한", "template": "템플릿",
    "working_hours_to_answer": "답변까지 근무 시간", "score": "점수", "via": "경로", "comment": "의견",
    "delegate_of": "대리 대상", "outbox_id": "메일 번호", "role": "권한", "date": "날짜", "new_due": "새 기한",
    "started": "시작", "message_id": "메시지 ID", "template_version": "템플릿 버전", "at": "시각", "until": "까지",
}

YES_NO = {True: "예", False: "아니요"}


@dataclass(frozen=True)
class EvidenceRow:
    label: str          # what this row is, in Korean
    value: str          # what was found or decided
    rule: str = ""      # the rule id behind it (small print), when there is one


@dataclass(frozen=True)
class AuditRow:
    at: datetime
    actor: str
    action: str                               # Korean label
    event: str                                # the event id (for search and support)
    details: tuple[tuple[str, str], ...] = ()  # (Korean field name, value)


_ROUTE_PATTERNS = (
    (re.compile(r"^fewest open cases \((\d+)\) among (\d+) present staff of (\S+?)(; tie with (.+) broken by id)?$"),
     lambda m, d: f"{d(m[3])} 근무자 {m[2]}명 중 처리 중인 건이 가장 적음({m[1]}건)"
                  + (" · 같은 건수는 직원 id 순" if m[4] else "")),
    (re.compile(r"^low-confidence classification: triage person (\S+)$"),
     lambda m, d: f"자동 분류 신뢰도가 낮아 분류 확인 담당({m[1]})에게 배정"),
    (re.compile(r"^no active staff in (\S+): department head (\S+)$"),
     lambda m, d: f"{d(m[1])}에 근무 중인 직원이 없어 부서장({m[2]})에게 배정"),
    (re.compile(r"^all active staff absent on (\S+) in (\S+): department head (\S+)$"),
     lambda m, d: f"{m[1]}에 {d(m[2])} 직원이 모두 부재 중이어서 부서장({m[3]})에게 배정"),
    (re.compile(r"^named by staff: (\S+)$"), lambda m, d: f"직원이 지정함: {m[1]}"),
)


_DELEGATE = re.compile(r"^(.*); (\S+) away: delegate (\S+)$")


def route_text(reason: str, departments: dict[str, str] | None = None) -> str:
    """The routing reason in Korean (the domain writes it in English); unknown forms as they are."""
    names = departments or {}
    m = _DELEGATE.match(reason or "")
    if m:
        return f"{route_text(m[1], names)} · {m[2]} 부재 중이어서 대리인({m[3]})에게 배정"
    parts = [p.strip() for p in (reason or "").split(" | ")]
    out = []
    for part in parts:
        for pattern, text in _ROUTE_PATTERNS:
            m = pattern.match(part)
            if m:
                out.append(text(m, lambda dep: names.get(dep, dep)))
                break
        else:
            out.append(part)
    return " / ".join(p for p in out if p) or "-"


def rule_kind(rule: str) -> str:
    for prefix in sorted(RULE_KINDS, key=len, reverse=True):
        if rule == prefix or rule.startswith(prefix + ".") or rule.startswith(prefix + ":"):
            return RULE_KINDS[prefix]
    return "판단 근거"


_MODEL_VERSION = re.compile(r"\bmodel (\S+?):")


def _load(evidence: str | None):
    try:
        return json.loads(evidence or "{}")
    except ValueError:
        return None


def evidence_rows(evidence: str | None, mails: Iterable[tuple[str | None, str | None]] = (),
                  departments: dict[str, str] | None = None) -> list[EvidenceRow]:
    """The decision evidence of a case as table rows: rule hits, confidence, routing reason,
    model version and the template version of each mail sent (``mails``: (template, version))."""
    data = _load(evidence)
    if data is None:
        return [EvidenceRow("기록", evidence or "")]
    if isinstance(data, list):                   # an older form: a bare list of rule hits
        data = {"classification": data}
    rows: list[EvidenceRow] = []
    hits = [h for h in data.get("classification") or [] if isinstance(h, dict)]
    for hit in hits:
        rule = str(hit.get("rule") or "")
        score = hit.get("score")
        value = str(hit.get("detail") or "")
        if isinstance(score, (int, float)) and score:
            value += f" (점수 {score:g})"
        rows.append(EvidenceRow(rule_kind(rule), value, rule))
    if "confidence" in data:
        low = " · 낮음: 분류를 확인해 주십시오" if data.get("low_confidence") else ""
        rows.append(EvidenceRow("분류 신뢰도", f"{float(data['confidence']):.2f}{low}"))
    if "route" in data:
        rows.append(EvidenceRow("배정 사유", route_text(str(data["route"]), departments), "route"))
    versions = sorted({m.group(1) for h in hits for m in [_MODEL_VERSION.search(str(h.get("detail") or ""))] if m})
    rows.append(EvidenceRow("모델 버전", ", ".join(versions) if versions else "사용하지 않음(규칙으로 분류)"))
    for template, version in mails:
        if template:
            rows.append(EvidenceRow("템플릿 버전", f"{template} · {(version or '-')[:12]}", template))
    for key in sorted(set(data) - {"classification", "confidence", "low_confidence", "route"}):
        rows.append(EvidenceRow(key, _plain(data[key])))
    return rows


_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)$")
_KST = timezone(timedelta(hours=9))


def _plain(value) -> str:
    if isinstance(value, str) and _ISO_TIME.match(value):      # a stored time, shown in Seoul time
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(_KST).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, bool):
        return YES_NO[value]
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{DETAIL_LABELS.get(k, k)}: {_plain(v)}" for k, v in value.items())
    return "" if value is None else str(value)


def action_label(event: str) -> str:
    """The Korean label of an audit event; ``sent:<template>`` (the send stage's) names the mail."""
    if event.startswith("sent:"):
        return f"메일 발송({event[5:]})"
    return AUDIT_LABELS.get(event, event)


def audit_rows(events: Iterable, names: dict[str, str] | None = None,
               departments: dict[str, str] | None = None) -> list[AuditRow]:
    """Audit events (anything with ``at``, ``actor``, ``event``, ``detail``) as Korean rows;
    ``names`` maps staff ids to names (``system`` and ``customer`` are labelled too)."""
    who = {"system": "시스템", "customer": "고객", **(names or {})}
    out = []
    for e in events:
        try:
            detail = json.loads(e.detail) if e.detail else {}
        except ValueError:
            detail = {"text": e.detail}
        if not isinstance(detail, dict):
            detail = {"text": detail}
        pairs = []
        for key, value in detail.items():
            routing = key == "route" or (key == "reason" and e.event == "routed")
            text = route_text(str(value), departments) if routing else _plain(value)
            if key in ("handler", "to", "from", "delegate_of") and isinstance(value, str):
                text = who.get(value, value)
            pairs.append((DETAIL_LABELS.get(key, key), text[:300]))
        out.append(AuditRow(e.at, who.get(e.actor, e.actor), action_label(e.event), e.event, tuple(pairs)))
    return out
