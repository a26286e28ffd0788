"""``[web]`` settings and console roles from staff.toml (no servers)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import re

from intake.adapters.keyring import init_key_file
from intake.errors import ConfigErrors
from intake.settings import load_settings
from intake.web import auth

REPO = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, web: str, staff_extra: str = "") -> Path:
    folder = tmp_path / "config"
    shutil.copytree(REPO / "config", folder)
    init_key_file(folder / "store.key")
    text = (folder / "intake.toml").read_text(encoding="utf-8")
    text = re.sub(r"(?ms)^\[web\]\n.*?(?=^\[|\Z)", "", text)     # the test's own [web] replaces the shipped one
    (folder / "intake.toml").write_text(text + "\n" + web, encoding="utf-8")
    if staff_extra:
        staff = (folder / "staff.toml").read_text(encoding="utf-8")
        (folder / "staff.toml").write_text(staff.replace('id = "park.jiyoung"', 'id = "park.jiyoung"\n' + staff_extra),
                                           encoding="utf-8")
    return folder / "intake.toml"


def test_web_section_and_secret_file(tmp_path):
    path = _config(tmp_path, '[web]\nlisten = "127.0.0.1:8181"\nbase_url = "https://intake.example.org/"\n'
                             'secret_file = "web-secret"\nsession_hours = 4\n')
    web = load_settings(path, require_secrets=False).web
    assert (web.host_port, web.base_url, web.session_hours) == (("127.0.0.1", 8181), "https://intake.example.org", 4)
    assert web.secret == b"" and web.secret_file == path.parent / "web-secret"   # not created yet
    with pytest.raises(auth.SecretError, match="--init-secret"):
        auth.keys_from(web)
    assert auth.init_secret(web.secret_file) and not auth.init_secret(web.secret_file)   # kept once created
    assert oct(web.secret_file.stat().st_mode & 0o777) == "0o600"
    web = load_settings(path, require_secrets=False).web
    assert len(web.secret) == 64 and auth.keys_from(web).csrf_token("x") != auth.keys_from(web).csrf_token("y")


@pytest.mark.parametrize("web, key", [
    ('[web]\nlisten = "localhost"\n', "web.listen"),
    ('[web]\nbase_url = "intake.example.org"\n', "web.base_url"),
    ('[web]\nsession_hours = 0\n', "web.session_hours"),
    ('[web]\ncolour = "blue"\n', "web.colour"),
])
def test_bad_web_settings_name_the_key(tmp_path, web, key):
    with pytest.raises(ConfigErrors) as exc:
        load_settings(_config(tmp_path, web), require_secrets=False)
    assert key in str(exc.value)


def test_short_secret_is_refused(tmp_path):
    path = _config(tmp_path, '[web]\nsecret_file = "web-secret"\n')
    (path.parent / "web-secret").write_text("short\n")
    with pytest.raises(ConfigErrors, match="web.secret_file"):
        load_settings(path, require_secrets=False)


def test_roles_default_from_department_heads(tmp_path):
    roster = load_settings(_config(tmp_path, "", 'role = "manager"'), require_secrets=False).roster
    assert roster.role("kim.minsu") == "admin"          # written in config/staff.toml
    assert roster.role("lee.seoyeon") == "manager"      # a department head
    assert roster.role("han.dohyun") == "staff"
    assert roster.role("park.jiyoung") == "manager"     # written


def test_unknown_role_is_an_error(tmp_path):
    with pytest.raises(ConfigErrors, match=r"staff\[1\]\.role"):
        load_settings(_config(tmp_path, "", 'role = "boss"'), require_secrets=False)
