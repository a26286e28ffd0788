"""Scoring of ``intake eval`` and of the corrections report (pure)."""

from __future__ import annotations

import pytest

from intake.domain.evaluation import (
    FIELDS, NONE, CorrectionRecord, Outcome, Score, accuracy_table, confusion_matrix, confusion_text,
    corrections_text, evaluate, expected_value, got_value, normalise, phone_digits, report_text,
    summarise_corrections, values_equal,
)


@pytest.mark.parametrize("field,expected,got,equal", [
    ("phone", "010-1234-5678", "01012345678", True),
    ("phone", "010-1234-5678", "010 1234 5678", True),
    ("phone", "02)6000-1101", "02-6000-1101", True),
    ("phone", "+82 2-6000-1101", "02-6000-1101", True),
    ("phone", "+82 10 1234 5678", "010-1234-5678", True),
    ("phone", "+82 (0)2 6000 1101", "02-6000-1101", True),
    ("phone", "010-1234-5678", "010-1234-5679", False),
    ("phone", None, "", True),
    ("phone", None, "010-1234-5678", False),
    ("fax_number", "031-789-4321", "031.789.4321", True),
    ("reply_to", "Hong@Example.COM", "hong@example.com", True),
    ("reply_to", " hong@example.com ", "hong@example.com", True),
    ("reply_to", "hong@example.com", "kim@example.com", False),
    ("reply_to", None, None, True),
    ("case_ref", "2026-000812", "2026-000812", True),
    ("case_ref", "2026-000812", "2026-000813", False),
    ("kind", "case", "case", True),
    ("kind", "case", "follow-up", False),
    ("category", "general", None, False),
    ("department", "총괄사업부", "총괄사업부", True),
    ("department", "총괄사업부", "조사연구부", False),
    ("pii", False, False, True),
    ("pii", True, False, False),
    ("language", "ko", "mixed", False),
])
def test_values_equal(field, expected, got, equal):
    assert values_equal(field, expected, got) is equal


@pytest.mark.parametrize("raw,digits", [
    ("010-1234-5678", "01012345678"),
    ("(02) 6000-1101", "0260001101"),
    ("+82-2-6000-1101", "0260001101"),
    ("0082 2 6000 1101", "0260001101"),
    ("1588-0000", "15880000"),
])
def test_phone_digits(raw, digits):
    assert phone_digits(raw) == digits


def test_normalise_blank_is_none():
    assert normalise("phone", "  ") is None
    assert normalise("reply_to", "") is None
    assert normalise("pii", 0) is False


def test_label_and_result_keys():
    label = {"reply_to_address": "a@b.kr", "department": "총괄사업부", "kind": "case"}
    result = {"reply_to": "a@b.kr", "department": "business", "department_name": "총괄사업부", "kind": "case"}
    assert expected_value(label, "reply_to") == "a@b.kr"
    assert got_value(result, "department") == "총괄사업부"   # compared by Korean name, not id
    assert got_value(result, "kind") == "case"


def _lab(file, **kw):
    base = {"file": file, "kind": "case", "channel": "email", "category": "general", "department": "총괄사업부",
            "reply_to_address": "a@example.com", "fax_number": None, "phone": None, "case_ref": None,
            "language": "ko", "pii": False}
    base.update(kw)
    return base


def _got(lab, **kw):
    out = {"kind": lab["kind"], "channel": lab["channel"], "category": lab["category"],
           "department": "x", "department_name": lab["department"], "reply_to": lab["reply_to_address"],
           "fax_number": lab["fax_number"], "phone": lab["phone"], "case_ref": lab["case_ref"],
           "language": lab["language"], "pii": lab["pii"]}
    out.update(kw)
    return out


