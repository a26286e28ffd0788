"""Load and validate config/intake.toml and config/staff.toml.

Every problem names the file, the key and what is wrong; all problems found in
one pass are reported together (``ConfigErrors``). Relative paths resolve
against the folder of the config file. Secrets are never in the file itself:
``password_env`` names an environment variable, ``password_file`` a file.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any, Callable, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from intake.domain.clocks import ReminderRules
from intake.domain.records import Department, StaffMember
from intake.errors import ConfigError, ConfigErrors
from intake.settings_types import ImapSettings, OrganizationSettings, SmtpSettings

SECURITY_CHOICES = ("ssl", "starttls", "none")


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = "sqlite:///var/intake.db"


@dataclass(frozen=True)
class StorageSettings:
    path: Path = Path("var/store")
    max_attachment_bytes: int = 25 * 1024 * 1024   # a bigger part is stored but kept aside (not read)
    max_attachments: int = 20                      # parts beyond this many are kept aside too


@dataclass(frozen=True)
class FaxSettings:
    """``[fax]``: how a fax is acknowledged (by fax, through an email-to-fax gateway)."""

    gateway_address: str = ""        # e.g. "{number}@fax.example"; "" = the handler faxes it by hand
    email_copy: bool = True          # also e-mail the acknowledgement to an address written on the fax
    own_numbers: tuple[str, ...] = ()   # our own fax numbers: never faxed back (loop protection)


@dataclass(frozen=True)
class TemplateSettings:
    path: Path = Path("templates")


@dataclass(frozen=True)
class ProcessingSettings:
    max_attempts: int = 5            # then the message is set aside for a human
    retry_base_seconds: int = 60     # backoff base; doubles each attempt
    outbox_max_attempts: int = 8
    acks_per_sender_per_day: int = 3
    triage_staff: str = ""           # low-confidence cases go here ("" = department head)
    reopen_closed_on_follow_up: bool = True
    follow_up_window_days: int = 30
    admin_addresses: tuple[str, ...] = ()   # told when an edited template is rejected
    message_seconds: int = 60        # budget of one message's parse+decide; over it: set aside
    memory_mb: int = 0               # the daemon's address-space limit (RLIMIT_AS); 0 = none


@dataclass(frozen=True)
class ReminderSettings:
    """``[reminders]``: the charter clocks' timed mail (intake.domain.clocks, intake.stages.sweep)."""

    half_period: bool = True             # remind the handler when half the period has run
    morning_of_due_day: bool = True      # and at the start of working hours on the due day
    escalate_overdue: bool = True        # tell the department head when a clock runs out
    customer_progress_notice: bool = True  # tell the customer when a reply deadline passes unanswered
    digest_time: str = "09:00"           # daily digest to each handler, working days
    sweep_seconds: int = 60              # how often the sweeper looks for due timers

    @property
    def rules(self) -> ReminderRules:
        return ReminderRules(half_period=self.half_period, morning_of_due_day=self.morning_of_due_day,
                             escalate_overdue=self.escalate_overdue,
                             customer_progress_notice=self.customer_progress_notice)

    @property
    def digest_at(self) -> time:
        hh, mm = self.digest_time.split(":")
        return time(int(hh), int(mm))


@dataclass(frozen=True)
class StaffRoster:
    departments: tuple[Department, ...]
    staff: tuple[StaffMember, ...]
    absences: Mapping[str, tuple[tuple[Any, Any], ...]] = field(default_factory=dict)

    def department(self, dep_id: str) -> Department | None:
        return next((d for d in self.departments if d.id == dep_id), None)

    def member(self, staff_id: str) -> StaffMember | None:
        return next((s for s in self.staff if s.id == staff_id), None)

    def member_by_email(self, address: str | None) -> StaffMember | None:
        a = (address or "").strip().lower()
        return next((s for s in self.staff if s.email.lower() == a), None) if a else None


