"""Load and validate config/intake.toml and config/staff.toml.

Every problem names the file, the key and what is wrong; all problems found in
one pass are reported together (``ConfigErrors``). Relative paths resolve
against the folder of the config file. Secrets are never in the file itself:
``password_env`` names an environment variable, ``password_file`` a file.

How it is built: each ``[table]`` of intake.toml has a frozen record (here or in
:mod:`intake.settings_types`), one small validator ``_<table>_settings(sec, load)``
that reads its keys with :class:`intake.settings_reader.Section` (which collects
problems instead of raising), and one :class:`SectionRule` in :data:`SECTIONS`.
:func:`load_settings` only walks that table; checks that need two sections (or
staff.toml) live in :func:`_check_across`. Adding a section ``[survey]``:

1. ``@dataclass(frozen=True) class SurveySettings`` with defaults;
2. ``def _survey_settings(sec: Section, load: Loading) -> SurveySettings`` reading
   ``sec.get(key, type, default, check)`` (``load.base`` resolves paths, ``load.env``
   and ``load.require_secrets`` serve secrets);
3. ``SectionRule("survey", keys_of(SurveySettings), _survey_settings)`` in
   :data:`SECTIONS` (``plus=``/``minus=`` adjust the allowed keys);
4. ``survey: SurveySettings = field(default_factory=SurveySettings)`` in :class:`Settings`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping
from zoneinfo import ZoneInfo

from intake.domain.clocks import ReminderRules
from intake.errors import ConfigError, ConfigErrors
from intake.settings_reader import (
    Loading,
    Section,
    address,
    address_list,
    db_url,
    hh_mm,
    one_of,
    port,
    positive,
    read_toml,
    sqlite_url_resolved,
    timezone_name,
)
from intake.settings_features import (  # noqa: F401  (re-exported: intake.settings.<Record>)
    DEFAULT_RETENTION_YEARS,
    FEATURE_SECTIONS,
    AlertSettings,
    MetricsSettings,
    ModelSettings,
    RetentionSettings,
    SurveySettings,
    WebSettings,
)
from intake.settings_roster import ROLES, StaffRoster, load_roster  # noqa: F401  (re-exported)
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
    key_file: Path | None = None                   # AES-GCM keys of the store (intake.adapters.keyring)
    encrypt: bool = True                           # false: new files in clear (old sealed ones still read)


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
    survey: SurveySettings = field(default_factory=SurveySettings)
    web: WebSettings = field(default_factory=WebSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    model: ModelSettings = field(default_factory=ModelSettings)

    @property
    def model_path(self) -> Path:
        return self.model.path or self.storage.path / "models" / "text-model.joblib"

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


# --------------------------------------------------------------------------- one validator per section


def _organization_settings(sec: Section, load: Loading) -> OrganizationSettings:
    d = OrganizationSettings()
    return OrganizationSettings(
        name=sec.get("name", str, d.name),
        domain=sec.get("domain", str, d.domain),
        intake_address=sec.get("intake_address", str, d.intake_address, address).lower(),
        timezone=sec.get("timezone", str, d.timezone, timezone_name),
    )


def _idle_renew(v: Any) -> str | None:
    return None if 0 < v <= 600 else f"must be 1-600 seconds (servers drop IDLE after 10+ min), got {v!r}"


def _imap_settings(sec: Section, load: Loading) -> ImapSettings:
    d = ImapSettings()
    imap = ImapSettings(
        host=sec.get("host", str, d.host),
        port=sec.get("port", int, d.port, port),
        security=sec.get("security", str, d.security, one_of(SECURITY_CHOICES)),
        username=sec.get("username", str, d.username),
        password=sec.secret(load.base, load.env) if load.require_secrets else "",
        mailbox=sec.get("mailbox", str, d.mailbox),
        processed_mailbox=sec.get("processed_mailbox", str, d.processed_mailbox),
        idle=sec.get("idle", bool, d.idle),
        poll_seconds=sec.get("poll_seconds", int, d.poll_seconds, positive),
        ca_file=sec.path("ca_file", None, load.base),
        timeout_seconds=sec.get("timeout_seconds", float, d.timeout_seconds, positive),
        idle_renew_seconds=sec.get("idle_renew_seconds", int, d.idle_renew_seconds, _idle_renew),
    )
    _require_file(sec, "ca_file", imap.ca_file)
    return imap


def _smtp_settings(sec: Section, load: Loading) -> SmtpSettings:
    d = SmtpSettings()
    username = sec.get("username", str, d.username)
    smtp = SmtpSettings(
        host=sec.get("host", str, d.host),
        port=sec.get("port", int, d.port, port),
        security=sec.get("security", str, d.security, one_of(SECURITY_CHOICES)),
        username=username,
        password=sec.secret(load.base, load.env) if (load.require_secrets and username) else "",
        from_address=sec.get("from_address", str, d.from_address, address).lower(),
        ca_file=sec.path("ca_file", None, load.base),
        timeout_seconds=sec.get("timeout_seconds", float, d.timeout_seconds, positive),
        connections=sec.get("connections", int, d.connections,
                            lambda v: None if 1 <= v <= 16 else f"must be 1-16 parallel connections, got {v!r}"),
    )
    _require_file(sec, "ca_file", smtp.ca_file)
    return smtp


def _require_file(sec: Section, key: str, path: Path | None) -> None:
    if path is not None and not path.is_file():
        sec.errors.append(ConfigError(sec.file, sec.key(key), f"file not found: {path}"))


def _database_settings(sec: Section, load: Loading) -> DatabaseSettings:
    return DatabaseSettings(url=sqlite_url_resolved(sec.get("url", str, DatabaseSettings().url, db_url), load.base))


def _storage_settings(sec: Section, load: Loading) -> StorageSettings:
    """Encryption is on unless ``encrypt = false`` is written: then a key file is required, and
    (when secrets are checked) it must exist, be private and hold keys."""
    from intake.adapters.keyring import key_file_problem

    d = StorageSettings()
    storage = StorageSettings(path=sec.path("path", Path("var/store"), load.base),
                              max_attachment_bytes=sec.get("max_attachment_bytes", int, d.max_attachment_bytes, positive),
                              max_attachments=sec.get("max_attachments", int, d.max_attachments, positive),
                              key_file=sec.path("key_file", None, load.base), encrypt=sec.get("encrypt", bool, d.encrypt))
    if storage.encrypt and storage.key_file is None:
        sec.errors.append(ConfigError(sec.file, sec.key("key_file"), "is required while encryption is on (the default): "
                                      "name a key file and create it with `intake store init-key`, "
                                      "or write encrypt = false"))
    elif storage.key_file is not None and load.require_secrets:
        problem = key_file_problem(storage.key_file)
        if problem:
            sec.errors.append(ConfigError(sec.file, sec.key("key_file"), problem))
    return storage


def _template_settings(sec: Section, load: Loading) -> TemplateSettings:
    if "path" in sec.data:
        return TemplateSettings(path=sec.path("path", Path("templates"), load.base))
    return TemplateSettings(path=_default_templates_dir(load.base))


def _processing_settings(sec: Section, load: Loading) -> ProcessingSettings:
    d = ProcessingSettings()
    return ProcessingSettings(
        max_attempts=sec.get("max_attempts", int, d.max_attempts, positive),
        retry_base_seconds=sec.get("retry_base_seconds", int, d.retry_base_seconds, positive),
        outbox_max_attempts=sec.get("outbox_max_attempts", int, d.outbox_max_attempts, positive),
        acks_per_sender_per_day=sec.get("acks_per_sender_per_day", int, d.acks_per_sender_per_day, positive),
        triage_staff=sec.get("triage_staff", str, d.triage_staff),
        reopen_closed_on_follow_up=sec.get("reopen_closed_on_follow_up", bool, d.reopen_closed_on_follow_up),
        follow_up_window_days=sec.get("follow_up_window_days", int, d.follow_up_window_days, positive),
        admin_addresses=address_list(sec, "admin_addresses"),
        message_seconds=sec.get("message_seconds", int, d.message_seconds, positive),
        memory_mb=sec.get("memory_mb", int, d.memory_mb, lambda v: None if v >= 0 else "must be 0 (none) or more"),
    )


def _reminder_settings(sec: Section, load: Loading) -> ReminderSettings:
    d = ReminderSettings()
    return ReminderSettings(
        half_period=sec.get("half_period", bool, d.half_period),
        morning_of_due_day=sec.get("morning_of_due_day", bool, d.morning_of_due_day),
        escalate_overdue=sec.get("escalate_overdue", bool, d.escalate_overdue),
        customer_progress_notice=sec.get("customer_progress_notice", bool, d.customer_progress_notice),
        digest_time=sec.get("digest_time", str, d.digest_time, hh_mm),
        sweep_seconds=sec.get("sweep_seconds", int, d.sweep_seconds, positive),
    )


def _fax_settings(fx: Section, load: Loading) -> FaxSettings:
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


# --------------------------------------------------------------------------- the table of sections


@dataclass(frozen=True)
class SectionRule:
    """One ``[table]`` of intake.toml: its name (= the ``Settings`` field), its keys, its validator."""

    name: str
    keys: frozenset[str]
    parse: Callable[[Section, Loading], Any]


def keys_of(record: type, *, plus: Iterable[str] = (), minus: Iterable[str] = ()) -> frozenset[str]:
    """The keys a table may hold: the record's fields, ``plus`` config-only keys, ``minus`` derived ones."""
    return (frozenset(record.__dataclass_fields__) | frozenset(plus)) - frozenset(minus)


