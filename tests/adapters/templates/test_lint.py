"""Shipped templates, the charter and lint (intake.adapters.templates.units, lint_folder)."""

from __future__ import annotations

import pytest

from intake.adapters.templates import CharterError, TemplateStore, lint_folder
from intake.domain import replies
from tests.adapters.templates.support import SHIPPED, strip_phone


# --------------------------------------------------------------------------- shipped templates


def test_every_shipped_template_passes_lint():
    assert lint_folder(SHIPPED) == []


def test_all_required_templates_ship_in_korean_and_customer_ones_in_english():
    for name, spec in replies.MESSAGES.items():
        assert (SHIPPED / f"{name}.txt.j2").is_file(), name
        if spec.audience == replies.CUSTOMER:
            assert (SHIPPED / "en" / f"{name}.txt.j2").is_file(), name


@pytest.mark.parametrize("name", replies.MESSAGE_NAMES)
@pytest.mark.parametrize("language", ["ko", "en"])
def test_every_message_renders_with_its_example(store, name, language):
    mail = store.render(name, replies.example_context(name, language), language)
    assert mail.template == name
    assert len(mail.template_version) == 16 and int(mail.template_version, 16) >= 0
    assert mail.subject and "\n" not in mail.subject
    assert mail.text.endswith("\n") and "&lt;" not in mail.text and "&amp;" not in mail.text
    if replies.message_spec(name).audience == replies.CUSTOMER:
        handler = replies.example_context(name)["handler"]
        for value in handler.values():
            assert value in mail.text


def test_english_variant_is_used_for_english_and_korean_is_the_fallback(store):
    ctx = replies.example_context("acknowledgement", "en")
    en = store.render("acknowledgement", ctx, language="en")
    ko = store.render("acknowledgement", ctx, language="ko")
    assert en.text.startswith("Dear Jane Doe") and "Fri 27 Nov 2026, 18:00" in en.text
    assert "안녕하십니까" in ko.text and en.template_version != ko.template_version
    staff = store.render("staff-task", replies.example_context("staff-task"), language="en")
    assert staff.template_version == store.version("staff-task")   # no en variant: Korean


# --------------------------------------------------------------------------- charter and lint


def test_handler_without_phone_is_refused_not_rendered_blank(store):
    ctx = replies.sample_context_without_phone("acknowledgement")
    with pytest.raises(CharterError, match="phone"):
        store.render("acknowledgement", ctx)
    # staff messages do not carry the charter rule
    staff = replies.example_context("staff-task")
    staff["handler"]["phone"] = ""
    store.render("staff-task", staff)


def test_lint_reports_missing_handler_field_with_file_and_line(folder):
    path = folder / "progress-notice.txt.j2"
    path.write_text(strip_phone(path.read_text(encoding="utf-8")), encoding="utf-8")
    problems = lint_folder(folder)
    assert problems
    assert all(p.file == "templates/progress-notice.txt.j2" for p in problems)
    assert any("phone" in p.message for p in problems)
    assert str(problems[0]).startswith("templates/progress-notice.txt.j2:1: ")


def test_lint_catches_hard_coded_handler(folder):
    path = folder / "letter.txt.j2"
    path.write_text(path.read_text(encoding="utf-8").replace("{{ handler.name }}", "김민준"),
                    encoding="utf-8")
    assert any("name" in p.message for p in lint_folder(folder, ["letter"]))


def test_lint_checks_html_part_too(folder):
    path = folder / "acknowledgement.html.j2"
    path.write_text(strip_phone(path.read_text(encoding="utf-8")), encoding="utf-8")
    problems = lint_folder(folder)
    assert [p.file for p in problems] and {p.file for p in problems} == {
        "templates/acknowledgement.html.j2"}


