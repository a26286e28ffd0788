"""parse_message: labelled samples, charset tables, hostile and large input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from intake.domain.mailparse import parse_message
from intake.errors import IntakeError, MailParseError
from tests.fixtures import mailbuild as mb

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
RECEIVED = datetime(2026, 4, 14, 8, 5, 0, tzinfo=timezone.utc)
CP949_ONLY = mb.HANGUL_CP949_ONLY
KOREAN_LABELS = ["ks_c_5601-1987", "ks_c_5601", "euc-kr", "euc_kr", "x-windows-949",
                 "windows-949", "cp949", "uhc", "ksc5601"]
TRANSFER_ENCODINGS = ["base64", "quoted-printable", "8bit"]


def _labels() -> list[dict]:
    path = SAMPLES / "labels.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


LABELS = _labels()
needs_samples = pytest.mark.skipif(not LABELS, reason="shared samples not available")


def parse(raw: bytes):
    return parse_message(raw, RECEIVED)


def sample(name: str):
    return parse((SAMPLES / name).read_bytes())


def sender_attachment_names(mail) -> list[str]:
    """Files the sender attached (attached messages / DSN blocks of bounces excluded)."""
    return [a.original_filename for a in mail.attachments if not a.content_type.startswith("message/")]


# --------------------------------------------------------------------------- the 80 samples


@needs_samples
@pytest.mark.parametrize("label", LABELS, ids=[item["file"] for item in LABELS])
def test_sample_matches_labels(label):
    mail = sample(label["file"])
    assert mail.subject == label["subject"]
    assert mail.from_address == label["from_address"].lower()
    assert mail.in_reply_to == label["in_reply_to"]
    assert sender_attachment_names(mail) == label["attachments"]
    assert "\n" not in mail.subject and "\r" not in mail.subject


@needs_samples
def test_sample_count():
    assert len(LABELS) == 80


@needs_samples
def test_windows_traversal_filename_is_sanitised():
    mail = sample("sample-037.eml")
    (att,) = mail.attachments
    assert att.original_filename == "..\\..\\..\\windows\\win.ini"
    assert att.filename == "win.ini"


@needs_samples
def test_zero_byte_attachment_kept():
    sizes = {a.original_filename: a.size for a in sample("sample-056.eml").attachments}
    assert sizes["차량등록증_사본.pdf"] == 0
    assert sizes["운행승인서발급신청서.hwp"] > 0


@needs_samples
def test_fifty_nested_multiparts():
    mail = sample("sample-058.eml")
    assert [a.filename for a in mail.attachments] == ["교역상담신청서.hwp"]
    assert mail.text.strip()


@needs_samples
def test_missing_date_and_message_id():
    mail = sample("sample-029.eml")
    assert mail.date is None and mail.message_id is None
    assert "missing-header: date" in mail.defects and "missing-header: message-id" in mail.defects


@needs_samples
def test_crlf_injection_in_encoded_subject():
    mail = sample("sample-061.eml")
    assert mail.subject == "협회 소개 자료 요청"
    assert mail.cc == ()
    assert any(d.startswith("subject-line-break-dropped") for d in mail.defects)


@needs_samples
def test_us_ascii_label_on_utf8_bytes():
    mail = sample("sample-078.eml")
    assert "\ufffd" not in mail.text
    assert any("\uac00" <= ch <= "\ud7a3" for ch in mail.text)
    assert any("declared us-ascii, decoded as utf-8" in d for d in mail.defects)


@needs_samples
def test_cp949_only_syllable_in_ks_c_body():
    assert "됬" in sample("sample-022.eml").text


@needs_samples
def test_zip_attachment_payload_decoded():
    (att,) = sample("sample-069.eml").attachments
    assert att.payload.startswith(b"PK") and att.filename == "문의사항.zip"


@needs_samples
@pytest.mark.parametrize("name", ["sample-011.eml", "sample-013.eml", "sample-064.eml"])
def test_bounce_keeps_original_headers_as_message_attachment(name):
    mail = sample(name)
    assert mail.content_type == "multipart/report"
    originals = [a for a in mail.attachments if a.content_type == "message/rfc822"]
    assert len(originals) == 1
    assert originals[0].filename in ("message.eml", "message-headers.eml")
    assert b"Message-ID:" in originals[0].payload or b"Message-Id:" in originals[0].payload
    assert any(a.content_type == "message/delivery-status" and b"Status:" in a.payload for a in mail.attachments)


@needs_samples
def test_html_only_sample_gets_text():
    mail = sample("sample-009.eml")
    assert mail.content_type == "text/html" and mail.html
    assert mail.text and "<" not in mail.text


# --------------------------------------------------------------------------- charset tables


@pytest.mark.parametrize("label", KOREAN_LABELS)
@pytest.mark.parametrize("cte", TRANSFER_ENCODINGS)
def test_cp949_syllables_everywhere(label, cte):
    raw = mb.message(
        headers=[("From", mb.address_header(CP949_ONLY, "Kim@Example.KR", label)),
                 ("Subject", mb.encoded_word(CP949_ONLY, label, "B" if cte == "base64" else "Q"))],
        body=mb.multipart("mixed", [
            mb.text_part(f"본문 {CP949_ONLY}", label, cte),
            mb.attachment_part(b"%PDF-1.4", "application/pdf",
                               f'filename="{mb.encoded_word(CP949_ONLY + ".pdf", label)}"'),
        ]),
    )
    mail = parse(raw)
    assert mail.subject == CP949_ONLY
    assert mail.from_name == CP949_ONLY
    assert mail.from_address == "kim@example.kr"
    assert mail.text == f"본문 {CP949_ONLY}"
    assert [a.filename for a in mail.attachments] == [CP949_ONLY + ".pdf"]
    assert not any("charset" in d for d in mail.defects)


@pytest.mark.parametrize("label", KOREAN_LABELS)
def test_cp949_rfc2231_filename(label):
    raw = mb.message(body=mb.multipart("mixed", [
        mb.text_part("x", "us-ascii", "7bit"),
        mb.attachment_part(b"data", "application/x-hwp", mb.rfc2231_filename_params(f"{CP949_ONLY}_신청서.hwp", label)),
    ]))
    assert [a.filename for a in parse(raw).attachments] == [f"{CP949_ONLY}_신청서.hwp"]


def test_thunderbird_rfc2231_continuation_utf8():
    name = "방북증명서_발급신청서_탁구교류단_명단 최종본.hwp"
    raw = mb.message(body=mb.multipart("mixed", [
        mb.text_part("본문", "utf-8", "8bit"),
        mb.attachment_part(b"hwp", "application/octet-stream", mb.rfc2231_filename_params(name, "utf-8", chunk=10),
                           name_param=mb.rfc2231_filename_params(name, "utf-8").replace("filename", "name")),
    ]))
    (att,) = parse(raw).attachments
    assert att.original_filename == name == att.filename
    assert att.payload == b"hwp"


def test_multibyte_char_split_across_encoded_words():
    raw = mb.message(headers=[("Subject", mb.encoded_words(f"반출승인 {CP949_ONLY} 문의", "ks_c_5601-1987", "B", 5))])
    assert parse(raw).subject == f"반출승인 {CP949_ONLY} 문의"


def test_iso_2022_kr_body_and_subject():
    raw = mb.message(headers=[("Subject", mb.encoded_word("교역 상담 신청", "iso-2022-kr", "B"))],
                     body=mb.text_part("안녕하세요.\n교역 상담을 신청합니다.", "iso-2022-kr", "7bit"))
    mail = parse(raw)
    assert mail.subject == "교역 상담 신청"
    assert mail.text == "안녕하세요.\n교역 상담을 신청합니다."


@pytest.mark.parametrize("codec", ["utf-8", "cp949"])
def test_raw_8bit_headers(codec):
    raw = mb.message(headers=[
        ("Subject", f"방북 신청 {CP949_ONLY if codec == 'cp949' else '문의'}".encode(codec)),
        ("From", f'"{CP949_ONLY}" <a@b.kr>'.encode(codec)),
    ], body=mb.text_part(f"본문 {CP949_ONLY}", "euc-kr", "8bit"))
    mail = parse(raw)
    assert mail.subject == f"방북 신청 {CP949_ONLY if codec == 'cp949' else '문의'}"
    assert mail.from_name == CP949_ONLY and mail.from_address == "a@b.kr"
    assert mail.text == f"본문 {CP949_ONLY}"
    assert any(d.startswith("raw-8bit-header") for d in mail.defects)
    assert ("subject", mail.subject) in mail.headers


def test_unknown_8bit_encoded_word():
    raw = mb.message(headers=[("Subject", mb.encoded_word("문의", "utf-8").replace("utf-8", "unknown-8bit"))])
    assert parse(raw).subject == "문의"


@pytest.mark.parametrize(
    "declared, payload, expected",
    [
        ("us-ascii", "한글 본문".encode("utf-8"), "한글 본문"),
        ("utf-8", "한글 본문".encode("cp949"), "한글 본문"),
        ("iso-8859-1", "café".encode("latin-1"), "café"),
        ("unknown-8bit", "한글".encode("cp949"), "한글"),
    ],
)
def test_wrong_body_labels(declared, payload, expected):
    raw = mb.message(body=mb.text_part("", declared, "8bit", payload=payload))
    assert parse(raw).text == expected


def test_html_only_naver_like():
    html = ("<html><head><style>p{color:red}</style><script>alert('x')</script></head>"
            "<body><div>안녕하세요&nbsp;담당자님,</div><p>방북증명서 &amp; 확인서 문의드립니다.<br>"
            "연락처: 010-1234-5678</p><ul><li>첫째</li><li>둘째</li></ul></body></html>")
    raw = mb.message(headers=[("Subject", mb.encoded_word("문의", "utf-8"))],
                     body=mb.text_part(html, "utf-8", "base64", subtype="html"))
    mail = parse(raw)
    assert mail.html == html
    assert mail.text == "안녕하세요 담당자님,\n\n방북증명서 & 확인서 문의드립니다.\n연락처: 010-1234-5678\n\n- 첫째\n- 둘째"
    assert "alert" not in mail.text and "color" not in mail.text


def test_alternative_prefers_plain_text_and_keeps_html():
    raw = mb.message(body=mb.multipart("alternative", [
        mb.text_part("plain 본문", "utf-8", "base64"),
        mb.text_part("<p>html 본문</p>", "utf-8", "base64", subtype="html"),
    ]))
    mail = parse(raw)
    assert mail.text == "plain 본문" and mail.html == "<p>html 본문</p>"
    assert mail.attachments == ()


# --------------------------------------------------------------------------- attachments


def test_attachment_rules():
    raw = mb.message(body=mb.multipart("mixed", [
        mb.multipart("related", [
            mb.text_part("<p>hi<img src='cid:img1'></p>", "utf-8", "8bit", subtype="html"),
            mb.part("image/png", b"\x89PNG", "base64", extra=[("Content-ID", "<img1>")]),
        ]),
        mb.attachment_part(b"note", "text/plain", 'filename="memo.txt"'),
        mb.part('text/plain; charset="utf-8"', "두 번째 본문".encode(), "8bit"),
        mb.attachment_part(b"", "application/pdf", ""),
    ]))
    mail = parse(raw)
    assert [(a.filename, a.original_filename, a.content_type) for a in mail.attachments] == [
        ("attachment-1.png", "", "image/png"),
        ("memo.txt", "memo.txt", "text/plain"),
        ("attachment-3.pdf", "", "application/pdf"),
    ]
    assert mail.attachments[0].content_id == "<img1>"
    assert mail.attachments[1].payload == b"note"
    assert mail.text == "두 번째 본문"


def test_attached_message_stays_available():
    inner = mb.message(headers=[("Subject", "original"), ("Message-ID", "<orig@x>")])
    raw = mb.message(body=mb.multipart("mixed", [
        mb.text_part("fwd", "us-ascii", "7bit"),
        mb.headers_block([("Content-Type", "message/rfc822")]) + mb.CRLF + inner,
    ]))
    mail = parse(raw)
    (att,) = mail.attachments
    assert att.content_type == "message/rfc822" and att.filename == "message.eml"
    assert b"<orig@x>" in att.payload
    assert mail.text == "fwd"


# --------------------------------------------------------------------------- header fields


def test_header_fields():
    raw = mb.message(headers=[
        ("From", mb.address_header("김 민수", "MinSu.Kim@Example.KR")),
        ("Reply-To", "Form <Reply@Form.example>"),
        ("To", "A <a@x.kr>, =?utf-8?B?7ZiR7ZqM?= <B@X.KR>"),
        ("Cc", "c@x.kr"),
        ("Message-ID", "<m1@x>"),
        ("In-Reply-To", "<ack-1@intake.sonosa.or.kr>"),
        ("References", "<r0@x>\r\n <ack-1@intake.sonosa.or.kr>"),
        ("Date", "Tue, 14 Apr 2026 17:03:21 +0900"),
        ("X-Custom", mb.encoded_word("값", "utf-8")),
    ])
    mail = parse(raw)
    assert (mail.from_address, mail.from_name) == ("minsu.kim@example.kr", "김 민수")
    assert mail.reply_to == "reply@form.example"
    assert mail.to == ("a@x.kr", "b@x.kr") and mail.cc == ("c@x.kr",)
    assert mail.message_id == "<m1@x>"
    assert mail.in_reply_to == "<ack-1@intake.sonosa.or.kr>"
    assert mail.references == ("<r0@x>", "<ack-1@intake.sonosa.or.kr>")
    assert mail.date == datetime(2026, 4, 14, 8, 3, 21, tzinfo=timezone.utc)
    assert mail.date.utcoffset() == timedelta(hours=9)
    assert mail.header("x-custom") == "값"
    assert mail.header("to") == "A <a@x.kr>, 협회 <B@X.KR>"
    assert [name for name, _ in mail.headers] == [
        "subject", "mime-version", "from", "reply-to", "to", "cc", "message-id", "in-reply-to",
        "references", "date", "x-custom", "content-type", "content-transfer-encoding"]
    assert mail.header("references") == "<r0@x> <ack-1@intake.sonosa.or.kr>"


def test_received_at_in_seoul():
    mail = parse(mb.message())
    assert mail.received_at == RECEIVED
    assert str(mail.received_at.tzinfo) == "Asia/Seoul"
    assert mail.received_at.hour == 17


def test_bad_date_is_none_with_defect():
    mail = parse(mb.message(headers=[("Date", "sometime next week")]))
    assert mail.date is None and any(d.startswith("bad-date") for d in mail.defects)


def test_from_without_angle_brackets_or_garbage():
    assert parse(mb.message(headers=[("From", "USER@EXAMPLE.KR")])).from_address == "user@example.kr"
    mail = parse(mb.message(headers=[("From", "")]))
    assert mail.from_address == "" and "no-from-address" in mail.defects


# --------------------------------------------------------------------------- robustness


@pytest.mark.parametrize("raw", [b"", b"   \r\n"])
def test_empty_raw_raises(raw):
    with pytest.raises(MailParseError):
        parse(raw)


def test_non_bytes_raises_intake_error():
    with pytest.raises(IntakeError):
        parse_message("From: a@b\r\n\r\nx", RECEIVED)


@pytest.mark.parametrize(
    "raw",
    [
        b"\x00\xff\xfe garbage \x80\x81",
        b"no headers at all, just text",
        b"Subject: =?utf-8?B?!!!not-base64?=\r\n\r\nbody",
        b"Content-Type: multipart/mixed\r\n\r\nno boundary body",
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nunterminated",
        b"Content-Type: text/plain; charset=\"\r\nContent-Transfer-Encoding: base64\r\n\r\n@@@@",
        b"From: <<<>>>\r\nTo: ,,,\r\nDate: 99 Foo 99999\r\n\r\n",
        b"Content-Type: application/pdf; name*0*=bogus'';name*1*=%ZZ\r\n\r\nx",
    ],
)
def test_malformed_input_never_raises(raw):
    mail = parse(raw)
    assert mail.received_at.tzinfo is not None


def test_generated_fifty_nested_multiparts():
    inner = mb.multipart("mixed", [mb.text_part("깊은 본문", "utf-8", "8bit"),
                                   mb.attachment_part(b"x", "application/pdf", 'filename="deep.pdf"')])
    mail = parse(mb.message(body=mb.nested_multipart(50, inner)))
    assert mail.text == "깊은 본문" and [a.filename for a in mail.attachments] == ["deep.pdf"]


def test_absurd_nesting_does_not_raise():
    inner = mb.text_part("bottom", "utf-8", "8bit")
    mail = parse(mb.message(headers=[("Subject", "deep")], body=mb.nested_multipart(1200, inner)))
    assert mail.subject == "deep"
    assert mail.defects


@pytest.fixture(scope="module")
def big_message(tmp_path_factory) -> bytes:
    script = SAMPLES / "make_big.py"
    if not script.exists():
        pytest.skip("make_big.py not available")
    workdir = tmp_path_factory.mktemp("big")
    shutil.copy(script, workdir / "make_big.py")  # the script writes next to itself
    subprocess.run([sys.executable, str(workdir / "make_big.py")], cwd=workdir, check=True, capture_output=True)
    return (workdir / "big-01.eml").read_bytes()


def test_fifteen_megabyte_attachment(big_message):
    started = time.perf_counter()
    mail = parse(big_message)
    elapsed = time.perf_counter() - started
    assert elapsed < 10
    assert mail.subject == "예비검토 자료 (적재 사진 포함, 대용량)"
    sizes = {a.filename: a.size for a in mail.attachments}
    assert sizes["적재현황_사진원본.zip"] > 15_000_000
    assert "반출승인신청서.pdf" in sizes


@pytest.mark.parametrize("codec", ["utf-8", "cp949"])
def test_raw_8bit_attachment_filename(codec):
    name = f"{CP949_ONLY}_신청서.hwp"
    entity = (mb.headers_block([("Content-Type", b"application/x-hwp; name=\"" + name.encode(codec) + b"\""),
                                ("Content-Disposition", b"attachment; filename=\"" + name.encode(codec) + b"\""),
                                ("Content-Transfer-Encoding", "base64")]) + mb.CRLF + b"aHdw" + mb.CRLF)
    raw = mb.message(body=mb.multipart("mixed", [mb.text_part("x", "us-ascii", "7bit"), entity]))
    (att,) = parse(raw).attachments
    assert att.original_filename == name and att.payload == b"hwp"
