"""Message templates: store, sandboxed rendering, lint, versions, docs.

Admins (not developers) edit the files under ``templates/`` on a running
system, so everything here assumes the template text is untrusted:

* Rendering uses :class:`jinja2.sandbox.ImmutableSandboxedEnvironment` with
  ``StrictUndefined``.  Templates receive plain data only (dicts, lists, str,
  int, float, bool, date, datetime, None) -- anything else in a context is
  refused before rendering.
* Only a short allow-list of methods may be called (``str.upper``,
  ``dict.items``...), only a curated set of filters exists, ``include`` /
  ``extends`` / ``import`` / recursive loops / ``autoescape`` blocks are refused
  at compile time.
* Resources are bounded: ``*``, ``**``, ``+``, ``~``, ``replace`` and ``join``
  refuse results over :data:`MAX_VALUE_CHARS`; ``range`` is capped; every loop
  iteration, call, attribute lookup and output chunk checks a per-render
  deadline (:data:`MAX_RENDER_SECONDS`) and an iteration budget; output is
  streamed through ``generate()`` with a running size check
  (:data:`MAX_OUTPUT_BYTES`).  Violations raise :class:`TemplateLimitError`.
* Text parts are rendered with autoescape OFF (never ``&lt;`` in a text mail);
  HTML parts with autoescape ON.

:class:`TemplateStore` loads and lints every template at start-up, serves the
last good version of each, and :meth:`TemplateStore.refresh` picks up edits:
a changed template is linted first and REJECTED if it fails, while the last
good version keeps serving.

``python -m intake.adapters.templates --write-docs docs/templates.md``
regenerates the admin documentation from the schema in
:mod:`intake.domain.replies`.
"""

from __future__ import annotations

import argparse
import hashlib
import html as html_lib
import re
import sys
import threading
import time
import tomllib
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterable, Sequence
from zoneinfo import ZoneInfo

import jinja2
from jinja2 import StrictUndefined, meta, nodes, pass_context, pass_eval_context
from jinja2.filters import FILTERS as _JINJA_FILTERS
from jinja2.runtime import Context, LoopContext, Macro, markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.utils import Cycler, Joiner, Namespace
from jinja2.visitor import NodeTransformer
from markupsafe import escape

from intake.domain import replies
from intake.domain.records import RenderedMail
from intake.errors import IntakeError

# --------------------------------------------------------------------------- limits

MAX_OUTPUT_BYTES = 256 * 1024       # per rendered part (subject, text, html)
MAX_RENDER_SECONDS = 2.0            # per rendered part
MAX_VALUE_CHARS = 256 * 1024        # largest string / list a template may build
MAX_RANGE = 10_000                  # largest range()
MAX_ITERATIONS = 200_000            # loop iterations + calls + lookups per part
MAX_INT_BITS = 4096                 # largest integer a template may compute
MAX_TEMPLATE_FILE_BYTES = 256 * 1024
MAX_CONTEXT_DEPTH = 8

SEOUL = ZoneInfo("Asia/Seoul")
LANGUAGES = ("ko", "en")


# --------------------------------------------------------------------------- errors and records


class TemplateError(IntakeError):
    """Base class of template problems intake reports."""


class TemplateRenderError(TemplateError):
    """Rendering failed (undefined variable, refused operation, bad data...)."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None):
        self.message = message
        self.file = file
        self.line = line
        super().__init__(self._text())

    def _text(self) -> str:
        if self.file and self.line:
            return f"{self.file}:{self.line}: {self.message}"
        if self.file:
            return f"{self.file}: {self.message}"
        return self.message

    def located(self, file: str | None, line: int | None) -> "TemplateRenderError":
        if self.file is None and file is not None:
            self.file, self.line = file, line
            self.args = (self._text(),)
        return self


class TemplateLimitError(TemplateRenderError):
    """A size, time or iteration limit was hit (the render was stopped)."""


class TemplateSecurityError(TemplateRenderError):
    """The template tried something the sandbox refuses."""


class CharterError(TemplateRenderError):
    """A customer-facing message would not show the handler's name,
    department, phone and email (customer charter)."""


class UnknownTemplateError(TemplateError, KeyError):
    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class TemplateStoreError(TemplateError):
    """A required template has no good version (raised at start-up)."""

    def __init__(self, problems: Sequence["Problem"]):
        self.problems = list(problems)
        super().__init__("templates not usable:\n" + "\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class Problem:
    """One lint problem: ``file:line: message``."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass(frozen=True)
class TemplateChange:
    """What :meth:`TemplateStore.refresh` did with one template.

    ``status``: ``added`` | ``updated`` (now serving ``version``) |
    ``rejected`` (``problems``; the previous good version, if any, keeps
    serving and ``version`` is that one, or None) | ``removed``.
    """

    name: str
    status: str
    version: str | None
    problems: tuple[Problem, ...] = ()
    language: str = "ko"

    @property
    def label(self) -> str:
        return self.name if self.language == "ko" else f"{self.language}/{self.name}"


@dataclass(frozen=True)
class TemplateStatus:
    """One line of ``intake templates list``."""

    name: str
    language: str
    status: str                      # "ok" | "rejected"
    version: str | None              # version being served (None = none)
    changed_at: datetime | None      # last change seen (file mtime)
    problems: tuple[Problem, ...]
    files: tuple[str, ...]

    @property
    def label(self) -> str:
        return self.name if self.language == "ko" else f"{self.language}/{self.name}"


# --------------------------------------------------------------------------- budget


