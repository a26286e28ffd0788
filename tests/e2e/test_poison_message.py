"""A message that kills the process every time it is worked on (intake/claims.py), with
``intake run --once`` restarted after each death as systemd's ``Restart=`` would: after
``max_attempts`` deaths it is set aside as ProcessDied, every other message is a case with
one acknowledgement, and the restarts stop."""

from __future__ import annotations

import signal

import pytest
from sqlmodel import select

from intake.models import Case, InboundMessage
from tests.e2e.harness import make_env, sample_bytes

OTHERS = ["sample-001.eml", "sample-002.eml", "sample-003.eml", "sample-005.eml", "sample-006.eml"]
POISON_ID = b"<poison-20260317104147.8421121562@mail.seoul-it.co.kr>"
MAX_ATTEMPTS = 3          # [processing] max_attempts of the local test config


def poison_mail() -> bytes:
    raw = sample_bytes("sample-004.eml")
    return raw.replace(b"<20260317104147.8421121562@mail.seoul-it.co.kr>", POISON_ID, 1)


def _restart_until_it_stays_up(env) -> list[int]:
    codes = []
    for _ in range(MAX_ATTEMPTS + 3):
        done = env.run_cli("run", "--once", env={"INTAKE_CRASH_ON_MESSAGE": "poison-"})
        codes.append(done.returncode)
        if done.returncode == 0:
            return codes
        assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    raise AssertionError(f"still dying after {len(codes)} starts: {codes}")


def _check(env, sink, codes: list[int]) -> None:
    assert codes == [-signal.SIGKILL] * MAX_ATTEMPTS + [0], codes
    with env.session() as s:
        rows = s.exec(select(InboundMessage)).all()
        poison = [r for r in rows if r.message_id == POISON_ID.decode()]
        assert len(poison) == 1 and poison[0].stage == "set-aside"
        assert poison[0].last_error.startswith(f"ProcessDied: the process died {MAX_ATTEMPTS} times")
        others = [r for r in rows if r not in poison]
        assert len(others) == len(OTHERS) and all(r.stage == "done" for r in others), \
            [(r.id, r.stage, r.last_error) for r in others]
        assert len(s.exec(select(Case)).all()) == len(OTHERS)
    acks = [m for m in sink.messages() if b"Auto-Submitted: auto-replied" in m.raw]
    assert len(acks) == len(OTHERS)
    print(f"\npoison: starts={len(codes)} deaths={codes.count(-signal.SIGKILL)} cases={len(OTHERS)} "
          f"acks={len(acks)} set_aside=1")


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_message_that_kills_the_process_is_set_aside_and_the_others_go_on(
        tmp_path, dovecot, smtp_sink, request, database):
    db_url = (f"sqlite:///{tmp_path / 'intake.db'}" if database == "sqlite"
              else request.getfixturevalue("fresh_postgres_url"))
    env = make_env(tmp_path, dovecot, smtp_sink, db_url)
    env.append(sample_bytes(OTHERS[0]))
    env.append(poison_mail())                 # among the others: its deaths must not hold them up
    for name in OTHERS[1:]:
        env.append(sample_bytes(name))
    _check(env, smtp_sink, _restart_until_it_stays_up(env))