@pytest.mark.parametrize("mutate, expected, line", [
    (lambda s: s.replace("{{ progress }}", "{{ progress }", 1), "unexpected", 22),   # line of {{ progress }}
    (lambda s: s.replace("{{ progress }}", "{{ secret }}", 1), "unknown variable 'secret'", 22),
    (lambda s: s.replace('variables = ["case", "handler", "org", "progress", ',
                         'variables = ["case", "handler", "org", '), "not declared", None),
    (lambda s: s.replace('variables = ["case", "handler", "org", "progress", ',
                         'variables = ["case", "handler", "org", "progress", "evidence", '),
     "does not exist", 4),
    (lambda s: s.replace("{{ case.subject }}", "{{ case.text }}", 1), "has no field 'text'", None),
    (lambda s: s.replace('audience = "customer"', 'audience = "staff"'), "customer message", 3),
    (lambda s: s.replace("{# ---", "{# --", 1), "missing front matter", 1),
    (lambda s: s.replace("{{ progress }}", "{{ progress|format(1) }}"), "No filter named 'format'", 22),
    (lambda s: s + "{{ handler.phone.__class__ }}\n", "unsafe", None),
])
def test_lint_problems(folder, mutate, expected, line):
    path = folder / "progress-notice.txt.j2"
    source = path.read_text(encoding="utf-8")
    path.write_text(mutate(source), encoding="utf-8")
    problems = lint_folder(folder, ["progress-notice"])
    assert any(expected in p.message for p in problems), problems
    if line is not None:
        assert any(p.line == line for p in problems), problems


def test_lint_line_number_of_undeclared_variable(folder):
    path = folder / "reminder.txt.j2"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines.insert(9, "{{ nope }}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    problems = lint_folder(folder, ["reminder"])
    assert [(p.line, "nope" in p.message) for p in problems] == [(10, True)]


def test_simple_key_value_front_matter(folder):
    (folder / "reminder.txt.j2").write_text(
        "{# ---\n"
        "subject: [알림 {{ case.ref }}] {{ case.subject }}\n"
        "audience: staff\n"
        "variables: case, handler\n"
        "--- #}\n"
        "{{ handler.name }} 님, {{ case.ref }} 건의 기한은 {{ case.due_at|kdatetime }}입니다.\n",
        encoding="utf-8")
    assert lint_folder(folder, ["reminder"]) == []
    mail = TemplateStore(folder).render("reminder", replies.example_context("reminder"))
    assert mail.subject == "[알림 2026-000123] 방북증명서 발급 문의"
    assert "2026년 11월 27일(금) 18:00" in mail.text


def test_unknown_and_misnamed_files_are_reported(folder):
    (folder / "welcome.txt.j2").write_text("{# ---\nsubject = 'x'\naudience = 'staff'\n"
                                           "variables = []\n--- #}\nx\n", encoding="utf-8")
    (folder / "notes.j2").write_text("x", encoding="utf-8")
    messages = [p.message for p in lint_folder(folder)]
    assert any("unknown message name 'welcome'" in m for m in messages)
    assert any("<message>.txt.j2" in m for m in messages)
    TemplateStore(folder)   # extra files do not stop the daemon


@pytest.mark.parametrize("caller_id, says, fax_line", [
    ("withheld", "※ 발신번호 표시 없음: 팩스 서비스가 발신번호를 알려 주지 않았습니다.", "팩스      : 발신번호 표시 없음"),
    ("not-found", "※ 발신번호를 찾지 못했습니다", "팩스      : -"),
    ("", None, "팩스      : -"),
])
def test_task_mail_says_when_a_fax_has_no_caller_number(store, caller_id, says, fax_line):
    ctx = replies.example_context("staff-task")
    ctx["case"]["customer_fax"], ctx["case"]["channel"], ctx["caller_id"] = "", "fax", caller_id
    text = store.render("staff-task", ctx).text
    assert fax_line in text
    if says:
        assert says in text and "고객 연락처를 확인하여 주십시오" in text
    else:
        assert "발신번호" not in text


def test_staff_task_context_refuses_an_unknown_caller_id():
    with pytest.raises(ValueError, match="caller_id"):
        replies.staff_task_context(None, None, None, None, caller_id="hidden")
