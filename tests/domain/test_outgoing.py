"""Composed mail bytes parse back, header by header and part by part (intake.domain.outgoing)."""

from __future__ import annotations

import email
import email.policy
import email.utils
from datetime import datetime, timedelta, timezone

import pytest

from intake.domain.outgoing import Envelope, attach_original, compose, one_line
from intake.domain.records import RenderedMail

KST = timezone(timedelta(hours=9))
DATE = datetime(2026, 11, 25, 19, 30, tzinfo=KST)
LONG_KO = "방북증명서 발급 신청 관련 문의 " * 40          # far over one line: must fold
LONG_ASCII = "Request about the visit certificate " * 30
ORIGINAL = ("From: 홍길동 <hong@example.com>\r\nSubject: =?ks_c_5601-1987?b?uea6z7jt?=\r\n"
            "Message-ID: <req-1@example.com>\r\n\r\n안녕하세요\r\n").encode("cp949")


def _env(**kw) -> Envelope:
    base = dict(from_address="consulting@sonosa.or.kr", from_name="남북교류협력지원협회",
                to=("hong.gildong@example.com",), message_id="<abc123@intake.sonosa.or.kr>", date=DATE,
                in_reply_to="<req-1@example.com>", references=("<old@example.com>", "<req-1@example.com>"),
                auto_submitted="auto-replied", case_ref="2026-000001", reply_to=None)
    base.update(kw)
    return Envelope(**base)


CASES = [
    # id, subject, from_name, html, envelope overrides
    ("korean", "[접수 2026-000001] 방북증명서 발급 문의", "남북교류협력지원협회", None, {}),
    ("crlf-injection", "문의\r\nBcc: victim@example.com\r\nX-Evil: 1", "남북교류협력지원협회", None, {}),
    ("lf-and-tab", "first\nsecond\tthird\x85fourth\u2028fifth", "Org\r\nBcc: x@y", None, {}),
    ("long-korean", LONG_KO, "남북교류협력지원협회", "<p>안녕하세요</p>", {}),
    ("long-ascii", LONG_ASCII, "Sonosa Intake", None, {}),
    ("ascii-encoded-word-lookalike", "=?utf-8?q?not_a_word?= really", "Sonosa", None, {}),
    ("quoted-name", "hello", 'Kim, "Chul-su" (office)', "<b>x</b>", {}),
    ("empty-name-no-refs", "short", "", None, dict(in_reply_to=None, references=(), case_ref=None)),
    ("many-references", "refs", "Org", None,
     dict(references=tuple(f"<ref-{i:03d}-{'x' * 40}@example.com>" for i in range(30)))),
    ("task-no-auto", "업무", "Org", None,
     dict(auto_submitted="auto-generated", reply_to="consulting@sonosa.or.kr", to=("staff@sonosa.or.kr",))),
    ("no-auto-submitted", "relay", "Org", "<p>relay</p>", dict(auto_submitted=None)),
]


def _rendered(subject: str, html: str | None) -> RenderedMail:
    return RenderedMail(template="acknowledgement", template_version="v1abc", subject=subject,
                        text="고객님, 안녕하십니까.\n접수번호 2026-000001\n\n끝", html=html)


def _check(raw: bytes, rendered: RenderedMail, env: Envelope, *, attached: bytes | None = None,
           folded: bool = True) -> None:
    assert raw.isascii(), "7-bit on the wire"
    lines = raw.split(b"\r\n")
    assert all(len(line) <= 998 for line in lines)
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\n" not in head.replace(b"\r\n", b""), "no bare LF"
    if folded:
        assert all(len(line) <= 78 for line in head.split(b"\r\n")), "headers folded"
    assert b"\nBcc:" not in raw and b"\nX-Evil:" not in raw, "no injected header"

    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert not msg.defects
    assert msg["Subject"] == one_line(rendered.subject, 900)
    assert msg["From"].addresses[0].addr_spec == env.from_address
    assert msg["From"].addresses[0].display_name == one_line(env.from_name)
    assert [a.addr_spec for a in msg["To"].addresses] == list(env.to)
    assert msg["Message-ID"] == env.message_id
    assert msg["Date"].datetime == env.date
    assert msg["In-Reply-To"] == env.in_reply_to
    refs = [r for r in env.references if r][-20:]
    assert (msg["References"] or None) == (" ".join(refs) if refs else None)
    assert msg["Auto-Submitted"] == env.auto_submitted
    assert msg["Reply-To"] == env.reply_to
    assert msg["X-Intake-Case"] == env.case_ref
    assert msg["X-Intake-Template"] == f"{rendered.template} {rendered.template_version}"
    assert set(msg.keys()) >= {"From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type"}
    assert len(msg.get_all("Subject")) == 1 and len(msg.get_all("To")) == 1

    text = msg.get_body(("plain",)).get_content()
    assert text.replace("\r\n", "\n") == rendered.text + "\n"
    html = msg.get_body(("html",))
    if rendered.html:
        assert html is not None and html.get_content().replace("\r\n", "\n") == rendered.html + "\n"
    else:
        assert html is None
    atts = list(msg.iter_attachments())
    if attached is None:
        assert atts == []
    else:
        assert msg.get_content_type() == "multipart/mixed"
        assert [a.get_filename() for a in atts] == ["original.eml"]
        assert atts[0].get_content() == attached
        for part in msg.walk():
            assert not part.defects


