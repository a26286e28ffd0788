"""Wiring: build the objects every stage needs from validated settings.

Nothing here decides anything; it reads config files once, builds the pure
rule records and the adapters, and hands them out explicitly (no globals) in
one typed object, ``App``, that every stage takes as its first argument.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping

from sqlalchemy.engine import Engine

from intake.adapters.keyring import Keyring
from intake.adapters.raw_store import RawStore
from intake.adapters.sent_journal import SentJournal
from intake.adapters.templates import TemplateStore
from intake.db import make_engine
from intake.domain.attachments import AttachmentLimits
from intake.domain.calendar_config import CalendarConfig, calendar_from_config, parse_calendar_config, parse_policies
from intake.domain.deadlines import DeadlinePolicy
from intake.domain.decide import DecisionRules
from intake.domain.records import OrgFacts
from intake.domain.workdays import BusinessCalendar
from intake.errors import ConfigError, ConfigErrors
from intake.settings import Settings, read_toml

if TYPE_CHECKING:
    from intake.adapters.ocr import PageReader

log = logging.getLogger("intake")

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


def load_rules(settings: Settings) -> DecisionRules:
    """categories.toml, channels.toml and (optional) spam.toml beside intake.toml."""
    org = settings.organization
    own = {org.intake_address, settings.smtp.from_address}
    own_domains = {org.domain}
    spam_path = settings.config_path("spam.toml")
    try:
        rules = DecisionRules.from_config(
            own_addresses=frozenset(own),
            own_domains=frozenset(own_domains),
            channels=read_toml(settings.config_path("channels.toml")),
            categories=read_toml(settings.config_path("categories.toml")),
            spam=read_toml(spam_path) if spam_path.exists() else None,
            files={name: str(settings.config_path(f"{name}.toml")) for name in ("channels", "categories", "spam")},
        )
    except ConfigError as exc:
        raise ConfigErrors([exc]) from None
    return with_text_model(rules, settings)


def with_text_model(rules: DecisionRules, settings: Settings) -> DecisionRules:
    """The rules plus the text model file ``intake train`` wrote, when there is one (issue 15)."""
    from dataclasses import replace

    from intake.adapters.model_store import ModelFileError, load

    if not settings.model.enabled:
        return rules
    try:
        model = load(settings.model_path)
    except ModelFileError as exc:
        raise ConfigErrors([ConfigError(str(settings.config_file), "model.path", str(exc))]) from None
    return replace(rules, text_model=model) if model is not None else rules


def load_calendar(settings: Settings) -> tuple[CalendarConfig, Mapping[str, DeadlinePolicy]]:
    cal_path = settings.config_path("calendar.toml")
    pol_path = settings.config_path("policies.toml")
    errors: list[ConfigError] = []
    cal = pol = None
    try:
        cal = parse_calendar_config(read_toml(cal_path), str(cal_path))
    except ConfigError as exc:
        errors.append(exc)
    except ConfigErrors as exc:
        errors.extend(exc.errors)
    try:
        pol = parse_policies(read_toml(pol_path), str(pol_path))
    except ConfigError as exc:
        errors.append(exc)
    except ConfigErrors as exc:
        errors.extend(exc.errors)
    if errors:
        raise ConfigErrors(errors)
    return cal, pol


@dataclass
class App:
    settings: Settings
    engine: Engine
    store: RawStore
    rules: DecisionRules
    calendar_config: CalendarConfig
    policies: Mapping[str, DeadlinePolicy]
    templates: TemplateStore
    sent_journal: SentJournal
    clock: Clock = system_clock
    worker_id: str = "intake"
    _calendars: dict = field(default_factory=dict)
    known_template_versions: set = field(default_factory=set)   # (name, version) rows seen committed
    calendar_fingerprint: str | None = None    # calendar.toml + policies.toml as last loaded by the sweeper
    page_reader_factory: Callable[[], "PageReader"] | None = None   # None: the Tesseract reader
    _page_reader: "PageReader | None" = None

    def page_reader(self) -> "PageReader":
        """The OCR page reader, built on first use (its imports take about 0.3 s; most runs read no page)."""
        if self._page_reader is None:
            if self.page_reader_factory is not None:
                self._page_reader = self.page_reader_factory()
            else:
                from intake.adapters.ocr import PageReader

                self._page_reader = PageReader()
        return self._page_reader

    @property
    def attachment_limits(self) -> AttachmentLimits:
        st = self.settings.storage
        return AttachmentLimits(max_bytes=st.max_attachment_bytes, max_count=st.max_attachments)

    toml_roster: object = None                 # staff.toml's roster, before the console's absences

    @property
    def org(self) -> OrgFacts:
        o = self.settings.organization
        return OrgFacts(name=o.name, intake_address=o.intake_address, domain=o.domain)

    def now(self) -> datetime:
        return self.clock()

    def calendar(self, around: datetime) -> BusinessCalendar:
        """A calendar covering the year of ``around`` and the next two (long periods)."""
        key = around.year
        if key not in self._calendars:
            self._calendars[key] = calendar_from_config(self.calendar_config, range(key - 1, key + 3))
        return self._calendars[key]


    def reload_calendar(self) -> None:
        """Read calendar.toml and policies.toml again and drop the cached calendars.

        Raises ``ConfigErrors`` (and keeps the current calendar) when the files are invalid.
        """
        cal, policies = load_calendar(self.settings)
        self.calendar_config, self.policies = cal, policies
        self._calendars = {}
        self.apply_console_overrides()

    def apply_console_overrides(self) -> None:
        """Absences and calendar days entered in the web console (rows) over the TOML files' own."""
        from dataclasses import replace

        from intake.web import overrides

        from intake.db import reading

        with reading(self.engine) as session:
            absences, days = overrides.load(session.connection())
        self.toml_roster = self.toml_roster or self.settings.roster
        self.settings = replace(self.settings, roster=overrides.merge_absences(self.toml_roster, absences))
        self.calendar_config = overrides.merge_calendar(self.calendar_config, days)
        self._calendars = {}


def open_store(settings: Settings) -> RawStore:
    """The raw store, sealing new files when ``[storage] encrypt`` (the default) is on."""
    st = settings.storage
    keyring = Keyring(st.key_file) if st.key_file is not None else None
    return RawStore(Path(st.path), keyring=keyring, encrypt=st.encrypt)


def build_app(settings: Settings, *, clock: Clock = system_clock, engine: Engine | None = None,
              worker_id: str | None = None) -> App:
    rules = load_rules(settings)
    cal, policies = load_calendar(settings)
    templates = TemplateStore(settings.templates.path)
    app = App(
        settings=settings,
        engine=engine or make_engine(settings.database.url),
        store=open_store(settings),
        rules=rules,
        calendar_config=cal,
        policies=policies,
        templates=templates,
        sent_journal=SentJournal(Path(settings.storage.path) / "journal" / "outbox-accepted.log"),
        clock=clock,
        worker_id=worker_id or f"{socket.gethostname()}:{os.getpid()}",
    )
    app.apply_console_overrides()
    return app

