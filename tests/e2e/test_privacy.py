"""주민등록번호 end to end: masked in every row and every mail intake derives, in clear only
through the audited ``reveal_original``; the store's files hold no readable text."""

from __future__ import annotations

import email
from datetime import datetime
from email.message import EmailMessage
from email.policy import default as default_policy
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import LargeBinary, String, Text, select as sa_select
from sqlmodel import SQLModel, select

from intake.errors import IntakeError
from intake.models import AuditEvent, Case
from intake.stages.privacy import reveal_original
from tests.e2e.harness import FixedClock, make_env

KST = ZoneInfo("Asia/Seoul")
NOW = datetime(2026, 11, 25, 10, 30, tzinfo=KST)
RRN, RRN2, RRN3 = "800101-1234567", "951231-2765432", "010203-3456789"
PHRASE_KO = "방북 증명서를 발급받고자 신청합니다"
PHRASE_EN = "zebra-quartz-umbrella"


def rrn_mail() -> bytes:
    msg = EmailMessage()
    msg["From"] = "홍길동 <hong@example.net>"
    msg["To"] = "consulting@sonosa.or.kr"
    msg["Subject"] = f"방문증명서 신청 ({RRN})"
    msg["Message-ID"] = "<rrn-1@example.net>"
    msg["Date"] = "Wed, 25 Nov 2026 10:00:00 +0900"
    msg.set_content(f"안녕하십니까. {PHRASE_KO}.\n신청인 주민등록번호 {RRN}\n동행인 {RRN2}\n{PHRASE_EN}\n"
                    "연락처 010-2345-6789\n", charset="utf-8", cte="base64")
    msg.add_attachment(f"신청서 사본: 주민등록번호 {RRN3}\n".encode(), maintype="text", subtype="plain",
                       filename="신청서.txt")
    return msg.as_bytes()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'intake.db'}"
    return request.getfixturevalue("fresh_postgres_url")


def _clear_numbers(text: str) -> list[str]:
    return [n for n in (RRN, RRN2, RRN3, "1234567", "2765432", "3456789") if n in text]


def _all_text_in_database(session) -> list[tuple[str, str, str]]:
    """(table, column, value) for every text or binary value in every table."""
    found = []
    for table in SQLModel.metadata.sorted_tables:
        cols = [c for c in table.columns if isinstance(c.type, (String, Text, LargeBinary))]
        for row in session.connection().execute(sa_select(*cols)) if cols else ():
            for col, value in zip(cols, row):
                if value is not None:
                    text = bytes(value).decode("latin-1") if isinstance(value, (bytes, memoryview)) else str(value)
                    found.append((table.name, col.name, text))
    return found


def _decoded_texts(raw: bytes) -> list[str]:
    """Every header and every text part of a mail, decoded, recursing into an attached .eml."""
    msg = email.message_from_bytes(raw, policy=default_policy)
    out = [f"{k}: {v}" for k, v in msg.items()]
    for part in msg.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True) or b""
        if part.get_filename() == "original.eml":
            out += _decoded_texts(payload)
        elif part.get_content_maintype() == "text":
            out.append(payload.decode(part.get_content_charset() or "utf-8", errors="replace"))
    return out


def test_numbers_masked_everywhere_and_revealed_only_audited(tmp_path, dovecot, smtp_sink, db_url):
    env = make_env(tmp_path, dovecot, smtp_sink, db_url)
    env.append(rrn_mail(), internaldate=NOW)
    report = env.run_once(clock=FixedClock(NOW))
    assert report.process.failed == 0

    with env.session() as s:
        case = s.exec(select(Case)).one()
        assert case.pii and "######-*******" in case.text and "######-*******" in case.subject
        leaks = [(t, c) for t, c, v in _all_text_in_database(s) if _clear_numbers(v)]
        assert leaks == [], f"clear 주민등록번호 in the database: {leaks}"

    mails = smtp_sink.messages()
    assert {m.rcpt_to[0] for m in mails} >= {"hong@example.net"} and len(mails) >= 2
    staff = [m for m in mails if m.rcpt_to != ["hong@example.net"]]
    for mail in mails:
        texts = _decoded_texts(mail.raw)
        assert not _clear_numbers("\n".join(texts)), f"clear number in mail to {mail.rcpt_to}"
    original = "\n".join(_decoded_texts(staff[0].raw))
    assert original.count("######-*******") >= 3, "masked in the attached original: subject, body, attachment"
    assert PHRASE_KO in original and "010-2345-6789" in original, "the rest of the original is kept"

    for path in (tmp_path / "store").rglob("*"):
        if path.is_file() and path.parent.name != "journal":
            data = path.read_bytes()
            for needle in (PHRASE_KO.encode(), PHRASE_EN.encode(), RRN.encode(), b"hong@example.net"):
                assert needle not in data, f"{needle!r} readable in {path}"

    app = env.app(FixedClock(NOW))
    with env.session() as s:
        with pytest.raises(IntakeError, match="actor is required"):
            reveal_original(s, case.ref, " ", store=app.store, now=NOW)
        shown = reveal_original(s, case.ref, "kim.minsu", store=app.store, now=NOW)
    assert RRN in shown.text and RRN2 in shown.text and RRN in shown.subject and shown.numbers == 3
    with env.session() as s:
        [event] = s.exec(select(AuditEvent).where(AuditEvent.event == "original-revealed")).all()
        assert (event.actor, event.case_id) == ("kim.minsu", case.id) and not _clear_numbers(event.detail or "")
    app.engine.dispose()
