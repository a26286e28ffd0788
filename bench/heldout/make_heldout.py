"""Write the held-out evaluation set (issue 15): ``bench/heldout/mail/*.eml`` + ``labels.jsonl``.

Deterministic (fixed seed, fixed dates): ``.venv/bin/python bench/heldout/make_heldout.py``.
Measure with ``.venv/bin/intake eval bench/heldout/mail --labels bench/heldout/labels.jsonl``.
Mail the rules were never tuned on: faxes from gateways not in channels.toml, modern spam,
header-less auto-replies, broken RFC 2047 subjects, requests by e-mail, fax and post.
Kept apart from training data: ``intake train`` never reads this folder.
"""

from __future__ import annotations

import base64
import io
import json
import random
import sys
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE))

from tests.fixtures import mailbuild as mb  # noqa: E402
from tests.fixtures.pages import blank_page, page_image  # noqa: E402
from texts import DOMAINS, EN_PEOPLE, PEOPLE, REQUESTS_EN, REQUESTS_KO  # noqa: E402
import spamtexts  # noqa: E402

OUT = HERE / "mail"
INTAKE = "consulting@sonosa.or.kr"
KST = timezone(timedelta(hours=9))
DEPARTMENTS = {"trade-approval-review": "종합지원센터", "visit-certificate": "종합지원센터",
               "vehicle-permit": "종합지원센터", "information": "조사연구부"}
ACK_SUBJECT = "[접수 {ref}] 남북교류협력지원협회 문의 접수 안내"

rng = random.Random(20261204)
_labels: list[dict] = []
_count = 0
_clock = datetime(2026, 11, 2, 9, 12, tzinfo=KST)


def _next_date() -> datetime:
    global _clock
    _clock += timedelta(minutes=rng.randint(20, 400))
    return _clock


def department(category: str | None) -> str | None:
    return None if category is None else DEPARTMENTS.get(category, "총괄사업부")


def label(**kw) -> dict:
    base = {"kind": "case", "channel": "email", "category": None, "department": None, "reply_to_address": None,
            "fax_number": None, "phone": None, "case_ref": None, "language": "ko", "pii": False, "hostile": None,
            "notes": "", "subject": "", "from_address": "", "in_reply_to": None, "attachments": [],
            "rendered_text": None}
    base.update(kw)
    if base["kind"] == "case" and base["department"] is None:
        base["department"] = department(base["category"])
    return base


def write(raw: bytes, lab: dict, group: str) -> None:
    global _count
    _count += 1
    name = f"h{_count:03d}-{group}.eml"
    (OUT / name).write_bytes(raw)
    lab = {"file": name, **lab}
    _labels.append(lab)


def base_headers(from_h: str, subject_h: str, date: datetime, mid_domain: str, extra=()) -> list:
    return [("Return-Path", f"<{from_h.split('<')[-1].rstrip('>') if '<' in from_h else from_h}>"),
            ("From", from_h), ("To", INTAKE), ("Subject", subject_h), ("Date", format_datetime(date)),
            ("Message-ID", f"<{rng.getrandbits(64):016x}.{_count + 1}@{mid_domain}>"), ("MIME-Version", "1.0"),
            *extra]


_FIXED = __import__("time").gmtime(1793491200)


def pdf_bytes(pages: list[str]) -> bytes:
    frames = [page_image(t, dpi=200) for t in pages]
    buf = io.BytesIO()
    frames[0].save(buf, format="PDF", resolution=200.0, save_all=True, append_images=frames[1:],
                   creationDate=_FIXED, modDate=_FIXED)
    return buf.getvalue()


def tiff_bytes(pages: list[str]) -> bytes:
    frames = []
    for text in pages:
        image = page_image(text, dpi=204)
        image = image.resize((image.width, round(image.height * 196 / 204)))
        frames.append(image.point(lambda v: 255 if v >= 160 else 0).convert("1", dither=0))
    buf = io.BytesIO()
    frames[0].save(buf, format="TIFF", compression="group4", dpi=(204, 196), save_all=True, append_images=frames[1:])
    return buf.getvalue()


