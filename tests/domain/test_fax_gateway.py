"""The email-to-fax gateway address from a caller's number (pure tables)."""

import pytest

from intake.domain.fax_gateway import gateway_address, pattern_problem, same_number


@pytest.mark.parametrize("pattern, number, expected", [
    ("{number}@fax.example", "02-992-4410", "029924410@fax.example"),
    ("{number}@fax.example", "02 3471 2290", "0234712290@fax.example"),
    ("{number}@fax.example", "+82 2-3471-2290", "0234712290@fax.example"),
    ("{number}@fax.example", "031-789-4321", "0317894321@fax.example"),
    ("fax+{number}@gw.example.kr", "0505-123-4567", "fax+05051234567@gw.example.kr"),
    ("{dashed}@fax.example", "0212345678", "02-1234-5678@fax.example"),
    ("{number}@fax.example", None, None),                 # no number known
    ("{number}@fax.example", "", None),
    ("{number}@fax.example", "+47 22 55 01 33", None),     # foreign: not dialled automatically
    ("{number}@fax.example", "12345", None),               # not a telephone number
    ("", "02-992-4410", None),                             # no gateway configured
    ("{number}", "02-992-4410", None),                     # not an address
    ("{number}@", "02-992-4410", None),
    ("{nummer}@fax.example", "02-992-4410", None),
])
def test_gateway_address(pattern, number, expected):
    assert gateway_address(pattern, number) == expected


@pytest.mark.parametrize("pattern, problem", [
    ("{number}@fax.example", None),
    ("{dashed}@fax.example", None),
    ("fax@gw.example", "must contain {number}"),
    ("{nummer}@fax.example", "unknown placeholder {nummer}"),
    ("{number@fax.example", "not a valid pattern"),
    ("{number} @fax.example", "does not make an e-mail address"),
    ("{number}", "does not make an e-mail address"),
    ("{0}@fax.example", "unknown placeholder {0}"),
])
def test_pattern_problem(pattern, problem):
    got = pattern_problem(pattern)
    if problem is None:
        assert got is None
    else:
        assert got is not None and problem in got, got


@pytest.mark.parametrize("a, b, same", [
    ("02-992-4410", "029924410", True), ("+82 2 992 4410", "02-992-4410", True),
    ("02-992-4410", "02-992-4411", False), (None, "02-992-4410", False), ("abc", "abc", False),
])
def test_same_number(a, b, same):
    assert same_number(a, b) is same
