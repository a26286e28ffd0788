"""Staff corrections (reassign, reclassify) against real SQLite and PostgreSQL databases, no mocks.

Cases are registered by the real process/registration code from sample
messages; the IMAP and SMTP ports in the config are never contacted.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import json
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlmodel import select

from intake.app import build_app
from intake.db import make_engine, transaction, upgrade
from intake.devservers.localconfig import LocalServers, write_local_config
from intake.models import AuditEvent, Correction, Outbox
from intake.settings import load_settings
from tests.fixtures.registering import register_raw
from intake.stages.corrections import CorrectionError, correction_summary, find_case, reassign, reclassify

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "tests" / "data" / "samples"
KST = timezone(timedelta(hours=9))
RECEIVED = datetime(2026, 11, 24, 9, 30, tzinfo=KST)     # a Tuesday
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=KST)
ABSENT = 'away = [["2026-11-20", "2026-11-30"]]\n'      # han.dohyun (support-center) is away


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'intake.db'}"
        return
    import psycopg
    from psycopg import sql

    base = request.getfixturevalue("postgres_url")      # skips when PostgreSQL is unreachable
    admin_url = base.replace("postgresql+psycopg://", "postgresql://", 1)
    name = f"intake_corr_{uuid.uuid4().hex[:10]}"     # a database of its own: counts start at zero
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def config(tmp_path, db_url) -> Path:
    servers = LocalServers(imap_port=1, imap_security="ssl", imap_user="intake", imap_password="unused",
                           smtp_port=1, smtp_security="starttls", ca_file=None)
    path = write_local_config(tmp_path / "config", servers, database_url=db_url, storage=tmp_path / "store")
    staff = path.parent / "staff.toml"
    text = staff.read_text(encoding="utf-8")
    marker = 'email = "dohyun.han@example.org"\n'
    assert marker in text
    staff.write_text(text.replace(marker, marker + ABSENT, 1), encoding="utf-8")
    upgrade(make_engine(db_url))
    return path


@pytest.fixture
def app(config):
    settings = load_settings(config)
    application = build_app(settings, clock=lambda: NOW)
    yield application
    application.engine.dispose()


def register_sample(app, name: str, uid: int) -> str:
    """Store one sample as fetched mail and run the real processing code on it: the case ref."""
    return register_raw(app, (SAMPLES / name).read_bytes(), uid, RECEIVED).ref


def mail_text(raw: bytes) -> str:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    return msg["Subject"] + "\n" + msg.get_body(("plain",)).get_content()


def reassigned_mails(s, case_id: int) -> list[Outbox]:
    return s.exec(select(Outbox).where(Outbox.case_id == case_id, Outbox.purpose == "case-reassigned")
                  .order_by(Outbox.id)).all()


# --------------------------------------------------------------------------- stages


def test_reassign_reclassify_and_report(app):
    ref_a = register_sample(app, "sample-005.eml", 1)       # information -> research
    ref_b = register_sample(app, "sample-001.eml", 2)       # consulting-humanitarian -> business
    with transaction(app.engine) as s:
        a = find_case(s, ref_a)
        assert a.category == "information"
        due, policy, first_handler = a.due_at, a.policy, a.handler_id
        case_id = a.id

    # 1. to a department: the routing rule among its present staff (han.dohyun is away)
    with transaction(app.engine) as s:
        a = find_case(s, ref_a)
        summary = reassign(s, app, a, "support-center", "종합지원센터 소관입니다.", "park.jiyoung", NOW)
    assert "-> lee.seoyeon (support-center)" in summary
    with transaction(app.engine) as s:
        a = find_case(s, ref_a)
        assert (a.handler_id, a.department) == ("lee.seoyeon", "support-center")
        assert a.due_at == due and a.policy == policy          # the customer's clock does not restart
        corr = s.exec(select(Correction).where(Correction.case_id == case_id)).all()
        assert [(c.kind, c.from_value, c.to_value, c.actor, c.reason) for c in corr] == [
            ("reassign", first_handler, "lee.seoyeon", "park.jiyoung", "종합지원센터 소관입니다.")]
        assert corr[0].at == NOW and corr[0].at.tzinfo is not None
        ev = s.exec(select(AuditEvent).where(AuditEvent.case_id == case_id, AuditEvent.event == "reassigned")).one()
        detail = json.loads(ev.detail)
        assert ev.actor == "park.jiyoung" and ev.at == NOW
        assert detail["from"] == first_handler and detail["to"] == "lee.seoyeon"
        assert detail["reason"] == "종합지원센터 소관입니다." and "fewest open cases" in detail["route"]
        mails = reassigned_mails(s, case_id)
        assert [m.rcpt_to for m in mails] == ["seoyeon.lee@example.org"]
        assert mails[0].status == "pending" and mails[0].template == "case-reassigned"
        text = mail_text(mails[0].raw)
        assert ref_a in text and "담당자로 변경 배정되었습니다" in text and "종합지원센터 소관입니다." in text

    # 2. to a person
    with transaction(app.engine) as s:
        a = find_case(s, ref_a)
        reassign(s, app, a, "jung.hyunwoo", "직접 지정", "kim.minsu", NOW + timedelta(minutes=5))
    with transaction(app.engine) as s:
        a = find_case(s, ref_a)
        assert (a.handler_id, a.department, a.due_at) == ("jung.hyunwoo", "business", due)
        mails = reassigned_mails(s, case_id)
        assert [m.rcpt_to for m in mails] == ["seoyeon.lee@example.org", "hyunwoo.jung@example.org"]
        assert ref_a in mail_text(mails[-1].raw) and "이서연" in mail_text(mails[-1].raw)   # previous handler

    # 3. reclassify into another department: handler chosen there, told by mail
    with transaction(app.engine) as s:
        a = find_case(s, ref_a)
        summary = reclassify(s, app, a, "vehicle-permit", "차량 반출 승인 문의입니다.", "kim.minsu", NOW)
    assert "reclassified information -> vehicle-permit" in summary
    with transaction(app.engine) as s:
        a = find_case(s, ref_a)
        assert (a.category, a.department, a.handler_id, a.due_at) == ("vehicle-permit", "support-center",
                                                                      "lee.seoyeon", due)
        mails = reassigned_mails(s, case_id)
        assert len(mails) == 3 and mails[-1].rcpt_to == "seoyeon.lee@example.org"
        assert "민원 종류가 변경되었습니다" in mail_text(mails[-1].raw)
        events = [e.event for e in s.exec(select(AuditEvent).where(AuditEvent.case_id == case_id)
                                         .order_by(AuditEvent.id)).all()]
        assert events.count("reclassified") == 1 and events.count("reassigned") == 3

    # 4. reclassify within the same department: no new handler, no mail
    with transaction(app.engine) as s:
        a = find_case(s, ref_a)
        reclassify(s, app, a, "visit-certificate", "방북증명서 문의로 정정", "kim.minsu", NOW)
    with transaction(app.engine) as s:
        a = find_case(s, ref_a)
        assert (a.category, a.handler_id, a.due_at) == ("visit-certificate", "lee.seoyeon", due)
        assert len(reassigned_mails(s, case_id)) == 3
        kinds = [c.kind for c in s.exec(select(Correction).where(Correction.case_id == case_id)
                                        .order_by(Correction.id)).all()]
        assert kinds == ["reassign", "reassign", "reclassify", "reassign", "reclassify"]
        b = find_case(s, ref_b)
        assert s.exec(select(Correction).where(Correction.case_id == b.id)).all() == []

    # 5. the report
    with transaction(app.engine) as s:
        report = correction_summary(s)
    assert report.cases_total == 2
    assert report.reclassified_cases == 1 and report.reclassified_share == pytest.approx(0.5)
    assert report.reclassifications == 2
    assert report.category_changes == {("information", "visit-certificate"): 1}
    assert report.reassignments == 3 and report.reassigned_cases == 1

    # ... and the same through ``intake eval --corrections --json`` (in-process, the real handler)
    from intake.commands import evaluate

    parser = argparse.ArgumentParser()
    parser.add_argument("--config", type=Path)
    evaluate.register(parser.add_subparsers())
    args = parser.parse_args(["--config", str(app.settings.config_file), "eval", "--corrections", "--json"])
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert args.handler(args) == 0
    out = json.loads(buf.getvalue())["corrections"]
    assert out["cases_total"] == 2 and out["reclassified_cases"] == 1 and out["reassignments"] == 3
    assert out["category_changes"] == [{"from": "information", "to": "visit-certificate", "cases": 1}]


@pytest.mark.parametrize("change,message", [
    (lambda s, app, c: reassign(s, app, c, "nobody", "사유", "kim.minsu", NOW), "neither a staff id"),
    (lambda s, app, c: reassign(s, app, c, c.handler_id, "사유", "kim.minsu", NOW), "already handled by"),
    (lambda s, app, c: reassign(s, app, c, "research", "  ", "kim.minsu", NOW), "a reason is required"),
    (lambda s, app, c: reclassify(s, app, c, "no-such-category", "사유", "kim.minsu", NOW), "unknown category"),
    (lambda s, app, c: reclassify(s, app, c, c.category, "사유", "kim.minsu", NOW), "already in category"),
])
def test_refused_corrections_change_nothing(app, change, message):
    ref = register_sample(app, "sample-001.eml", 1)
    with transaction(app.engine) as s:
        before = find_case(s, ref).model_dump()
    with pytest.raises(CorrectionError, match=message):
        with transaction(app.engine) as s:
            change(s, app, find_case(s, ref))
    with transaction(app.engine) as s:
        assert find_case(s, ref).model_dump() == before
        assert s.exec(select(Correction)).all() == []
        assert s.exec(select(Outbox).where(Outbox.purpose == "case-reassigned")).all() == []
    with pytest.raises(CorrectionError, match="no case"):
        with transaction(app.engine) as s:
            find_case(s, "2026-999999")


# --------------------------------------------------------------------------- CLI


def _cli(config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "intake", "--config", str(config), *args],
                          capture_output=True, text=True, cwd=str(REPO), timeout=120)


def test_cli_reassign_and_reclassify(app, config):
    ref = register_sample(app, "sample-001.eml", 1)            # consulting-humanitarian (business)
    with transaction(app.engine) as s:
        before = find_case(s, ref).model_dump()

    for args, wanted in [
        (("cases", "reassign", "2026-999999", "--to", "research", "--reason", "x"), "no case"),
        (("cases", "reassign", ref, "--to", "nobody", "--reason", "x"), "neither a staff id nor a department"),
        (("cases", "reclassify", ref, "--category", "nope", "--reason", "x"), "unknown category"),
    ]:
        proc = _cli(config, *args)
        assert proc.returncode != 0, proc.stdout
        assert wanted in proc.stderr and "nothing changed" in proc.stderr
    with transaction(app.engine) as s:
        assert find_case(s, ref).model_dump() == before
        assert s.exec(select(Correction)).all() == []

    proc = _cli(config, "cases", "reassign", ref, "--to", "research", "--reason", "조사 자료 문의", "--actor",
                "park.jiyoung")
    assert proc.returncode == 0, proc.stderr
    assert "-> choi.junho (research)" in proc.stdout
    proc = _cli(config, "cases", "reclassify", ref, "--category", "training", "--reason", "교육 신청입니다.")
    assert proc.returncode == 0, proc.stderr
    with transaction(app.engine) as s:
        case = find_case(s, ref)
        assert (case.category, case.department, case.due_at) == ("training", "business", before["due_at"])
        rows = s.exec(select(Correction).order_by(Correction.id)).all()
        assert [(r.kind, r.actor) for r in rows][:2] == [("reassign", "park.jiyoung"), ("reclassify", rows[1].actor)]
        assert rows[1].actor.startswith("cli")
        assert rows[-1].kind == "reassign" and rows[-1].from_value == "choi.junho"
    show = _cli(config, "cases", "show", ref)
    assert show.returncode == 0, show.stderr
    assert "reassigned" in show.stdout and "reclassified" in show.stdout
