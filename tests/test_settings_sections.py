"""The table of settings sections: every section is validated the same way.

tests/test_settings.py holds the per-key tables; this file checks what the
table-driven loader promises for every section at once, and failure modes that
table did not cover (a missing CA file, two secret sources, a bad time of day).
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from intake.adapters.keyring import init_key_file

from intake.errors import ConfigErrors
from intake.settings import SECTIONS, TOP_LEVEL, Settings, load_settings

REPO = Path(__file__).resolve().parents[1]
ENV = {"INTAKE_IMAP_PASSWORD": "pw"}


@pytest.fixture
def config_dir(tmp_path) -> Path:
    d = tmp_path / "config"
    shutil.copytree(REPO / "config", d)
    init_key_file(d / "store.key")
    return d


def _errors(config_dir: Path, env=ENV) -> list:
    with pytest.raises(ConfigErrors) as info:
        load_settings(config_dir / "intake.toml", env=env)
    return info.value.errors


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _add_to_section(path: Path, section: str, line: str) -> None:
    text = path.read_text(encoding="utf-8")
    header = f"[{section}]\n"
    if header in text:
        path.write_text(text.replace(header, header + line + "\n", 1), encoding="utf-8")
    else:
        path.write_text(text + f"\n{header}{line}\n", encoding="utf-8")


def test_every_section_is_a_settings_field_and_known():
    fields = {f.name for f in dataclasses.fields(Settings)} - {"config_file", "roster"}
    assert [rule.name for rule in SECTIONS] == list(dict.fromkeys(rule.name for rule in SECTIONS))
    assert {rule.name for rule in SECTIONS} == fields == TOP_LEVEL


@pytest.mark.parametrize("rule", SECTIONS, ids=lambda rule: rule.name)
def test_every_section_refuses_an_unknown_key_and_lists_the_known(config_dir, rule):
    _add_to_section(config_dir / "intake.toml", rule.name, "no_such_key = 1")
    [error] = [e for e in _errors(config_dir) if e.key == f"{rule.name}.no_such_key"]
    assert error.problem == f"unknown key (known: {', '.join(sorted(rule.keys))})"
    assert error.file == str(config_dir / "intake.toml")


@pytest.mark.parametrize("rule", SECTIONS, ids=lambda rule: rule.name)
def test_every_section_must_be_a_table(config_dir, rule):
    path = config_dir / "intake.toml"
    text = path.read_text(encoding="utf-8").replace(f"[{rule.name}]\n", f"[{rule.name}_was]\n")
    path.write_text(f"{rule.name} = 3\n" + text, encoding="utf-8")
    errors = _errors(config_dir)
    assert any(e.key == rule.name and e.problem == "must be a table" for e in errors), [str(e) for e in errors]


@pytest.mark.parametrize("old,new,key,problem", [
    ('connections = 4', 'connections = 4\nca_file = "missing-ca.pem"', "smtp.ca_file", "file not found:"),
    ('poll_seconds = 60', 'poll_seconds = 60\nca_file = "missing-ca.pem"', "imap.ca_file", "file not found:"),
    ('password_env = "INTAKE_IMAP_PASSWORD"', 'password_env = "INTAKE_IMAP_PASSWORD"\npassword_file = "pw.txt"',
     "imap.password_env", "set password_env or password_file, not both"),
    ('password_env = "INTAKE_IMAP_PASSWORD"', 'password_file = "no-such-secret.txt"', "imap.password_file",
     "cannot read"),
    ('poll_seconds = 60', 'poll_seconds = 60\nidle_renew_seconds = 601', "imap.idle_renew_seconds",
     "must be 1-600 seconds"),
    ('digest_time = "09:00"', 'digest_time = "9:00"', "reminders.digest_time", "must be a time of day HH:MM"),
    ('sweep_seconds = 60', 'sweep_seconds = -1', "reminders.sweep_seconds", "must be positive"),
    ('admin_addresses = ["minsu.kim@example.org"]', 'admin_addresses = ["minsu.kim"]',
     "processing.admin_addresses", "must be a list of e-mail addresses"),
    ('path = "../templates"', 'path = 3', "templates.path", "must be str"),
    ('[organization]', '[surveys]\nx = 1\n[organization]', "surveys", "unknown section (known: "),
])
def test_more_bad_intake_toml_names_file_key_and_problem(config_dir, old, new, key, problem):
    _edit(config_dir / "intake.toml", old, new)
    matching = [e for e in _errors(config_dir) if e.key == key]
    assert matching and problem in matching[0].problem, [str(e) for e in _errors(config_dir)]
    assert matching[0].file == str(config_dir / "intake.toml")


def test_problems_of_all_sections_are_reported_together_in_table_order(config_dir):
    path = config_dir / "intake.toml"
    _edit(path, "port = 993", "port = 0")
    _edit(path, 'digest_time = "09:00"', 'digest_time = "late"')
    _edit(path, "max_attempts = 5", "max_attempts = 0")
    keys = [e.key for e in _errors(config_dir)]
    assert keys == ["imap.port", "processing.max_attempts", "reminders.digest_time"]
