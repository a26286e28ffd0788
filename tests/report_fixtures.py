"""A database holding the report's constructed cases (tests/domain/test_report.py), for the CLI and browser tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import insert

from intake.db import make_engine
from intake.devservers.localconfig import LocalServers, write_local_config
from intake.domain.clocks import encode_pauses
from intake.models import AuditEvent, Case, CaseClock, Outbox, Survey, TemplateVersion
from tests.domain.test_report import DATA, t

NAMED = "담당자 : {{ handler.name }} ({{ handler.department }})"
UNNAMED = "담당자에게 문의하십시오 {{ case.ref }}"


def intake_cli(config: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "intake", "--config", str(config), *args], capture_output=True,
                          text=True, check=check)


def _case_values(c) -> dict:
    return dict(id=c.id, ref=c.ref, status=c.status, channel=c.channel, category=c.category, department=c.department,
                handler_id="kim", subject=f"사례 {c.id}", customer_name="고객", customer_address=f"c{c.id}@example.org",
                language="ko", pii=False, received_at=c.received_at, registered_at=c.received_at, policy="reply",
                due_at=c.received_at, text="", overdue=False, answered_at=c.answered_at, closed_at=c.closed_at)


def _clock_values(k) -> dict:
    return dict(case_id=k.case_id, policy=k.policy, state=k.state, started_at=k.started_at, due_at=k.due_at,
                stopped_at=k.stopped_at, pauses=encode_pauses(k.pauses),
                extension_date=k.extension_date.isoformat() if k.extension_date else None,
                extension_reason=k.extension_reason, created_at=k.started_at)


def insert_constructed(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(Case.__table__), [_case_values(c) for c in DATA.cases])
        conn.execute(insert(CaseClock.__table__), [_clock_values(k) for k in DATA.clocks])
        conn.execute(insert(AuditEvent.__table__), [
            dict(case_id=a.case_id, at=a.at, actor="kim", event="answered",
                 detail=json.dumps({"how": "test"} if a.working_hours is None else
                                   {"working_hours_to_answer": a.working_hours})) for a in DATA.answers] + [
            dict(case_id=d.case_id, at=d.at, actor="kim", event="decided",
                 detail=json.dumps({"outcome": d.outcome, "reason": d.reason}, ensure_ascii=False))
            for d in DATA.decisions])
        conn.execute(insert(TemplateVersion.__table__), [
            dict(name="t", version="named", content=NAMED, first_used_at=t(1, 9)),
            dict(name="t", version="old", content=UNNAMED, first_used_at=t(1, 9))])
        conn.execute(insert(Outbox.__table__), [
            dict(case_id=m.case_id, purpose=m.purpose, message_id=f"<m{i}@test>", mail_from="a@b", rcpt_to="c@d",
                 raw=b"", template="t", template_version="named" if m.names_handler else "old", status=m.status,
                 attempts=0, next_attempt_at=m.created_at, created_at=m.created_at)
            for i, m in enumerate(DATA.mails)])
        conn.execute(insert(Survey.__table__), [
            dict(case_id=s.case_id, token=f"tok{s.case_id}", recipient=f"c{s.case_id}@example.org", state=s.state,
                 sent_at=s.sent_at, expires_at=t(31, 18), score=s.score, comment=s.comment or None,
                 answered_at=s.answered_at, answered_via="reply" if s.score else None) for s in DATA.surveys])
    engine.dispose()


@pytest.fixture
def constructed_config(tmp_path) -> Path:
    """A config whose SQLite database holds the constructed set (no servers are contacted)."""
    return constructed_at(tmp_path, f"sqlite:///{tmp_path / 'intake.db'}")


def constructed_at(tmp_path: Path, url: str) -> Path:
    servers = LocalServers(imap_port=1, imap_security="ssl", imap_user="u", imap_password="p", smtp_port=1,
                           smtp_security="starttls", ca_file=None)
    config = write_local_config(tmp_path / "config", servers, database_url=url, storage=tmp_path / "store")
    intake_cli(config, "db", "upgrade")
    insert_constructed(url)
    return config
