"""Config validation: every error names the file, the key and what is wrong."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from intake.adapters.keyring import init_key_file
from intake.errors import ConfigErrors
from intake.settings import load_settings

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def config_dir(tmp_path) -> Path:
    d = tmp_path / "config"
    shutil.copytree(REPO / "config", d)
    init_key_file(d / "store.key")
    return d


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_repository_config_is_valid(config_dir):
    s = load_settings(config_dir / "intake.toml", env={"INTAKE_IMAP_PASSWORD": "pw"})
    assert s.imap.password == "pw" and s.imap.security == "ssl" and s.imap.port == 993
    assert s.database.url == f"sqlite:///{config_dir.parent / 'var' / 'intake.db'}"   # relative to the file
    assert s.storage.path == config_dir.parent / "var" / "store"
    assert {d.id for d in s.roster.departments} == {"business", "support-center", "research"}


@pytest.mark.parametrize("old,new,key,problem", [
    ('security = "ssl"', 'security = "tls"', "imap.security", "must be one of ssl, starttls, none"),
    ("port = 993", 'port = "993"', "imap.port", "must be int"),
    ("port = 993", "port = 99999", "imap.port", "TCP port"),
    ("poll_seconds = 60", "poll_seconds = 0", "imap.poll_seconds", "must be positive"),
    ("connections = 4", "connections = 0", "smtp.connections", "must be 1-16 parallel connections"),
    ("connections = 4", "connections = 64", "smtp.connections", "must be 1-16 parallel connections"),
    ('timezone = "Asia/Seoul"', 'timezone = "Asia/Busan"', "organization.timezone", "unknown time zone"),
    ('intake_address = "consulting@sonosa.or.kr"', 'intake_address = "consulting"', "organization.intake_address",
     "e-mail address"),
    ('url = "sqlite:///../var/intake.db"', 'url = "mysql://x"', "database.url", "must start with"),
    ('idle = true', 'idle = true\nidel = false', "imap.idel", "unknown key"),
    ('password_env = "INTAKE_IMAP_PASSWORD"', 'password = "hunter2"', "imap.password",
     "secrets do not belong in the config file"),
    ('triage_staff = "park.jiyoung"', 'triage_staff = "nobody"', "processing.triage_staff", "no staff member"),
    # [fax] and the attachment limits
    ('gateway_address = ""', 'gateway_address = "fax@gw.example"', "fax.gateway_address", "must contain {number}"),
    ('gateway_address = ""', 'gateway_address = "{num}@gw.example"', "fax.gateway_address", "unknown placeholder {num}"),
    ('gateway_address = ""', 'gateway_address = "{number}"', "fax.gateway_address", "does not make an e-mail address"),
    ('gateway_address = ""', "gateway_address = 42", "fax.gateway_address", "must be str"),
    ("email_copy = true", 'email_copy = "yes"', "fax.email_copy", "must be bool"),
    ("own_numbers = []", 'own_numbers = ["fax me"]', "fax.own_numbers", "Korean fax numbers"),
    ("own_numbers = []", "own_numbers = []\nnumber_format = 1", "fax.number_format", "unknown key"),
    ("max_attachment_bytes = 26214400", "max_attachment_bytes = 0", "storage.max_attachment_bytes", "must be positive"),
    ("max_attachments = 20", 'max_attachments = "20"', "storage.max_attachments", "must be int"),
    # [survey] and [web]
    ("delay_hours = 24", "delay_hours = 0", "survey.delay_hours", "must be positive"),
    ("min_days_between = 30", "min_days_between = -1", "survey.min_days_between", "must be 0 or more"),
    ("enabled = true", 'enabled = "yes"', "survey.enabled", "must be bool"),
    ('base_url = ""', 'base_url = "intake.example.org"', "web.base_url", "must be an http:// or https:// address"),
    ('# secret_file = "/etc/intake/web-secret"', 'secret_file = "."', "web.secret_file", "cannot read"),
    ("session_hours = 8", "session_hours = 8\nport = 80", "web.port", "unknown key"),
])
def test_bad_intake_toml_names_file_key_and_problem(config_dir, old, new, key, problem):
    _edit(config_dir / "intake.toml", old, new)
    with pytest.raises(ConfigErrors) as info:
        load_settings(config_dir / "intake.toml", env={"INTAKE_IMAP_PASSWORD": "pw"})
    matching = [e for e in info.value.errors if e.key == key]
    assert matching, [str(e) for e in info.value.errors]
    assert problem in matching[0].problem
    assert matching[0].file == str(config_dir / "intake.toml")


def test_survey_and_web_settings(config_dir):
    (config_dir / "web-secret").write_text("0123456789abcdef0123\n", encoding="utf-8")
    _edit(config_dir / "intake.toml", '# secret_file = "/etc/intake/web-secret"', 'secret_file = "web-secret"')
    _edit(config_dir / "intake.toml", 'base_url = ""', 'base_url = "https://intake.example.org/"')
    s = load_settings(config_dir / "intake.toml", env={"INTAKE_IMAP_PASSWORD": "pw"})
    assert s.survey.enabled and s.survey.delay_hours == 24 and s.survey.expire_days == 14
    assert s.web.base_url == "https://intake.example.org" and s.web.secret == b"0123456789abcdef0123"
    assert s.web.secret_file == config_dir / "web-secret" and "secret=" not in repr(s.web)
    (config_dir / "web-secret").write_text("short", encoding="utf-8")
    with pytest.raises(ConfigErrors, match="a secret needs at least 16"):
        load_settings(config_dir / "intake.toml", env={"INTAKE_IMAP_PASSWORD": "pw"})


def test_missing_password_env_is_reported(config_dir):
    with pytest.raises(ConfigErrors) as info:
        load_settings(config_dir / "intake.toml", env={})
    assert any(e.key == "imap.password_env" and "INTAKE_IMAP_PASSWORD is not set" in e.problem
               for e in info.value.errors)


@pytest.mark.parametrize("old,new,key,problem", [
    ('phone = "02-6000-1101"', 'phone = ""', "staff[0].phone", "every reply names the handler's phone"),
    ('department = "business"\nphone = "02-6000-1102"', 'department = "sales"\nphone = "02-6000-1102"',
     "staff[1].department", "unknown department"),
    ('head = "kim.minsu"', 'head = "kim.minsoo"', "department[0].head", "no staff member"),
    ('email = "minsu.kim@example.org"', 'email = "minsu.kim"', "staff[0].email", "e-mail address"),
])
def test_bad_staff_toml_names_file_key_and_problem(config_dir, old, new, key, problem):
    _edit(config_dir / "staff.toml", old, new)
    with pytest.raises(ConfigErrors) as info:
        load_settings(config_dir / "intake.toml", env={"INTAKE_IMAP_PASSWORD": "pw"})
    matching = [e for e in info.value.errors if e.key == key]
    assert matching, [str(e) for e in info.value.errors]
    assert problem in matching[0].problem and matching[0].file.endswith("staff.toml")


def test_toml_syntax_error_and_missing_file(config_dir):
    (config_dir / "intake.toml").write_text("[imap\nhost = 1", encoding="utf-8")
    with pytest.raises(ConfigErrors) as info:
        load_settings(config_dir / "intake.toml", env={})
    assert info.value.errors[0].key == "(syntax)"
    with pytest.raises(ConfigErrors) as info:
        load_settings(config_dir / "nope.toml", env={})
    assert info.value.errors[0].problem == "file not found"


def test_check_config_command_reports_every_error_and_exits_2(config_dir):
    _edit(config_dir / "intake.toml", 'security = "starttls"', 'security = "startls"')
    _edit(config_dir / "categories.toml", 'department = "support-center"', 'department = "support"')
    result = subprocess.run([sys.executable, "-m", "intake", "--config", str(config_dir / "intake.toml"),
                             "check-config"], capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"},
                            cwd=str(REPO))
    assert result.returncode == 2
    assert f"{config_dir / 'intake.toml'}: smtp.security: must be one of" in result.stderr
    assert "INTAKE_IMAP_PASSWORD is not set" in result.stderr


def test_check_config_rule_file_error_names_file_and_key(config_dir):
    _edit(config_dir / "categories.toml", 'department = "support-center"', 'department = "support"')
    result = subprocess.run([sys.executable, "-m", "intake", "--config", str(config_dir / "intake.toml"),
                             "check-config"], capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "INTAKE_IMAP_PASSWORD": "x"}, cwd=str(REPO))
    assert result.returncode == 2
    assert str(config_dir / "categories.toml") in result.stderr and "department" in result.stderr


def test_shipped_spam_toml_equals_the_built_in_rules():
    import tomllib

    from intake.domain.kinds import SpamRules, load_spam_rules

    with open(REPO / "config" / "spam.toml", "rb") as fh:
        assert load_spam_rules(tomllib.load(fh), "config/spam.toml") == SpamRules.default()


def test_bad_spam_rule_names_file_and_key(config_dir):
    from intake.app import load_rules

    _edit(config_dir / "spam.toml", "threshold = 4.0", 'threshold = "high"')
    settings = load_settings(config_dir / "intake.toml", env={"INTAKE_IMAP_PASSWORD": "pw"})
    with pytest.raises(ConfigErrors) as info:
        load_rules(settings)
    err = info.value.errors[0]
    assert err.file == str(config_dir / "spam.toml") and err.key == "threshold"


# ------------------------------------------------------------------ [fax] and attachment limits


def test_fax_and_attachment_limit_defaults(config_dir):
    s = load_settings(config_dir / "intake.toml", env={"INTAKE_IMAP_PASSWORD": "pw"})
    assert s.fax.gateway_address == "" and s.fax.email_copy is True and s.fax.own_numbers == ()
    assert s.storage.max_attachment_bytes == 26214400 and s.storage.max_attachments == 20


def test_fax_settings_are_read(config_dir):
    _edit(config_dir / "intake.toml", 'gateway_address = ""', 'gateway_address = "{number}@fax.example"')
    _edit(config_dir / "intake.toml", "own_numbers = []", 'own_numbers = ["02 6004 1299", "+82-2-6004-1298"]')
    _edit(config_dir / "intake.toml", "email_copy = true", "email_copy = false")
    s = load_settings(config_dir / "intake.toml", env={"INTAKE_IMAP_PASSWORD": "pw"})
    assert s.fax.gateway_address == "{number}@fax.example" and s.fax.email_copy is False
    assert s.fax.own_numbers == ("02-6004-1299", "02-6004-1298")