def b64_part(ctype: str, payload: bytes, filename: str) -> bytes:
    return mb.attachment_part(payload, ctype, f'filename="{filename}"', name_param=f'name="{filename}"')


# --------------------------------------------------------------------------- e-mail requests


def broken_subject(subject: str, style: int) -> str | bytes:
    """Subjects as broken mailers write them (the label keeps what the sender meant)."""
    if style == 0:   # a multibyte character cut between two encoded words
        return mb.encoded_words(subject, "utf-8", "B", max_bytes=10)
    if style == 1:   # cp949 bytes labelled euc-kr (Outlook)
        return mb.encoded_words(subject, "euc-kr", "B", max_bytes=9)
    if style == 2:   # raw 8-bit UTF-8
        return subject.encode("utf-8")
    if style == 3:   # raw 8-bit cp949
        return subject.encode("cp949")
    if style == 4:   # Q encoding split mid-character
        return mb.encoded_words(subject, "utf-8", "Q", max_bytes=7)
    return mb.encoded_word(subject, "ks_c_5601-1987", "B")   # cp949 bytes, ks_c label, well formed


def email_requests() -> None:
    pool = list(REQUESTS_KO)
    rng.shuffle(pool)
    for i, (cat, subject, lines, phone) in enumerate(pool):
        name, box = PEOPLE[i % len(PEOPLE)]
        addr = f"{box}@{DOMAINS[i % len(DOMAINS)]}"
        sign = [f"{name} 드림"] + ([f"연락처 {phone}"] if phone else [])
        body = "안녕하십니까.\n\n" + "\n".join(lines) + "\n\n감사합니다.\n" + "\n".join(sign) + "\n"
        charset = ("utf-8", "ks_c_5601-1987", "euc-kr")[i % 3] if cat != "general" or i % 2 else "utf-8"
        subj_h: str | bytes = mb.encoded_word(subject, "utf-8")
        notes = ""
        extra = [("X-Mailer", ("Microsoft Outlook 16.0", "Daum Mail", "NAVER Mail", "Thunderbird 128.4")[i % 4])]
        if i % 4 == 1:
            subj_h = broken_subject(subject, i % 6)
            notes = "broken or raw-8bit RFC 2047 subject"
        if i % 5 == 2:
            extra += [("X-Spam-Status", "No, score=0.8 required=5.0 tests=HTML_MESSAGE,SPF_PASS autolearn=ham"),
                      ("Authentication-Results", f"mx.sonosa.or.kr; spf=pass smtp.mailfrom={addr}; dmarc=pass")]
        if charset == "euc-kr" and any(ch in body for ch in mb.HANGUL_CP949_ONLY):
            charset = "cp949"
        raw = mb.message(base_headers(mb.address_header(name, addr, "utf-8"), subj_h, _next_date(),
                                      addr.split("@")[1], extra),
                         mb.text_part(body, charset, "base64"))
        write(raw, label(category=cat, reply_to_address=addr, phone=phone, subject=subject, from_address=addr,
                         notes=notes), "mail")
    for i, (cat, subject, lines, phone) in enumerate(REQUESTS_EN):
        name, addr = EN_PEOPLE[i]
        body = "Dear Sir or Madam,\n\n" + "\n".join(lines) + "\n\nKind regards,\n" + name + \
            (f"\nPhone {phone}" if phone else "") + "\n"
        raw = mb.message(base_headers(f'"{name}" <{addr}>', subject, _next_date(), addr.split("@")[1]),
                         mb.text_part(body, "us-ascii", "7bit"))
        write(raw, label(category=cat, reply_to_address=addr, phone=phone, subject=subject, from_address=addr,
                         language="en"), "mail")


# --------------------------------------------------------------------------- faxes


