"""Signed one-click survey links (pure: the secret is a parameter).

A survey row has a random ``token`` (also in its mail's Reply-To). Each score gets its own link
token ``<survey token>.<score>.<signature>``, the signature an HMAC-SHA256 of the survey token
and the score under the ``[web] secret_file`` secret. A link is single-use because a survey takes
one answer: once answered, every link of it is refused (``intake.stages.survey.answer_by_link``).

The web console serves ``GET/POST /survey/<link token>``: ``check_link_token`` tells it which
survey and score the link stands for, or ``None`` for a forged or mangled one.
"""

from __future__ import annotations

import hashlib
import hmac
import re

SIGNATURE_HEX = 32
_LINK = re.compile(r"^([0-9a-f]{16}\.[0-9a-f]{6})\.([1-5])\.([0-9a-f]{%d})$" % SIGNATURE_HEX)


def _signature(secret: bytes, survey_token: str, score: int) -> str:
    msg = f"intake-survey:{survey_token}:{score}".encode()
    return hmac.new(secret, msg, hashlib.sha256).hexdigest()[:SIGNATURE_HEX]


def link_token(secret: bytes, survey_token: str, score: int) -> str:
    if not secret:
        raise ValueError("an empty secret cannot sign survey links")
    if score not in (1, 2, 3, 4, 5):
        raise ValueError(f"score must be 1..5, not {score!r}")
    return f"{survey_token}.{score}.{_signature(secret, survey_token, score)}"


def check_link_token(secret: bytes, token: str) -> tuple[str, int] | None:
    """(survey token, score) when the link is one we signed; None otherwise (constant-time compare)."""
    m = _LINK.match((token or "").strip().lower())
    if m is None or not secret:
        return None
    survey_token, score = m.group(1), int(m.group(2))
    if not hmac.compare_digest(m.group(3), _signature(secret, survey_token, score)):
        return None
    return survey_token, score


def survey_links(base_url: str, secret: bytes, survey_token: str) -> list[tuple[int, str]]:
    """(score, url) for 5 .. 1, as the survey mail lists them."""
    base = base_url.rstrip("/")
    return [(score, f"{base}/survey/{link_token(secret, survey_token, score)}") for score in (5, 4, 3, 2, 1)]
