"""The typed TOML reader the settings validators are written with.

:class:`Section` reads one table of a config file and *collects* problems (file, key, what is
wrong) instead of raising, so one run reports every mistake. The small ``check`` functions
(:func:`positive`, :func:`port`, :func:`address` ...) return a problem text or ``None`` and are
passed to :meth:`Section.get`. :class:`Loading` carries what a validator may need besides its
table: the config folder (relative paths), the environment (secrets) and whether secrets are
required now.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from intake.errors import ConfigError, ConfigErrors


@dataclass(frozen=True)
class Loading:
    """What a section validator may use besides its own table."""

    file: Path                       # the config file being read (named in every problem)
    base: Path                       # its folder: relative paths resolve against it
    env: Mapping[str, str]           # where ``password_env`` is looked up
    require_secrets: bool = True     # False: admin commands that never connect


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigErrors([ConfigError(path, "(file)", "file not found")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigErrors([ConfigError(path, "(syntax)", f"not valid TOML: {exc}")]) from None


class Section:
    """Reads typed keys of one TOML table, collecting errors instead of raising."""

    def __init__(self, file: Path, name: str, data: Any, errors: list[ConfigError], known: set[str]):
        self.file, self.name, self.errors = file, name, errors
        if data is None:
            data = {}
        if not isinstance(data, dict):
            errors.append(ConfigError(file, name, "must be a table"))
            data = {}
        self.data = data
        for key in data:
            if key not in known:
                errors.append(ConfigError(file, f"{name}.{key}", f"unknown key (known: {', '.join(sorted(known))})"))

    def key(self, key: str) -> str:
        return f"{self.name}.{key}"

    def get(self, key: str, kind: type, default: Any, check: Callable[[Any], str | None] | None = None) -> Any:
        if key not in self.data:
            return default
        value = self.data[key]
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            self.errors.append(ConfigError(self.file, self.key(key), f"must be {kind.__name__}, got {type(value).__name__} {value!r}"))
            return default
        if check is not None:
            problem = check(value)
            if problem:
                self.errors.append(ConfigError(self.file, self.key(key), problem))
                return default
        return value

    def path(self, key: str, default: Path | None, base: Path) -> Path | None:
        raw = self.get(key, str, None)
        if raw is None or raw == "":
            return default if default is None else resolve(default, base)
        return resolve(Path(raw), base)

    def secret(self, base: Path, env: Mapping[str, str]) -> str:
        env_name = self.get("password_env", str, "")
        file_name = self.get("password_file", str, "")
        if "password" in self.data:
            self.errors.append(ConfigError(self.file, self.key("password"),
                                           "secrets do not belong in the config file; use password_env or password_file"))
        if env_name and file_name:
            self.errors.append(ConfigError(self.file, self.key("password_env"), "set password_env or password_file, not both"))
            return ""
        if env_name:
            if env_name not in env:
                self.errors.append(ConfigError(self.file, self.key("password_env"), f"environment variable {env_name} is not set"))
                return ""
            return env[env_name]
        if file_name:
            path = resolve(Path(file_name), base)
            try:
                return path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                self.errors.append(ConfigError(self.file, self.key("password_file"), f"cannot read {path}: {exc.strerror}"))
        return ""


def resolve(path: Path, base: Path) -> Path:
    return Path(os.path.normpath(path if path.is_absolute() else (base / path)))


def one_of(choices: tuple[str, ...]) -> Callable[[Any], str | None]:
    return lambda v: None if v in choices else f"must be one of {', '.join(choices)}, got {v!r}"


def positive(v: Any) -> str | None:
    return None if v > 0 else f"must be positive, got {v!r}"


def port(v: Any) -> str | None:
    return None if 0 < v < 65536 else f"must be a TCP port (1-65535), got {v!r}"


def address(v: Any) -> str | None:
    return None if "@" in v and " " not in v.strip() else f"must be an e-mail address, got {v!r}"


def timezone_name(v: Any) -> str | None:
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {v!r}"
    return None


def address_list(sec: "Section", key: str) -> tuple[str, ...]:
    value = sec.get(key, list, [])
    bad = [v for v in value if not isinstance(v, str) or address(v)]
    if bad:
        sec.errors.append(ConfigError(sec.file, sec.key(key), f"must be a list of e-mail addresses, got {bad!r}"))
        return ()
    return tuple(v.lower() for v in value)


def db_url(v: Any) -> str | None:
    if v.startswith(("sqlite:///", "postgresql+psycopg://", "postgresql://")):
        return None
    return f"must start with sqlite:/// or postgresql+psycopg://, got {v!r}"


def sqlite_url_resolved(url: str, base: Path) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and url != "sqlite:///:memory:":
        path = Path(url[len(prefix):])
        return prefix + str(resolve(path, base))
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def hh_mm(v: Any) -> str | None:
    m = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)", v)
    return None if m else f"must be a time of day HH:MM, got {v!r}"
