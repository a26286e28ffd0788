"""What kind of message is this: case, follow-up, auto-reply, bounce or spam?

``decide_kind`` is pure. Order of the checks (first match wins):

1. loop: mail from one of our own addresses (our acknowledgement coming back)
   is never a case (kind auto-reply, rule ``kind.loop.*``); a web-form relay
   (our no-reply sender with a foreign Reply-To) is let through;
2. bounce: RFC 3464 DSN, MAILER-DAEMON/postmaster or null Return-Path with
   failure wording; successful/delayed-only DSNs and read receipts are
   automatic mail, not bounces;
3. spam: X-Spam-Flag / X-Spam-Status, then the weighted ``SpamRules``;
4. auto-reply: RFC 3834 headers, vendor markers, Precedence, then wording;
5. follow-up: a case ref (Message-ID lookup, subject, body);
6. otherwise a new case.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Mapping

from intake.domain.autoreply_text import extra_auto_reply_score, without_receipt_wording
from intake.domain.bounces import (KnownIds, bounce_case_ref, bounce_facts, bounce_signals, header_param,
                                   parse_delivery_status)
from intake.domain.records import Evidence, Kind, KindDecision, ParsedMail
from intake.domain.spam_signals import (DEFAULT_FAMILIES, SpamFamily, family_hits, forged_own_domain, load_families,
                                        lookalike_domain, upstream_verdict)
from intake.domain.threading_ import extract_refs, find_case_ref
from intake.errors import ConfigError

__all__ = ["AUTO_TEXT_THRESHOLD", "DEFAULT_SPAM_RULES", "KnownIds", "SpamRules", "auto_reply_text_score", "decide_kind",
           "load_spam_rules", "parse_delivery_status", "spam_score"]

# --------------------------------------------------------------------------- spam rules


@dataclass(frozen=True)
class SpamRules:
    """Weighted spam rules; a message is spam when its score reaches ``threshold``.

    ``keywords`` match the normalised subject+body (lower-case, no spaces);
    ``regexes`` the lower-cased subject+body; ``senders`` the From address.
    ``ad_subject`` is the 광고 prefix Korean law (정보통신망법 제50조) puts on ads.
    ``impersonation_terms`` + a sender in ``free_mail_domains`` = phishing-like.
    """

    keywords: tuple[tuple[str, float], ...] = ()
    regexes: tuple[tuple[re.Pattern, float], ...] = ()
    senders: tuple[tuple[re.Pattern, float], ...] = ()
    ad_subject: re.Pattern | None = None
    ad_weight: float = 5.0
    free_mail_domains: frozenset[str] = frozenset()
    impersonation_terms: tuple[str, ...] = ()
    impersonation_weight: float = 4.0
    threshold: float = 4.0
    families: tuple[SpamFamily, ...] = ()
    lookalike_weight: float = 3.0

    @classmethod
    def default(cls) -> "SpamRules":
        return load_spam_rules(DEFAULT_SPAM_RULES, "<built-in spam rules>")


DEFAULT_SPAM_RULES: dict[str, Any] = {
    "threshold": 4.0,
    "ad_subject": r"^\s*[\(\[<［（]\s*(광\s*고|ad|advertisement)\s*[\)\]>］）]",
    "ad_weight": 5.0,
    "keywords": [
        ["수신거부", 1.5], ["무료수신거부", 2.0], ["특가", 1.5], ["할인", 1.0], ["광고", 1.0], ["이벤트당첨", 3.0],
        ["대출", 1.5], ["카지노", 4.0], ["바카라", 4.0], ["비아그라", 4.0], ["unsubscribe", 1.0],
        ["registrationfee", 2.5], ["publicationfee", 2.5], ["invitedspeaker", 1.5], ["invitationtospeak", 1.5],
        ["inviteyouasaspeaker", 2.0], ["callforpapers", 1.5], ["organisingcommittee", 1.0], ["organizingcommittee", 1.0],
        ["lottery", 3.0], ["bitcoin", 2.0], ["cryptocurrency", 2.0], ["wiretransfer", 1.5],
        ["계정이정지", 3.0], ["비밀번호를확인", 2.0], ["본인인증을", 1.0],
    ],
    "regexes": [
        [r"\b(usd|eur|\$)\s?[\d,]{3,}", 1.0],
        [r"(click|클릭)\s*(here|하세요|하여)", 1.0],
    ],
    "senders": [],
    "free_mail_domains": [
        "naver.com", "hanmail.net", "daum.net", "gmail.com", "nate.com", "kakao.com", "hotmail.com",
        "outlook.com", "yahoo.com", "yahoo.co.kr", "live.com", "icloud.com",
    ],
    "impersonation_terms": [
        "세금계산서", "국세청", "홈택스", "건강보험공단", "경찰청", "검찰청", "법원", "우체국택배", "택배배송",
        "금융감독원", "은행보안", "계정보안", "irs", "taxrefund", "accountsuspended",
    ],
    "impersonation_weight": 4.0,
    "lookalike_weight": 3.0,
    "families": DEFAULT_FAMILIES,
}


def _norm(text: str) -> str:
    return re.sub(r"[\s·・‧ㆍ]+", "", unicodedata.normalize("NFC", text or "").lower())


def load_spam_rules(data: Mapping[str, Any], file: str = "config/spam.toml") -> SpamRules:
    """Validate a parsed TOML/dict; ConfigError(file, key, problem) on bad input."""

    def num(key: str, default: float) -> float:
        v = data.get(key, default)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ConfigError(file, key, "must be a number")
        return float(v)

    def pairs(key: str) -> list[tuple[str, float]]:
        v = data.get(key, [])
        if not isinstance(v, list):
            raise ConfigError(file, key, "must be a list of [text, weight] pairs")
        out = []
        for i, item in enumerate(v):
            if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)
                    and isinstance(item[1], (int, float)) and not isinstance(item[1], bool)):
                raise ConfigError(file, f"{key}[{i}]", "must be a [text, weight] pair")
            out.append((item[0], float(item[1])))
        return out

    def rx(key: str, text: str) -> re.Pattern:
        try:
            return re.compile(text, re.IGNORECASE)
        except re.error as exc:
            raise ConfigError(file, key, f"bad regular expression {text!r}: {exc}") from None

    def strs(key: str) -> list[str]:
        v = data.get(key, [])
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise ConfigError(file, key, "must be a list of strings")
        return v

    known = set(DEFAULT_SPAM_RULES)
    for k in data:
        if k not in known:
            raise ConfigError(file, k, "unknown key")
    ad = data.get("ad_subject")
    if ad is not None and not isinstance(ad, str):
        raise ConfigError(file, "ad_subject", "must be a regular expression string")
    return SpamRules(
        keywords=tuple((_norm(t), w) for t, w in pairs("keywords")),
        regexes=tuple((rx(f"regexes[{i}]", t), w) for i, (t, w) in enumerate(pairs("regexes"))),
        senders=tuple((rx(f"senders[{i}]", t), w) for i, (t, w) in enumerate(pairs("senders"))),
        ad_subject=rx("ad_subject", ad) if ad else None,
        ad_weight=num("ad_weight", 5.0),
        free_mail_domains=frozenset(d.lower() for d in strs("free_mail_domains")),
        impersonation_terms=tuple(_norm(t) for t in strs("impersonation_terms")),
        impersonation_weight=num("impersonation_weight", 4.0),
        threshold=num("threshold", 4.0),
        families=load_families(data.get("families", []), file, _norm),
        lookalike_weight=num("lookalike_weight", 3.0),
    )


def spam_score(mail: ParsedMail, rules: SpamRules,
               own_domains: frozenset[str] = frozenset()) -> tuple[float, list[Evidence]]:
    ev: list[Evidence] = []
    verdict = upstream_verdict(mail) or forged_own_domain(mail, own_domains)
    if verdict is not None:
        return verdict.score, [verdict]
    flag = (mail.header("x-spam-flag") or "").strip().lower()
    status = (mail.header("x-spam-status") or "").strip().lower()
    if flag.startswith("yes") or status.startswith("yes"):
        ev.append(Evidence("kind.spam.header", f"X-Spam-Flag/X-Spam-Status: {flag or status}", 100.0))
        return 100.0, ev
    subject = mail.subject or ""
    both = f"{subject}\n{mail.text or ''}"
    norm = _norm(both)
    low = unicodedata.normalize("NFC", both).lower()
    total = 0.0
    if rules.ad_subject is not None and rules.ad_subject.search(subject):
        total += rules.ad_weight
        ev.append(Evidence("kind.spam.ad-prefix", f"subject starts with an advertising mark: {subject[:40]!r}", rules.ad_weight))
    for kw, w in rules.keywords:
        if kw and kw in norm:
            total += w
            ev.append(Evidence(f"kind.spam.kw:{kw}", f"{kw!r} in subject/body", w))
    for pat, w in rules.regexes:
        if pat.search(low):
            total += w
            ev.append(Evidence(f"kind.spam.re:{pat.pattern}", "regex in subject/body", w))
    sender = (mail.from_address or "").lower()
    for pat, w in rules.senders:
        if pat.search(sender):
            total += w
            ev.append(Evidence(f"kind.spam.sender:{pat.pattern}", f"sender {sender}", w))
    for hit in family_hits(norm, rules.families) + [lookalike_domain(mail, own_domains, rules.lookalike_weight)]:
        if hit is not None:
            total += hit.score
            ev.append(hit)
    domain = sender.rsplit("@", 1)[-1]
    if domain in rules.free_mail_domains:
        terms = [t for t in rules.impersonation_terms if t in _norm(subject)]
        if terms:
            total += rules.impersonation_weight
            ev.append(Evidence("kind.spam.impersonation",
                               f"free-mail sender {sender} with institutional notice subject ({terms[0]})",
                               rules.impersonation_weight))
    return total, ev


# --------------------------------------------------------------------------- auto-replies

_AR_SUBJECT_STRONG = re.compile(
    r"(자동\s*(응답|회신|답장|답변|알림)|부재\s*중?|\[\s*부재\s*\]|out\s+of\s+(the\s+)?office|automatic\s+reply|"
    r"auto(matic)?[\s-]*(reply|response|respond)|autoreply|vacation\s+(reply|message|notice)|abwesenheit|"
    r"absence|on\s+leave|away\s+from\s+(the\s+)?office|읽음\s*[:：]|^read\s*:|read\s+receipt|수신\s*확인)",
    re.IGNORECASE,
)
# Prefixes mail clients put on generated replies: as good as a header.
_AR_SUBJECT_PREFIX = re.compile(
    r"^\s*(automatic\s+reply|auto(matic)?[\s-]*reply|auto(matic)?[\s-]*response|out\s+of\s+(the\s+)?office(\s+reply)?|"
    r"자동\s*회신|자동\s*응답|자동\s*답장|부재\s*중\s*(자동\s*)?(응답|회신)?|\[\s*(부재|자동\s*응답|자동\s*회신)\s*\])\s*[:：\]-]",
    re.IGNORECASE,
)
_AR_SUBJECT_WEAK = re.compile(r"(휴가|출장|연차|away|vacation|holiday)", re.IGNORECASE)
_AR_BODY = [
    re.compile(r"(부재\s*중|자리를\s*비|자동\s*(응답|회신|발송))"),
    re.compile(r"(휴가|연차|출장|교육\s*참석|외근|해외\s*전시회)\s*(중|으로|로|라|이라|입니다|기간)"),
    re.compile(r"(복귀|돌아오)"),
    re.compile(r"(메일\s*확인이\s*어렵|답장이\s*늦|회신이\s*늦|확인하겠습니다|확인이\s*늦|답장\s*드릴게요|연락\s*주시기\s*바랍니다)"),
    re.compile(r"(out\s+of\s+(the\s+)?office|on\s+(annual\s+|parental\s+|sick\s+)?leave|on\s+vacation|on\s+holiday|"
               r"(i\s+am|i'm)\s+(currently\s+)?away)", re.IGNORECASE),
    re.compile(r"(will\s+(be\s+)?(back|return)|returning\s+on|until\s+\w+\s+\d|back\s+in\s+the\s+office)", re.IGNORECASE),
    re.compile(r"(limited\s+access\s+to\s+(e-?mail|my\s+mail)|this\s+is\s+an\s+auto(matic|mated)?[\s-]*(reply|response|generated)|"
               r"(respond|reply)\s+(to\s+your\s+(e-?mail|message)\s+)?(upon|on|after)\s+my\s+return|in\s+my\s+absence)",
               re.IGNORECASE),
    re.compile(r"(\d{1,2}\s*월\s*\d{1,2}\s*일|\d{1,2}/\d{1,2})\s*(까지|부터|에)"),
]
_AR_NEGATIVE = re.compile(r"(문의|궁금|신청|요청|알려\s*주|부탁|\?|할\s*수\s*있|가능한지|inquir|question|please\s+let)", re.IGNORECASE)


def _auto_reply_headers(mail: ParsedMail) -> list[Evidence]:
    ev: list[Evidence] = []
    auto = (mail.header("auto-submitted") or "").strip().lower()
    if auto and not auto.startswith("no"):
        ev.append(Evidence("kind.auto.auto-submitted", f"Auto-Submitted: {auto} (RFC 3834)", 10))
    for name in ("x-autoreply", "x-autorespond", "x-autoresponder", "x-auto-reply", "x-autogenerated"):
        v = mail.header(name)
        if v is not None and v.strip().lower() not in ("no", "false", "0"):
            ev.append(Evidence(f"kind.auto.{name}", f"{name}: {v}", 10))
    prec = (mail.header("precedence") or "").strip().lower()
    if prec in ("auto_reply", "auto-reply", "autoreply"):
        ev.append(Evidence("kind.auto.precedence", f"Precedence: {prec}", 10))
    elif prec in ("bulk", "junk", "list"):
        ev.append(Evidence("kind.auto.precedence-bulk", f"Precedence: {prec}", 3))
    for name, value in mail.headers:
        if name.startswith("x-ms-exchange") and ("autoreply" in name or "inbox-rules-loop" in name
                                                   or "generated-message-source" in name):
            ev.append(Evidence("kind.auto.exchange", f"{name}: {value[:60]}", 3))
            break
    if mail.header("x-auto-response-suppress") and any(e.rule == "kind.auto.exchange" for e in ev):
        ev.append(Evidence("kind.auto.exchange-suppress", "X-Auto-Response-Suppress on an Exchange rule mail", 1))
    if mail.header("list-id") or mail.header("list-unsubscribe"):
        ev.append(Evidence("kind.auto.list", "List-Id/List-Unsubscribe (mailing list or bulk sender)", 2))
    ctype = mail.header("content-type") or ""
    if mail.content_type == "multipart/report" and header_param(ctype, "report-type") == "disposition-notification":
        ev.append(Evidence("kind.auto.mdn", "read receipt (RFC 8098 disposition-notification)", 10))
    if mail.header("x-autoreply-from") or mail.header("x-mail-autoreply"):
        ev.append(Evidence("kind.auto.vendor", "vendor auto-reply header", 10))
    return ev


def auto_reply_text_score(subject: str, text: str) -> tuple[float, list[Evidence]]:
    """Score for an out-of-office written without any header. Weighs subject and body:
    a customer writing "휴가 중 문의" asks something (negative signals) and scores low."""
    ev: list[Evidence] = []
    score = 0.0
    subject = unicodedata.normalize("NFC", subject or "")
    body = unicodedata.normalize("NFC", text or "")[:1500]
    m = _AR_SUBJECT_PREFIX.search(subject) or _AR_SUBJECT_STRONG.search(subject)
    if m and m.re is _AR_SUBJECT_PREFIX:
        score += 4
        ev.append(Evidence("kind.auto.subject-prefix", f"subject starts with {m.group(0)!r}", 4))
    elif m:
        score += 2.5
        ev.append(Evidence("kind.auto.subject", f"subject says {m.group(0)!r}", 2.5))
    elif _AR_SUBJECT_WEAK.search(subject):
        score += 1
        ev.append(Evidence("kind.auto.subject-weak", f"subject mentions {_AR_SUBJECT_WEAK.search(subject).group(0)!r}", 1))
    body_hits = 0
    for pat in _AR_BODY:
        bm = pat.search(body)
        if bm:
            body_hits += 1
            ev.append(Evidence("kind.auto.text", f"text says {bm.group(0)!r}", 1))
    score += body_hits
    # Our own acknowledgement's subject ("... 문의 접수 안내") and a receipt's "문의하신 내용이 접수되었습니다"
    # are not the sender asking anything.
    negatives = (len(_AR_NEGATIVE.findall(without_receipt_wording(body)))
                 + (0 if m or extract_refs(subject) else len(_AR_NEGATIVE.findall(subject))))
    if negatives:
        penalty = min(3.0, 1.5 * negatives)
        score -= penalty
        ev.append(Evidence("kind.auto.negative", f"{negatives} request/question signal(s)", -penalty))
    if len(body.strip()) > 800:
        score -= 1
        ev.append(Evidence("kind.auto.long", "long text (auto-replies are short)", -1))
    return score, ev


AUTO_TEXT_THRESHOLD = 4.0

# --------------------------------------------------------------------------- decide


def _is_relay(mail: ParsedMail, own: frozenset[str]) -> bool:
    return bool(mail.reply_to) and mail.reply_to.lower() not in own


def _report_decision(mail: ParsedMail, own: frozenset[str], known_message_ids: KnownIds | None) -> KindDecision | None:
    """Step 2 of ``decide_kind``: a bounce, a successful DSN or an abuse report; None when none."""
    bscore, bev, report_type = bounce_signals(mail)
    if report_type in ("disposition-notification",):
        bscore = 0
    if report_type == "feedback-report":
        return KindDecision(Kind.AUTO_REPLY, (Evidence("kind.auto.arf", "abuse feedback report (RFC 5965), not a case", 10),))
    if bscore < 3.5:
        return None
    recipient, status, action, fev = bounce_facts(mail, own)
    ref, rev = bounce_case_ref(mail, known_message_ids)
    if action in ("delivered", "relayed", "expanded"):
        return KindDecision(
            Kind.AUTO_REPLY,
            tuple(bev + fev + [Evidence("kind.dsn.success", f"DSN reports {action or status}: not a failure", 5)] + rev),
            case_ref=ref,
        )
    return KindDecision(Kind.BOUNCE, tuple(bev + fev + rev), case_ref=ref,
                        failed_recipient=recipient, bounce_status=status)


def decide_kind(
    mail: ParsedMail,
    *,
    own_addresses: frozenset[str],
    spam_rules: SpamRules,
    known_message_ids: KnownIds | None = None,
) -> KindDecision:
    own = frozenset(a.lower() for a in own_addresses)
    sender = (mail.from_address or "").lower()

    # 1. loops: our own mail back in our inbox is never a case.
    if sender and sender in own and not _is_relay(mail, own):
        ref, tev = find_case_ref(mail, known_message_ids)
        return KindDecision(
            Kind.AUTO_REPLY,
            (Evidence("kind.loop.own-address", f"sender {sender} is one of our own addresses; not a case", 10),) + tev,
            case_ref=ref,
        )

    # 2. bounces
    report = _report_decision(mail, own, known_message_ids)
    if report is not None:
        return report

    # 3. spam
    sscore, sev = spam_score(mail, spam_rules, frozenset(a.rsplit("@", 1)[-1] for a in own if "@" in a))
    if sscore >= spam_rules.threshold:
        return KindDecision(Kind.SPAM, tuple(sev) + (Evidence("kind.spam.score", f"{sscore:.1f} >= {spam_rules.threshold}", sscore),))

    # 4. auto-replies
    hev = _auto_reply_headers(mail)
    hscore = sum(e.score for e in hev)
    tscore, tev_auto = auto_reply_text_score(mail.subject, mail.text)
    xscore, xev = extra_auto_reply_score(mail.subject, mail.text)
    tscore, tev_auto = tscore + xscore, tev_auto + xev
    if hscore >= 10 or (hscore >= 3 and tscore >= 1) or tscore >= AUTO_TEXT_THRESHOLD or (hscore >= 2 and tscore >= 2):
        ref, thr = find_case_ref(mail, known_message_ids)
        return KindDecision(Kind.AUTO_REPLY, tuple(hev + [e for e in tev_auto if e.score]) + thr, case_ref=ref)

    # 5. follow-ups
    ref, thr = find_case_ref(mail, known_message_ids)
    if ref:
        return KindDecision(Kind.FOLLOW_UP, thr, case_ref=ref)

    # 6. new case
    ev = [Evidence("kind.case", "no bounce, spam, auto-reply or case reference found")]
    if sscore > 0:
        ev.append(Evidence("kind.spam.below-threshold", f"spam score {sscore:.1f} < {spam_rules.threshold}", sscore))
    if tscore > 0:
        ev.append(Evidence("kind.auto.below-threshold", f"auto-reply text score {tscore:.1f} < {AUTO_TEXT_THRESHOLD}", tscore))
    return KindDecision(Kind.CASE, tuple(ev))
