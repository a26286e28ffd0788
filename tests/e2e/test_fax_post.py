"""Fax and scanned post end to end: real Dovecot, SMTP sink, database and tesseract.

The pages are generated here (tests/fixtures/pages.py: Pillow + NanumGothic): a
fax-like multi-page CCITT G4 TIFF with a blank page, an image-only PDF, a
fax that is nothing but a blank page, and text-layer PDFs. The assertions read
what the SMTP sink received (the PDFs with pdftotext) and what the database holds.
"""

from __future__ import annotations

import email
import hashlib
import io
import json
import os
import re
import subprocess
from datetime import datetime
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from sqlmodel import select

from intake.adapters.pdf_render import render_text_pdf
from intake.models import AuditEvent, Case, InboundMessage, StoredAttachment
from tests.adapters.test_ocr import _ocr_missing
from tests.e2e.harness import FixedClock, make_env, sample_bytes
from tests.fixtures.pages import SAMPLE_PAGES, fax_tiff, image_pdf

KST = ZoneInfo("Asia/Seoul")
RECEIVED = datetime(2026, 11, 25, 10, 5, tzinfo=KST)
NOW = datetime(2026, 11, 25, 10, 30, tzinfo=KST)

# SAMPLE_PAGES[1] reads back exactly (tests/adapters/test_ocr.py); a 주민등록번호 is added.
FAX_PAGE = SAMPLE_PAGES[1] + "\n신청인 주민등록번호: 800101-1234567"
POST_PAGES = (
    "남북교류협력지원협회 귀중\n"
    "제목: 북한이탈주민 정착 지원 사업 문의\n"
    "안녕하십니까. 저는 인천에 사는 김영희입니다.\n"
    "정착 지원 사업의 신청 방법과 필요한 서류를 알고 싶습니다.",
    "전화로 연락 주시면 감사하겠습니다.\n"
    "연락처: 010-4821-3307\n"
    "2026년 11월 20일 김영희 드림",
)


@pytest.fixture
def ocr_ready():
    reason = _ocr_missing()
    if reason:
        if os.environ.get("INTAKE_REQUIRE_OCR") == "1":
            pytest.fail(f"INTAKE_REQUIRE_OCR=1 but {reason}")
        pytest.skip(reason)


def paper_mail(sender: str, subject: str, files: list[tuple[bytes, str, str]], message_id: str,
               body: str = "팩스가 도착했습니다. 첨부 파일을 확인하십시오.") -> bytes:
    """What a fax gateway or the office scanner sends: a short note and the page files."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "consulting@sonosa.or.kr"
    msg["Subject"] = subject
    msg["Date"] = "Wed, 25 Nov 2026 10:05:00 +0900"
    msg["Message-ID"] = message_id
    msg.set_content(body)
    for payload, ctype, filename in files:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(payload, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


def case_mails(mails):
    """The mails about cases (the timed digests and admin notices of the sweeper are not counted here)."""
    return [m for m in mails if parsed(m.raw)["X-Intake-Case"]]


def parsed(raw: bytes):
    return email.message_from_bytes(raw, policy=default_policy)


def template_of(raw: bytes) -> str:
    return (parsed(raw)["X-Intake-Template"] or "").split(" ")[0]


def body_text(raw: bytes) -> str:
    return parsed(raw).get_body(("plain",)).get_content()


def attachments(raw: bytes) -> list[tuple[str, str, bytes]]:
    return [(a.get_filename(), a.get_content_type(), a.get_content()) for a in parsed(raw).iter_attachments()]


def pdf_text(data: bytes, tmp_path: Path) -> str:
    """The PDF's text as pdftotext (poppler-utils) reads it, whitespace collapsed."""
    folder = tmp_path / "pdftotext"
    folder.mkdir(exist_ok=True)
    path = folder / f"{hashlib.sha256(data).hexdigest()[:12]}.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True)
    return re.sub(r"\s+", " ", out.stdout.decode("utf-8"))


def pdf_pages(data: bytes) -> int:
    return len(PdfReader(io.BytesIO(data)).pages)


def handler_of(case: Case) -> tuple[str, str, str, str]:
    from intake.settings import load_settings
    from tests.e2e.harness import REPO

    roster = load_settings(REPO / "config" / "intake.toml", require_secrets=False).roster
    member = roster.member(case.handler_id)
    return member.name, member.phone, member.email, roster.department(member.department).name


def events_of(s, case_id: int) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for e in s.exec(select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(AuditEvent.id)).all():
        out.setdefault(e.event, []).append(json.loads(e.detail) if e.detail else {})
    return out


