"""Channel: was this message typed as e-mail, or is it a fax or scanned post?"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from intake.domain.contacts import normalize_kr_number
from intake.domain.fax_detect import caller_from_gateway, detect_fax_gateway, normalise_caller
from intake.domain.records import Channel, ChannelDecision, Evidence, ParsedMail
from intake.errors import ConfigError


@dataclass(frozen=True)
class GatewayRule:
    id: str
    channel: Channel
    senders: tuple[re.Pattern, ...] = ()
    subjects: tuple[re.Pattern, ...] = ()
    require_attachment: bool = False
    sender_domains: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChannelRules:
    rules: tuple[GatewayRule, ...] = ()
    page_types: tuple[str, ...] = ("application/pdf", "image/tiff", "image/jpeg", "image/png")
    page_extensions: tuple[str, ...] = (".pdf", ".tif", ".tiff", ".jpg", ".jpeg", ".png")


def _compile(file: str, key: str, patterns: Any) -> tuple[re.Pattern, ...]:
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        raise ConfigError(file, key, "must be a list of regular expression strings")
    out = []
    for i, p in enumerate(patterns):
        try:
            out.append(re.compile(p, re.IGNORECASE))
        except re.error as exc:
            raise ConfigError(file, f"{key}[{i}]", f"bad regular expression {p!r}: {exc}") from None
    return tuple(out)


def load_channel_rules(data: Mapping[str, Any], file: str = "config/channels.toml") -> ChannelRules:
    """Build ChannelRules from parsed TOML; ConfigError names the bad key."""
    rules: list[GatewayRule] = []
    for section, channel in (("fax", Channel.FAX), ("post", Channel.POST)):
        entries = data.get(section, [])
        if not isinstance(entries, list):
            raise ConfigError(file, section, "must be an array of tables ([[%s]])" % section)
        for i, entry in enumerate(entries):
            key = f"{section}[{i}]"
            if not isinstance(entry, Mapping):
                raise ConfigError(file, key, "must be a table")
            unknown = set(entry) - {"id", "senders", "subjects", "require_attachment", "sender_domains"}
            if unknown:
                raise ConfigError(file, f"{key}.{sorted(unknown)[0]}", "unknown key")
            rid = entry.get("id")
            if not isinstance(rid, str) or not rid:
                raise ConfigError(file, f"{key}.id", "missing or not a string")
            senders = _compile(file, f"{key}.senders", entry.get("senders", []))
            subjects = _compile(file, f"{key}.subjects", entry.get("subjects", []))
            if not senders and not subjects:
                raise ConfigError(file, key, "needs senders or subjects")
            req = entry.get("require_attachment", False)
            if not isinstance(req, bool):
                raise ConfigError(file, f"{key}.require_attachment", "must be true or false")
            doms = entry.get("sender_domains", [])
            if not isinstance(doms, list) or not all(isinstance(d, str) for d in doms):
                raise ConfigError(file, f"{key}.sender_domains", "must be a list of strings")
            rules.append(GatewayRule(rid, channel, senders, subjects, req, tuple(d.lower() for d in doms)))
    settings = data.get("settings", {})
    if not isinstance(settings, Mapping):
        raise ConfigError(file, "settings", "must be a table")
    kw = {}
    for k in ("page_types", "page_extensions"):
        if k in settings:
            v = settings[k]
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                raise ConfigError(file, f"settings.{k}", "must be a list of strings")
            kw[k] = tuple(x.lower() for x in v)
    return ChannelRules(tuple(rules), **kw)


def _has_pages(mail: ParsedMail, rules: ChannelRules) -> bool:
    for a in mail.attachments:
        name = (a.filename or "").lower()
        if a.content_type.lower() in rules.page_types or name.endswith(rules.page_extensions):
            return True
    return False


def _number_from(match: re.Match) -> str | None:
    try:
        raw = match.group("number")
    except IndexError:
        return None
    if not raw:
        return None
    return normalize_kr_number(raw) or raw.strip()


def _fax_number_from_text(text: str) -> str | None:
    """The sending machine's header line: "FROM: 02 992 4418 ..."."""
    first = (text or "").lstrip().splitlines()[:3]
    for line in first:
        m = re.search(r"\bfrom\s*[:：]?\s*([+\d][\d\s().\-]{6,}?\d)(?=\s{2,}|\s*[A-Za-z가-힣]|$)", line, re.IGNORECASE)
        if m:
            return normalise_caller(m.group(1))
    return None