class _Budget:
    __slots__ = ("deadline", "steps")

    def __init__(self, seconds: float):
        self.deadline = time.monotonic() + seconds
        self.steps = 0

    def tick(self) -> None:
        self.steps += 1
        if self.steps > MAX_ITERATIONS:
            raise TemplateLimitError(
                f"template does too much work (more than {MAX_ITERATIONS} loop iterations/calls)")
        if time.monotonic() > self.deadline:
            raise TemplateLimitError(f"rendering took longer than {MAX_RENDER_SECONDS:g} s")


_BUDGET: ContextVar[_Budget | None] = ContextVar("intake_template_budget", default=None)


def _tick() -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.tick()


def _check_size(value: Any, what: str) -> Any:
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
    return _check_size(_JINJA_FILTERS["join"](eval_ctx, items, d, attribute), "join")


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
        _tick()
        yield item


@pass_context
def _bounded_concat(context, items):
    """Replaces the ``~`` operator (inserted at compile time)."""
    _tick()
    total = 0
    for item in items:
        total += len(item) if isinstance(item, str) else len(str(item))
        if total > MAX_VALUE_CHARS:
            raise TemplateLimitError("'~' would build a value that is too large")
    return markup_join(items) if context.eval_ctx.autoescape else str_join(items)


_SAFE_JINJA_FILTERS = (
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


def _filters(html: bool) -> dict:
    out = {name: _JINJA_FILTERS[name] for name in _SAFE_JINJA_FILTERS}
    out.update(replace=_safe_replace, join=_safe_join, center=_safe_center,
               indent=_safe_indent, batch=_safe_batch, slice=_safe_slice)
    out.update(CUSTOM_FILTERS)
    if html:
        out.update(e=escape, escape=escape, forceescape=_JINJA_FILTERS["forceescape"])
    out["_bounded_iter"] = _bounded_iter
    out["_bounded_concat"] = _bounded_concat
    return out


def _bounded_range(*args: int) -> range:
    rng = range(*args)
    if len(rng) > MAX_RANGE:
        raise TemplateLimitError(f"range() is limited to {MAX_RANGE} items, asked for {len(rng)}")
    return rng


# --------------------------------------------------------------------------- sandbox

_STR_METHODS = frozenset({
    "upper", "lower", "title", "capitalize", "casefold", "swapcase", "strip", "lstrip",
    "rstrip", "startswith", "endswith", "split", "rsplit", "splitlines", "replace", "count",
    "find", "rfind", "isdigit", "isalpha", "isalnum", "isspace", "removeprefix",
    "removesuffix", "partition", "rpartition", "join",
})
_DICT_METHODS = frozenset({"items", "keys", "values", "get"})
_LIST_METHODS = frozenset({"index", "count"})
_DATE_METHODS = frozenset({"isoformat", "weekday", "isoweekday", "date", "time", "strftime"})
# Jinja's own helper objects: their public attributes are fine.
_HELPER_TYPES = (LoopContext, Cycler, Joiner, Namespace, Macro)


class _Hardener(NodeTransformer):
    """Rewrites a parsed template: bounded loops and ``~``; refuses constructs
    that reach other files or switch escaping off."""

    def __init__(self, name: str | None, filename: str | None):
        self.name = name
        self.filename = filename

    def _refuse(self, node: nodes.Node, message: str):
        raise jinja2.TemplateSyntaxError(message, node.lineno, self.name, self.filename)

    def visit_For(self, node: nodes.For):
        if node.recursive:
            self._refuse(node, "recursive loops are not allowed in templates")
        node = self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, "_bounded_iter", [], [], None, None,
                                 lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat):
        node = self.generic_visit(node)
        return nodes.Filter(nodes.List(list(node.nodes), lineno=node.lineno),
                            "_bounded_concat", [], [], None, None, lineno=node.lineno)

    def visit_Extends(self, node):
        self._refuse(node, "'extends' is not allowed: one file per message and part")

    def visit_Include(self, node):
        self._refuse(node, "'include' is not allowed: one file per message and part")

    def visit_Import(self, node):
        self._refuse(node, "'import' is not allowed: one file per message and part")

    def visit_FromImport(self, node):
        self._refuse(node, "'from ... import' is not allowed: one file per message and part")

    def visit_ScopedEvalContextModifier(self, node):
        self._refuse(node, "'autoescape' blocks are not allowed")

    def visit_EvalContextModifier(self, node):
        self._refuse(node, "'autoescape' blocks are not allowed")


class SafeTemplateEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox admins' templates run in (see module docstring)."""

    intercepted_binops = frozenset(["*", "**", "+", "%"])

    def __init__(self, *, html: bool):
        super().__init__(
            autoescape=html,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            auto_reload=False,
            cache_size=0,
        )
        self.html = html
        self.filters = _filters(html)
        self.globals = {
            "range": _bounded_range,
            "namespace": Namespace,
            "cycler": Cycler,
            "joiner": Joiner,
        }

    # compile-time hardening -------------------------------------------------
    def _parse(self, source, name, filename):
        tree = super()._parse(source, name, filename)
        return _Hardener(name, filename).visit(tree)

    # run-time checks ----------------------------------------------------------
    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if not super().is_safe_attribute(obj, attr, value):
            return False
        if isinstance(obj, _HELPER_TYPES):
            return True
        if not callable(value):
            return True
        if isinstance(obj, str):
            return attr in _STR_METHODS
        if isinstance(obj, dict):
            return attr in _DICT_METHODS
        if isinstance(obj, (list, tuple)):
            return attr in _LIST_METHODS
        if isinstance(obj, (date, datetime)):
            return attr in _DATE_METHODS
        return False

    def wrap_str_format(self, value: Any):
        return None  # str.format / format_map are simply not allowed

    def getattr(self, obj: Any, attribute: str):
        _tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any):
        _tick()
        return super().getitem(obj, argument)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _tick()
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            name = getattr(__obj, "__name__", "")
            if name == "replace" and len(args) >= 2:
                old, new = str(args[0]), str(args[1])
                hits = owner.count(old) if old else len(owner) + 1
                if len(owner) + hits * max(0, len(new) - len(old)) > MAX_VALUE_CHARS:
                    raise TemplateLimitError("replace would build a value that is too large")
            elif name == "join" and args:
                items = [str(x) for x in args[0]]
                if sum(map(len, items)) + len(owner) * len(items) > MAX_VALUE_CHARS:
                    raise TemplateLimitError("join would build a value that is too large")
                args = (items,) + args[1:]
        result = super().call(__context, __obj, *args, **kwargs)
        return _check_size(result, "call result")

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _tick()
        sized = (str, list, tuple)
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, sized) and isinstance(n, int) and n > 0:
                    if len(seq) * n > MAX_VALUE_CHARS:
                        raise TemplateLimitError(
                            f"'*' would build a value of {len(seq) * n} items "
                            f"(limit {MAX_VALUE_CHARS})")
            if isinstance(left, int) and isinstance(right, int):
                if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                    raise TemplateLimitError("'*' would build a number that is too large")
        elif operator == "**":
            if isinstance(left, int) and isinstance(right, int) and right > 0:
                if max(left.bit_length(), 1) * right > MAX_INT_BITS:
                    raise TemplateLimitError("'**' would build a number that is too large")
        elif operator == "+":
            if isinstance(left, sized) and isinstance(right, sized):
                if len(left) + len(right) > MAX_VALUE_CHARS:
                    raise TemplateLimitError("'+' would build a value that is too large")
        elif operator == "%":
            if isinstance(left, str):
                raise TemplateSecurityError("'%' string formatting is not allowed; use '~'")
        return super().call_binop(context, operator, left, right)


# --------------------------------------------------------------------------- compile / render


def _compile(env: SafeTemplateEnvironment, source: str | nodes.Template,
             filename: str) -> jinja2.Template:
    code = env.compile(source, name=filename, filename=filename)
    return env.template_class.from_code(env, code, env.make_globals(None), None)


def _locate(exc: BaseException, filename: str | None) -> int | None:
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if filename and tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _render_part(template: jinja2.Template, context: dict) -> str:
    """Render one part, streaming, with the size/time/work budget."""
    filename = template.filename
    budget = _Budget(MAX_RENDER_SECONDS)
    token = _BUDGET.set(budget)
    gen = None
    parts: list[str] = []
    size = 0
    try:
        gen = template.generate(context)
        for chunk in gen:
            size += len(chunk.encode("utf-8", "surrogatepass"))
            if size > MAX_OUTPUT_BYTES:
                raise TemplateLimitError(f"output larger than {MAX_OUTPUT_BYTES} bytes")
            budget.tick()
            parts.append(chunk)
    except TemplateRenderError as exc:
        raise exc.located(filename, _locate(exc, filename))
    except SecurityError as exc:
        raise TemplateSecurityError(f"refused by the sandbox: {exc}", file=filename,
                                    line=_locate(exc, filename)) from None
    except jinja2.UndefinedError as exc:
        raise TemplateRenderError(f"undefined: {exc}", file=filename,
                                  line=_locate(exc, filename)) from None
    except RecursionError:
        raise TemplateLimitError("recursion too deep", file=filename) from None
    except MemoryError:
        raise TemplateLimitError("out of memory while rendering", file=filename) from None
    except (jinja2.TemplateError, TypeError, ValueError, ArithmeticError, LookupError,
            AttributeError) as exc:
        raise TemplateRenderError(f"{type(exc).__name__}: {exc}", file=filename,
                                  line=_locate(exc, filename)) from None
    finally:
        if gen is not None:
            gen.close()
        _BUDGET.reset(token)
    return "".join(parts)


_PLAIN_SCALARS = (str, int, float, bool, type(None), date, datetime)


def check_plain(value: Any, path: str = "context", depth: int = 0) -> None:
    """Raise :class:`TemplateRenderError` unless ``value`` is plain data."""
    if depth > MAX_CONTEXT_DEPTH:
        raise TemplateRenderError(f"{path}: context nested too deeply")
    kind = type(value)
    if kind in _PLAIN_SCALARS:
        return
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                raise TemplateRenderError(f"{path}: keys must be str, got {type(key).__name__}")
            check_plain(item, f"{path}.{key}", depth + 1)
        return
    if kind in (list, tuple):
        for i, item in enumerate(value):
            check_plain(item, f"{path}[{i}]", depth + 1)
        return
    raise TemplateRenderError(
        f"{path}: templates receive plain data only, got {kind.__module__}.{kind.__name__}")


_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def clean_subject(subject: str) -> str:
    """Single line: CR/LF and other control characters become one space."""
    return " ".join(_CONTROL.sub(" ", subject).split())


def _tidy_text(text: str) -> str:
    return text.strip("\n").rstrip() + "\n"


# --------------------------------------------------------------------------- front matter