# ------------------------------------------------------------------ fax


def test_fax_acknowledgement_goes_through_the_gateway_as_a_one_page_pdf(tmp_path, dovecot, smtp_sink, ocr_ready):
    env = make_env(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path / 'intake.db'}",
                   extra='\n[fax]\ngateway_address = "{number}@fax.example"\n')
    tiff = fax_tiff([FAX_PAGE, None])          # a fax-like G4 TIFF, 204x196 dpi: a page, then a blank page
    env.append(paper_mail("fax-noreply@cloudfax-relay.kr", "팩스 수신 알림 - 02-3471-2290",
                          [(tiff, "image/tiff", "fax_0234712290.tif")], "<fax-1@cloudfax-relay.kr>"),
               internaldate=RECEIVED)
    report = env.run_once(clock=FixedClock(NOW))
    assert report.process.failed == 0 and report.ocr.processed == 1

    with env.session() as s:
        [case] = s.exec(select(Case)).all()
        [row] = s.exec(select(InboundMessage)).all()
        assert case.channel == "fax" and case.customer_fax == "02-3471-2290"
        assert case.customer_address == "forum@seoul-peace.or.kr", "the address written on the fax"
        assert case.category == "visit-certificate" and case.pii
        assert not row.needs_manual_reading
        pages = json.loads(row.ocr_report)[0]["pages"]
        assert [p["method"] for p in pages] == ["ocr", "blank"]
        assert "방북증명서" in row.page_text and "######-*******" in row.page_text and "1234567" not in row.page_text
        events = events_of(s, case.id)
        assert events["fax-acknowledgement-queued"] == [{"to": "0234712290@fax.example", "number": "02-3471-2290"}]
        assert "sent:fax-acknowledgement" in events
        ref = case.ref
        name, phone, mail_address, department = handler_of(case)

    mails = case_mails(smtp_sink.messages())
    faxes = [m for m in mails if m.rcpt_to == ["0234712290@fax.example"]]
    assert len(faxes) == 1, "one fax acknowledgement, to the gateway address of the caller's number"
    fax = parsed(faxes[0].raw)
    assert fax["Auto-Submitted"] == "auto-replied" and fax["X-Intake-Case"] == ref
    assert template_of(faxes[0].raw) == "fax-acknowledgement"
    [(filename, ctype, pdf)] = attachments(faxes[0].raw)
    assert (filename, ctype) == (f"fax-acknowledgement-{ref}.pdf", "application/pdf")
    assert pdf_pages(pdf) == 1
    text = pdf_text(pdf, tmp_path)
    for value in ("접수 확인서", ref, name, phone, mail_address, department, "02-3471-2290", "남북교류협력지원협회",
                  "방북증명서 발급 요청"):
        assert value in text, f"{value!r} missing from the faxed PDF: {text}"

    copies = [m for m in mails if m.rcpt_to == ["forum@seoul-peace.or.kr"]]
    assert len(copies) == 1 and template_of(copies[0].raw) == "acknowledgement", "email_copy defaults to true"

    [task] = [m for m in mails if template_of(m.raw) == "staff-task"]
    task_text = body_text(task.raw)
    assert "자동 발송하였습니다" in task_text and "0234712290@fax.example" in task_text
    assert [a[0] for a in attachments(task.raw)] == ["original.eml"], "no PDF to fax by hand"
    assert "######-*******" in task_text and "800101" not in task_text, "RRN masked in staff mail"
    assert len(mails) == 3


