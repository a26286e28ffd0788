"""Sandbox, limits, escaping and filters (intake.adapters.templates.sandbox, .filters)."""

from __future__ import annotations

import time
from datetime import date, datetime, timezone

import pytest

from intake.adapters import templates as T
from intake.adapters.templates import TemplateLimitError, TemplateRenderError
from intake.domain import replies
from tests.adapters.templates.support import KST, render_source


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
