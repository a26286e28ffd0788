"""Templates: sandbox, limits, lint, live reload, filters, docs, CLI."""

from __future__ import annotations

import argparse
import html
import os
import shutil
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from intake.adapters import templates as T
from intake.adapters.templates import (
    CharterError,
    TemplateLimitError,
    TemplateRenderError,
    TemplateStore,
    TemplateStoreError,
    lint_folder,
)
from intake.commands import templates as cmd
from intake.domain import replies

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "templates"
KST = timezone(timedelta(hours=9))


@pytest.fixture
def folder(tmp_path) -> Path:
    dst = tmp_path / "templates"
    shutil.copytree(SHIPPED, dst)
    return dst


@pytest.fixture
def store(folder) -> TemplateStore:
    return TemplateStore(folder)


def render_source(source: str, context: dict | None = None, *, html_part: bool = False,
                  seconds: float = T.MAX_RENDER_SECONDS) -> str:
    env = T.SafeTemplateEnvironment(html=html_part)
    return T.render_part(T.compile_template(env, source, "t.txt.j2"), context or {}, seconds=seconds)


def edit(path: Path, text: str) -> None:
    """Write and make sure the mtime moves even on coarse file systems."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    st = path.stat()
    if st.st_mtime_ns == before:
        os.utime(path, ns=(st.st_atime_ns, before + 1_000_000))


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


# --------------------------------------------------------------------------- sandbox


ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ().__class__.__base__.__subclasses__() }}",
    "{{ self._TemplateReference__context }}",
    "{{ self._TemplateReference__context.cycler.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__.os }}",
    "{{ namespace.__init__.__globals__.os }}",
    "{{ case.__class__ }}",
    "{{ case|attr('__class__') }}",
    "{{ case.ref.format_map(case) }}",
    "{{ '{0.__class__}'.format(case) }}",
    "{{ '%s' % case }}",
    "{{ case.ref.center(10) }}",
    "{{ lipsum(10) }}",
    "{{ config }}",
    "{{ request }}",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_sandbox_escapes_are_refused(source):
    with pytest.raises(TemplateRenderError):
        render_source(source, {"case": {"ref": "2026-000123"}})


def test_calling_a_method_on_a_passed_object_is_refused(store):
    calls = []

    class Record:
        ref = "2026-000123"

        def delete(self):
            calls.append("delete")
            return "gone"

    with pytest.raises(TemplateRenderError, match="unsafe"):
        render_source("{{ obj.delete() }}", {"obj": Record()})
    # and the store refuses non-plain contexts before any template runs
    ctx = replies.example_context("acknowledgement")
    ctx["case"]["ref"] = Record()
    with pytest.raises(TemplateRenderError, match="plain data"):
        store.render("acknowledgement", ctx)
    assert calls == []


@pytest.mark.parametrize("source", [
    "{% include 'acknowledgement.txt.j2' %}",
    "{% extends 'acknowledgement.txt.j2' %}",
    "{% import 'x' as x %}",
    "{% autoescape false %}{{ x }}{% endautoescape %}",
    "{% for i in [1] recursive %}{{ loop([]) }}{% endfor %}",
])
def test_constructs_reaching_out_are_refused_at_compile_time(source):
    import jinja2
    with pytest.raises(jinja2.TemplateSyntaxError):
        render_source(source, {"x": 1})


def test_plain_method_helpers_still_work():
    out = render_source("{{ s.upper() }}|{{ d.items()|list|length }}|{{ s ~ '!' }}|{{ n * 2 }}",
                        {"s": "abc", "d": {"a": 1}, "n": 21})
    assert out == "ABC|1|abc!|42"


# --------------------------------------------------------------------------- limits


@pytest.mark.parametrize("source", [
    "{{ 'a' * 10**9 }}",
    "{% for i in range(10**9) %}x{% endfor %}",
    "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
    "{% set s = 'a' * 200000 %}{% set s = s ~ s %}{{ s }}",
    "{% set s = 'a' * 200000 %}{{ s + s }}",
    "{{ ('a' * 1000)|replace('a', 'a' * 1000) }}",
    "{{ ('a' * 1000).replace('a', 'a' * 1000) }}",
    "{{ [1] * 10**9 }}",
    "{{ 2 ** (10 ** 6) }}",
    "{{ 'a'|center(10**9) }}",
    "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(64) }}",
    "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    "{% for i in range(10000) %}{{ 'x' * 100 }}{% endfor %}",   # 1 MB of output
])
def test_resource_abuse_fails_cleanly_and_fast(source):
    started = time.monotonic()
    with pytest.raises(TemplateLimitError):
        render_source(source)
    assert time.monotonic() - started < T.MAX_RENDER_SECONDS + 1


def test_render_deadline():
    with pytest.raises(TemplateLimitError, match="longer than 0 s"):
        render_source("{% for i in range(5) %}{{ i }}{% endfor %}", seconds=0.0)


def test_limit_error_names_file_and_line():
    with pytest.raises(TemplateLimitError) as info:
        render_source("line one\n\n{{ 'a' * 10**9 }}")
    assert info.value.file == "t.txt.j2" and info.value.line == 3
    assert str(info.value).startswith("t.txt.j2:3: ")


# --------------------------------------------------------------------------- escaping


def test_html_part_escapes_customer_subject_and_text_part_does_not(store):
    ctx = replies.example_context("acknowledgement")
    ctx["case"]["subject"] = "<script>alert('x')</script> R&D\r\nBcc: evil@example.com"
    mail = store.render("acknowledgement", ctx)
    assert "<script>" not in mail.html
    assert "&lt;script&gt;" in mail.html and "R&amp;D" in mail.html
    assert "<script>alert('x')</script> R&D" in mail.text
    assert "&lt;" not in mail.text and "&amp;" not in mail.text
    assert "\r" not in mail.subject and "\n" not in mail.subject
    assert mail.subject.endswith("R&D Bcc: evil@example.com")


def test_text_ampersand_stays_ampersand(store):
    ctx = replies.example_context("reply-relay")
    ctx["answer"] = "A & B <확인>"
    mail = store.render("reply-relay", ctx)
    assert "A & B <확인>" in mail.text
    assert "A &amp; B &lt;확인&gt;" in mail.html


# --------------------------------------------------------------------------- filters


@pytest.mark.parametrize("value, filt, expected", [
    (datetime(2026, 11, 27, 18, 0, tzinfo=KST), "kdate", "2026년 11월 27일(금)"),
    (datetime(2026, 11, 27, 18, 0, tzinfo=KST), "kdatetime", "2026년 11월 27일(금) 18:00"),
    (datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc), "kdatetime", "2026년 11월 27일(금) 18:00"),
    (datetime(2026, 11, 27, 16, 0, tzinfo=timezone.utc), "kdate", "2026년 11월 28일(토)"),
    (date(2026, 11, 29), "kdate", "2026년 11월 29일(일)"),
    (date(2026, 11, 30), "kdatetime", "2026년 11월 30일(월)"),
    (date(2027, 1, 5), "kdate", "2027년 1월 5일(화)"),
    (date(2026, 12, 2), "kdate", "2026년 12월 2일(수)"),
    (date(2026, 12, 3), "kdate", "2026년 12월 3일(목)"),
    (datetime(2026, 11, 27, 18, 0, tzinfo=KST), "edatetime", "Fri 27 Nov 2026, 18:00"),
    (datetime(2026, 11, 27, 18, 0, tzinfo=KST), "edate", "Fri 27 Nov 2026"),
    (date(2027, 1, 5), "edatetime", "Tue 5 Jan 2027"),
    ("02-6004-1234", "phone", "02-6004-1234"),
    (" +82 2 6004 1234 ", "phone", "+82 2 6004 1234"),
])
def test_date_and_phone_filters(value, filt, expected):
    assert render_source(f"{{{{ v|{filt} }}}}", {"v": value}) == expected


def test_date_filter_on_wrong_type_is_a_render_error():
    with pytest.raises(TemplateRenderError, match="kdate expects a date"):
        render_source("{{ v|kdate }}", {"v": "2026-11-27"})


# --------------------------------------------------------------------------- charter and lint


def test_handler_without_phone_is_refused_not_rendered_blank(store):
    ctx = replies.sample_context_without_phone("acknowledgement")
    with pytest.raises(CharterError, match="phone"):
        store.render("acknowledgement", ctx)
    # staff messages do not carry the charter rule
    staff = replies.example_context("staff-task")
    staff["handler"]["phone"] = ""
    store.render("staff-task", staff)


def _strip_phone(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if "handler.phone" not in line) + "\n"


def test_lint_reports_missing_handler_field_with_file_and_line(folder):
    path = folder / "progress-notice.txt.j2"
    path.write_text(_strip_phone(path.read_text(encoding="utf-8")), encoding="utf-8")
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
    path.write_text(_strip_phone(path.read_text(encoding="utf-8")), encoding="utf-8")
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


# --------------------------------------------------------------------------- store: start-up and live edits


def test_constructor_raises_when_a_required_template_never_had_a_good_version(folder):
    path = folder / "reply-relay.txt.j2"
    path.write_text(_strip_phone(path.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(TemplateStoreError) as info:
        TemplateStore(folder)
    assert "reply-relay.txt.j2" in str(info.value)
    (folder / "letter.txt.j2").unlink()
    with pytest.raises(TemplateStoreError, match="letter.txt.j2:1: required template is missing"):
        TemplateStore(folder)
    relaxed = TemplateStore(folder, require_all=False)
    assert {s.label: s.status for s in relaxed.status()}["reply-relay"] == "rejected"


def test_refresh_without_changes_reports_nothing(store):
    assert store.refresh() == []


@pytest.mark.parametrize("breakage", ["syntax", "undeclared", "phone"])
def test_broken_edit_is_rejected_and_last_good_version_keeps_serving(store, folder, breakage):
    path = folder / "acknowledgement.txt.j2"
    good = path.read_text(encoding="utf-8")
    ctx = replies.example_context("acknowledgement")
    before = store.render("acknowledgement", ctx)
    broken = {
        "syntax": good.replace("{{ case.ref }}\n", "{% if case.ref %}\n", 1),
        "undeclared": good + "{{ customer_secret }}\n",
        "phone": _strip_phone(good),
    }[breakage]
    edit(path, broken)

    changes = store.refresh()
    assert len(changes) == 1
    change = changes[0]
    assert (change.name, change.language, change.status) == ("acknowledgement", "ko", "rejected")
    assert change.version == before.template_version
    assert change.problems and all(p.file == "templates/acknowledgement.txt.j2"
                                   for p in change.problems)
    after = store.render("acknowledgement", ctx)
    assert after == before
    row = {s.label: s for s in store.status()}["acknowledgement"]
    assert row.status == "rejected" and row.problems == change.problems
    assert row.version == before.template_version
    assert store.refresh() == []              # reported once, not on every refresh

    edit(path, good.replace("감사합니다.", "고맙습니다."))
    (fixed,) = store.refresh()
    assert fixed.status == "updated" and fixed.problems == ()
    assert fixed.version != before.template_version
    new = store.render("acknowledgement", ctx)
    assert "고맙습니다." in new.text and new.template_version == fixed.version
    assert {s.label: s.status for s in store.status()}["acknowledgement"] == "ok"


def test_version_covers_every_file_used(store, folder):
    v1 = store.version("acknowledgement")
    html_path = folder / "acknowledgement.html.j2"
    edit(html_path, html_path.read_text(encoding="utf-8").replace("<p>감사합니다.", "<p>고맙습니다."))
    (change,) = store.refresh()
    assert change.status == "updated" and change.version != v1
    text_only = folder / "reminder.txt.j2"
    v2 = store.version("reminder")
    edit(text_only, text_only.read_text(encoding="utf-8"))   # touched, same content
    assert store.refresh() == [] and store.version("reminder") == v2


def test_added_and_removed_english_variant(store, folder):
    src = folder / "en" / "reply-relay.txt.j2"
    src.unlink()
    (change,) = store.refresh()
    assert (change.label, change.status) == ("en/reply-relay", "removed")
    ctx = replies.example_context("reply-relay", "en")
    assert "안녕하십니까" in store.render("reply-relay", ctx, "en").text   # Korean fallback
    shutil.copy(SHIPPED / "en" / "reply-relay.txt.j2", src)
    (change,) = store.refresh()
    assert (change.label, change.status) == ("en/reply-relay", "added")
    assert store.render("reply-relay", ctx, "en").text.startswith("Dear Jane Doe")


def test_removed_required_template_keeps_serving(store, folder):
    version = store.version("letter")
    (folder / "letter.txt.j2").unlink()
    (change,) = store.refresh()
    assert change.status == "rejected" and change.version == version
    assert "removed" in change.problems[0].message
    store.render("letter", replies.example_context("letter"))


def test_unknown_template_name(store):
    with pytest.raises(T.UnknownTemplateError):
        store.render("nope", {})


# --------------------------------------------------------------------------- docs


def test_docs_file_is_current():
    assert (ROOT / "docs" / "templates.md").read_text(encoding="utf-8") == T.render_docs(), (
        "run: python -m intake.adapters.templates --write-docs docs/templates.md")


def test_docs_mention_every_variable():
    docs = T.render_docs()
    for spec in replies.MESSAGES.values():
        assert f"### `{spec.name}`" in docs
        for var in spec.variables:
            assert f"`{var.name}" in docs
    assert "`2026년 11월 27일(금) 18:00`" in docs


def test_check_docs_command(tmp_path):
    out = tmp_path / "t.md"
    assert T.main(["--check-docs", str(out)]) == 1
    assert T.main(["--write-docs", str(out)]) == 0
    assert T.main(["--check-docs", str(out)]) == 0


# --------------------------------------------------------------------------- admin commands


def parse(*argv):
    parser = argparse.ArgumentParser(prog="intake")
    cmd.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(list(argv))


def test_cli_lint_ok_and_failing(folder, capsys):
    args = parse("templates", "--templates-dir", str(folder), "lint")
    assert args.func(args) == 0
    path = folder / "letter.txt.j2"
    path.write_text(_strip_phone(path.read_text(encoding="utf-8")), encoding="utf-8")
    args = parse("templates", "--templates-dir", str(folder), "lint", "letter")
    assert args.func(args) == 1
    out = capsys.readouterr().out
    assert "templates/letter.txt.j2:1: customer-facing template must show the handler's phone" in out
    args = parse("templates", "--templates-dir", str(folder), "lint", "acknowledgement")
    assert args.func(args) == 0


def test_cli_templates_dir_default_is_not_forced():
    parser = argparse.ArgumentParser(prog="intake")
    parser.set_defaults(templates_dir="/etc/intake/templates")   # e.g. from [templates] path
    cmd.register(parser.add_subparsers(dest="command"))
    assert parser.parse_args(["templates", "list"]).templates_dir == "/etc/intake/templates"
    assert cmd._folder(argparse.Namespace()) == Path("templates")


def test_cli_list(folder, capsys):
    args = parse("templates", "--templates-dir", str(folder), "list")
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "acknowledgement" in out and "en/reply-relay" in out and "ok" in out
    edit(folder / "reminder.txt.j2", "{{ broken\n")
    assert args.func(args) == 1
    assert "reminder" in capsys.readouterr().out


def test_cli_preview(folder, tmp_path, capsys):
    out_html = tmp_path / "ack.html"
    args = parse("templates", "--templates-dir", str(folder), "preview", "acknowledgement",
                 "--lang", "en", "--html", str(out_html))
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "Subject: [Case 2026-000123] Inquiry about a visit certificate" in out
    assert "Dear Jane Doe" in out
    assert "minjun.kim@sonosa.or.kr" in html.unescape(out_html.read_text(encoding="utf-8"))