def fmt_number(digits_dashed: str, style: int) -> str:
    """One caller number written the way a gateway writes it."""
    parts = digits_dashed.split("-")
    plain = "".join(parts)
    if style == 0:
        return digits_dashed
    if style == 1:
        return plain
    if style == 2:
        return " ".join(parts)
    if style == 3:
        return f"+82-{parts[0][1:]}-{parts[1]}-{parts[2]}" if len(parts) == 3 else digits_dashed
    if style == 4:
        return f"({parts[0]}) {parts[1]}-{parts[2]}" if len(parts) == 3 else digits_dashed
    if style == 5:
        return f"+82 {parts[0][1:]} {' '.join(parts[1:])}" if len(parts) == 3 else digits_dashed
    return ".".join(parts)


CALLERS = ["02-588-1204", "02-3142-7780", "031-752-9031", "032-427-1186", "051-808-3321", "053-622-4470",
           "062-383-9912", "042-861-2205", "064-752-3318", "070-4012-7733", "070-8830-1102", "0505-301-7788",
           "0507-1322-9040", "1588-3355", "1644-2270", "033-255-6021", "043-236-1180", "055-762-3390",
           "02-2290-6618", "031-8017-4402", "061-287-5531", "054-272-9930", "044-868-1203", "063-251-7740"]


def _korean_gateways():
    def mobilefax(num, date, pages):
        shown = num or "발신번호 없음"
        return ("모바일팩스", "noreply@mobilefax.co.kr",
                f"[모바일팩스] 팩스가 도착했습니다 (발신: {shown})",
                f"모바일팩스로 팩스가 수신되었습니다.\n\n발신번호 : {shown}\n수신일시 : {date:%Y-%m-%d %H:%M}\n"
                f"수신 페이지 : {pages}장\n\n첨부된 파일을 확인해 주세요.\n", [])

    def enfax(num, date, pages):
        shown = num or "알 수 없음"
        return ("엔팩스", "fax@enfax.co.kr", "엔팩스 팩스 수신 안내",
                f"고객님, 새 팩스가 도착했습니다.\n보낸 팩스번호: {shown}\n받은 시각: {date:%Y.%m.%d %H:%M}\n"
                f"매수: {pages}\n※ 본 메일은 발신 전용입니다.\n", [])

    def highway(num, date, pages):
        subj = (f"[팩스수신] {num} 에서 {pages}장의 팩스가 왔습니다" if num else f"[팩스수신] {pages}장의 팩스가 왔습니다")
        return ("하이웨이팩스", "hwfax@highwayfax.co.kr", subj,
                f"하이웨이팩스 수신 알림\n발신자 번호: {num or '표시 안 됨'}\n수신 매수: {pages}\n", [])

    def uplus(num, date, pages):
        return ("U+웹팩스", "webfax@uplus-webfax.co.kr", "U+웹팩스 수신 알림",
                f"U+웹팩스에 팩스가 수신되었습니다.\n- 발신자번호 : {num or '번호없음'}\n- 수신일시 : {date:%Y-%m-%d %H:%M:%S}\n"
                f"- 수신매수 : {pages}매\n", [("X-Fax-Pages", str(pages))])

    def ktfax(num, date, pages):
        return ("KT 기업팩스", "no-reply@bizfax.kt-fax.co.kr", f"[KT팩스] 수신 팩스 도착 안내 ({date:%m/%d %H:%M})",
                f"KT 기업팩스 수신 안내\n\n발신 번호 | {num or '발신번호 미표시'}\n수신 일시 | {date:%Y-%m-%d %H:%M}\n"
                f"페이지 수 | {pages}\n", [("X-Fax-CSID", num.replace('-', '') if num else "")])

    return [mobilefax, enfax, highway, uplus, ktfax]


