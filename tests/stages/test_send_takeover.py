"""Outgoing mail claimed by a dead sender is taken over at once, and never sent twice: a row the
server had accepted just before the kill (the accepted-mail journal lists it) is marked sent; the
others are sent once. Real SQLite database, real SMTP sink."""

from __future__ import annotations

import os
import socket
import subprocess
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from intake import workers
from intake.adapters.smtp_mailer import SmtpMailer
from intake.db import transaction
from intake.models import Outbox, Worker
from intake.stages.send import deliver_due
from tests.devservers_fixtures import dovecot, smtp_sink, tls_ca  # noqa: F401
from tests.e2e.harness import make_env

pytestmark = pytest.mark.integration


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def mail(n: int) -> bytes:
    return (f"From: office@sonosa.or.kr\r\nTo: c{n}@example.kr\r\nSubject: ack {n}\r\n"
            f"Message-ID: <ack{n}@sonosa.or.kr>\r\n\r\nbody {n}\r\n").encode()


@pytest.mark.parametrize("settle", [False, True])
def test_a_dead_senders_rows_are_taken_over_and_the_accepted_one_is_not_sent_again(
        tmp_path, dovecot, smtp_sink, settle):  # noqa: F811
    env = make_env(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path}/intake.db")
    app = env.app()
    now = datetime.now(timezone.utc)
    host = socket.gethostname()
    with transaction(app.engine) as session:
        session.add(Worker(id="killed:1", host=host, pid=dead_pid(), started_at=now, heartbeat_at=now))
        session.add(Worker(id="alive:2", host=host, pid=os.getpid(), started_at=now, heartbeat_at=now))
        for n, owner in [(1, "killed:1"), (2, "killed:1"), (3, "alive:2")]:
            session.add(Outbox(id=n, purpose="acknowledgement", message_id=f"<ack{n}@sonosa.or.kr>",
                               mail_from="office@sonosa.or.kr", rcpt_to=f"c{n}@example.kr", raw=mail(n),
                               status="sending", claimed_by=owner, claimed_until=now + timedelta(minutes=5),
                               next_attempt_at=now, created_at=now))
    app.sent_journal.record(1, "<ack1@sonosa.or.kr>")    # the server took 1; the kill came before the commit
    assert workers.beat(app.engine, app.worker_id, now) == 1          # killed:1's pid is gone
    mailer = SmtpMailer(app.settings.smtp)
    try:
        report = deliver_due(app, mailer, settle=settle)
    finally:
        mailer.close()
    assert report.sent == 2
    assert sorted(m.rcpt_to for m in smtp_sink.messages()) == [["c2@example.kr"]]   # only 2 went out
    with transaction(app.engine) as session:
        status = {o.id: (o.status, o.claimed_by) for o in session.exec(select(Outbox)).all()}
    assert status[1][0] == status[2][0] == "sent"
    assert status[3] == ("sending", "alive:2")           # a live sender's claim stays its own
    app.engine.dispose()