@pytest.mark.parametrize("case_id,subject,name,html,over", CASES, ids=[c[0] for c in CASES])
def test_compose_parses_back(case_id, subject, name, html, over):
    rendered = _rendered(subject, html)
    env = _env(from_name=name, **over)
    raw = compose(rendered, env)
    _check(raw, rendered, env)


@pytest.mark.parametrize("case_id,subject,name,html,over", CASES, ids=[c[0] for c in CASES])
def test_attach_original_parses_back(case_id, subject, name, html, over):
    rendered = _rendered(subject, html)
    env = _env(from_name=name, **over)
    raw = attach_original(compose(rendered, env), ORIGINAL)
    _check(raw, rendered, env, attached=ORIGINAL)


def test_attach_original_to_a_mail_of_another_layout():
    """Outbox rows written by an older version (``EmailMessage``, SMTP policy) still get their attachment."""
    from email.message import EmailMessage
    from email.policy import SMTP

    rendered = _rendered("예전 메일", "<p>x</p>")
    env = _env()
    old = EmailMessage(policy=SMTP)
    for name, value in (("From", f"{env.from_name} <{env.from_address}>"), ("To", ", ".join(env.to)),
                        ("Subject", rendered.subject), ("Date", email.utils.format_datetime(env.date)),
                        ("Message-ID", env.message_id), ("In-Reply-To", env.in_reply_to),
                        ("References", " ".join(env.references)), ("Auto-Submitted", env.auto_submitted),
                        ("X-Intake-Case", env.case_ref),
                        ("X-Intake-Template", f"{rendered.template} {rendered.template_version}")):
        old[name] = value
    old.set_content(rendered.text, subtype="plain", charset="utf-8", cte="base64")
    old.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="base64")
    raw = attach_original(old.as_bytes(), ORIGINAL)
    _check(raw, rendered, env, attached=ORIGINAL, folded=False)   # the stdlib's folding


PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


def _files(raw: bytes) -> list[tuple[str, str, bytes]]:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    for part in msg.walk():
        assert not part.defects
    return [(a.get_filename(), a.get_content_type(), a.get_content()) for a in msg.iter_attachments()]


@pytest.mark.parametrize("case_id,subject,name,html,over", CASES, ids=[c[0] for c in CASES])
def test_pdf_then_original_both_attached(case_id, subject, name, html, over):
    """The fax acknowledgement PDF at enqueue time, the original at send time: one multipart/mixed."""
    from intake.domain.outgoing import FileAttachment, attach_file

    rendered = _rendered(subject, html)
    env = _env(from_name=name, **over)
    with_pdf = attach_file(compose(rendered, env), FileAttachment("fax-acknowledgement-2026-000001.pdf",
                                                                  "application/pdf", PDF))
    assert _files(with_pdf) == [("fax-acknowledgement-2026-000001.pdf", "application/pdf", PDF)]
    both = attach_original(with_pdf, ORIGINAL)
    assert both.count(b"multipart/mixed") == 1, "appended to the same mixed part, not nested"
    assert _files(both) == [("fax-acknowledgement-2026-000001.pdf", "application/pdf", PDF),
                            ("original.eml", "application/octet-stream", ORIGINAL)]
    msg = email.message_from_bytes(both, policy=email.policy.default)
    assert msg.get_body(("plain",)).get_content().replace("\r\n", "\n") == rendered.text + "\n"
    assert msg["Message-ID"] == env.message_id and msg["To"] == ", ".join(env.to)


@pytest.mark.parametrize("filename, ctype", [("접수확인서.pdf", "application/pdf"), ("a b.pdf", "application/pdf"),
                                             ("x.pdf", "application/pdf; name=x")])
def test_attach_file_falls_back_to_the_stdlib_for_unusual_names(filename, ctype):
    from intake.domain.outgoing import FileAttachment, attach_file

    raw = attach_file(compose(_rendered("제목", None), _env()), FileAttachment(filename, ctype, PDF))
    [(name, got_type, data)] = _files(raw)
    assert name == filename and data == PDF and got_type == ctype.split(";")[0]


def test_crlf_in_an_address_is_refused():
    with pytest.raises(ValueError):
        compose(_rendered("x", None), _env(to=("a@example.com\r\nBcc: b@example.com",)))
    with pytest.raises(ValueError):
        compose(_rendered("x", None), _env(reply_to="a@example.com\nBcc: b@example.com"))


def test_long_korean_subject_is_folded_into_encoded_words():
    raw = compose(_rendered(LONG_KO, None), _env())
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    subject_lines = head.split("Subject:", 1)[1].split("\r\nDate:", 1)[0].split("\r\n")
    assert len(subject_lines) > 10
    assert all(line.strip().startswith("=?utf-8?b?") for line in subject_lines)


def test_boundaries_are_deterministic():
    env = _env()
    assert compose(_rendered("x", "<p>y</p>"), env) == compose(_rendered("x", "<p>y</p>"), env)