def _english_gateways():
    def efax(num, date, pages):
        cid = num or "Unknown"
        return ("eFax", "message@inbound.efax.com",
                f'eFax message from "{cid}" - {pages} page(s), Caller-ID: {cid}',
                f"You have received a {pages} page fax at {date:%Y-%m-%d %I:%M:%S %p} KST.\n\n"
                f"* The reference number for this fax is seo1_did12-{rng.randint(10**9, 10**10)}.\n\n"
                "Please visit www.efax.com/en/efax/help if you have any questions.\nThank you for using the eFax service!\n",
                [])

    def ringcentral(num, date, pages):
        who = num or "Anonymous"
        return ("RingCentral", "service@ringcentral.com", f"New Fax Message from {who} on {date:%m/%d/%Y at %I:%M %p}",
                f"You have received a new fax message.\n\nFrom: {who}\nReceived: {date:%A, %B %d, %Y at %I:%M %p}\n"
                f"Pages: {pages}\n\nThe fax is attached to this email as a PDF file.\n", [])

    def faxplus(num, date, pages):
        subj = f"Fax received from {num}" if num else "Fax received from No Caller ID"
        return ("FAX.PLUS", "noreply@fax.plus", subj,
                f"Hi,\nYou received a new fax on your number.\nFrom: {num or 'No Caller ID'}\nPages: {pages}\n"
                f"Date: {date:%Y-%m-%d %H:%M}\n", [])

    def hellofax(num, date, pages):
        return ("HelloFax", "noreply@hellofax.com", "You've received a fax",
                f"You've received a {pages}-page fax.\nSender fax number: {num or 'not provided'}\n"
                "The fax is attached.\n", [])

    def nextiva(num, date, pages):
        return ("Nextiva vFAX", "vfax@nextiva.com", f"vFAX: New fax from {num or 'unknown caller'} ({pages} pages)",
                f"A new fax has arrived.\nCSID: {num.replace('-', '') if num else ''}\nANI: {num or 'unavailable'}\n"
                f"Pages: {pages}\n", [("X-Fax-Caller-ID", num or "unknown")])

    return [efax, ringcentral, faxplus, hellofax, nextiva]


def fax_page(cat: str, subject: str, lines: list[str], phone: str | None, caller: str | None, date: datetime,
             org: str, en: bool = False) -> str:
    head = (f"{date:%Y/%m/%d %H:%M}  FROM: {caller.replace('-', ' ')}  {org.upper():<20}  P.001/001" if caller
            else f"{date:%Y/%m/%d %H:%M}  {'':<12}  P.001/001")
    if en:
        body = [subject, "", "To: Inter-Korean Exchange Support Association", *lines, "", org]
        if phone:
            body.insert(3, f"Phone: {phone}")
    else:
        body = [subject, "수 신  남북교류협력지원협회", *(f"연 락 처  {phone}" for _ in [1] if phone), "", *lines, "",
                f"2026. {date.month}. {date.day}.  {org}"]
    return head + "\n" + "\n".join(body)


def faxes() -> None:
    gateways = _korean_gateways() + _english_gateways()
    reqs = list(REQUESTS_KO)
    rng.shuffle(reqs)
    orgs = ["HANBIT NGO", "PEACE BRIDGE", "DAEJIN TRADE", "NAMBU COOP", "SEOHAE AGRI", "GOYANG CENTER", "MIRAE AID",
            "JEJU FORUM", "ULSAN METAL", "CHEONAN EDU"]
    for i in range(46):
        gw = gateways[i % len(gateways)]
        cat, subject, lines, phone = reqs[i % len(reqs)]
        no_caller = i % 9 == 4
        caller = None if no_caller else CALLERS[i % len(CALLERS)]
        shown = None if caller is None else fmt_number(caller, i % 7)
        if caller and caller.startswith("1") and i % 7 in (3, 4, 5):
            shown = caller     # 1588-type numbers have no area code to rewrite
        date = _next_date()
        org = orgs[i % len(orgs)]
        page = fax_page(cat, subject, lines, phone, caller, date, org)
        fname, from_addr, subj, body, extra = gw(shown, date, 1)
        use_pdf = i % 3 == 0
        att_name = (f"fax_{date:%Y%m%d_%H%M%S}.pdf" if use_pdf else f"FAX{date:%Y%m%d%H%M%S}.tif")
        payload = pdf_bytes([page]) if use_pdf else tiff_bytes([page])
        ctype = "application/pdf" if use_pdf else "image/tiff"
        subj_h = subj if subj.isascii() else mb.encoded_word(subj, "utf-8")
        text = mb.text_part(body, "utf-8", "base64")
        raw = mb.message(base_headers(mb.address_header(fname, from_addr, "utf-8") if not fname.isascii()
                                      else f'"{fname}" <{from_addr}>', subj_h, date, from_addr.split("@")[1],
                                      [h for h in extra if h[1]]),
                         mb.multipart("mixed", [text, b64_part(ctype, payload, att_name)], boundary=f"fx{i:03d}"))
        write(raw, label(channel="fax", category=cat, fax_number=caller, phone=phone, subject=subj,
                         from_address=from_addr, attachments=[att_name], rendered_text=page,
                         notes="unconfigured fax gateway" + ("; no caller ID" if no_caller else "")), "fax")