_FRONT_MATTER = re.compile(r"\A[ \t\r\n]*\{#-?[ \t]*---[ \t]*\r?\n(.*?)\r?\n[ \t]*---[ \t]*-?#\}", re.S)
_FM_KEYS_TXT = ("subject", "audience", "variables", "description")
_FM_KEYS_HTML = ("variables", "description")


@dataclass
class FrontMatter:
    values: dict
    lines: dict            # key -> line number in the file
    start_line: int


def _parse_list(raw: str) -> list[str]:
    raw = raw.strip()
    if raw.startswith("[") and raw.endswith("]"):
        raw = raw[1:-1]
    return [item.strip().strip("'\"") for item in raw.split(",") if item.strip()]


def parse_front_matter(source: str, file: str) -> tuple[FrontMatter | None, list[Problem]]:
    match = _FRONT_MATTER.match(source)
    if not match:
        return None, [Problem(file, 1, "missing front matter: the file must start with "
                                       "'{# ---' ... '--- #}' declaring subject, audience, variables")]
    body = match.group(1)
    start = source[:match.start(1)].count("\n") + 1
    lines: dict[str, int] = {}
    for offset, text in enumerate(body.splitlines()):
        key = re.match(r"\s*([A-Za-z_][\w-]*)\s*[:=]", text)
        if key and key.group(1) not in lines:
            lines[key.group(1)] = start + offset
    try:
        values = tomllib.loads(body)
    except tomllib.TOMLDecodeError as toml_error:
        values = {}
        for offset, text in enumerate(body.splitlines()):
            stripped = text.strip()
            if not stripped or stripped.startswith("#"):
                continue
            key, sep, value = stripped.partition(":")
            if not sep or not re.fullmatch(r"[A-Za-z_][\w-]*", key.strip()):
                return None, [Problem(file, start + offset,
                                      f"front matter is neither TOML ({toml_error}) nor "
                                      f"'key: value' lines")]
            value = value.strip()
            if key.strip() == "variables":
                values["variables"] = _parse_list(value)
            else:
                if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                    value = value[1:-1]
                values[key.strip()] = value
    return FrontMatter(values, lines, start), []


# --------------------------------------------------------------------------- units


@dataclass
class _Unit:
    """A compiled, linted template (one message in one language)."""

    name: str
    language: str
    audience: str
    variables: tuple[str, ...]
    subject: jinja2.Template
    text: jinja2.Template
    html: jinja2.Template | None
    version: str
    files: tuple[str, ...]
    sources: tuple[tuple[str, str], ...] = ()   # (file, content) as compiled: kept for audits


@dataclass
class _Envs:
    text: SafeTemplateEnvironment = field(default_factory=lambda: SafeTemplateEnvironment(html=False))
    html: SafeTemplateEnvironment = field(default_factory=lambda: SafeTemplateEnvironment(html=True))


def template_version(parts: Sequence[tuple[str, bytes]]) -> str:
    """sha256 over (relative path, content) of the files used; first 16 hex."""
    digest = hashlib.sha256()
    for rel, data in parts:
        digest.update(rel.encode("utf-8") + b"\0" + data + b"\0")
    return digest.hexdigest()[:16]


def _first_line_of(tree: nodes.Template, name: str) -> int:
    lines = [n.lineno for n in tree.find_all(nodes.Name) if n.name == name]
    return min(lines) if lines else 1


def _decode(data: bytes, file: str) -> tuple[str | None, list[Problem]]:
    if len(data) > MAX_TEMPLATE_FILE_BYTES:
        return None, [Problem(file, 1, f"file larger than {MAX_TEMPLATE_FILE_BYTES} bytes")]
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        return None, [Problem(file, line, f"not valid UTF-8 ({exc.reason} at byte {exc.start})")]


