"""The hardened Jinja sandbox: compile-time refusals, guarded calls and bounded rendering."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import jinja2
from jinja2 import StrictUndefined, nodes
from jinja2.runtime import Context, LoopContext, Macro
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.utils import Cycler, Joiner, Namespace
from jinja2.visitor import NodeTransformer

from intake.adapters.templates.errors import (
    MAX_CONTEXT_DEPTH,
    MAX_INT_BITS,
    MAX_OUTPUT_BYTES,
    MAX_RENDER_SECONDS,
    MAX_VALUE_CHARS,
    TemplateLimitError,
    TemplateRenderError,
    TemplateSecurityError,
)
from intake.adapters.templates.filters import (
    Budget,
    RENDER_BUDGET,
    bounded_range,
    check_size,
    filters_for,
    tick,
)

# --------------------------------------------------------------------------- sandbox

_STR_METHODS = frozenset({
    "upper", "lower", "title", "capitalize", "casefold", "swapcase", "strip", "lstrip",
    "rstrip", "startswith", "endswith", "split", "rsplit", "splitlines", "replace", "count",
    "find", "rfind", "isdigit", "isalpha", "isalnum", "isspace", "removeprefix",
    "removesuffix", "partition", "rpartition", "join",
})
DICT_METHODS = frozenset({"items", "keys", "values", "get"})
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
        self.filters = filters_for(html)
        self.globals = {
            "range": bounded_range,
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
            return attr in DICT_METHODS
        if isinstance(obj, (list, tuple)):
            return attr in _LIST_METHODS
        if isinstance(obj, (date, datetime)):
            return attr in _DATE_METHODS
        return False

    def wrap_str_format(self, value: Any):
        return None  # str.format / format_map are simply not allowed

    def getattr(self, obj: Any, attribute: str):
        tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any):
        tick()
        return super().getitem(obj, argument)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        tick()
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
        return check_size(result, "call result")

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        tick()
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


def compile_template(env: SafeTemplateEnvironment, source: str | nodes.Template,
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


def render_part(template: jinja2.Template, context: dict, *,
                seconds: float = MAX_RENDER_SECONDS) -> str:
    """Render one part, streaming, with the size/time/work budget (``seconds`` is a test seam)."""
    filename = template.filename
    budget = Budget(seconds)
    token = RENDER_BUDGET.set(budget)
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
        RENDER_BUDGET.reset(token)
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


def tidy_text(text: str) -> str:
    return text.strip("\n").rstrip() + "\n"