def test_evaluate_counts_misses_crashes_and_channels():
    a = _lab("a.eml")
    b = _lab("b.eml", channel="fax", category="training", fax_number="02-555-0100")
    c = _lab("c.eml", channel="post", category="information", department="조사연구부", phone="010-1111-2222")
    d = _lab("d.eml", kind="spam", category=None, department=None, reply_to_address=None)
    e = _lab("e.eml")
    outcomes = [
        Outcome(a, _got(a, reply_to="A@Example.com")),                    # normalised: right
        Outcome(b, _got(b, category="general", department_name="총괄사업부", fax_number="025550100")),
        Outcome(c, _got(c, phone="01011112222")),
        Outcome(d, _got(d, kind="case", category="general", department_name="총괄사업부", reply_to="x@y.kr")),
        Outcome(e, None, "ValueError: boom"),
    ]
    ev = evaluate(outcomes)
    assert ev.total == 5
    assert ev.crashes == (("e.eml", "ValueError: boom"),)
    assert ev.fields["kind"] == Score(3, 5)           # d wrong, e crashed
    assert ev.fields["reply_to"] == Score(3, 5)
    assert ev.fields["fax_number"] == Score(4, 5)
    assert ev.fields["phone"] == Score(4, 5)
    assert ev.fields["category"] == Score(2, 5)
    assert ev.fields["department"] == Score(3, 5)     # training is a 총괄사업부 category too
    assert ev.fields["pii"].accuracy == pytest.approx(0.8)
    assert list(ev.fields) == list(FIELDS)
    # category by channel: cases only (d is spam), the crash counts as wrong
    assert ev.category_by_channel == {"email": Score(1, 2), "fax": Score(0, 1), "post": Score(1, 1)}
    missed = {(m.file, m.field) for m in ev.misses}
    assert ("b.eml", "category") in missed and ("b.eml", "department") not in missed
    assert ("d.eml", "kind") in missed and ("d.eml", "reply_to") in missed
    assert not any(m.file == "e.eml" for m in ev.misses)   # crashes are listed separately
    assert not any(m.file == "a.eml" for m in ev.misses)
    js = ev.as_dict()
    assert js["fields"]["kind"] == {"correct": 3, "total": 5, "accuracy": 0.6}
    assert js["crashes"] == [{"file": "e.eml", "error": "ValueError: boom"}]
    assert {"file": "b.eml", "field": "category", "expected": "training", "got": "general"} in js["misses"]


def test_confusion_matrix_only_occurring_categories():
    cm = confusion_matrix([("general", "general"), ("training", "general"), ("training", "training"),
                           (None, None), (None, "general"), ("information", None)])
    assert cm.labels == ("general", "information", "training", NONE)
    assert cm.cell("training", "general") == 1
    assert cm.cell("general", "general") == 1
    assert cm.cell(NONE, "general") == 1
    assert cm.cell("information", NONE) == 1
    assert cm.cell(NONE, NONE) == 0          # non-cases decided as non-cases are left out
    assert "suggestion" not in cm.labels
    text = confusion_text(cm)
    lines = text.splitlines()
    assert lines[0] == "expected \\ predicted"
    assert lines[1].split() == ["1", "2", "3", "4"]
    assert lines[2].split() == ["1.", "general", "1", ".", ".", "."]
    assert lines[4].split() == ["3.", "training", "1", ".", "1", "."]
    assert lines[5].split() == ["4.", NONE, "1", ".", ".", "."]
    assert cm.as_dict()["rows"]["training"] == {"general": 1, "information": 0, "training": 1, NONE: 0}


def test_confusion_empty():
    assert confusion_text(confusion_matrix([])) == "(no categories)"


def test_accuracy_table_and_report_text():
    table = accuracy_table({"kind": Score(79, 80), "phone": Score(0, 0)}, "field")
    assert table.splitlines()[1].split() == ["kind", "98.8%", "79/80"]
    assert table.splitlines()[2].split() == ["phone", "-", "0/0"]
    a = _lab("a.eml")
    ev = evaluate([Outcome(a, _got(a, category="training")), Outcome(_lab("z.eml"), None, "OSError: gone")])
    text = report_text(ev)
    assert "2 messages, 1 crashed" in text
    assert "z.eml: OSError: gone" in text
    assert "a.eml  category: expected 'general', got 'training'" in text
    assert "category confusion matrix" in text


def test_summarise_corrections():
    records = [
        CorrectionRecord(1, "reclassify", "general", "training"),
        CorrectionRecord(1, "reassign", "kim.minsu", "han.dohyun"),
        CorrectionRecord(1, "reclassify", "training", "visit-certificate"),   # same case again
        CorrectionRecord(2, "reclassify", "general", "training"),
        CorrectionRecord(3, "reassign", "kim.minsu", "park.jiyoung"),
        CorrectionRecord(3, "reassign", "park.jiyoung", "jung.hyunwoo"),
    ]
    s = summarise_corrections(10, records)
    assert s.cases_total == 10
    assert s.reclassified_cases == 2 and s.reclassifications == 3
    assert s.reclassified_share == pytest.approx(0.2)
    assert s.category_changes == {("general", "visit-certificate"): 1, ("general", "training"): 1}
    assert s.reassignments == 3 and s.reassigned_cases == 2
    d = s.as_dict()
    assert d["category_changes"] == [{"from": "general", "to": "training", "cases": 1},
                                     {"from": "general", "to": "visit-certificate", "cases": 1}]
    text = corrections_text(s)
    assert "reclassified cases: 2 (20.0%), 3 reclassifications" in text
    assert "reassignments:      3 on 2 cases (20.0%)" in text
    assert "general -> training: 1" in text


def test_summarise_corrections_empty():
    s = summarise_corrections(0, [])
    assert s.reclassified_share is None and s.reassignments == 0
    assert "reclassified cases: 0 (-)" in corrections_text(s)