def decide_channel(mail: ParsedMail, rules: ChannelRules, *, page_text: str | None = None) -> ChannelDecision:
    """E-mail unless a fax gateway or scanner rule matches.

    The fax number comes from the gateway subject; failing that, from the fax
    header line of the page text (when OCR text is given) or from the
    attachment name (fax_0325667402_...).
    """
    sender = (mail.from_address or "").lower()
    domain = sender.rsplit("@", 1)[-1]
    subject = mail.subject or ""
    pages = _has_pages(mail, rules)
    for rule in rules.rules:
        ev: list[Evidence] = []
        sender_hit = any(p.search(sender) for p in rule.senders)
        subject_match = None
        for p in rule.subjects:
            subject_match = p.search(subject)
            if subject_match:
                break
        if not sender_hit and not subject_match:
            continue
        if not sender_hit:
            if rule.require_attachment and not pages:
                continue
            if rule.sender_domains and domain not in rule.sender_domains:
                continue
        if sender_hit:
            ev.append(Evidence(f"channel.{rule.id}.sender", f"sender {sender} is a {rule.channel.value} gateway", 1.0))
        if subject_match:
            ev.append(Evidence(f"channel.{rule.id}.subject", f"subject {subject!r} matches {subject_match.re.pattern!r}", 0.8))
        number = None
        if rule.channel is Channel.FAX:
            if subject_match is not None:
                number = _number_from(subject_match)
                if number:
                    ev.append(Evidence("channel.fax-number.subject", f"caller number {number} from subject"))
            if not number:
                number = fax_number_fallbacks(mail, page_text, ev)
        return ChannelDecision(rule.channel, number, tuple(ev))
    guess = detect_fax_gateway(mail)
    if guess is not None:
        ev = list(guess.evidence)
        ev.append(Evidence("channel.fax-any.unconfigured",
                           f"fax from {guess.sender or 'an unknown sender'}, a gateway not in channels.toml "
                           f"(score {guess.score:.1f})", guess.score))
        return ChannelDecision(Channel.FAX, fax_number_fallbacks(mail, page_text, ev), tuple(ev))
    return ChannelDecision(Channel.EMAIL, None, (Evidence("channel.email", "no fax or scanner rule matched"),))


def fax_number_fallbacks(mail: ParsedMail, page_text: str | None, ev: list[Evidence]) -> str | None:
    """The caller number when the gateway subject rule gave none: the gateway's words (headers,
    subject, body), the page's fax header line, then the attachment name; evidence says which."""
    caller = caller_from_gateway(mail)
    if caller.number:
        ev.append(Evidence("channel.fax-number.gateway", f"caller number {caller.number} ({caller.where})"))
        return caller.number
    if page_text:
        number = _fax_number_from_text(page_text)
        if number:
            ev.append(Evidence("channel.fax-number.page-header", f"caller number {number} from the fax header line"))
            return number
    if caller.no_caller_id:
        ev.append(Evidence(NUMBER_NONE, f"the gateway reports no caller ID ({caller.where}); "
                                                       "the fax cannot be answered by fax"))
        return None
    for a in mail.attachments:
        m = re.search(r"(?<!\d)(0\d{8,10})(?!\d)", a.filename or "")
        if m and normalize_kr_number(m.group(1)):
            number = normalize_kr_number(m.group(1))
            ev.append(Evidence("channel.fax-number.filename", f"caller number {number} from {a.filename}"))
            return number
    ev.append(Evidence(NUMBER_NOT_FOUND, "no caller number in the gateway's words, the page's fax header line "
                                         "or the file names; the handler is asked to find the customer's contact"))
    return None


NUMBER_NONE = "channel.fax-number.none"             # the gateway says the caller withheld the number
NUMBER_NOT_FOUND = "channel.fax-number.not-found"   # nothing found anywhere


def caller_id_status(decision: ChannelDecision) -> str:
    """For the task mail: ``withheld`` (the gateway reported no caller ID), ``not-found`` (no number
    anywhere), or "" (the number is known, or not a fax)."""
    if decision.channel is not Channel.FAX or decision.fax_number:
        return ""
    rules = {e.rule for e in decision.evidence}
    return "withheld" if NUMBER_NONE in rules else "not-found"
