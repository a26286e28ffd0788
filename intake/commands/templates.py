"""``intake templates list|lint|preview`` (admin commands).

``register(subparsers)`` adds the ``templates`` command to the CLI parser; the
folder is ``args.templates_dir`` (the CLI may set it from the ``[templates]
path`` setting; ``--templates-dir`` overrides; default ``templates``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from intake.adapters.templates import (
    LANGUAGES,
    TemplateRenderError,
    TemplateStore,
    UnknownTemplateError,
    lint_folder,
)
from intake.domain import replies

DEFAULT_TEMPLATES_DIR = "templates"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "templates", help="list, lint and preview message templates",
        description="Admin commands for the message templates.")
    # SUPPRESS: do not overwrite a templates_dir the CLI set from the config.
    parser.add_argument("--templates-dir", dest="templates_dir", default=argparse.SUPPRESS,
                        metavar="DIR", help="templates folder (default: [templates] path, "
                                            "else 'templates')")
    sub = parser.add_subparsers(dest="templates_command", metavar="{list,lint,preview}")
    sub.required = True

    p_list = sub.add_parser("list", help="templates, status, version and last change")
    p_list.set_defaults(func=run_list)

    p_lint = sub.add_parser("lint", help="check templates; non-zero exit when any fails")
    p_lint.add_argument("names", nargs="*", metavar="NAME",
                        help="message names (e.g. acknowledgement or en/acknowledgement); "
                             "default: all")
    p_lint.set_defaults(func=run_lint)

    p_prev = sub.add_parser("preview", help="render a template with its example context")
    p_prev.add_argument("name", metavar="NAME", choices=replies.MESSAGE_NAMES,
                        help="message name: " + ", ".join(replies.MESSAGE_NAMES))
    p_prev.add_argument("--lang", choices=LANGUAGES, default="ko", help="language variant")
    p_prev.add_argument("--html", metavar="FILE", help="write the HTML part to FILE")
    p_prev.add_argument("--case", metavar="REF", help="use a real case (needs the database)")
    p_prev.set_defaults(func=run_preview)


def _folder(args) -> Path:
    return Path(getattr(args, "templates_dir", None) or DEFAULT_TEMPLATES_DIR)


def run_list(args) -> int:
    folder = _folder(args)
    if not folder.is_dir():
        print(f"{folder}: templates folder does not exist", file=sys.stderr)
        return 2
    store = TemplateStore(folder, require_all=False)
    rows = store.status()
    width = max([len(r.label) for r in rows] + [8])
    print(f"{'TEMPLATE':<{width}}  {'STATUS':<8}  {'VERSION':<16}  {'CHANGED':<16}  PARTS")
    failed = False
    for row in rows:
        changed = row.changed_at.strftime("%Y-%m-%d %H:%M") if row.changed_at else "-"
        parts = ",".join(sorted(p.rsplit(".", 2)[-2] for p in row.files)) or "-"
        print(f"{row.label:<{width}}  {row.status:<8}  {row.version or '-':<16}  "
              f"{changed:<16}  {parts}")
        for problem in row.problems:
            failed = True
            print(f"    {problem}")
    missing = [n for n in replies.MESSAGE_NAMES if store.version(n) is None]
    for name in missing:
        print(f"{name}: no usable version (required)")
    return 1 if failed or missing else 0


def run_lint(args) -> int:
    folder = _folder(args)
    problems = lint_folder(folder, getattr(args, "names", None) or None)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s)", file=sys.stderr)
        return 1
    print("all templates ok")
    return 0


def run_preview(args) -> int:
    folder = _folder(args)
    if not folder.is_dir():
        print(f"{folder}: templates folder does not exist", file=sys.stderr)
        return 2
    store = TemplateStore(folder, require_all=False)
    language = getattr(args, "lang", "ko") or "ko"
    for row in store.status():
        if row.name == args.name and row.language in (language, "ko") and row.problems:
            for problem in row.problems:
                print(problem, file=sys.stderr)
    context = replies.example_context(args.name, language)
    if getattr(args, "case", None):
        try:
            context = _with_case(args, context)
        except LookupError as exc:
            print(f"--case {args.case}: {exc}", file=sys.stderr)
            return 2
    try:
        mail = store.render(args.name, context, language)
    except (TemplateRenderError, UnknownTemplateError) as exc:
        print(f"{args.name}: cannot render: {exc}", file=sys.stderr)
        return 1
    print(f"Template: {mail.template} ({language}) version {mail.template_version}")
    print(f"Subject: {mail.subject}")
    print()
    print(mail.text, end="")
    if getattr(args, "html", None):
        if mail.html is None:
            print(f"(no HTML part for {args.name}; {args.html} not written)", file=sys.stderr)
        else:
            Path(args.html).write_text(mail.html, encoding="utf-8")
            print(f"(HTML part written to {args.html})", file=sys.stderr)
    return 0


def _with_case(args, context: dict) -> dict:
    """The example context with ``case``, ``handler`` and ``org`` taken from a real case in the database."""
    from sqlmodel import select

    from intake.db import make_engine, require_current_schema, transaction
    from intake.app import load_rules
    from intake.domain.records import OrgFacts
    from intake.models import Case
    from intake.settings import load_settings
    from intake.stages.case_facts import case_facts

    settings = load_settings(getattr(args, "config", None), require_secrets=False)
    engine = make_engine(settings.database.url)
    require_current_schema(engine)
    with transaction(engine) as session:
        case = session.exec(select(Case).where(Case.ref == args.case)).first()
    if case is None:
        raise LookupError("no such case")
    rules = load_rules(settings)
    facts = case_facts(case, rules.category_rules.category(case.category).label)
    handler = settings.roster.member(case.handler_id)
    department = settings.roster.department(handler.department) if handler else None
    if handler is None or department is None:
        raise LookupError(f"handler {case.handler_id!r} is not in staff.toml")
    org = settings.organization
    context = dict(context)
    staff_view = isinstance(context.get("case"), dict) and "text" in context["case"]
    if "case" in context:
        context["case"] = replies.case_context(facts, staff=staff_view)
    if "handler" in context:
        context["handler"] = replies.handler_context(handler, department)
    if "org" in context:
        context["org"] = replies.org_context(OrgFacts(org.name, org.intake_address, org.domain))
    return context
