from datetime import date

import pytest

from intake.domain.records import Department, StaffMember
from intake.domain.route import choose_handler

DEPS = [
    Department("business", "총괄사업부", "b-head"),
    Department("support-center", "종합지원센터", "s-head"),
    Department("research", "조사연구부", "r-head"),
]
ROSTER = [
    StaffMember("b2", "가", "business", "02-6000-7201", "b2@sonosa.or.kr"),
    StaffMember("b1", "나", "business", "02-6000-7202", "b1@sonosa.or.kr"),
    StaffMember("b3", "다", "business", "02-6000-7203", "b3@sonosa.or.kr", active=False),
    StaffMember("s1", "라", "support-center", "02-6000-7211", "s1@sonosa.or.kr"),
]
ON = date(2026, 4, 15)


@pytest.mark.parametrize("dep,counts,absences,staff", [
    ("business", {"b1": 3, "b2": 1}, {}, "b2"),                     # fewest open cases
    ("business", {"b1": 2, "b2": 2}, {}, "b1"),                     # tie -> id order
    ("business", {}, {}, "b1"),                                     # no counts = 0 each
    ("business", {"b1": 0, "b2": 5}, {"b1": [(date(2026, 4, 14), date(2026, 4, 15))]}, "b2"),  # inclusive end
    ("business", {"b1": 0, "b2": 5}, {"b1": [(date(2026, 4, 16), date(2026, 4, 20))]}, "b1"),  # future absence
    ("business", {"b3": 0, "b1": 9, "b2": 9}, {}, "b1"),            # inactive never chosen
    ("business", {}, {"b1": [(ON, ON)], "b2": [(date(2026, 4, 1), date(2026, 4, 30))]}, "b-head"),
    ("research", {}, {}, "r-head"),                                 # nobody in the department
    ("support-center", {}, {}, "s1"),
])
def test_choose_handler(dep, counts, absences, staff):
    r = choose_handler(dep, ROSTER, DEPS, counts, absences, ON)
    assert (r.department, r.staff_id) == (dep, staff)
    assert r.reason


def test_reason_names_the_head_fallback():
    r = choose_handler("research", ROSTER, {d.id: d for d in DEPS}, {}, {}, ON)
    assert "head" in r.reason


def test_unknown_department():
    with pytest.raises(KeyError):
        choose_handler("nope", ROSTER, DEPS, {}, {}, ON)


@pytest.mark.parametrize("absences, delegates, staff", [
    ({"b1": [(ON, ON)], "b2": [(ON, ON)]}, {"b-head": "s1"}, "s1"),       # all away, the head too: the delegate
    ({"b1": [(ON, ON)], "b2": [(ON, ON)]}, {}, "b-head"),                 # the head without a delegate
    ({"b1": [(ON, ON)]}, {"b-head": "s1", "b1": "s1"}, "b2"),            # someone present: the rule as ever
    ({"b1": [(ON, ON)], "b2": [(ON, ON)]}, {"b-head": "b-head"}, "b-head"),
])
def test_an_away_head_passes_the_department_to_the_delegate(absences, delegates, staff):
    r = choose_handler("business", ROSTER, DEPS, {}, absences, ON, delegates)
    assert r.staff_id == staff
    if staff == "s1":
        assert r.department == "business" and r.reason.endswith("; b-head away: delegate s1")
