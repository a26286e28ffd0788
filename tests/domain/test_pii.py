import pytest

from intake.domain.pii import contains_rrn, find_rrns, mask_rrn


@pytest.mark.parametrize("text,found", [
    ("소민혁 (주민등록번호 821103-1547820)", True),      # old check digit wrong: still PII
    ("950618-2063314", True),
    ("051231-3123456", True),                           # born 2005, S=3
    ("900101 - 5123456", True),                          # foreigner, spaces around the dash
    ("821103-9547820", False),                           # S must be 1..8
    ("821303-1547820", False),                           # month 13
    ("820230-1547820", False),                           # Feb 30
    ("000229-3123456", True),                            # 2000-02-29 exists
    ("010229-3123456", False),                           # 2001-02-29 does not
    ("2026-031912345", False),
    ("전화 010-1234-5678", False),
    ("821103-1547820-1", False),                         # longer number
    ("8211031547820", False),                            # no dash: not matched by format
])
def test_contains_rrn(text, found):
    assert contains_rrn(text) is found


def test_mask_and_find():
    text = "- 소민혁 (주민등록번호 821103-1547820)\n- 태가은 (950618-2063314)\n전화 010-1234-5678"
    assert find_rrns(text) == ["821103-1547820", "950618-2063314"]
    masked = mask_rrn(text)
    assert masked.count("######-*******") == 2 and "821103" not in masked
    assert "1547820" not in masked and "010-1234-5678" in masked
    assert mask_rrn("821303-1547820") == "821303-1547820"
