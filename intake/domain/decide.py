"""``intake inspect --json``: every decision about one message, with evidence.

The keys of the returned dict are a contract (tests and operators read them):
kind, channel, category, department, department_name, reply_to, fax_number,
phone, case_ref, language, pii, subject, from, text, plus evidence lists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping

from intake.domain.channel import ChannelRules, decide_channel, load_channel_rules
from intake.domain.classify import CategoryRules, TextFields, classify, load_category_rules
from intake.domain.contacts import EMAIL_PATTERN, extract_contact, strip_quoted_from
from intake.domain.kinds import SpamRules, decide_kind, load_spam_rules
from intake.domain.language import detect_language
from intake.domain.pii import contains_rrn, mask_rrn
from intake.domain.records import Channel, Evidence, Kind, KindDecision, MessageDecision, ParsedMail
from intake.domain.textmodel import combine, model_text, rule_scores
from intake.domain.threading_ import extract_refs, strip_reply_prefixes

KnownIds = Callable[[str], "str | None"]

TEXT_LIMIT = 2000


@dataclass(frozen=True)
class DecisionRules:
    own_addresses: frozenset[str]                 # our intake and from addresses (loop guard)
    spam_rules: SpamRules
    channel_rules: ChannelRules
    category_rules: CategoryRules
    own_domains: frozenset[str] = frozenset()     # our staff's domain (forwards, quoted acks)
    text_model: Any = None                        # a textmodel.TextModel, or None (rules only)

    @classmethod
    def from_config(
        cls,
        *,
        own_addresses: frozenset[str],
        own_domains: frozenset[str],
        channels: Mapping[str, Any],
        categories: Mapping[str, Any],
        spam: Mapping[str, Any] | None = None,
        files: Mapping[str, str] | None = None,
    ) -> "DecisionRules":
        """``files`` names the source of each table (for error messages): keys channels, categories, spam."""
        files = files or {}
        return cls(
            own_addresses=frozenset(a.lower() for a in own_addresses),
            spam_rules=(load_spam_rules(spam, files.get("spam", "config/spam.toml")) if spam is not None
                        else SpamRules.default()),
            channel_rules=load_channel_rules(channels, files.get("channels", "config/channels.toml")),
            category_rules=load_category_rules(categories, files.get("categories", "config/categories.toml")),
            own_domains=frozenset(d.lower() for d in own_domains),
        )


_FAX_HEADER_LINE = re.compile(
    r"^\s*(\d{2,4}[/.-]\d{1,2}[/.-]\d{1,2}\s+\d{1,2}:\d{2}.*|.*\bfrom\s*:.*\bp\.?\s*\d{1,3}\s*/\s*\d{1,3}.*)$",
    re.IGNORECASE,
)
_TITLE_LINE = re.compile(r"^\s*(?:제\s*목|건\s*명|subject|re)\s*[:：]\s*(.+)$", re.IGNORECASE | re.MULTILINE)
_FORWARD_FROM = re.compile(r"^\s*(?:from|보낸\s*사람)\s*:\s*(.*)$", re.IGNORECASE | re.MULTILINE)


def strip_fax_header_lines(page_text: str) -> str:
    """Drop the sending machine's header line at the top of each fax page."""
    pages = page_text.split("\f")
    out = []
    for page in pages:
        lines = page.split("\n")
        for i, line in enumerate(lines[:3]):
            if line.strip() and _FAX_HEADER_LINE.match(line):
                lines[i] = ""
                break
        out.append("\n".join(lines))
    return "\f".join(out)


def page_title(page_text: str) -> str:
    """The "제목:" line of a letter, else the document's first meaningful line."""
    m = _TITLE_LINE.search(page_text)
    if m:
        return m.group(1).strip()
    for line in page_text.splitlines():
        s = line.strip()
        if s and not re.fullmatch(r"[\W\d_]*", s) and not s.replace(" ", "") in ("팩스", "FAX", "fax"):
            return s
    return ""


def _domain(addr: str) -> str:
    return addr.rsplit("@", 1)[-1].lower() if "@" in addr else ""


def forwarded_customer(mail: ParsedMail, rules: DecisionRules) -> str | None:
    """For mail forwarded by our staff: the original sender's address."""
    sender = (mail.from_address or "").lower()
    if not sender or _domain(sender) not in rules.own_domains or sender in rules.own_addresses:
        return None
    for m in _FORWARD_FROM.finditer(mail.text or ""):
        for addr in EMAIL_PATTERN.findall(m.group(1)):
            a = addr.lower()
            if _domain(a) not in rules.own_domains and a not in rules.own_addresses:
                return a
    return None