class _UnitBuilder:
    """Compiles and lints one message/language from its file contents."""

    def __init__(self, envs: _Envs, name: str, language: str,
                 txt: tuple[str, bytes] | None, html: tuple[str, bytes] | None):
        self.envs = envs
        self.name = name
        self.language = language
        self.txt = txt
        self.html = html
        self.problems: list[Problem] = []

    def _problem(self, file: str, line: int | None, message: str) -> None:
        self.problems.append(Problem(file, line or 1, message))

    def build(self) -> tuple[_Unit | None, list[Problem]]:
        unit = self._build()
        return (unit if not self.problems else None), self.problems

    def _build(self) -> _Unit | None:
        if self.txt is None:
            file = self.html[0] if self.html else f"{self.name}.txt.j2"
            self._problem(file, 1, f"{self.name}.txt.j2 is required (text part); "
                                   "an .html.j2 alone is not used")
            return None
        txt_file, txt_bytes = self.txt
        spec = replies.MESSAGES.get(self.name)
        if spec is None:
            self._problem(txt_file, 1, f"unknown message name {self.name!r}; known: "
                                       + ", ".join(replies.MESSAGE_NAMES))
            return None
        txt_source, problems = _decode(txt_bytes, txt_file)
        self.problems += problems
        if txt_source is None:
            return None
        fm, problems = parse_front_matter(txt_source, txt_file)
        self.problems += problems
        if fm is None:
            return None
        declared = self._check_front_matter(fm, txt_file, spec, _FM_KEYS_TXT)
        audience = fm.values.get("audience")
        subject_src = fm.values.get("subject")
        if not isinstance(subject_src, str) or not subject_src.strip():
            self._problem(txt_file, fm.lines.get("subject", fm.start_line),
                          "front matter must declare a non-empty 'subject'")
            subject_src = None
        if audience not in replies.AUDIENCES:
            self._problem(txt_file, fm.lines.get("audience", fm.start_line),
                          f"'audience' must be customer or staff, got {audience!r}")
        elif audience != spec.audience:
            self._problem(txt_file, fm.lines.get("audience", fm.start_line),
                          f"'{self.name}' is a {spec.audience} message, "
                          f"front matter says audience {audience!r}")

        subject_t = None
        if subject_src is not None:
            subject_t = self._compile(self.envs.text, subject_src, txt_file, declared, spec,
                                      line_offset=fm.lines.get("subject", fm.start_line) - 1,
                                      label="subject")
        text_t = self._compile(self.envs.text, txt_source, txt_file, declared, spec)

        html_t = None
        if self.html is not None:
            html_file, html_bytes = self.html
            html_source, problems = _decode(html_bytes, html_file)
            self.problems += problems
            if html_source is not None:
                html_declared = declared
                if _FRONT_MATTER.match(html_source):
                    hfm, problems = parse_front_matter(html_source, html_file)
                    self.problems += problems
                    if hfm is not None:
                        html_declared = declared | self._check_front_matter(
                            hfm, html_file, spec, _FM_KEYS_HTML)
                html_t = self._compile(self.envs.html, html_source, html_file,
                                       html_declared, spec)
        if self.problems or subject_t is None or text_t is None:
            return None
        files = [self.txt] + ([self.html] if self.html else [])
        unit = _Unit(
            name=self.name, language=self.language, audience=spec.audience,
            variables=tuple(sorted(declared)), subject=subject_t, text=text_t, html=html_t,
            version=template_version(files), files=tuple(f for f, _ in files),
            sources=tuple((f, data.decode("utf-8", "replace")) for f, data in files),
        )
        self._sample_renders(unit, txt_file)
        return unit

    def _check_front_matter(self, fm: FrontMatter, file: str, spec: replies.MessageSpec,
                            allowed: Sequence[str]) -> set[str]:
        for key in fm.values:
            if key not in allowed:
                hint = (" (subject and audience belong in the .txt.j2 file)"
                        if key in _FM_KEYS_TXT else "")
                self._problem(file, fm.lines.get(key, fm.start_line),
                              f"unknown front matter key {key!r}{hint}")
        raw = fm.values.get("variables")
        line = fm.lines.get("variables", fm.start_line)
        if raw is None:
            if "variables" in allowed and allowed is _FM_KEYS_TXT:
                self._problem(file, line, "front matter must declare 'variables'")
            return set()
        if isinstance(raw, str):
            raw = _parse_list(raw)
        if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
            self._problem(file, line, "'variables' must be a list of names")
            return set()
        known = spec.variable_names()
        declared = set()
        for var in raw:
            if var not in known:
                self._problem(file, line, f"declared variable {var!r} does not exist for "
                                          f"'{spec.name}'; available: {', '.join(known)}")
            else:
                declared.add(var)
        return declared

    def _compile(self, env: SafeTemplateEnvironment, source: str, file: str,
                 declared: set[str], spec: replies.MessageSpec, *, line_offset: int = 0,
                 label: str | None = None) -> jinja2.Template | None:
        where = f"{label}: " if label else ""
        try:
            tree = env.parse(source, name=file, filename=file)
        except jinja2.TemplateSyntaxError as exc:
            self._problem(file, (exc.lineno or 1) + line_offset, f"{where}{exc.message}")
            return None
        before = len(self.problems)
        try:
            used = meta.find_undeclared_variables(tree) - set(env.globals)
        except jinja2.TemplateSyntaxError as exc:  # e.g. unknown filter
            self._problem(file, (exc.lineno or 1) + line_offset, f"{where}{exc.message}")
            return None
        for var in sorted(used - declared):
            line = _first_line_of(tree, var) + line_offset
            if var in spec.variable_names():
                self._problem(file, line, f"{where}variable {var!r} is used but not declared "
                                          "in the front matter 'variables'")
            else:
                self._problem(file, line, f"{where}unknown variable {var!r}; available for "
                                          f"'{spec.name}': {', '.join(spec.variable_names())}")
        for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
            target = node.node
            key = node.attr if isinstance(node, nodes.Getattr) else (
                node.arg.value if isinstance(node.arg, nodes.Const) else None)
            if not (isinstance(target, nodes.Name) and target.ctx == "load"
                    and isinstance(key, str) and target.name in declared):
                continue
            var = spec.variable(target.name)
            if var is None or var.kind != "dict" or key in var.field_names():
                continue
            if key in _DICT_METHODS:
                continue
            self._problem(file, node.lineno + line_offset,
                          f"{where}{target.name!s} has no field {key!r}; fields: "
                          f"{', '.join(var.field_names())}")
        if len(self.problems) > before:
            return None
        try:
            return _compile(env, tree, file)
        except jinja2.TemplateSyntaxError as exc:  # e.g. unknown filter
            self._problem(file, (exc.lineno or 1) + line_offset, f"{where}{exc.message}")
            return None

    def _sample_renders(self, unit: _Unit, txt_file: str) -> None:
        customer = unit.audience == replies.CUSTOMER
        for label, ctx in replies.sample_contexts(unit.name, unit.language):
            try:
                mail = render_unit(unit, ctx)
            except TemplateRenderError as exc:
                self._problem(exc.file or txt_file, exc.line,
                              f"rendering with the {label} sample failed: {exc.message}")
                continue
            if not mail.subject:
                self._problem(txt_file, 1, f"subject renders empty with the {label} sample")
            for entity in ("&lt;", "&gt;", "&amp;", "&quot;", "&#"):
                if entity in mail.text or entity in mail.subject:
                    self._problem(txt_file, 1, f"text part contains the HTML entity {entity!r} "
                                               f"({label} sample); text mails are never escaped")
                    break
            if customer:
                self._charter(unit, ctx, mail, label)
        if customer:
            try:
                render_unit(unit, replies.sample_context_without_phone(unit.name, unit.language))
            except CharterError:
                pass
            else:
                self._problem(txt_file, 1, "rendering with a handler without phone was not "
                                           "refused (charter check missing)")

    def _charter(self, unit: _Unit, ctx: dict, mail: RenderedMail, label: str) -> None:
        handler = ctx["handler"]
        parts = [(unit.files[0], mail.text)]
        if mail.html is not None:
            parts.append((unit.files[1], html_lib.unescape(mail.html)))
        for file, output in parts:
            for key in replies.CHARTER_HANDLER_FIELDS:
                value = handler[key]
                if value not in output:
                    self._problem(file, 1, f"customer-facing template must show the handler's "
                                           f"{key} ({{{{ handler.{key} }}}}): {value!r} is missing "
                                           f"from the output ({label} sample)")