def test_fax_without_gateway_asks_the_handler_to_fax_the_attached_pdf(tmp_path, dovecot, smtp_sink, ocr_ready):
    env = make_env(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path / 'intake.db'}",
                   extra="\n[fax]\nemail_copy = false\n")
    pdf_in = image_pdf([FAX_PAGE])             # image-only PDF: no text layer, read by OCR
    env.append(paper_mail("fax@gw.faxrelay.kr", "Incoming fax from 031-789-4321",
                          [(pdf_in, "application/pdf", "fax.pdf")], "<fax-2@gw.faxrelay.kr>"), internaldate=RECEIVED)
    report = env.run_once(clock=FixedClock(NOW))
    assert report.process.failed == 0

    with env.session() as s:
        [case] = s.exec(select(Case)).all()
        [row] = s.exec(select(InboundMessage)).all()
        assert case.channel == "fax" and case.customer_fax == "031-789-4321"
        assert [p["method"] for p in json.loads(row.ocr_report)[0]["pages"]] == ["ocr"]
        events = events_of(s, case.id)
        assert events["fax-acknowledgement-by-hand"][0]["reason"] == "no fax gateway configured ([fax] gateway_address)"
        assert "email_copy = false" in events["acknowledgement-skipped"][0]["reason"]
        ref = case.ref
        name, phone, mail_address, _ = handler_of(case)

    mails = case_mails(smtp_sink.messages())
    assert len(mails) == 1, "no fax, and no e-mail copy (switched off): only the task"
    task = mails[0]
    assert template_of(task.raw) == "staff-task" and task.rcpt_to == [mail_address]
    text = body_text(task.raw)
    assert "팩스 접수 확인서를 직접 보내 주십시오" in text and "031-789-4321" in text
    assert "팩스 게이트웨이가 설정되어 있지 않습니다" in text
    files = attachments(task.raw)
    assert [(f, t) for f, t, _ in files] == [(f"fax-acknowledgement-{ref}.pdf", "application/pdf"),
                                             ("original.eml", "application/octet-stream")]
    pdf = files[0][2]
    assert pdf_pages(pdf) == 1
    pdf_t = pdf_text(pdf, tmp_path)
    for value in (ref, name, phone, mail_address, "031-789-4321"):
        assert value in pdf_t


def test_fax_acknowledgements_keep_the_loop_guards(tmp_path, dovecot, smtp_sink):
    """At most acks_per_sender_per_day faxes per number a day, and never to our own fax number."""
    env = make_env(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path / 'intake.db'}",
                   extra='\n[fax]\ngateway_address = "{number}@fax.example"\nown_numbers = ["02-6000-1999"]\n')
    for i in range(4):
        page = render_text_pdf("", f"팩스\n방북증명서 발급 문의 {i + 1}\n발급 절차를 알려 주십시오.")   # text layer
        env.append(paper_mail("fax-noreply@cloudfax-relay.kr", "팩스 수신 알림 - 02-992-4410",
                              [(page, "application/pdf", f"fax{i}.pdf")], f"<loop-{i}@cloudfax-relay.kr>"),
                   internaldate=RECEIVED)
    own = render_text_pdf("", "팩스\n시험 전송입니다. 사업 문의")
    env.append(paper_mail("fax-noreply@cloudfax-relay.kr", "팩스 수신 알림 - 02 6000 1999",
                          [(own, "application/pdf", "own.pdf")], "<own@cloudfax-relay.kr>"), internaldate=RECEIVED)
    report = env.run_once(clock=FixedClock(NOW))
    assert report.process.failed == 0

    mails = case_mails(smtp_sink.messages())
    assert len([m for m in mails if m.rcpt_to == ["029924410@fax.example"]]) == 3   # acks_per_sender_per_day = 3
    assert not [m for m in mails if m.rcpt_to == ["0260001999@fax.example"]]
    tasks = [body_text(m.raw) for m in mails if template_of(m.raw) == "staff-task"]
    assert len(tasks) == 5
    assert len([t for t in tasks if "자동 발송하였습니다" in t]) == 3
    capped = [t for t in tasks if "반복 발송 방지" in t]
    assert len(capped) == 1 and "already got 3 acknowledgements in 24 h" in capped[0]
    assert len([t for t in tasks if "우리 기관의 팩스번호입니다" in t]) == 1
    with env.session() as s:
        skipped = s.exec(select(AuditEvent).where(AuditEvent.event == "fax-acknowledgement-skipped")).all()
        assert len(skipped) == 2


# ------------------------------------------------------------------ post and blank pages


