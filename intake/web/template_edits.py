"""Editing templates in the browser: lint and preview a candidate, save a version, history, rollback.

A candidate is checked exactly as ``intake templates lint`` checks files: it is written with the
message's other part into a scratch folder, linted there, and rendered by a ``TemplateStore`` of
that folder against a real case. Only a candidate without problems is saved: written atomically
over the file in ``templates/`` (the daemon's store picks it up as it picks up any edit), and a
``web_template_edit`` row records who saved which content and the store's version after it.
"""

from __future__ import annotations

import difflib
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import insert, select

from intake.adapters.templates import TemplateError, TemplateStore, lint_folder
from intake.domain import replies
from intake.stages.case_facts import case_facts
from intake.web.tables import WebTemplateEdit

PARTS = ("txt", "html")


@dataclass(frozen=True)
class Checked:
    problems: list[str]
    subject: str = ""
    text: str = ""
    html: str | None = None


def file_path(folder: Path, name: str, language: str, part: str) -> Path:
    if name not in replies.MESSAGE_NAMES or language not in ("ko", "en") or part not in PARTS:
        raise KeyError(name)
    return (folder if language == "ko" else folder / language) / f"{name}.{part}.j2"


def current_source(folder: Path, name: str, language: str, part: str) -> str:
    path = file_path(folder, name, language, part)
    return path.read_text(encoding="utf-8") if path.exists() else ""


def preview_context(app, name: str, case) -> dict:
    """The message's example context, with the real case (and its handler) in place of the example's."""
    ctx = replies.example_context(name)
    if case is None:
        return ctx
    try:
        label = app.rules.category_rules.category(case.category).label
    except KeyError:
        label = case.category
    staff = replies.message_spec(name).audience == replies.STAFF
    if "case" in ctx:
        ctx["case"] = replies.case_context(case_facts(case, label), staff=staff)
    member = app.settings.roster.member(case.handler_id)
    department = app.settings.roster.department(member.department) if member else None
    if "handler" in ctx and member is not None and department is not None:
        ctx["handler"] = replies.handler_context(member, department)
    return ctx


def check(app, name: str, language: str, part: str, content: str, case) -> Checked:
    """Lint ``content`` as the new ``part`` of the message and render it against ``case``."""
    folder = Path(app.settings.templates.path)
    with tempfile.TemporaryDirectory(prefix="intake-template-") as tmp:
        scratch = Path(tmp)
        for other in PARTS:
            src = file_path(folder, name, language, other)
            dst = file_path(scratch, name, language, other)
            dst.parent.mkdir(parents=True, exist_ok=True)
            if other == part:
                dst.write_text(content, encoding="utf-8")
            elif src.exists():
                shutil.copyfile(src, dst)
        label = name if language == "ko" else f"{language}/{name}"
        problems = [f"{p.file}:{p.line}: {p.message}" for p in lint_folder(scratch, [label])]
        if problems:
            return Checked(problems)
        try:
            mail = TemplateStore(scratch, require_all=False).render(name, preview_context(app, name, case), language)
        except TemplateError as exc:
            return Checked([str(exc)])
    return Checked([], mail.subject, mail.text, mail.html)


def _write_atomically(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def history(conn, name: str, language: str, part: str) -> list:
    t = WebTemplateEdit.__table__
    return conn.execute(select(t).where(t.c.name == name, t.c.language == language, t.c.part == part)
                        .order_by(t.c.id.desc())).all()


def edit_content(conn, edit_id: int):
    t = WebTemplateEdit.__table__
    return conn.execute(select(t).where(t.c.id == edit_id)).first()


def save(app, conn, name: str, language: str, part: str, content: str, actor: str, now: datetime,
         note: str = "saved") -> Checked | str:
    """Lint, then write the file and record the version; returns the Checked problems or the new version."""
    checked = check(app, name, language, part, content, None)
    if checked.problems:
        return checked
    folder = Path(app.settings.templates.path)
    t = WebTemplateEdit.__table__
    if not history(conn, name, language, part):     # keep what was there before the first edit
        before = current_source(folder, name, language, part)
        if before:
            conn.execute(insert(t).values(name=name, language=language, part=part, version=app.templates.version(
                name, language) or "-", content=before, actor="(file)", at=now, note="before the first console edit"))
    _write_atomically(file_path(folder, name, language, part), content)
    app.templates.refresh()
    version = app.templates.version(name, language) or "-"
    conn.execute(insert(t).values(name=name, language=language, part=part, version=version, content=content,
                                  actor=actor, at=now, note=note[:255]))
    return version


def diff(old: str, new: str, old_label: str, new_label: str) -> list[str]:
    return list(difflib.unified_diff(old.splitlines(), new.splitlines(), old_label, new_label, lineterm=""))