def render_unit(unit: _Unit, context: dict) -> RenderedMail:
    check_plain(context)
    if unit.audience == replies.CUSTOMER:
        missing = replies.missing_handler_fields(context)
        if missing:
            raise CharterError(
                f"'{unit.name}' is customer-facing and must show the handler's "
                f"{', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} missing; "
                "not rendered")
    subject = clean_subject(_render_part(unit.subject, context))
    text = _tidy_text(_render_part(unit.text, context))
    html = _render_part(unit.html, context) if unit.html is not None else None
    return RenderedMail(template=unit.name, template_version=unit.version, subject=subject,
                        text=text, html=html)


# --------------------------------------------------------------------------- folder scanning

_FILE_RE = re.compile(r"^(?P<name>[a-z0-9][a-z0-9-]*)\.(?P<part>txt|html)\.j2$")


def _unit_key(folder: Path, path: Path) -> tuple[str, str, str] | None:
    """(name, language, part) for a template file, or None when not a template."""
    match = _FILE_RE.match(path.name)
    if not match:
        return None
    language = "ko" if path.parent == folder else path.parent.name
    return match.group("name"), language, match.group("part")


def _list_files(folder: Path) -> list[Path]:
    found = []
    for sub in [folder] + [folder / lang for lang in LANGUAGES if lang != "ko"]:
        if sub.is_dir():
            found += [p for p in sorted(sub.glob("*.j2")) if p.is_file()]
    return found


def _rel(folder: Path, path: Path) -> str:
    """``templates/en/acknowledgement.txt.j2``: shown in problems and tracebacks."""
    try:
        return str(Path(folder.name or str(folder)) / path.relative_to(folder))
    except ValueError:
        return str(path)


def lint_folder(folder: str | Path, names: Iterable[str] | None = None) -> list[Problem]:
    """Lint the templates on disk (what ``intake templates lint`` runs).

    ``names`` limits the check to those messages (e.g. ``acknowledgement`` or
    ``en/acknowledgement``); a required Korean text part that is missing is a
    problem.
    """
    folder = Path(folder)
    wanted = set(names or ())
    envs = _Envs()
    grouped: dict[tuple[str, str], dict[str, tuple[str, bytes]]] = {}
    problems: list[Problem] = []
    if not folder.is_dir():
        return [Problem(str(folder), 1, "templates folder does not exist")]
    for path in _list_files(folder):
        key = _unit_key(folder, path)
        rel = _rel(folder, path)
        if key is None:
            if not wanted:
                problems.append(Problem(rel, 1, "file name must be <message>.txt.j2 or "
                                                "<message>.html.j2"))
            continue
        grouped.setdefault(key[:2], {})[key[2]] = (rel, path.read_bytes())
    for name in replies.MESSAGE_NAMES:
        grouped.setdefault((name, "ko"), {})
    for (name, language), parts in sorted(grouped.items()):
        label = name if language == "ko" else f"{language}/{name}"
        if wanted and label not in wanted and name not in wanted:
            continue
        if not parts:
            problems.append(Problem(_rel(folder, folder / f"{name}.txt.j2"), 1,
                                    "required template is missing"))
            continue
        _, unit_problems = _UnitBuilder(envs, name, language, parts.get("txt"),
                                        parts.get("html")).build()
        problems += unit_problems
    if wanted:
        known = {n for n in replies.MESSAGE_NAMES} | {f"{lang}/{n}" for n in replies.MESSAGE_NAMES
                                                     for lang in LANGUAGES}
        for label in sorted(wanted - known):
            problems.append(Problem(str(folder), 1, f"unknown template {label!r}"))
    return problems


# --------------------------------------------------------------------------- store


@dataclass
class _FileSeen:
    mtime_ns: int
    size: int
    sha: str
    data: bytes


@dataclass
class _State:
    status: str = "ok"
    problems: tuple[Problem, ...] = ()
    changed_at: datetime | None = None
    files: tuple[str, ...] = ()