def test_scanned_post_and_a_blank_fax_are_registered(tmp_path, dovecot, smtp_sink, ocr_ready):
    env = make_env(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path / 'intake.db'}",
                   extra='\n[fax]\ngateway_address = "{number}@fax.example"\n')
    env.append(paper_mail("scanner@sonosa.or.kr", "스캔 문서 전송",
                          [(image_pdf(list(POST_PAGES)), "application/pdf", "scan0001.pdf")], "<scan-1@sonosa.or.kr>",
                          body="Scanned by MFP-3F"), internaldate=RECEIVED)
    env.append(paper_mail("fax-noreply@cloudfax-relay.kr", "팩스 수신 알림 - 02-992-4410",
                          [(fax_tiff([None]), "image/tiff", "fax.tif")], "<blank@cloudfax-relay.kr>"),
               internaldate=RECEIVED)
    report = env.run_once(clock=FixedClock(NOW))
    assert report.process.failed == 0

    with env.session() as s:
        post = s.exec(select(Case).where(Case.channel == "post")).one()
        blank = s.exec(select(Case).where(Case.channel == "fax")).one()
        assert post.policy == "phone-call" and post.customer_phone == "010-4821-3307"
        assert "정착 지원" in post.text and "김영희" in post.text
        rows = {r.case_id: r for r in s.exec(select(InboundMessage)).all()}
        assert [p["method"] for p in json.loads(rows[post.id].ocr_report)[0]["pages"]] == ["ocr", "ocr"]
        assert not rows[post.id].needs_manual_reading
        assert rows[blank.id].needs_manual_reading, "a blank fax is flagged for manual reading"
        assert json.loads(rows[blank.id].ocr_report)[0]["problems"] == ["all pages are blank"]
        assert blank.handler_id and blank.customer_fax == "02-992-4410"
        post_ref, post_handler = post.ref, handler_of(post)

    mails = case_mails(smtp_sink.messages())
    assert not [m for m in mails if "scanner@sonosa.or.kr" in m.rcpt_to], "no e-mail to the scanner"
    [call] = [m for m in mails if template_of(m.raw) == "phone-call-task"]
    assert call.rcpt_to == [post_handler[2]]
    text = body_text(call.raw)
    assert post_ref in text and "010-4821-3307" in text
    assert [a[0] for a in attachments(call.raw)] == ["original.eml"], "the letter is attached"
    # The blank fax is still acknowledged by fax (its number is known) and tasked.
    assert len([m for m in mails if m.rcpt_to == ["029924410@fax.example"]]) == 1
    [blank_task] = [m for m in mails if template_of(m.raw) == "staff-task"]
    assert "자동으로 읽지 못했습니다" in body_text(blank_task.raw), "the handler is told to read the pages"
    assert "자동으로 읽지 못했습니다" not in text, "the readable letter is not flagged"
    assert len(mails) == 3


# ------------------------------------------------------------------ attachments


def _zip(members: dict[str, bytes]) -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_attachment_limits_archives_and_hostile_names(tmp_path, dovecot, smtp_sink):
    env = make_env(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path / 'intake.db'}",
                   storage_extra="max_attachment_bytes = 300000\nmax_attachments = 5\n")
    letter = render_text_pdf("", "\n".join(POST_PAGES))                   # text layer: read without OCR
    big = fax_tiff([POST_PAGES[0]], compression="raw")                     # ~0.5 MB uncompressed fax page
    assert len(big) > 300000
    inner = _zip({"../../../tmp/evil.txt": b"x", "secret.pdf": letter})
    archive = _zip({"nested.zip": inner, "readme.txt": "압축 파일".encode()})
    files = [
        (letter, "application/pdf", "page.pdf"),
        (big, "image/tiff", "big.tif"),                        # over the size limit: kept aside, never read
        (archive, "application/zip", "archive.zip"),           # stored as it came, never unpacked
        (b"root:x:0:0\n", "text/plain", "../../etc/passwd"),
        (archive, "application/pdf", "scan2.pdf"),             # a zip dressed as a PDF
        (b"shadow\n", "text/plain", "/etc/shadow"),           # 6th and 7th: over the count limit
        (b"extra\n", "text/plain", "extra.txt"),
    ]
    env.append(paper_mail("scanner@sonosa.or.kr", "스캔 문서 전송", files, "<scan-2@sonosa.or.kr>", body="scan"),
               internaldate=RECEIVED)
    report = env.run_once(clock=FixedClock(NOW))
    assert report.process.failed == 0

    store = (tmp_path / "store").resolve()
    with env.session() as s:
        [case] = s.exec(select(Case)).all()
        [row] = s.exec(select(InboundMessage)).all()
        atts = s.exec(select(StoredAttachment).order_by(StoredAttachment.id)).all()
        assert case.channel == "post" and case.customer_phone == "010-4821-3307"
        assert [a.filename for a in atts] == ["page.pdf", "big.tif", "archive.zip", "passwd", "scan2.pdf",
                                              "shadow", "extra.txt"]
        assert [a.original_filename for a in atts][3] == "../../etc/passwd"
        assert [a.kept_aside for a in atts] == [False, True, False, False, False, True, True]
        assert "over the limit of 300000 bytes" in atts[1].aside_reason
        assert "over the limit of 5 attachments" in atts[5].aside_reason
        assert [a.content_type for a in atts] == ["application/pdf", "image/tiff", "application/zip", "text/plain",
                                                  "application/zip", "text/plain", "text/plain"]
        for a, (payload, _, _) in zip(atts, files):
            path = Path(a.path).resolve()
            assert path.is_relative_to(store) and env.app().store.read(path) == payload
            assert a.sha256 == hashlib.sha256(payload).hexdigest()
        report_files = json.loads(row.ocr_report)
        assert [f["file"] for f in report_files] == ["page.pdf", "big.tif"], "the zip 'PDF' is not a page"
        assert report_files[0]["pages"][0]["method"] == "text-layer"
        assert report_files[1]["kept_aside"] and report_files[1]["pages"] == []
        assert row.needs_manual_reading, "a page was kept aside unread"

    # Nothing was unpacked and no name chose a path: the store holds hash-named blobs only
    # (beside the sender's accepted-mail journal in its own folder).
    names = [p.name for p in store.rglob("*") if p.is_file() and p.parent != store / "journal"]
    assert all(re.fullmatch(r"[0-9a-f]{64}\.(bin|eml)", n) for n in names), names
    assert len([n for n in names if n.endswith(".bin")]) == 6            # the zip twice = one blob
    assert not (tmp_path / "etc").exists() and not Path("/tmp/evil.txt").exists()

    [call] = [m for m in smtp_sink.messages() if template_of(m.raw) == "phone-call-task"]
    text = body_text(call.raw)
    aside = text.split("[따로 보관한 첨부]", 1)[1].split("[요청 내용]", 1)[0]
    assert "big.tif" in aside and "shadow" in aside and "extra.txt" in aside
    assert "archive.zip" not in aside and "page.pdf" not in aside
    assert "첨부 한 개의 제한" in aside and "5개 제한" in aside