@dataclass(frozen=True)
class Settings:
    config_file: Path
    organization: OrganizationSettings
    imap: ImapSettings
    smtp: SmtpSettings
    database: DatabaseSettings
    storage: StorageSettings
    templates: TemplateSettings
    processing: ProcessingSettings
    roster: StaffRoster
    reminders: ReminderSettings = field(default_factory=ReminderSettings)
    fax: FaxSettings = field(default_factory=FaxSettings)

    @property
    def config_dir(self) -> Path:
        return self.config_file.parent

    def config_path(self, name: str) -> Path:
        """A sibling config file such as categories.toml."""
        return self.config_dir / name

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.organization.timezone)


def default_config_path() -> Path:
    return Path(os.environ.get("INTAKE_CONFIG") or "config/intake.toml")


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigErrors([ConfigError(path, "(file)", "file not found")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigErrors([ConfigError(path, "(syntax)", f"not valid TOML: {exc}")]) from None


class _Section:
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
            return default if default is None else _resolve(default, base)
        return _resolve(Path(raw), base)

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
            path = _resolve(Path(file_name), base)
            try:
                return path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                self.errors.append(ConfigError(self.file, self.key("password_file"), f"cannot read {path}: {exc.strerror}"))
        return ""


def _resolve(path: Path, base: Path) -> Path:
    return Path(os.path.normpath(path if path.is_absolute() else (base / path)))


def _one_of(choices: tuple[str, ...]) -> Callable[[Any], str | None]:
    return lambda v: None if v in choices else f"must be one of {', '.join(choices)}, got {v!r}"


def _positive(v: Any) -> str | None:
    return None if v > 0 else f"must be positive, got {v!r}"


def _port(v: Any) -> str | None:
    return None if 0 < v < 65536 else f"must be a TCP port (1-65535), got {v!r}"


def _address(v: Any) -> str | None:
    return None if "@" in v and " " not in v.strip() else f"must be an e-mail address, got {v!r}"


def _timezone(v: Any) -> str | None:
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {v!r}"
    return None


def _address_list(sec: "_Section", key: str) -> tuple[str, ...]:
    value = sec.get(key, list, [])
    bad = [v for v in value if not isinstance(v, str) or _address(v)]
    if bad:
        sec.errors.append(ConfigError(sec.file, sec.key(key), f"must be a list of e-mail addresses, got {bad!r}"))
        return ()
    return tuple(v.lower() for v in value)


def _db_url(v: Any) -> str | None:
    if v.startswith(("sqlite:///", "postgresql+psycopg://", "postgresql://")):
        return None
    return f"must start with sqlite:/// or postgresql+psycopg://, got {v!r}"


def _sqlite_url_resolved(url: str, base: Path) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and url != "sqlite:///:memory:":
        path = Path(url[len(prefix):])
        return prefix + str(_resolve(path, base))
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


TOP_LEVEL = {"organization", "imap", "smtp", "database", "storage", "templates", "processing", "reminders", "fax"}


def _hh_mm(v: Any) -> str | None:
    import re as _re
    m = _re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)", v)
    return None if m else f"must be a time of day HH:MM, got {v!r}"


def load_settings(path: Path | str | None = None, env: Mapping[str, str] | None = None,
                  require_secrets: bool = True) -> Settings:
    """Read intake.toml and staff.toml; raise ConfigErrors listing every problem."""
    path = Path(path) if path else default_config_path()
    path = path.resolve()
    env = os.environ if env is None else env
    base = path.parent
    data = read_toml(path)
    errors: list[ConfigError] = []
    for key in data:
        if key not in TOP_LEVEL:
            errors.append(ConfigError(path, key, f"unknown section (known: {', '.join(sorted(TOP_LEVEL))})"))

    org_s = _Section(path, "organization", data.get("organization"), errors, {"name", "domain", "intake_address", "timezone"})
    d = OrganizationSettings()
    organization = OrganizationSettings(
        name=org_s.get("name", str, d.name),
        domain=org_s.get("domain", str, d.domain),
        intake_address=org_s.get("intake_address", str, d.intake_address, _address).lower(),
        timezone=org_s.get("timezone", str, d.timezone, _timezone),
    )

    imap_keys = {"host", "port", "security", "username", "password_env", "password_file", "password", "mailbox",
                 "processed_mailbox", "idle", "poll_seconds", "ca_file", "timeout_seconds", "idle_renew_seconds"}
    im = _Section(path, "imap", data.get("imap"), errors, imap_keys)
    di = ImapSettings()
    imap = ImapSettings(
        host=im.get("host", str, di.host),
        port=im.get("port", int, di.port, _port),
        security=im.get("security", str, di.security, _one_of(SECURITY_CHOICES)),
        username=im.get("username", str, di.username),
        password=im.secret(base, env) if require_secrets else "",
        mailbox=im.get("mailbox", str, di.mailbox),
        processed_mailbox=im.get("processed_mailbox", str, di.processed_mailbox),
        idle=im.get("idle", bool, di.idle),
        poll_seconds=im.get("poll_seconds", int, di.poll_seconds, _positive),
        ca_file=im.path("ca_file", None, base),
        timeout_seconds=im.get("timeout_seconds", float, di.timeout_seconds, _positive),
        idle_renew_seconds=im.get("idle_renew_seconds", int, di.idle_renew_seconds,
                                  lambda v: None if 0 < v <= 600 else f"must be 1-600 seconds (servers drop IDLE after 10+ min), got {v!r}"),
    )
    if imap.ca_file is not None and not imap.ca_file.is_file():
        errors.append(ConfigError(path, "imap.ca_file", f"file not found: {imap.ca_file}"))

    smtp_keys = {"host", "port", "security", "username", "password_env", "password_file", "password", "from_address",
                 "ca_file", "timeout_seconds", "connections"}
    sm = _Section(path, "smtp", data.get("smtp"), errors, smtp_keys)
    ds = SmtpSettings()
    smtp_username = sm.get("username", str, ds.username)
    smtp = SmtpSettings(
        host=sm.get("host", str, ds.host),
        port=sm.get("port", int, ds.port, _port),
        security=sm.get("security", str, ds.security, _one_of(SECURITY_CHOICES)),
        username=smtp_username,
        password=sm.secret(base, env) if (require_secrets and smtp_username) else "",
        from_address=sm.get("from_address", str, ds.from_address, _address).lower(),
        ca_file=sm.path("ca_file", None, base),
        timeout_seconds=sm.get("timeout_seconds", float, ds.timeout_seconds, _positive),
        connections=sm.get("connections", int, ds.connections,
                           lambda v: None if 1 <= v <= 16 else f"must be 1-16 parallel connections, got {v!r}"),
    )
    if smtp.ca_file is not None and not smtp.ca_file.is_file():
        errors.append(ConfigError(path, "smtp.ca_file", f"file not found: {smtp.ca_file}"))

    db = _Section(path, "database", data.get("database"), errors, {"url"})
    database = DatabaseSettings(url=_sqlite_url_resolved(db.get("url", str, DatabaseSettings().url, _db_url), base))

    st = _Section(path, "storage", data.get("storage"), errors, {"path", "max_attachment_bytes", "max_attachments"})
    dst = StorageSettings()
    storage = StorageSettings(path=st.path("path", Path("var/store"), base),
                              max_attachment_bytes=st.get("max_attachment_bytes", int, dst.max_attachment_bytes, _positive),
                              max_attachments=st.get("max_attachments", int, dst.max_attachments, _positive))

    fax = _fax_settings(_Section(path, "fax", data.get("fax"), errors, set(FaxSettings.__dataclass_fields__)))

    tp = _Section(path, "templates", data.get("templates"), errors, {"path"})
    templates = TemplateSettings(path=tp.path("path", Path("templates"), base) if "path" in tp.data
                                 else _default_templates_dir(base))

    pr = _Section(path, "processing", data.get("processing"), errors, set(ProcessingSettings.__dataclass_fields__))
    dp = ProcessingSettings()
    processing = ProcessingSettings(
        max_attempts=pr.get("max_attempts", int, dp.max_attempts, _positive),
        retry_base_seconds=pr.get("retry_base_seconds", int, dp.retry_base_seconds, _positive),
        outbox_max_attempts=pr.get("outbox_max_attempts", int, dp.outbox_max_attempts, _positive),
        acks_per_sender_per_day=pr.get("acks_per_sender_per_day", int, dp.acks_per_sender_per_day, _positive),
        triage_staff=pr.get("triage_staff", str, dp.triage_staff),
        reopen_closed_on_follow_up=pr.get("reopen_closed_on_follow_up", bool, dp.reopen_closed_on_follow_up),
        follow_up_window_days=pr.get("follow_up_window_days", int, dp.follow_up_window_days, _positive),
        admin_addresses=_address_list(pr, "admin_addresses"),
        message_seconds=pr.get("message_seconds", int, dp.message_seconds, _positive),
        memory_mb=pr.get("memory_mb", int, dp.memory_mb),
    )

    rm = _Section(path, "reminders", data.get("reminders"), errors,
                  {"half_period", "morning_of_due_day", "escalate_overdue", "customer_progress_notice",
                   "digest_time", "sweep_seconds"})
    dr = ReminderSettings()
    reminders = ReminderSettings(
        half_period=rm.get("half_period", bool, dr.half_period),
        morning_of_due_day=rm.get("morning_of_due_day", bool, dr.morning_of_due_day),
        escalate_overdue=rm.get("escalate_overdue", bool, dr.escalate_overdue),
        customer_progress_notice=rm.get("customer_progress_notice", bool, dr.customer_progress_notice),
        digest_time=rm.get("digest_time", str, dr.digest_time, _hh_mm),
        sweep_seconds=rm.get("sweep_seconds", int, dr.sweep_seconds, _positive),
    )

    roster = load_roster(base / "staff.toml", errors)
    if processing.triage_staff and roster.member(processing.triage_staff) is None:
        errors.append(ConfigError(path, "processing.triage_staff", f"no staff member with id {processing.triage_staff!r} in staff.toml"))

    if errors:
        raise ConfigErrors(errors)
    return Settings(config_file=path, organization=organization, imap=imap, smtp=smtp, database=database,
                    storage=storage, templates=templates, processing=processing, roster=roster,
                    reminders=reminders, fax=fax)


def _fax_settings(fx: "_Section") -> FaxSettings:
    from intake.domain.contacts import normalize_kr_number
    from intake.domain.fax_gateway import pattern_problem

    d = FaxSettings()
    numbers = fx.get("own_numbers", list, [])
    bad = [n for n in numbers if not isinstance(n, str) or normalize_kr_number(n) is None]
    if bad:
        fx.errors.append(ConfigError(fx.file, fx.key("own_numbers"), f"must be a list of Korean fax numbers, got {bad!r}"))
        numbers = []
    return FaxSettings(
        gateway_address=fx.get("gateway_address", str, d.gateway_address, lambda v: v and pattern_problem(v)),
        email_copy=fx.get("email_copy", bool, d.email_copy),
        own_numbers=tuple(normalize_kr_number(n) for n in numbers),
    )


def _default_templates_dir(base: Path) -> Path:
    """templates/ beside the config folder (the repository layout), else inside it."""
    sibling = base.parent / "templates"
    return sibling if sibling.is_dir() else base / "templates"


DEPARTMENT_KEYS = {"id", "name", "head"}
STAFF_KEYS = {"id", "name", "department", "phone", "email", "active", "away"}


def load_roster(path: Path, errors: list[ConfigError]) -> StaffRoster:
    """staff.toml: [[department]] and [[staff]] tables (absences as ``away``)."""
    try:
        data = read_toml(path)
    except ConfigErrors as exc:
        errors.extend(exc.errors)
        return StaffRoster((), ())
    for key in data:
        if key not in ("department", "staff"):
            errors.append(ConfigError(path, key, "unknown section (known: department, staff)"))
    departments: list[Department] = []
    for i, raw in enumerate(_table_list(path, "department", data.get("department"), errors)):
        sec = _Section(path, f"department[{i}]", raw, errors, DEPARTMENT_KEYS)
        dep_id, name, head = (sec.get(k, str, "") for k in ("id", "name", "head"))
        for k, v in (("id", dep_id), ("name", name), ("head", head)):
            if not v:
                errors.append(ConfigError(path, sec.key(k), "is required"))
        departments.append(Department(id=dep_id, name=name, head=head))
    staff: list[StaffMember] = []
    absences: dict[str, tuple] = {}
    for i, raw in enumerate(_table_list(path, "staff", data.get("staff"), errors)):
        sec = _Section(path, f"staff[{i}]", raw, errors, STAFF_KEYS)
        values = {k: sec.get(k, str, "") for k in ("id", "name", "department", "phone", "email")}
        for k in ("id", "name", "department", "email"):
            if not values[k]:
                errors.append(ConfigError(path, sec.key(k), "is required"))
        if values["email"] and _address(values["email"]):
            errors.append(ConfigError(path, sec.key("email"), _address(values["email"]) or ""))
        if not values["phone"]:
            errors.append(ConfigError(path, sec.key("phone"), "is required: every reply names the handler's phone"))
        member = StaffMember(active=sec.get("active", bool, True), **values)
        member = StaffMember(id=member.id, name=member.name, department=member.department, phone=member.phone,
                             email=member.email.lower(), active=member.active)
        staff.append(member)
        absences[member.id] = _absences(sec)
    ids = [s.id for s in staff]
    for dup in sorted({x for x in ids if ids.count(x) > 1}):
        errors.append(ConfigError(path, "staff", f"duplicate staff id {dup!r}"))
    dep_ids = {d.id for d in departments}
    for i, s in enumerate(staff):
        if s.department and s.department not in dep_ids:
            errors.append(ConfigError(path, f"staff[{i}].department", f"unknown department {s.department!r}"))
    for i, d in enumerate(departments):
        if d.head and d.head not in ids:
            errors.append(ConfigError(path, f"department[{i}].head", f"no staff member with id {d.head!r}"))
    return StaffRoster(tuple(departments), tuple(staff), absences)


def _table_list(path: Path, key: str, value: Any, errors: list[ConfigError]) -> list[dict]:
    if value is None:
        errors.append(ConfigError(path, key, f"at least one [[{key}]] is required"))
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        errors.append(ConfigError(path, key, f"must be an array of tables ([[{key}]])"))
        return []
    return value


def _absences(sec: _Section) -> tuple:
    """``away = [["2026-12-01", "2026-12-05"], …]`` inclusive date ranges."""
    import datetime as _dt

    raw = sec.data.get("away", [])
    out = []
    if not isinstance(raw, list):
        sec.errors.append(ConfigError(sec.file, sec.key("away"), "must be a list of [from, to] date pairs"))
        return ()
    for j, pair in enumerate(raw):
        try:
            a, b = pair
            a = a if isinstance(a, _dt.date) else _dt.date.fromisoformat(str(a))
            b = b if isinstance(b, _dt.date) else _dt.date.fromisoformat(str(b))
            if b < a:
                raise ValueError("end before start")
            out.append((a, b))
        except (TypeError, ValueError) as exc:
            sec.errors.append(ConfigError(sec.file, f"{sec.key('away')}[{j}]", f"must be [from, to] ISO dates: {exc}"))
    return tuple(out)
