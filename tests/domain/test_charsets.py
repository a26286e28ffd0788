"""Korean charset aliases and decode fallbacks."""

import codecs
import email.header

import pytest

from intake.domain import charsets
from intake.domain.charsets import KOREAN_LABELS, codec_for, decode_bytes

CP949_ONLY = "똠햏뷁됬"
CP949_BYTES = CP949_ONLY.encode("cp949")

REQUIRED_LABELS = ["ks_c_5601-1987", "ks_c_5601", "euc-kr", "euc_kr", "x-windows-949",
                   "windows-949", "cp949", "uhc", "ksc5601", "KS_C_5601-1987", "EUC-KR"]


def test_strict_euc_kr_codec_really_cannot_decode_these_syllables():
    import encodings.euc_kr

    with pytest.raises(UnicodeDecodeError):
        encodings.euc_kr.codec.decode(CP949_BYTES)


@pytest.mark.parametrize("label", REQUIRED_LABELS)
def test_codecs_lookup_maps_korean_label_to_cp949(label):
    assert codecs.lookup(label).name == "cp949"
    assert CP949_BYTES.decode(label) == CP949_ONLY


@pytest.mark.parametrize("label", REQUIRED_LABELS)
def test_codec_for_korean_label(label):
    assert codec_for(label) == "cp949"


@pytest.mark.parametrize("label", REQUIRED_LABELS)
def test_email_header_path_uses_cp949(label):
    import base64
    word = f"=?{label}?B?{base64.b64encode(CP949_BYTES).decode()}?="
    assert str(email.header.make_header(email.header.decode_header(word))) == CP949_ONLY


@pytest.mark.parametrize("label", REQUIRED_LABELS)
def test_decode_bytes_korean_label_no_defect(label):
    defects = []
    assert decode_bytes(CP949_BYTES, label, defects, "t") == CP949_ONLY
    assert defects == []


def test_aliases_survive_a_cached_lookup_before_reinstall():
    codecs.lookup("euc-kr")
    charsets._install_codec_search()
    assert codecs.lookup("euc-kr").name == "cp949"


@pytest.mark.parametrize(
    "data, label, expected, defect_prefix",
    [
        ("한글".encode("utf-8"), "us-ascii", "한글", "charset-fallback"),
        ("한글".encode("utf-8"), "unknown-8bit", "한글", "charset-fallback"),
        (CP949_BYTES, "unknown-8bit", CP949_ONLY, "charset-fallback"),
        (CP949_BYTES, None, CP949_ONLY, "charset-fallback"),
        (CP949_BYTES, "utf-8", CP949_ONLY, "charset-fallback"),
        ("한글".encode("utf-8"), "uft-8", "한글", None),
        ("한글".encode("utf-8"), "no-such-charset", "한글", "charset-fallback"),
        ("안녕".encode("iso2022_kr"), "iso-2022-kr", "안녕", None),
        ("café".encode("latin-1"), "iso-8859-1", "café", None),
        (b"plain", None, "plain", None),
        (b"\xff\xfe\xfa\x80", "utf-8", "\ufffd", "charset-undecodable"),
        # raw Latin-1 under no label or a wrong Korean one: decoded as the sender meant (cp1252)
        (b"Forma\xe7\xe3o FrenetikPolis: Ver\xe3o", None, "Formação FrenetikPolis: Verão", "charset-fallback"),
        (b"Caf\xe9 cr\xe8me", "ks_c_5601-1987", "Café crème", "charset-fallback"),
        (b"Caf\xe9 \x81 ok", "cp949", "Café \x81 ok", "charset-fallback"),      # 0x81: not cp1252, Latin-1
        # Korean or UTF-8 text with one broken byte keeps its script, the bad byte replaced
        ("똠방각하".encode("cp949")[:-1], "ks_c_5601-1987", "똠방각\ufffd", "charset-undecodable"),
        ("한글".encode("utf-8") + b"\xff", "utf-8", "한글\ufffd", "charset-undecodable"),
    ],
)
def test_decode_bytes_fallbacks(data, label, expected, defect_prefix):
    defects = []
    text = decode_bytes(data, label, defects, "body")
    assert expected in text
    if defect_prefix is None:
        assert defects == []
    else:
        assert defects and defects[0].startswith(defect_prefix)


def test_all_declared_korean_labels_covered():
    assert {"ks_c_5601-1987", "euc-kr", "uhc", "cp949", "x-windows-949"} <= set(KOREAN_LABELS)
