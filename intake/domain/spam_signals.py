"""Spam signals beyond single keywords (pure): upstream filters' verdicts, forged own-domain
senders, look-alike domains and rule families (issue 15 item 2).

* Upstream verdicts: SpamAssassin ``X-Spam-Flag``/``X-Spam-Status`` (handled in kinds), rspamd
  ``X-Spam: yes`` and ``X-Rspamd-Action`` (reject, add header, rewrite subject, soft reject).
* ``Authentication-Results`` with ``dmarc=fail`` (or ``spf=fail`` without a dkim pass) for mail
  whose From claims one of our own domains: nobody outside may write as us.
* A sender domain that carries our domain's name but is not ours (``sonosa-mail-support.com``).
* Families (config/spam.toml ``[[families]]``): a family fires when ``need`` of its ``terms``
  occur in the normalised subject+body (account re-verification, parcel on hold, overdue
  invoice, search-ranking offers, stock tips, fake quotation requests ...). One term alone is
  never enough, so a customer who writes "비밀번호" or "결제" is not spam.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from intake.domain.records import Evidence, ParsedMail
from intake.errors import ConfigError

_RSPAMD_SPAM_ACTIONS = ("reject", "add header", "add_header", "rewrite subject", "rewrite_subject", "soft reject",
                        "soft_reject")


@dataclass(frozen=True)
class SpamFamily:
    id: str
    terms: tuple[str, ...]      # normalised (lower-case, no spaces)
    need: int
    weight: float


def upstream_verdict(mail: ParsedMail) -> Evidence | None:
    """rspamd's verdict headers (SpamAssassin's are read in kinds.spam_score)."""
    flag = (mail.header("x-spam") or "").strip().lower()
    if flag.startswith(("yes", "true")):
        return Evidence("kind.spam.rspamd", f"X-Spam: {flag}", 100.0)
    action = (mail.header("x-rspamd-action") or "").strip().lower()
    if action in _RSPAMD_SPAM_ACTIONS:
        return Evidence("kind.spam.rspamd-action", f"X-Rspamd-Action: {action}", 100.0)
    return None


def _auth_results(mail: ParsedMail) -> str:
    return " ".join(mail.header_all("authentication-results")).lower()


def forged_own_domain(mail: ParsedMail, own_domains: frozenset[str]) -> Evidence | None:
    """From claims our domain and the receiving server says DMARC (or SPF, without DKIM) failed."""
    sender = (mail.from_address or "").lower()
    domain = sender.rsplit("@", 1)[-1]
    if not sender or not any(domain == d or domain.endswith("." + d) for d in own_domains):
        return None
    results = _auth_results(mail)
    if not results:
        return None
    dmarc_fail = re.search(r"\bdmarc\s*=\s*fail", results)
    spf_fail = re.search(r"\bspf\s*=\s*(fail|softfail)", results) and not re.search(r"\bdkim\s*=\s*pass", results)
    if dmarc_fail or spf_fail:
        what = "dmarc=fail" if dmarc_fail else "spf=fail without dkim=pass"
        return Evidence("kind.spam.forged-own-domain", f"From {sender} claims our domain but Authentication-Results "
                                                       f"says {what}", 100.0)
    return None


def lookalike_domain(mail: ParsedMail, own_domains: frozenset[str], weight: float) -> Evidence | None:
    """A foreign sender domain containing our domain's name (``sonosa-or-kr.com``)."""
    domain = (mail.from_address or "").lower().rsplit("@", 1)[-1]
    if not domain or weight <= 0:
        return None
    for own in own_domains:
        if domain == own or domain.endswith("." + own):
            return None
    for own in own_domains:
        name = own.split(".")[0]
        if len(name) >= 4 and name in domain:
            return Evidence("kind.spam.lookalike-domain", f"sender domain {domain} imitates {own}", weight)
    return None


