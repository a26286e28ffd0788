#!/usr/bin/env python3
"""Write a hostile mail corpus: messages built to exhaust a mail processor.

Deterministic (a fixed seed); only the Python standard library. Used by the tests
(written into a temporary directory) and by ``bench/bench_hostile.py``.

    python3 make_hostile.py OUTDIR        # writes OUTDIR/<name>.eml, prints name and size
"""
from __future__ import annotations

import base64
import io
import random
import struct
import sys
import zipfile
import zlib
from pathlib import Path

SEED = "intake-hostile-2026"
FROM = "From: =?UTF-8?B?6rmA7LKg7IiY?= <chulsoo@example.kr>\r\n"
FAX_FROM = "From: fax-noreply@cloudfax-relay.kr\r\n"
COMMON = "To: help@example.org\r\nDate: Fri, 04 Dec 2026 10:00:00 +0900\r\nMIME-Version: 1.0\r\n"

KOREAN_WORDS = ("안녕하십니까", "민원", "신청서", "처리", "부탁드립니다", "서류", "제출", "확인", "요청",
                "주민등록", "허가", "건축", "세금", "환급", "문의", "담당자", "기한", "연락처", "주소", "접수")


def _head(name: str, subject: str = "hostile", sender: str = FROM) -> str:
    return f"{sender}{COMMON}Message-ID: <{name}@hostile.example>\r\nSubject: {subject}\r\n"


def _b64(data: bytes) -> str:
    return base64.encodebytes(data).decode("ascii").replace("\n", "\r\n")


def _korean_text(size: int, rng: random.Random) -> str:
    words, total = [], 0
    while total < size:
        w = rng.choice(KOREAN_WORDS)
        words.append(w)
        total += len(w.encode("utf-8")) + 1
        if len(words) % 12 == 0:
            words.append(".\n")
    return " ".join(words)


def huge_korean_body(rng):
    body = _korean_text(6 * 1024 * 1024, rng).encode("utf-8")
    return (_head("huge-korean", "민원 신청 (긴 문서)") + "Content-Type: text/plain; charset=UTF-8\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n" + _b64(body)).encode()


def long_line(rng):
    line = "".join(rng.choice("abcdefghij klmnop") for _ in range(4 * 1024 * 1024))
    return (_head("long-line") + "Content-Type: text/plain; charset=us-ascii\r\n\r\n" + line + "\r\n").encode()


def header_storm(rng):
    heads = "".join(f"X-Junk-{i}: {'v' * 40}\r\n" for i in range(60000))
    return (_head("header-storm") + heads + "Content-Type: text/plain\r\n\r\nhello\r\n").encode()


def encoded_word_subject(rng):
    word = "=?UTF-8?B?" + base64.b64encode("민원".encode()).decode() + "?="
    subject = "\r\n ".join([word] * 40000)
    return (_head("encoded-words", subject) + "Content-Type: text/plain\r\n\r\nhello\r\n").encode()


def encoded_word_from(rng):
    word = "=?EUC-KR?Q?=B1=E8?="
    sender = "From: " + " ".join([word] * 30000) + " <x@example.kr>\r\n"
    return (_head("encoded-from", "hi", sender) + "Content-Type: text/plain\r\n\r\nhello\r\n").encode()