def _ev(evidence) -> list[dict[str, Any]]:
    return [{"rule": e.rule, "detail": e.detail, "score": e.score} for e in evidence]


def _reply_address(mail: ParsedMail, rules: DecisionRules, body: str, paper: bool) -> tuple[str | None, list[Evidence]]:
    """Where an e-mail answer to a case or follow-up goes, with its evidence."""
    reply_to = None
    reply_ev: list[Evidence] = []
    forwarded_from = forwarded_customer(mail, rules) if not paper else None
    if paper:
        addrs = [a.lower() for a in EMAIL_PATTERN.findall(body)
                 if a.lower() not in rules.own_addresses and _domain(a) not in rules.own_domains]
        if addrs:
            reply_to = addrs[0]
            reply_ev.append(Evidence("reply-to.page", f"address written on the page: {reply_to}"))
    elif forwarded_from:
        reply_to = forwarded_from
        reply_ev.append(Evidence("reply-to.forwarded", f"staff forward by {mail.from_address}; original sender {reply_to}"))
    elif mail.reply_to and mail.reply_to.lower() not in rules.own_addresses:
        reply_to = mail.reply_to.lower()
        reply_ev.append(Evidence("reply-to.header", "Reply-To header"))
    elif mail.from_address:
        reply_to = mail.from_address.lower()
        reply_ev.append(Evidence("reply-to.from", "From address"))
    return reply_to, reply_ev


def _classify_new_case(mail: ParsedMail, rules: DecisionRules, body: str, paper: bool, reply_to: str | None):
    """The category of a new case, from its subject (or page title), text and attachments."""
    subject = strip_reply_prefixes(mail.subject or "")
    if paper:
        subject = page_title(body)
    fields = TextFields(
        subject=subject,
        body="" if paper else body,
        ocr=body if paper else "",
        attachments=tuple(a.original_filename or a.filename for a in mail.attachments),
        sender=(reply_to or mail.from_address or ""),
    )
    return classify_case(fields, rules)


def _sender_language(subj: str, body: str, paper: bool):
    """Language of what the sender wrote: the subject counts unless it is ours (a case ref, Re:/Fw:)."""
    lang_text = body
    if not paper and not extract_refs(subj) and not re.match(r"^\s*(re|fw|fwd|회신|답장|전달)\s*:", subj, re.IGNORECASE):
        lang_text = subj + "\n" + body
    return detect_language(lang_text)


def decide_message(
    mail: ParsedMail,
    rules: DecisionRules,
    *,
    known_message_ids: KnownIds | None = None,
    page_text: str | None = None,
) -> MessageDecision:
    """Every decision about one message: kind, channel, category, contact, language.

    ``page_text``: OCR text of fax/post page images, pages separated by
    ``\\n\\f\\n``; when absent for a fax/post message the mail text is used.
    """
    kind = decide_kind(
        mail,
        own_addresses=rules.own_addresses,
        spam_rules=rules.spam_rules,
        known_message_ids=known_message_ids,
    )
    channel = decide_channel(mail, rules.channel_rules, page_text=page_text)
    paper = channel.channel in (Channel.FAX, Channel.POST)
    if paper:
        raw_text = page_text if page_text is not None else (mail.text or "")
        raw_text = strip_fax_header_lines(raw_text) if channel.channel is Channel.FAX else raw_text
        body = raw_text
    else:
        raw_text = mail.text or ""
        body = strip_quoted_from(raw_text, rules.own_addresses, rules.own_domains)

    human = kind.kind in (Kind.CASE, Kind.FOLLOW_UP)

    # Where an e-mail answer goes.
    reply_to, reply_ev = _reply_address(mail, rules, body, paper) if human else (None, [])

    # Contact details: the customer's phone.
    phone = None
    contact = None
    if human:
        exclude = [channel.fax_number] if channel.fax_number else []
        contact = extract_contact(body, exclude=exclude, own_addresses=rules.own_addresses, own_domains=rules.own_domains)
        phone = contact.phones[0] if contact.phones else None

    # Category (new cases only).
    classification = _classify_new_case(mail, rules, body, paper, reply_to) if kind.kind is Kind.CASE else None
    request_subject = page_title(body) if paper else strip_reply_prefixes(mail.subject or "")

    # Language: of what the sender wrote (quoted text and our reply subject excluded).
    subj = mail.subject or ""
    language = _sender_language(subj, body, paper)

    pii = contains_rrn(subj) or contains_rrn(mail.text or "") or (page_text is not None and contains_rrn(page_text))

    return MessageDecision(
        kind=kind, channel=channel, classification=classification, reply_to=reply_to, contact=contact,
        phone=phone, language=language, pii=pii, subject=request_subject or mail.subject or "",
        body=body, evidence=tuple(reply_ev),
    )


