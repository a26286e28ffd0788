"""Front matter and units: one message in one language, compiled, linted and sample-rendered."""

from __future__ import annotations

import hashlib
import html as html_lib
import re
import tomllib
from dataclasses import dataclass, field
from typing import Sequence

import jinja2
from jinja2 import meta, nodes

from intake.domain import replies
from intake.domain.records import RenderedMail

from intake.adapters.templates.errors import (
    CharterError,
    MAX_TEMPLATE_FILE_BYTES,
    Problem,
    TemplateRenderError,
)
from intake.adapters.templates.sandbox import (
    DICT_METHODS,
    SafeTemplateEnvironment,
    check_plain,
    clean_subject,
    compile_template,
    render_part,
    tidy_text,
)

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
class Unit:
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
class Environments:
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


class UnitBuilder:
    """Compiles and lints one message/language from its file contents."""

    def __init__(self, envs: Environments, name: str, language: str,
                 txt: tuple[str, bytes] | None, html: tuple[str, bytes] | None):
        self.envs = envs
        self.name = name
        self.language = language
        self.txt = txt
        self.html = html
        self.problems: list[Problem] = []

    def _problem(self, file: str, line: int | None, message: str) -> None:
        self.problems.append(Problem(file, line or 1, message))

    def build(self) -> tuple[Unit | None, list[Problem]]:
        unit = self._build()
        return (unit if not self.problems else None), self.problems

    def _build(self) -> Unit | None:
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
        subject_src = self._subject_and_audience(fm, txt_file, spec)
        subject_t = None
        if subject_src is not None:
            subject_t = self._compile_part(self.envs.text, subject_src, txt_file, declared, spec,
                                           line_offset=fm.lines.get("subject", fm.start_line) - 1,
                                           label="subject")
        text_t = self._compile_part(self.envs.text, txt_source, txt_file, declared, spec)
        html_t = self._compile_html(declared, spec) if self.html is not None else None
        if self.problems or subject_t is None or text_t is None:
            return None
        files = [self.txt] + ([self.html] if self.html else [])
        unit = Unit(
            name=self.name, language=self.language, audience=spec.audience,
            variables=tuple(sorted(declared)), subject=subject_t, text=text_t, html=html_t,
            version=template_version(files), files=tuple(f for f, _ in files),
            sources=tuple((f, data.decode("utf-8", "replace")) for f, data in files),
        )
        self._sample_renders(unit, txt_file)
        return unit

    def _subject_and_audience(self, fm: FrontMatter, txt_file: str,
                              spec: replies.MessageSpec) -> str | None:
        """The subject template's source (None when missing); checks the audience."""
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
        return subject_src

    def _compile_html(self, declared: set[str], spec: replies.MessageSpec) -> jinja2.Template | None:
        """The optional HTML part; its own front matter may declare more variables."""
        html_file, html_bytes = self.html
        html_source, problems = _decode(html_bytes, html_file)
        self.problems += problems
        if html_source is None:
            return None
        html_declared = declared
        if _FRONT_MATTER.match(html_source):
            hfm, problems = parse_front_matter(html_source, html_file)
            self.problems += problems
            if hfm is not None:
                html_declared = declared | self._check_front_matter(hfm, html_file, spec, _FM_KEYS_HTML)
        return self._compile_part(self.envs.html, html_source, html_file, html_declared, spec)

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

    def _compile_part(self, env: SafeTemplateEnvironment, source: str, file: str,
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
            if key in DICT_METHODS:
                continue
            self._problem(file, node.lineno + line_offset,
                          f"{where}{target.name!s} has no field {key!r}; fields: "
                          f"{', '.join(var.field_names())}")
        if len(self.problems) > before:
            return None
        try:
            return compile_template(env, tree, file)
        except jinja2.TemplateSyntaxError as exc:  # e.g. unknown filter
            self._problem(file, (exc.lineno or 1) + line_offset, f"{where}{exc.message}")
            return None

    def _sample_renders(self, unit: Unit, txt_file: str) -> None:
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

    def _charter(self, unit: Unit, ctx: dict, mail: RenderedMail, label: str) -> None:
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


def render_unit(unit: Unit, context: dict) -> RenderedMail:
    check_plain(context)
    if unit.audience == replies.CUSTOMER:
        missing = replies.missing_handler_fields(context)
        if missing:
            raise CharterError(
                f"'{unit.name}' is customer-facing and must show the handler's "
                f"{', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} missing; "
                "not rendered")
    subject = clean_subject(render_part(unit.subject, context))
    text = tidy_text(render_part(unit.text, context))
    html = render_part(unit.html, context) if unit.html is not None else None
    return RenderedMail(template=unit.name, template_version=unit.version, subject=subject,
                        text=text, html=html)