def deep_mime(rng):
    depth = 2000
    out = [_head("deep-mime")]
    for i in range(depth):
        out.append(f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n')
    out.append("Content-Type: text/plain\r\n\r\ninnermost\r\n")
    for i in reversed(range(depth)):
        out.append(f"--b{i}--\r\n")
    return "".join(out).encode()


def many_parts(rng):
    parts = "".join(f"--b\r\nContent-Type: text/plain\r\n\r\npart {i}\r\n" for i in range(20000))
    return (_head("many-parts") + 'Content-Type: multipart/mixed; boundary="b"\r\n\r\n' + parts + "--b--\r\n").encode()


def deep_html(rng):
    html = "<html><body>" + "<div><span>" * 100000 + "민원" + "</span></div>" * 100000 + "</body></html>"
    return (_head("deep-html") + "Content-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + _b64(html.encode())).encode()


def huge_html_table(rng):
    html = "<table>" + "<tr><td>셀</td><td>값</td></tr>" * 300000 + "</table>"
    return (_head("huge-html") + "Content-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + _b64(html.encode())).encode()


def _attached(name: str, subject: str, ctype: str, filename: str, payload: bytes, sender: str = FROM) -> bytes:
    return (_head(name, subject, sender) + 'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
            "--b\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n첨부 파일을 보냅니다.\r\n"
            f'--b\r\nContent-Type: {ctype}\r\nContent-Disposition: attachment; filename="{filename}"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n" + _b64(payload) + "--b--\r\n").encode()


def zip_bomb(rng):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        with z.open("zeros.txt", "w", force_zip64=True) as f:
            chunk = b"\0" * (1 << 20)
            for _ in range(1024):          # 1 GiB uncompressed, about 1 MB compressed
                f.write(chunk)
    return _attached("zip-bomb", "서류 제출", "application/zip", "docs.zip", buf.getvalue())


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(rng):
    width = height = 100000                      # 10^10 pixels declared
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    row = b"\0" + b"\0" * width
    comp = zlib.compressobj(9)
    idat = b"".join(comp.compress(row) for _ in range(200)) + comp.flush()
    png = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")
    return _attached("png-bomb", "incoming fax from 02-123-4567", "image/png", "fax.png", png, FAX_FROM)


def _tiff(width: int, height: int, strip: bytes) -> bytes:
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 1), (259, 3, 1, 1),
               (262, 3, 1, 0), (273, 4, 1, 8 + 2 + 12 * 9 + 4), (277, 3, 1, 1), (278, 4, 1, height),
               (279, 4, 1, len(strip))]
    ifd = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHII", tag, typ, count, value) if typ == 4 else struct.pack("<HHIHH", tag, typ, count, value, 0)
        for tag, typ, count, value in entries) + struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + strip


def tiff_bomb(rng):
    tiff = _tiff(200000, 200000, b"\0" * 1024)   # 4*10^10 1-bit pixels declared
    return _attached("tiff-bomb", "incoming fax from 02-123-4567", "image/tiff", "fax.tif", tiff, FAX_FROM)


def malformed_tiff(rng):
    tiff = _tiff(1728, 2200, b"")[:60] + bytes(rng.randrange(256) for _ in range(500))
    return _attached("bad-tiff", "incoming fax from 02-123-4567", "image/tiff", "fax.tif", tiff, FAX_FROM)


def malformed_pdf(rng):
    pdf = (b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R]"
           b" /Count 999999999 >> endobj\n3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 1e30 1e30]"
           b" /Contents 4 0 R >> endobj\n4 0 obj << /Length 99999999 /Filter /FlateDecode >> stream\n"
           + bytes(rng.randrange(256) for _ in range(4000)) + b"\nxref\n0 1\ntrailer << /Root 1 0 R >>\n%%EO")
    return _attached("bad-pdf", "incoming fax from 02-123-4567", "application/pdf", "fax.pdf", pdf, FAX_FROM)


def nested_rfc822(rng):
    inner = _head("inner-0") + "Content-Type: text/plain\r\n\r\nbottom\r\n"
    for i in range(300):
        inner = (_head(f"inner-{i + 1}") + "Content-Type: message/rfc822\r\n\r\n" + inner)
    return inner.encode()


HOSTILE = {
    "huge-korean-body": huge_korean_body,
    "long-line": long_line,
    "header-storm": header_storm,
    "encoded-word-subject": encoded_word_subject,
    "encoded-word-from": encoded_word_from,
    "deep-mime": deep_mime,
    "many-parts": many_parts,
    "nested-rfc822": nested_rfc822,
    "deep-html": deep_html,
    "huge-html-table": huge_html_table,
    "zip-bomb": zip_bomb,
    "png-bomb": png_bomb,
    "tiff-bomb": tiff_bomb,
    "malformed-tiff": malformed_tiff,
    "malformed-pdf": malformed_pdf,
}


def write_corpus(outdir: Path, names=None) -> list[Path]:
    outdir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, make in HOSTILE.items():
        if names and name not in names:
            continue
        path = outdir / f"{name}.eml"
        path.write_bytes(make(random.Random(f"{SEED}:{name}")))
        paths.append(path)
    return paths


if __name__ == "__main__":
    for p in write_corpus(Path(sys.argv[1] if len(sys.argv) > 1 else "hostile-out"), sys.argv[2:]):
        print(p.name, p.stat().st_size)
