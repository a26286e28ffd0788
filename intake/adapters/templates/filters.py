"""The per-render work budget and the curated filters templates may use."""

from __future__ import annotations

import time
from contextvars import ContextVar
from datetime import date, datetime
from typing import Any

from jinja2 import pass_context, pass_eval_context
from jinja2.filters import FILTERS as _JINJA_FILTERS
from jinja2.runtime import markup_join, str_join
from markupsafe import escape

from intake.adapters.templates.errors import (
    MAX_ITERATIONS,
    MAX_RANGE,
    MAX_VALUE_CHARS,
    SEOUL,
    TemplateLimitError,
    TemplateRenderError,
)

# --------------------------------------------------------------------------- budget


class Budget:
    __slots__ = ("seconds", "deadline", "steps")

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.steps = 0

    def tick(self) -> None:
        self.steps += 1
        if self.steps > MAX_ITERATIONS:
            raise TemplateLimitError(
                f"template does too much work (more than {MAX_ITERATIONS} loop iterations/calls)")
        if time.monotonic() > self.deadline:
            raise TemplateLimitError(f"rendering took longer than {self.seconds:g} s")


RENDER_BUDGET: ContextVar[Budget | None] = ContextVar("intake_template_budget", default=None)


def tick() -> None:
    budget = RENDER_BUDGET.get()
    if budget is not None:
        budget.tick()


def check_size(value: Any, what: str) -> Any:
    if isinstance(value, (str, list, tuple)) and len(value) > MAX_VALUE_CHARS:
        raise TemplateLimitError(f"{what} would be too large ({len(value)} > {MAX_VALUE_CHARS})")
    return value


# --------------------------------------------------------------------------- filters

_KO_WEEKDAYS = "월화수목금토일"
_EN_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _as_date_parts(value: Any, filter_name: str) -> tuple[date, datetime | None]:
    if isinstance(value, datetime):
        dt = value.astimezone(SEOUL) if value.tzinfo is not None else value
        return dt.date(), dt
    if isinstance(value, date):
        return value, None
    raise TemplateRenderError(
        f"filter {filter_name} expects a date or datetime, got {type(value).__name__}")


def kdate(value: Any) -> str:
    """``2026년 11월 27일(금)`` (datetimes are shown in Asia/Seoul)."""
    d, _ = _as_date_parts(value, "kdate")
    return f"{d.year}년 {d.month}월 {d.day}일({_KO_WEEKDAYS[d.weekday()]})"


def kdatetime(value: Any) -> str:
    """``2026년 11월 27일(금) 18:00``; a plain date gives the kdate form."""
    d, dt = _as_date_parts(value, "kdatetime")
    text = kdate(d)
    return text if dt is None else f"{text} {dt:%H:%M}"


def edate(value: Any) -> str:
    """``Fri 27 Nov 2026``."""
    d, _ = _as_date_parts(value, "edate")
    return f"{_EN_WEEKDAYS[d.weekday()]} {d.day} {_EN_MONTHS[d.month - 1]} {d.year}"


def edatetime(value: Any) -> str:
    """``Fri 27 Nov 2026, 18:00``; a plain date gives the edate form."""
    d, dt = _as_date_parts(value, "edatetime")
    text = edate(d)
    return text if dt is None else f"{text}, {dt:%H:%M}"


def phone(value: Any) -> str:
    """Phone numbers are shown as written (passthrough, trimmed)."""
    return str(value).strip()


@pass_eval_context
def _safe_replace(eval_ctx, s, old, new, count=None):
    text, old_s, new_s = str(s), str(old), str(new)
    hits = text.count(old_s) if old_s else len(text) + 1
    if count is not None and int(count) >= 0:
        hits = min(hits, int(count))
    if len(text) + hits * max(0, len(new_s) - len(old_s)) > MAX_VALUE_CHARS:
        raise TemplateLimitError("replace would build a value that is too large")
    return _JINJA_FILTERS["replace"](eval_ctx, s, old, new, count)


@pass_eval_context
def _safe_join(eval_ctx, value, d="", attribute=None):
    items = list(value)
    if attribute is None:
        total = sum(len(str(x)) for x in items) + len(str(d)) * max(0, len(items) - 1)
        if total > MAX_VALUE_CHARS:
            raise TemplateLimitError("join would build a value that is too large")
    return check_size(_JINJA_FILTERS["join"](eval_ctx, items, d, attribute), "join")


def _width(value: Any, limit: int, what: str) -> Any:
    n = len(value) if isinstance(value, str) else int(value)
    if n > limit:
        raise TemplateLimitError(f"{what} is limited to {limit}")
    return value


def _safe_center(value, width=80):
    return _JINJA_FILTERS["center"](value, _width(width, 200, "center width"))


def _safe_indent(s, width=4, first=False, blank=False):
    return _JINJA_FILTERS["indent"](s, _width(width, 40, "indent width"), first, blank)


def _safe_batch(value, linecount, fill_with=None):
    return _JINJA_FILTERS["batch"](value, _width(linecount, 1000, "batch size"), fill_with)


def _safe_slice(value, slices, fill_with=None):
    return _JINJA_FILTERS["slice"](value, _width(slices, 1000, "slice count"), fill_with)


@pass_context
def _bounded_iter(context, iterable):
    """Wraps every ``{% for %}`` iterable (inserted at compile time)."""
    for item in iterable:
        tick()
        yield item


@pass_context
def _bounded_concat(context, items):
    """Replaces the ``~`` operator (inserted at compile time)."""
    tick()
    total = 0
    for item in items:
        total += len(item) if isinstance(item, str) else len(str(item))
        if total > MAX_VALUE_CHARS:
            raise TemplateLimitError("'~' would build a value that is too large")
    return markup_join(items) if context.eval_ctx.autoescape else str_join(items)


SAFE_JINJA_FILTERS = (
    "abs", "attr", "capitalize", "count", "d", "default", "dictsort", "first", "float",
    "groupby", "int", "last", "length", "list", "lower", "items", "map", "min", "max",
    "reject", "rejectattr", "reverse", "round", "select", "selectattr", "sort", "string",
    "striptags", "sum", "title", "trim", "truncate", "unique", "upper", "wordcount",
    "wordwrap",
)

#: Filters admins may use (documented in docs/templates.md).
CUSTOM_FILTERS = {
    "kdate": kdate,
    "kdatetime": kdatetime,
    "edate": edate,
    "edatetime": edatetime,
    "phone": phone,
}


def filters_for(html: bool) -> dict:
    out = {name: _JINJA_FILTERS[name] for name in SAFE_JINJA_FILTERS}
    out.update(replace=_safe_replace, join=_safe_join, center=_safe_center,
               indent=_safe_indent, batch=_safe_batch, slice=_safe_slice)
    out.update(CUSTOM_FILTERS)
    if html:
        out.update(e=escape, escape=escape, forceescape=_JINJA_FILTERS["forceescape"])
    out["_bounded_iter"] = _bounded_iter
    out["_bounded_concat"] = _bounded_concat
    return out


def bounded_range(*args: int) -> range:
    rng = range(*args)
    if len(rng) > MAX_RANGE:
        raise TemplateLimitError(f"range() is limited to {MAX_RANGE} items, asked for {len(rng)}")
    return rng


