"""Charset handling for Korean mail.

Python maps ``ks_c_5601-1987`` and ``euc-kr`` to the strict EUC-KR codec, which
cannot decode the cp949 (Unified Hangul Code) extension: syllables such as 똠, 햏,
뷁 and 됬 turn into garbage or errors. Outlook and most Korean webmail write cp949
bytes under those labels, so every Korean label is decoded as cp949 (a superset).

Importing this module installs the mapping process-wide, before any lookup:

* a ``codecs`` search function placed *in front of* the standard ``encodings``
  search function (the codec cache is cleared, so earlier lookups do not stick),
* the same names in ``encodings.aliases.aliases``,
* ``email.charset`` entries so ``email.header`` / ``email.charset`` use cp949.

``decode_bytes`` is the one place that turns bytes + declared label into text,
with fallbacks (declared → utf-8 → cp949 → the best of them with replacement, or cp1252/latin-1
when the bytes hold no multibyte text) recorded as defects.
"""

from __future__ import annotations

import codecs
import email.charset
import encodings
import encodings.aliases

KOREAN_LABELS: tuple[str, ...] = (
    "ks_c_5601-1987", "ks_c_5601", "ks_c_5601_1987", "ksc5601", "ksc_5601",
    "ks_x_1001", "euc-kr", "euc_kr", "euckr", "x-windows-949", "windows-949",
    "cp949", "ms949", "uhc", "x-uhc",
)

# Labels that name no real charset; content must be guessed.
UNKNOWN_LABELS: frozenset[str] = frozenset({
    "unknown-8bit", "x-unknown", "unknown", "none", "default", "x-user-defined", "8bit",
})

# Misspellings seen in real mail.
TYPO_LABELS: dict[str, str] = {"uft-8": "utf-8", "utf8": "utf-8", "x-utf-8": "utf-8"}

# Labels whose real-world bytes are a superset encoding (like ks_c_5601-1987 → cp949).
SUPERSET_LABELS: dict[str, str] = {
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "euc-cn": "gb18030",
    "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932",
    "iso-8859-8-i": "iso-8859-8", "iso-8859-6-i": "iso-8859-6",
    "big5": "big5hkscs",
}

FALLBACK_CODECS: tuple[str, ...] = ("utf-8", "cp949")
# A Japanese message (its body or headers labelled so) often has raw Shift_JIS bytes in a header.
_JAPANESE = ("iso2022_jp", "shift_jis", "euc_jp", "cp932", "iso2022_jp_2", "shift_jis_2004", "euc_jis_2004")


def normalize_label(label: str | None) -> str:
    """Lower-case, strip quotes/space: ``' "KS_C_5601-1987" '`` → ``ks_c_5601-1987``."""
    if not label:
        return ""
    return str(label).strip().strip("\"'").strip().lower()


def _codec_key(label: str) -> str:
    return encodings.normalize_encoding(normalize_label(label)).replace("-", "_")


_KOREAN_KEYS = frozenset(_codec_key(label) for label in KOREAN_LABELS)


def _korean_search(name: str) -> codecs.CodecInfo | None:
    if _codec_key(name) in _KOREAN_KEYS and _codec_key(name) != "cp949":
        return encodings.search_function("cp949")
    return None


def _clear_codec_cache() -> None:
    """codecs.unregister clears the interpreter's lookup cache as a side effect."""

    def _noop(_name: str) -> None:
        return None

    codecs.register(_noop)
    codecs.unregister(_noop)


def _install_codec_search() -> None:
    codecs.unregister(encodings.search_function)
    codecs.unregister(_korean_search)
    codecs.register(_korean_search)
    codecs.register(encodings.search_function)
    for label in KOREAN_LABELS:
        key = _codec_key(label)
        if key != "cp949":
            encodings.aliases.aliases[key] = "cp949"
    _clear_codec_cache()


def _install_email_charsets() -> None:
    for label in KOREAN_LABELS:
        email.charset.add_charset(label, email.charset.BASE64, email.charset.BASE64, None)
        email.charset.add_codec(label, "cp949")
    email.charset.ALIASES.pop("euc_kr", None)


