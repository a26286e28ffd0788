"""The generated docs and the `intake templates` commands."""

from __future__ import annotations

import argparse
import html
from pathlib import Path

from intake.adapters import templates as T
from intake.commands import templates as cmd
from intake.domain import replies
from tests.adapters.templates.support import ROOT, edit, strip_phone


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
    path.write_text(strip_phone(path.read_text(encoding="utf-8")), encoding="utf-8")
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