SECRET_KEYS = ("password_env", "password_file")   # read by Section.secret; "password" itself is refused

# Order = the order problems are reported in.
SECTIONS: tuple[SectionRule, ...] = (
    SectionRule("organization", keys_of(OrganizationSettings), _organization_settings),
    SectionRule("imap", keys_of(ImapSettings, plus=SECRET_KEYS), _imap_settings),
    SectionRule("smtp", keys_of(SmtpSettings, plus=SECRET_KEYS), _smtp_settings),
    SectionRule("database", keys_of(DatabaseSettings), _database_settings),
    SectionRule("storage", keys_of(StorageSettings), _storage_settings),
    SectionRule("fax", keys_of(FaxSettings), _fax_settings),
    SectionRule("templates", keys_of(TemplateSettings), _template_settings),
    SectionRule("processing", keys_of(ProcessingSettings), _processing_settings),
    SectionRule("reminders", keys_of(ReminderSettings), _reminder_settings),
    *(SectionRule(name, keys_of(record, minus=derived), parse) for name, record, parse, derived in FEATURE_SECTIONS),
)

TOP_LEVEL = {rule.name for rule in SECTIONS}


def load_settings(path: Path | str | None = None, env: Mapping[str, str] | None = None,
                  require_secrets: bool = True) -> Settings:
    """Read intake.toml and staff.toml; raise ConfigErrors listing every problem."""
    path = (Path(path) if path else default_config_path()).resolve()
    load = Loading(file=path, base=path.parent, env=os.environ if env is None else env,
                   require_secrets=require_secrets)
    data = read_toml(path)
    errors: list[ConfigError] = []
    for key in data:
        if key not in TOP_LEVEL:
            errors.append(ConfigError(path, key, f"unknown section (known: {', '.join(sorted(TOP_LEVEL))})"))
    sections = {rule.name: rule.parse(Section(path, rule.name, data.get(rule.name), errors, set(rule.keys)), load)
                for rule in SECTIONS}
    roster = load_roster(load.base / "staff.toml", errors)
    _check_across(path, sections, roster, errors)
    if errors:
        raise ConfigErrors(errors)
    return Settings(config_file=path, roster=roster, **sections)


def _check_across(path: Path, sections: Mapping[str, Any], roster: "StaffRoster",
                  errors: list[ConfigError]) -> None:
    """Checks that need more than one section (or staff.toml)."""
    triage = sections["processing"].triage_staff
    if triage and roster.member(triage) is None:
        errors.append(ConfigError(path, "processing.triage_staff", f"no staff member with id {triage!r} in staff.toml"))