class TemplateStore:
    """All templates of one folder, linted, versioned and live-reloadable.

    ``TemplateStore(folder)`` loads and lints everything; it raises
    :class:`TemplateStoreError` when a required (Korean) template has no good
    version, unless ``require_all=False`` (used by the admin commands).
    """

    def __init__(self, folder: str | Path, *, require_all: bool = True):
        self.folder = Path(folder)
        self._envs = _Envs()
        self._lock = threading.RLock()
        self._files: dict[Path, _FileSeen] = {}
        self._units: dict[tuple[str, str], _Unit] = {}
        self._states: dict[tuple[str, str], _State] = {}
        self.startup_changes = self.refresh()
        if require_all:
            problems = []
            for name in replies.MESSAGE_NAMES:
                if (name, "ko") in self._units:
                    continue
                state = self._states.get((name, "ko"))
                if state and state.problems:
                    problems += state.problems
                else:
                    problems.append(Problem(_rel(self.folder, self.folder / f"{name}.txt.j2"),
                                            1, "required template is missing"))
            if problems:
                raise TemplateStoreError(problems)

    # -- reading ---------------------------------------------------------------
    def _scan(self) -> tuple[dict[Path, _FileSeen], set[tuple[str, str]]]:
        """Current files and the units whose files changed since last scan."""
        current: dict[Path, _FileSeen] = {}
        changed: set[tuple[str, str]] = set()
        for path in _list_files(self.folder):
            try:
                st = path.stat()
                old = self._files.get(path)
                if old and old.mtime_ns == st.st_mtime_ns and old.size == st.st_size:
                    current[path] = old
                    continue
                data = path.read_bytes()
            except OSError:
                continue
            seen = _FileSeen(st.st_mtime_ns, st.st_size, hashlib.sha256(data).hexdigest(), data)
            current[path] = seen
            if old is None or old.sha != seen.sha:
                key = _unit_key(self.folder, path)
                changed.add(key[:2] if key else ("?" + path.name, "ko"))
        for path in self._files:
            if path not in current:
                key = _unit_key(self.folder, path)
                changed.add(key[:2] if key else ("?" + path.name, "ko"))
        return current, changed

    def _unit_files(self, files: dict[Path, _FileSeen], name: str, language: str):
        sub = self.folder if language == "ko" else self.folder / language
        out = {}
        for part in ("txt", "html"):
            path = sub / f"{name}.{part}.j2"
            if path in files:
                out[part] = (_rel(self.folder, path), files[path].data, files[path].mtime_ns)
        return out

    def refresh(self) -> list[TemplateChange]:
        """Re-read changed files; lint changed templates and use them only when
        they pass.  Returns what changed (each change is reported once)."""
        with self._lock:
            files, changed = self._scan()
            changes: list[TemplateChange] = []
            for name, language in sorted(changed):
                if name.startswith("?"):
                    continue  # not a template file name; reported by lint
                changes.append(self._reload(files, name, language))
            self._files = files
            return changes

    def _reload(self, files, name: str, language: str) -> TemplateChange:
        key = (name, language)
        parts = self._unit_files(files, name, language)
        old = self._units.get(key)
        state = self._states.setdefault(key, _State())
        mtimes = [m for _, _, m in parts.values()]
        state.changed_at = (datetime.fromtimestamp(max(mtimes) / 1e9, tz=SEOUL) if mtimes
                            else datetime.now(tz=SEOUL))
        if not parts:
            if language != "ko" or name not in replies.MESSAGES:
                self._units.pop(key, None)
                self._states.pop(key, None)
                return TemplateChange(name, "removed", None, (), language)
            problem = Problem(_rel(self.folder, self.folder / f"{name}.txt.j2"), 1,
                              "required template file was removed"
                              + ("; the last good version keeps serving" if old else ""))
            state.status, state.problems = "rejected", (problem,)
            return TemplateChange(name, "rejected", old.version if old else None,
                                  (problem,), language)
        txt = parts.get("txt")
        html = parts.get("html")
        unit, problems = _UnitBuilder(self._envs, name, language,
                                      txt[:2] if txt else None,
                                      html[:2] if html else None).build()
        state.files = tuple(p[0] for p in parts.values())
        if unit is None:
            state.status, state.problems = "rejected", tuple(problems)
            return TemplateChange(name, "rejected", old.version if old else None,
                                  tuple(problems), language)
        self._units[key] = unit
        state.status, state.problems = "ok", ()
        return TemplateChange(name, "updated" if old else "added", unit.version, (), language)

    # -- queries -----------------------------------------------------------------
    def status(self) -> list[TemplateStatus]:
        with self._lock:
            keys = sorted(set(self._states) | set(self._units),
                          key=lambda k: (k[1] != "ko", k[1], k[0]))
            out = []
            for key in keys:
                state = self._states.get(key, _State())
                unit = self._units.get(key)
                out.append(TemplateStatus(
                    name=key[0], language=key[1], status=state.status,
                    version=unit.version if unit else None, changed_at=state.changed_at,
                    problems=state.problems, files=state.files))
            return out

    def names(self) -> list[str]:
        with self._lock:
            return sorted({name for name, _ in self._units})

    def version(self, name: str, language: str = "ko") -> str | None:
        with self._lock:
            unit = self._units.get((name, language))
            return unit.version if unit else None

    def _unit(self, name: str, language: str) -> _Unit:
        with self._lock:
            if language != "ko":
                unit = self._units.get((name, language))
                if unit is not None:
                    return unit
            unit = self._units.get((name, "ko"))
        if unit is None:
            raise UnknownTemplateError(f"no usable template {name!r}")
        return unit

    def render(self, name: str, context: dict, language: str = "ko") -> RenderedMail:
        """Render message ``name``.  ``language="en"`` uses ``templates/en/``
        when that variant exists (otherwise Korean).  Raises
        :class:`TemplateRenderError` (incl. :class:`CharterError`,
        :class:`TemplateLimitError`) or :class:`UnknownTemplateError`."""
        return render_unit(self._unit(name, language), context)

    def source(self, name: str, language: str = "ko") -> str:
        """The exact text of the version now serving (recorded with every mail it renders)."""
        unit = self._unit(name, language)
        return "\n".join(f"=== {Path(f).name}\n{content}" for f, content in unit.sources)

    def lint(self, names: Iterable[str] | None = None) -> list[Problem]:
        """Lint the files currently on disk (does not change what is served)."""
        return lint_folder(self.folder, names)