_install_codec_search()
_install_email_charsets()


def codec_for(label: str | None) -> str | None:
    """Python codec name for a MIME charset label, or None when unknown/unusable."""
    norm = TYPO_LABELS.get(normalize_label(label), normalize_label(label))
    norm = SUPERSET_LABELS.get(norm, norm)
    if not norm or norm in UNKNOWN_LABELS:
        return None
    if _codec_key(norm) in _KOREAN_KEYS:
        return "cp949"
    try:
        info = codecs.lookup(norm)
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


def decode_bytes(data: bytes, label: str | None, defects: list[str], where: str,
                 hint: str | None = None) -> str:
    """Decode ``data`` declared as ``label``; never raises.

    Order: declared codec (strict) → utf-8 → cp949 → declared/utf-8 with
    replacement. Every fallback appends a defect naming ``where``.
    """
    if not data:
        return ""
    declared = codec_for(label)
    if declared:
        try:
            return data.decode(declared)
        except (UnicodeDecodeError, LookupError):
            pass
    elif _is_ascii(data):
        return data.decode("ascii")
    for codec in _fallbacks(hint):
        if codec == declared:
            continue
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        defects.append(f"charset-fallback: {where} declared {normalize_label(label) or 'none'!s}, decoded as {codec}")
        return text
    return _last_resort(data, declared, normalize_label(label) or "none", defects, where)


def _last_resort(data: bytes, declared: str | None, label: str, defects: list[str], where: str) -> str:
    """No codec decodes ``data`` cleanly. Mostly-good UTF-8 or Korean text with a broken byte (a
    split character) keeps its script, the bad bytes replaced; text with nothing of either (``Forma\\xe7\\xe3o``,
    raw Latin-1 under no label or a wrong Korean one, mostly ASCII) was written in a Western
    single-byte charset: cp1252, else Latin-1, which decode any byte."""
    best, best_score = None, -1
    for codec in dict.fromkeys((declared or "utf-8", "utf-8", "cp949")):
        text = data.decode(codec, errors="replace")
        good, bad = _script_score(text, codec), text.count("\ufffd")
        if good and good - bad > best_score:
            best, best_score = (codec, text), good - bad
    if best is None and not _mostly_ascii(data):     # binary junk, not Western text: keep it visibly broken
        best = (declared or "utf-8", data.decode(declared or "utf-8", errors="replace"))
    if best is not None:
        defects.append(f"charset-undecodable: {where} declared {label}, decoded as {best[0]}, replaced bad bytes")
        return best[1]
    for codec in ("cp1252", "latin-1"):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        defects.append(f"charset-fallback: {where} declared {label}, no multibyte text in it, decoded as {codec}")
        return text
    return data.decode("latin-1")   # not reached: latin-1 decodes any byte


def _mostly_ascii(data: bytes) -> bool:
    """Western single-byte text is mostly ASCII with a few accented letters between."""
    return sum(b < 0x80 for b in data) * 2 >= len(data)


def _script_score(text: str, codec: str) -> int:
    """Characters that show the codec was right: Hangul syllables for cp949, any non-ASCII for UTF-8."""
    if codec == "cp949":
        return sum("\uac00" <= ch <= "\ud7a3" for ch in text)
    return sum(ord(ch) > 127 and ch != "\ufffd" for ch in text)


def _fallbacks(hint: str | None) -> tuple[str, ...]:
    hinted = codec_for(hint) if hint else None
    if not hinted or hinted in FALLBACK_CODECS or hinted == "ascii":
        return FALLBACK_CODECS
    if hinted in _JAPANESE:
        return ("utf-8", "cp932", hinted, "cp949")
    return ("utf-8", hinted, "cp949")


def decode_guess(data: bytes, defects: list[str], where: str, hint: str | None = None) -> str:
    """Decode bytes with no declared charset (raw 8-bit headers): utf-8, then
    ``hint`` (the message's body charset, if any), then cp949."""
    return decode_bytes(data, None, defects, where, hint)


def _is_ascii(data: bytes) -> bool:
    try:
        data.decode("ascii")
    except UnicodeDecodeError:
        return False
    return True