# ------------------------------------------------------------------ printable letter


def test_cases_letter_prints_a_pdf_with_the_handler_and_the_answer(tmp_path, dovecot, smtp_sink):
    env = make_env(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path / 'intake.db'}")
    env.append(sample_bytes("sample-001.eml"), internaldate=RECEIVED)
    assert env.run_once(clock=FixedClock(NOW)).process.failed == 0
    with env.session() as s:
        [case] = s.exec(select(Case)).all()
        ref, (name, phone, mail_address, department) = case.ref, handler_of(case)
    answer = tmp_path / "answer.txt"
    answer.write_bytes("문의하신 방북 절차는 통일부 누리집에서 신청하실 수 있습니다.\r\n서류는 우편으로 보내 주십시오.\r\n"
                       .encode("cp949"))                         # as Korean Windows Notepad saves it
    out = tmp_path / "letter.pdf"

    result = env.run_cli("cases", "letter", ref, "--out", str(out), "--text-file", str(answer), "--date", "2026-11-26")
    assert result.returncode == 0, result.stderr
    assert f"{ref} letter written to {out}" in result.stdout
    text = pdf_text(out.read_bytes(), tmp_path)
    for value in (ref, name, phone, mail_address, department, "통일부 누리집에서 신청하실 수 있습니다",
                  "서류는 우편으로 보내 주십시오", "2026년 11월 26일", "남북교류협력지원협회"):
        assert value in text, f"{value!r} missing from the letter: {text}"
    with env.session() as s:
        [printed] = s.exec(select(AuditEvent).where(AuditEvent.event == "letter-printed")).all()
        assert json.loads(printed.detail)["file"] == str(out.resolve())

    # Bad input: a clear error, nothing written, nothing recorded.
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n", encoding="utf-8")
    for args, message in (
        (("2026-999999", "--out", str(tmp_path / "a.pdf"), "--text-file", str(answer)), "no case '2026-999999'"),
        ((ref, "--out", str(tmp_path / "b.pdf"), "--text-file", str(empty)), "is empty"),
        ((ref, "--out", str(tmp_path / "c.pdf"), "--text-file", str(tmp_path / "missing.txt")), "cannot read"),
        ((ref, "--out", str(tmp_path / "nowhere" / "d.pdf"), "--text-file", str(answer)), "does not exist"),
        ((ref, "--out", str(tmp_path / "e.pdf"), "--text-file", str(answer), "--date", "26.11.2026"), "YYYY-MM-DD"),
    ):
        result = env.run_cli("cases", "letter", *args)
        assert result.returncode == 1 and message in result.stderr and "nothing written" in result.stderr, result.stderr
    assert sorted(p.name for p in tmp_path.glob("*.pdf")) == ["letter.pdf"]
    with env.session() as s:
        assert len(s.exec(select(AuditEvent).where(AuditEvent.event == "letter-printed")).all()) == 1