# --------------------------------------------------------------------------- docs


def render_docs() -> str:
    """Markdown reference of every message's variables (docs/templates.md)."""
    out = [
        "# Message templates",
        "",
        "<!-- GENERATED by `python -m intake.adapters.templates --write-docs docs/templates.md`",
        "     from intake/domain/replies.py. Do not edit by hand; a test checks it is current. -->",
        "",
        "Templates live in `templates/` (Korean) and `templates/en/` (English, used when the",
        "customer wrote in English). One file per message and part: `<name>.txt.j2` (required)",
        "and `<name>.html.j2` (optional). Edits are picked up while the daemon runs; an edit",
        "that fails lint is rejected and the last good version keeps serving.",
        "",
        "## Front matter",
        "",
        "Every `.txt.j2` starts with a Jinja comment holding TOML (or `key: value` lines):",
        "",
        "```",
        "{# ---",
        'subject = "[접수 {{ case.ref }}] {{ case.subject }}"',
        'audience = "customer"',
        'variables = ["case", "handler", "org"]',
        "--- #}",
        "```",
        "",
        "* `subject` is itself a template (rendered on one line).",
        "* `audience` is `customer` or `staff` and must match the message.",
        "* `variables` lists what the template uses; lint rejects anything else.",
        "* An `.html.j2` may have front matter with `variables` only.",
        "",
        "## Rules checked by `intake templates lint`",
        "",
        "* Customer-facing templates must show the handler's name, department, phone and",
        "  email (`{{ handler.name }}`, `{{ handler.department }}`, `{{ handler.phone|phone }}`,",
        "  `{{ handler.email }}`) in the text part and in the HTML part when there is one.",
        "  A message whose handler has no phone is refused, never sent with a blank.",
        "* Templates are rendered with sample e-mail, fax and post cases (and an English case",
        "  for `en/`); an undefined variable or field is an error.",
        "* Text parts are never HTML-escaped; HTML parts always are.",
        "* Not allowed: `include`, `extends`, `import`, recursive loops, `autoescape` blocks,",
        "  `%` string formatting, `str.format`, calling methods other than simple string,",
        "  list, dict and date helpers.",
        f"* Limits: output {MAX_OUTPUT_BYTES // 1024} KiB per part, {MAX_RENDER_SECONDS:g} s per",
        f"  part, values of at most {MAX_VALUE_CHARS // 1024} Ki characters, `range()` of at most",
        f"  {MAX_RANGE} items.",
        "",
        "## Filters",
        "",
        "| filter | example output |",
        "|---|---|",
    ]
    sample = replies.example_context("acknowledgement")["case"]["due_at"]
    for name, func in CUSTOM_FILTERS.items():
        value = "02-6004-1234" if name == "phone" else sample
        out.append(f"| `{name}` | `{func(value)}` |")
    out += [
        "",
        "Also available: " + ", ".join(f"`{n}`" for n in sorted(
            set(_SAFE_JINJA_FILTERS) | {"replace", "join", "center", "indent", "batch", "slice"}))
        + "; in HTML parts also `e`/`escape`.",
        "",
        "## Messages",
        "",
    ]
    for spec in replies.MESSAGES.values():
        out += [f"### `{spec.name}`", "", f"{spec.description}. Audience: **{spec.audience}**.", ""]
        out += ["| variable | description | example |", "|---|---|---|"]
        for var in spec.variables:
            if var.kind == "value":
                out.append(f"| `{var.name}` | {_md(var.description)} | {_md_example(var.example)} |")
                continue
            suffix = "[]" if var.kind == "list" else ""
            out.append(f"| `{var.name}{suffix}` | {_md(var.description)} | |")
            prefix = f"{var.name}[]." if var.kind == "list" else f"{var.name}."
            for fld in var.fields:
                out.append(f"| `{prefix}{fld.name}` | {_md(fld.description)} | "
                           f"{_md_example(fld.example)} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def _md_example(value: Any) -> str:
    if isinstance(value, datetime):
        return f"`{value.isoformat()}`"
    if value == "" or value is None:
        return "(empty)"
    return f"`{_md(str(value))}`"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m intake.adapters.templates")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write-docs", metavar="FILE", help="write the variable reference")
    group.add_argument("--check-docs", metavar="FILE", help="exit 1 when FILE is not current")
    args = parser.parse_args(argv)
    text = render_docs()
    if args.write_docs:
        Path(args.write_docs).write_text(text, encoding="utf-8")
        print(f"wrote {args.write_docs}")
        return 0
    current = Path(args.check_docs).read_text(encoding="utf-8") if Path(args.check_docs).exists() else ""
    if current != text:
        print(f"{args.check_docs} is out of date; run python -m intake.adapters.templates "
              f"--write-docs {args.check_docs}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
