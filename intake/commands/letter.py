"""``intake cases letter REF --out FILE.pdf [--text-file answer.txt]``: a printable reply letter.

Renders the ``letter`` template (handler name, department, phone, e-mail, the
case and the answer text) and writes it as an A4 PDF with the Korean font
(fonts-nanum). The answer comes from ``--text-file`` (UTF-8, or CP949 as
Korean Windows Notepad saves it) or standard input. The file is written
whole or not at all; the audit trail records who printed which version.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from intake.adapters.raw_store import write_atomically


class LetterError(Exception):
    """Bad input for a letter: said plainly, nothing written."""


def add_letter_parser(cases_subparsers) -> None:
    lt = cases_subparsers.add_parser("letter", help="print a reply letter (PDF, Korean font) for a case")
    lt.add_argument("ref")
    lt.add_argument("--out", required=True, metavar="FILE.pdf", help="where to write the PDF")
    lt.add_argument("--text-file", default=None, metavar="FILE",
                    help="the answer text (UTF-8 or CP949); '-' or omitted = standard input")
    lt.add_argument("--date", default=None, metavar="YYYY-MM-DD", help="the letter's date (default: today)")
    lt.add_argument("--actor", default=None, metavar="ID", help="who prints it (default cli:$USER)")
    lt.set_defaults(handler=cases_letter)


def decode_answer(data: bytes, source: str) -> str:
    """The answer text: UTF-8 (with or without BOM), else CP949; never empty."""
    for encoding in ("utf-8-sig", "cp949"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise LetterError(f"{source} is neither UTF-8 nor CP949 text")
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    if not text.strip():
        raise LetterError(f"{source} is empty: the letter needs the answer text")
    return text


def read_answer(text_file: str | None) -> str:
    if text_file in (None, "-"):
        if text_file is None and sys.stdin.isatty():
            raise LetterError("give the answer with --text-file FILE (or on standard input)")
        return decode_answer(sys.stdin.buffer.read(), "standard input")
    path = Path(text_file)
    try:
        return decode_answer(path.read_bytes(), str(path))
    except OSError as exc:
        raise LetterError(f"cannot read {path}: {exc.strerror or exc}") from None


def _out_path(out: str) -> Path:
    path = Path(out)
    if path.is_dir():
        raise LetterError(f"--out {out} is a folder; give a file name such as {path / 'letter.pdf'}")
    if not path.parent.is_dir():
        raise LetterError(f"--out {out}: folder {path.parent} does not exist")
    return path


def _letter_date(value: str | None, tz):
    from datetime import date, datetime

    if value is None:
        return datetime.now(tz).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise LetterError(f"--date {value!r} is not a date YYYY-MM-DD") from None


def cases_letter(args: argparse.Namespace) -> int:
    try:
        return _letter(args)
    except LetterError as exc:
        print(f"error: {exc}; nothing written", file=sys.stderr)
        return 1


def _letter(args: argparse.Namespace) -> int:
    from sqlmodel import select

    from intake.adapters.pdf_render import render_mail_pdf
    from intake.adapters.templates import TemplateRenderError
    from intake.app import build_app
    from intake.commands.actor import actor_of
    from intake.db import require_current_schema, transaction
    from intake.domain import replies
    from intake.models import Case
    from intake.settings import load_settings
    from intake.stages.case_facts import case_facts
    from intake.stages.outbox import record_template_version
    from intake.stages.rows import audit

    out = _out_path(args.out)
    answer = read_answer(args.text_file)
    settings = load_settings(args.config, require_secrets=False)
    letter_date = _letter_date(args.date, settings.tz)
    app = build_app(settings)
    try:
        require_current_schema(app.engine)
        with transaction(app.engine) as s:
            case = s.exec(select(Case).where(Case.ref == args.ref.strip())).first()
            if case is None:
                raise LetterError(f"no case {args.ref!r}")
            handler = settings.roster.member(case.handler_id)
            if handler is None:
                raise LetterError(f"handler {case.handler_id!r} of {case.ref} is not in staff.toml; "
                                  f"reassign the case first (intake cases reassign {case.ref} --to …)")
            department = settings.roster.department(handler.department)
            if department is None:
                raise LetterError(f"department {handler.department!r} is not in staff.toml")
            category = app.rules.category_rules.category(case.category)
            facts = case_facts(case, category.label if category else case.category)
            ctx = replies.letter_context(facts, handler, department, app.org, answer, letter_date)
            try:
                rendered = app.templates.render("letter", ctx, language=case.language)
            except TemplateRenderError as exc:
                raise LetterError(f"the letter template cannot be rendered: {exc}") from None
            pdf = render_mail_pdf(rendered)
            now = app.now()
            record_template_version(s, app, rendered, case.language, now)
            audit(s, now, "letter-printed", case_id=case.id, actor=actor_of(args),
                  detail={"file": str(out.resolve()), "template_version": rendered.template_version,
                          "letter_date": letter_date.isoformat(), "answer_chars": len(answer)})
            write_atomically(out, pdf)     # inside the transaction: no audit without the file
            ref, version = case.ref, rendered.template_version
    finally:
        app.engine.dispose()
    print(f"{ref} letter written to {out} ({len(pdf)} bytes, template letter {version})")
    return 0