# --------------------------------------------------------------------------- post


def posts() -> None:
    reqs = [r for r in REQUESTS_KO if r[0] != "general"]
    rng.shuffle(reqs)
    for i in range(10):
        cat, subject, lines, phone = reqs[i]
        date = _next_date()
        page = "\n".join([f"제목: {subject}", "", *lines, "", *( [f"전화 {phone}"] if phone else []),
                          f"2026년 {date.month}월 {date.day}일", PEOPLE[i][0] + " 올림"])
        att = f"SCAN{date:%Y%m%d%H%M}.pdf"
        subj = ("스캔 문서 전송", "Attached Image", "Scanned Document")[i % 3] + (f" ({date:%Y%m%d%H%M})" if i % 3 == 0 else "")
        raw = mb.message(base_headers("scanner@sonosa.or.kr", mb.encoded_word(subj, "utf-8") if not subj.isascii()
                                      else subj, date, "sonosa.or.kr"),
                         mb.multipart("mixed", [mb.text_part("", "utf-8", "7bit"),
                                                b64_part("application/pdf", pdf_bytes([page]), att)],
                                      boundary=f"sc{i:03d}"))
        write(raw, label(channel="post", category=cat, phone=phone, subject=subj, from_address="scanner@sonosa.or.kr",
                         attachments=[att], rendered_text=page), "post")


# --------------------------------------------------------------------------- robots


def robots() -> None:
    for item in spamtexts.spam(rng):
        _robot(item, "spam")
    for item in spamtexts.auto_replies(rng):
        _robot(item, "auto")
    for item in spamtexts.follow_ups(rng):
        _robot(item, "followup")


def _robot(item: dict, group: str) -> None:
    date = _next_date()
    sender = item["from"]
    addr = sender.split("<")[-1].rstrip(">").strip() if "<" in sender else sender
    subj = item["subject"]
    subj_h = subj if subj.isascii() else mb.encoded_word(subj, "utf-8")
    extra = list(item.get("headers", []))
    if item.get("in_reply_to"):
        extra += [("In-Reply-To", item["in_reply_to"]), ("References", item["in_reply_to"])]
    body = mb.text_part(item["body"], item.get("charset", "utf-8"), "base64", subtype=item.get("subtype", "plain"))
    from_h = sender if sender.isascii() else mb.address_header(item["from_name"], addr, "utf-8")
    raw = mb.message(base_headers(from_h, subj_h, date, addr.split("@")[-1], extra), body)
    kind = item["kind"]
    write(raw, label(kind=kind, category=item.get("category"), reply_to_address=item.get("reply_to"),
                     case_ref=item.get("case_ref"), language=item.get("language", "ko"), subject=subj,
                     from_address=addr.lower(), in_reply_to=item.get("in_reply_to"), notes=item.get("notes", ""),
                     phone=item.get("phone"),
                     department=department(item.get("category")) if kind == "case" else None), group)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.eml"):
        old.unlink()
    email_requests()
    faxes()
    posts()
    robots()
    with open(HERE / "labels.jsonl", "w", encoding="utf-8") as fh:
        for lab in _labels:
            fh.write(json.dumps(lab, ensure_ascii=False) + "\n")
    print(f"{len(_labels)} messages in {OUT}")


if __name__ == "__main__":
    main()
