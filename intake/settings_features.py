"""The sections of intake.toml that belong to one feature each, beside the core ones in
:mod:`intake.settings`: ``[survey]``, ``[web]``, ``[retention]``, ``[metrics]``, ``[alerts]``
and ``[model]``. Each is a frozen record with its defaults and one validator
``_<table>_settings(sec, load)``; :data:`FEATURE_SECTIONS` lists them for
``intake.settings.SECTIONS``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from intake.errors import ConfigError
from intake.settings_reader import Loading, Section, positive


@dataclass(frozen=True)
class SurveySettings:
    """``[survey]``: one satisfaction survey per case, ``delay_hours`` after it was answered or closed."""

    enabled: bool = False
    delay_hours: int = 24
    min_days_between: int = 30        # per customer address
    expire_days: int = 14


@dataclass(frozen=True)
class WebSettings:
    """``[web]``: the staff console (``intake web``) and the links mails carry (sign-in, survey).

    ``secret`` is read from ``secret_file`` (never written in the config); it signs console
    sessions, sign-in links and survey links. Empty while the file does not exist yet (``intake web
    --init-secret`` creates it): then the console refuses to start and mails carry no web links."""

    listen: str = "127.0.0.1:8080"
    base_url: str = ""
    secret_file: Path | None = None
    session_hours: int = 8
    secret: bytes = field(default=b"", repr=False)

    @property
    def host_port(self) -> tuple[str, int]:
        host, _, port = self.listen.rpartition(":")
        return host or "127.0.0.1", int(port)

    @property
    def console_url(self) -> str:
        """``base_url``, else the listening address (a console on a workstation, the demo)."""
        return self.base_url or f"http://{self.listen}"


# Conservative defaults after 공공기록물 관리에 관한 법률 시행령 별표 1 (보존기간별 책정 기준): permits,
# approvals and certificates 10 years; consultations and corrections 5; simple enquiries, training and
# suggestions 3.
DEFAULT_RETENTION_YEARS = {
    "trade-approval-review": 10, "visit-certificate": 10, "vehicle-permit": 10,
    "consulting-trade": 5, "consulting-humanitarian": 5, "correction-request": 5,
    "information": 3, "training": 3, "suggestion": 3, "general": 3,
}


@dataclass(frozen=True)
class RetentionSettings:
    """``[retention]``: years a closed case's personal data is kept, per category (intake.stages.purge).

    Counted, as public records are (공공기록물 관리에 관한 법률 시행령 제26조), from 1 January of the
    year after the case was closed. Defaults: README, "Operators and the law"."""

    default_years: int = 5
    unregistered_years: int = 1      # spam, auto-replies, bounces: messages that became no case
    categories: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_RETENTION_YEARS))


@dataclass(frozen=True)
class MetricsSettings:
    """``[metrics]``: the Prometheus endpoint (intake.adapters.metrics_http); "" = off."""

    listen: str = "127.0.0.1:9464"
    stale_seconds: int = 600         # /healthz fails when a loop has not completed a cycle for this long


@dataclass(frozen=True)
class AlertSettings:
    """``[alerts]``: mail to ``[processing] admin_addresses`` (intake.stages.alerts)."""

    outage_minutes: int = 15         # IMAP or SMTP unreachable this long
    backlog_minutes: int = 60        # oldest pending message or unsent mail older than this
    repeat_minutes: int = 60         # a condition that cleared is not raised again sooner


@dataclass(frozen=True)
class ModelSettings:
    """``[model]``: the text model file ``intake train`` writes and the decisions read."""

    path: Path | None = None         # None = <storage path>/models/text-model.joblib
    enabled: bool = True             # false = rules only, even when a model file exists


def _survey_settings(sec: Section, load: Loading) -> SurveySettings:
    d = SurveySettings()
    return SurveySettings(
        enabled=sec.get("enabled", bool, d.enabled),
        delay_hours=sec.get("delay_hours", int, d.delay_hours, positive),
        min_days_between=sec.get("min_days_between", int, d.min_days_between,
                                 lambda v: None if v >= 0 else "must be 0 or more"),
        expire_days=sec.get("expire_days", int, d.expire_days, positive),
    )


def _listen_problem(v: str) -> str | None:
    m = re.fullmatch(r"(.*):(\d{1,5})", v)
    return None if m and 0 < int(m.group(2)) < 65536 else f"must be HOST:PORT, got {v!r}"


def _url_problem(v: str) -> str | None:
    ok = not v or re.fullmatch(r"https?://[^/\s?#]+(/[^\s?#]*)?", v)
    return None if ok else f"must be an http:// or https:// address without query, got {v!r}"


def _read_secret(sec: Section, secret_file: Path | None) -> bytes:
    if secret_file is None or not secret_file.exists():     # missing: intake web --init-secret creates it
        return b""
    try:
        secret = secret_file.read_bytes().strip()
    except OSError as exc:
        sec.errors.append(ConfigError(sec.file, sec.key("secret_file"), f"cannot read {secret_file}: {exc.strerror}"))
        return b""
    if len(secret) < 16:
        sec.errors.append(ConfigError(sec.file, sec.key("secret_file"),
                                      f"{secret_file} holds {len(secret)} bytes; a secret needs at least 16"))
        return b""
    return secret


def _web_settings(sec: Section, load: Loading) -> WebSettings:
    d = WebSettings()
    secret_file = sec.path("secret_file", None, load.base)
    return WebSettings(
        listen=sec.get("listen", str, d.listen, _listen_problem),
        base_url=sec.get("base_url", str, d.base_url, _url_problem).rstrip("/"),
        secret_file=secret_file,
        session_hours=sec.get("session_hours", int, d.session_hours,
                              lambda v: None if 1 <= v <= 24 * 7 else f"must be 1-168 hours, got {v!r}"),
        secret=_read_secret(sec, secret_file),
    )


def _retention_settings(sec: Section, load: Loading) -> RetentionSettings:
    d = RetentionSettings()
    years = sec.get("categories", dict, {})
    bad = {k: v for k, v in years.items() if isinstance(v, bool) or not isinstance(v, int) or v < 1}
    if bad:
        sec.errors.append(ConfigError(sec.file, sec.key("categories"), f"years must be whole numbers >= 1, got {bad!r}"))
        years = {}
    return RetentionSettings(default_years=sec.get("default_years", int, d.default_years, positive),
                             unregistered_years=sec.get("unregistered_years", int, d.unregistered_years, positive),
                             categories={**DEFAULT_RETENTION_YEARS, **years})


def _metrics_settings(sec: Section, load: Loading) -> MetricsSettings:
    d = MetricsSettings()

    def host_port(v: str) -> str | None:
        host, _, port = v.rpartition(":")
        ok = v == "" or (host and port.isdigit() and 0 < int(port) < 65536)
        return None if ok else f'must be "host:port" (or "" for no endpoint), got {v!r}'

    return MetricsSettings(listen=sec.get("listen", str, d.listen, host_port),
                           stale_seconds=sec.get("stale_seconds", int, d.stale_seconds, positive))


def _alert_settings(sec: Section, load: Loading) -> AlertSettings:
    d = AlertSettings()
    return AlertSettings(**{name: sec.get(name, int, getattr(d, name), positive)
                            for name in AlertSettings.__dataclass_fields__})


def _model_settings(sec: Section, load: Loading) -> ModelSettings:
    return ModelSettings(path=sec.path("path", None, load.base), enabled=sec.get("enabled", bool, True))


# (table, record, validator, keys the record has that the file may not set)
FEATURE_SECTIONS = (
    ("survey", SurveySettings, _survey_settings, ()),
    ("web", WebSettings, _web_settings, ("secret",)),
    ("retention", RetentionSettings, _retention_settings, ()),
    ("metrics", MetricsSettings, _metrics_settings, ()),
    ("alerts", AlertSettings, _alert_settings, ()),
    ("model", ModelSettings, _model_settings, ()),
)