def classify_case(fields: TextFields, rules: DecisionRules):
    """The rules' category, weighed with the text model when one is loaded (textmodel.combine)."""
    result = classify(fields, rules.category_rules)
    if rules.text_model is None:
        return result
    verdict = rules.text_model.predict(model_text(fields.subject, fields.body or fields.ocr))
    top, second = rule_scores(result)
    known = {c.id for c in rules.category_rules.categories}
    return combine(result, verdict, top, second,
                   lambda cid: rules.category_rules.category(cid).department, known)


def as_new_case(mail: ParsedMail, decision: MessageDecision, rules: DecisionRules, reason: str) -> MessageDecision:
    """Turn a follow-up whose case is unknown into a new case (the request must not be lost)."""
    paper = decision.channel.channel in (Channel.FAX, Channel.POST)
    fields = TextFields(
        subject=decision.subject, body="" if paper else decision.body, ocr=decision.body if paper else "",
        attachments=tuple(a.original_filename or a.filename for a in mail.attachments),
        sender=decision.reply_to or mail.from_address or "",
    )
    kind = KindDecision(Kind.CASE, decision.kind.evidence + (Evidence("kind.unknown-case-ref", reason, 0),))
    if decision.reply_to is None and mail.from_address:
        decision = replace(decision, reply_to=mail.from_address.lower())
    if decision.contact is None:
        decision = replace(decision, contact=extract_contact(decision.body, own_addresses=rules.own_addresses,
                                                             own_domains=rules.own_domains))
    return replace(decision, kind=kind, classification=classify_case(fields, rules))


def as_follow_up(decision: MessageDecision, case_ref: str, why: str) -> MessageDecision:
    """A "new" request that the last-resort rule (same sender, same subject, open case) threads."""
    kind = KindDecision(Kind.FOLLOW_UP, decision.kind.evidence + (Evidence("thread.same-sender-subject", why, 1.0),),
                        case_ref=case_ref)
    return replace(decision, kind=kind, classification=None)


def inspect_json(
    mail: ParsedMail,
    rules: DecisionRules,
    *,
    known_message_ids: KnownIds | None = None,
    page_text: str | None = None,
) -> dict[str, Any]:
    """``intake inspect --json``: the decisions as a JSON-ready dict (keys are a contract)."""
    d = decide_message(mail, rules, known_message_ids=known_message_ids, page_text=page_text)
    kind, channel, classification, contact = d.kind, d.channel, d.classification, d.contact
    raw_text = d.body if d.channel.channel in (Channel.FAX, Channel.POST) else (mail.text or "")
    shown_text = mask_rrn(raw_text)[:TEXT_LIMIT]
    reply_to, phone, language, pii, reply_ev = d.reply_to, d.phone, d.language, d.pii, d.evidence
    department = classification.department if classification else None
    dep_name = rules.category_rules.departments.get(department) if department else None
    category = classification.category if classification else None
    cat_obj = rules.category_rules.category(category) if category else None

    return {
        "kind": kind.kind.value,
        "channel": channel.channel.value,
        "category": category,
        "category_label": cat_obj.label if cat_obj else None,
        "policy": cat_obj.policy if cat_obj else None,
        "work_policy": cat_obj.work_policy if cat_obj else None,
        "low_confidence": classification.low_confidence if classification else False,
        "confidence": classification.confidence if classification else None,
        "department": department,
        "department_name": dep_name,
        "reply_to": reply_to,
        "fax_number": channel.fax_number,
        "phone": phone,
        "case_ref": kind.case_ref,
        "failed_recipient": kind.failed_recipient,
        "bounce_status": kind.bounce_status,
        "language": language,
        "pii": pii,
        "subject": mail.subject,
        "from": mail.from_address,
        "requester_name": contact.name if contact else None,
        "preferred_reply": contact.preferred_reply if contact else None,
        "emails_in_text": list(contact.emails) if contact else [],
        "phones_in_text": list(contact.phones) if contact else [],
        "text": shown_text,
        "kind_evidence": _ev(kind.evidence),
        "channel_evidence": _ev(channel.evidence),
        "category_evidence": _ev(classification.evidence) if classification else [],
        "reply_to_evidence": _ev(reply_ev),
    }


inspect_message = inspect_json   # the name the evaluation tests use