def family_hits(norm_text: str, families: Sequence[SpamFamily]) -> list[Evidence]:
    """One evidence per family with at least ``need`` distinct terms in the text."""
    out = []
    for fam in families:
        found = [t for t in fam.terms if t in norm_text]
        if len(found) >= fam.need:
            out.append(Evidence(f"kind.spam.family:{fam.id}", f"{len(found)} {fam.id} terms: {found[:5]}", fam.weight))
    return out


def load_families(value: Any, file: str, normalise) -> tuple[SpamFamily, ...]:
    """``[[families]]`` tables: id, terms (list), need (≥ 2), weight."""
    if not isinstance(value, list):
        raise ConfigError(file, "families", "must be an array of tables ([[families]])")
    out = []
    for i, fam in enumerate(value):
        key = f"families[{i}]"
        if not isinstance(fam, Mapping):
            raise ConfigError(file, key, "must be a table")
        unknown = set(fam) - {"id", "terms", "need", "weight"}
        if unknown:
            raise ConfigError(file, f"{key}.{sorted(unknown)[0]}", "unknown key")
        fid = fam.get("id")
        if not isinstance(fid, str) or not fid:
            raise ConfigError(file, f"{key}.id", "missing or not a string")
        terms = fam.get("terms")
        if not isinstance(terms, list) or not terms or not all(isinstance(t, str) and t for t in terms):
            raise ConfigError(file, f"{key}.terms", "must be a non-empty list of strings")
        need = fam.get("need", 2)
        if isinstance(need, bool) or not isinstance(need, int) or need < 2:
            raise ConfigError(file, f"{key}.need", "must be a whole number of at least 2 (one term is never enough)")
        weight = fam.get("weight", 4.0)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)):
            raise ConfigError(file, f"{key}.weight", "must be a number")
        out.append(SpamFamily(fid, tuple(dict.fromkeys(normalise(t) for t in terms)), need, float(weight)))
    return tuple(out)


#: Built-in families (config/spam.toml repeats them; a test keeps the two equal).
DEFAULT_FAMILIES: list[dict[str, Any]] = [
    {"id": "account-reverification", "need": 4, "weight": 4.0, "terms": [
        "계정", "로그인", "비밀번호", "재인증", "본인 확인", "본인인증", "인증서", "보안카드", "이용이 제한", "만료",
        "24시간", "48시간", "verify", "re-validate", "password", "sign-in", "mailbox", "suspend", "deactivat",
        "locked", "expire", "24 hours", "48 hours", "unlock", "quota", "microsoft 365", "office 365", "webmail", "billing information", "shared with you", "http"]},
    {"id": "parcel-on-hold", "need": 4, "weight": 4.0, "terms": [
        "택배", "배송", "소포", "반송", "보류", "재배송", "주소 확인", "parcel", "shipment", "customs", "on hold",
        "tracking", "delivery", "http"]},
    {"id": "overdue-invoice", "need": 3, "weight": 4.0, "terms": [
        "invoice", "overdue", "미납", "납부", "요금", "서비스가 중지", "settle", "balance", "remittance",
        "collection", "final reminder", "http"]},
    {"id": "search-ranking", "need": 3, "weight": 4.0, "terms": [
        "seo", "상위노출", "first page", "ranking", "google", "네이버", "구글", "노출", "guarantee", "보장", "환불",
        "audit", "keywords"]},
    {"id": "stock-tips", "need": 3, "weight": 4.0, "terms": [
        "급등", "상한가", "종목", "수익", "매집", "오픈채팅", "stock", "ticker", "small-cap", "insider", "signals",
        "traders", "10x"]},
    {"id": "fake-quotation", "need": 3, "weight": 4.0, "terms": [
        "견적", "quotation", "rfq", "purchase order", "quote", "procurement", "링크", "로그인", "http",
        "best price"]},
    {"id": "b2b-marketing", "need": 3, "weight": 4.0, "terms": [
        "buyers", "membership", "b2b", "verified", "first month free", "register", "exhibit", "booth", "early-bird",
        "discount", "unsubscribe"]},
    {"id": "refund-phishing", "need": 3, "weight": 4.0, "terms": [
        "환급금", "미수령", "환급", "refund", "본인인증", "http"]},
]
