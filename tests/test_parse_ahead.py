"""ParseAhead: the pure half of the process stage in a forked helper, against a real app (no servers)."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import signal
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import pytest

from intake.adapters.raw_store import RawStore
from intake.app import build_app
from intake.db import upgrade
from intake.devservers.localconfig import offline_config
from intake.domain.decide import decide_message
from intake.domain.mailparse import parse_message
from intake.domain.records import Kind
from intake.forking import fork_child
from intake.parse_ahead import Ahead, ParseAhead, Request
from intake.settings import load_settings

SAMPLES = Path(__file__).parent / "data" / "samples"
RECEIVED = datetime(2026, 4, 14, 1, 2, 3, tzinfo=timezone.utc)
GONE = "parse-ahead helper is gone"


class Hung(Exception):
    """Not an OSError/EOFError: ParseAhead must not be able to swallow it."""


@contextmanager
def deadline(seconds: float):
    """Turn a hang into a test failure (the alarm is not inherited by forked children)."""
    def on_alarm(signum, frame):
        raise Hung(f"still blocked after {seconds} s")
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture(scope="module")
def built_app(tmp_path_factory):
    """A real app as ``bench/bench_process.py`` builds it (unused server ports: nothing connects);
    built once per module (loading the rules takes a third of a second)."""
    tmp = tmp_path_factory.mktemp("parse-ahead")
    app = build_app(load_settings(offline_config(tmp)))
    upgrade(app.engine)
    yield app
    app.engine.dispose()


@pytest.fixture
def app(built_app, tmp_path):
    """The module's app with a store of its own per test (what the helper stores is seen in isolation)."""
    return dataclasses.replace(built_app, store=RawStore(tmp_path / "store"))


def close_or_kill(pa: ParseAhead) -> None:
    """Close (at once when the test closed it already); a helper that does not end is killed, so that
    a regression fails the test instead of leaving a process behind."""
    try:
        with deadline(10):
            pa.close()
    except Hung:
        os.kill(pa._child.pid, signal.SIGKILL)
        os.waitpid(pa._child.pid, 0)
        raise


@pytest.fixture
def ahead(app):
    pa = ParseAhead(app).start()
    yield pa
    close_or_kill(pa)


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def stored(app, *names: str) -> list[str]:
    return [str(blob.path) for blob in app.store.put_messages([sample(n) for n in names])]


def in_process(app, name: str, page_text: str | None = None):
    mail = parse_message(sample(name), RECEIVED)
    return mail, decide_message(mail, app.rules, known_message_ids=lambda _: None, page_text=page_text)


def attachment_path(app, payload: bytes) -> Path:
    sha = hashlib.sha256(payload).hexdigest()
    return Path(app.store.root) / "att" / sha[:2] / sha[2:4] / f"{sha}.bin"


def gone_warnings(caplog) -> int:
    return sum(GONE in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


@pytest.mark.parametrize("name, page_text, kind", [
    ("sample-001.eml", None, Kind.CASE),                              # e-mail case
    ("sample-022.eml", None, Kind.CASE),                              # e-mail case with attachments
    ("sample-010.eml", "FAX 02-123-4567\n협회 귀중\n\f\n둘째 쪽", Kind.CASE),  # fax, with OCR page text
    ("sample-012.eml", None, Kind.CASE),                              # post scan
    ("sample-021.eml", None, Kind.FOLLOW_UP),                         # follow-up without references
    ("sample-052.eml", None, Kind.AUTO_REPLY),                        # auto-reply without references
    ("sample-070.eml", None, Kind.SPAM),
])
def test_the_helper_parses_and_decides_as_the_main_process_would(app, ahead, name, page_text, kind):
    (path,) = stored(app, name)
    ahead.submit([Request(7, path, RECEIVED, page_text)])

    with deadline(10):
        done = ahead.take(7)

    mail, decision = in_process(app, name, page_text)
    assert isinstance(done, Ahead)
    assert (done.mail.subject, done.mail.from_address, done.mail.text) == (mail.subject, mail.from_address, mail.text)
    assert done.mail == mail
    assert done.decision is not None and done.decision.kind.kind is kind
    assert done.decision == decision


def test_several_requests_in_one_submit_each_get_their_own_answer(app, ahead):
    names = ["sample-001.eml", "sample-002.eml", "sample-003.eml", "sample-010.eml"]
    paths = stored(app, *names)
    ahead.submit([Request(100 + i, p, RECEIVED, None) for i, p in enumerate(paths)])

    with deadline(10):
        done = [ahead.take(100 + i) for i in reversed(range(len(names)))][::-1]   # taken out of order

    assert [d.mail.subject for d in done] == [in_process(app, n)[0].subject for n in names]
    assert [d.decision for d in done] == [in_process(app, n)[1] for n in names]
    with deadline(5):
        assert ahead.take(100) is None, "an answer is handed out once"


@pytest.mark.parametrize("name", ["sample-018.eml", "sample-023.eml", "sample-011.eml", "sample-004.eml"],
                         ids=["reply-case", "follow-up-with-attachment", "bounce", "auto-reply"])
def test_a_message_with_references_is_left_for_the_parent_to_decide(app, ahead, name):
    (path,) = stored(app, name)
    mail, _ = in_process(app, name)
    assert mail.in_reply_to or mail.references or mail.content_type == "multipart/report"

    ahead.submit([Request(1, path, RECEIVED, None)])
    with deadline(10):
        done = ahead.take(1)

    assert done is not None and done.decision is None
    assert done.mail == mail, "the parse is still handed over"
    assert not any(attachment_path(app, a.payload).exists() for a in mail.attachments), \
        "attachments of an undecided message are left to the process stage"


def test_a_missing_raw_file_is_left_to_the_parent_and_the_helper_goes_on(app, ahead, tmp_path, caplog):
    (path,) = stored(app, "sample-001.eml")
    ahead.submit([Request(1, str(tmp_path / "no-such.eml"), RECEIVED, None)])
    ahead.submit([Request(2, path, RECEIVED, None)])

    with deadline(10):
        assert ahead.take(1) is None
        second = ahead.take(2)

    assert second is not None and second.decision == in_process(app, "sample-001.eml")[1]
    assert gone_warnings(caplog) == 0


def test_take_of_an_id_never_submitted_returns_none_at_once(app, ahead):
    (path,) = stored(app, "sample-001.eml")
    ahead.submit([Request(1, path, RECEIVED, None)])
    t0 = time.monotonic()
    with deadline(5):
        assert ahead.take(999) is None
    assert time.monotonic() - t0 < 0.5
    with deadline(10):
        assert ahead.take(1) is not None, "the submitted one is still answered"


def test_a_killed_helper_makes_take_return_none_promptly(app, ahead, tmp_path, caplog):
    first, later = stored(app, "sample-001.eml", "sample-002.eml")
    ahead.submit([Request(1, first, RECEIVED, None)])
    with deadline(10):
        assert ahead.take(1) is not None              # the helper was working
    fifo = tmp_path / "blocks.eml"
    os.mkfifo(fifo)                                    # the helper blocks opening it: no answer can come
    ahead.submit([Request(2, str(fifo), RECEIVED, None)])
    pid = ahead._child.pid

    os.kill(pid, signal.SIGKILL)
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)  # dead (left unreaped for close())

    t0 = time.monotonic()
    with deadline(10):
        assert ahead.take(2) is None                   # was pending: EOF on the answers
        ahead.submit([Request(3, later, RECEIVED, None)])
        assert ahead.take(3) is None                   # submitted after the death: parent's job
        assert ahead.take(4) is None
    assert time.monotonic() - t0 < 2
    assert gone_warnings(caplog) == 1

    with deadline(10):
        ahead.close()                                  # does not raise (the bad end is only logged)
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)                    # reaped


@pytest.mark.parametrize("name", ["sample-022.eml", "sample-010.eml", "sample-037.eml"],
                         ids=["email-two-pdfs", "fax-tif", "traversal-filename"])
def test_the_helper_stores_the_attachments_of_a_case(app, ahead, name):
    (path,) = stored(app, name)
    mail, decision = in_process(app, name)
    assert decision.kind.kind is Kind.CASE and mail.attachments
    targets = [attachment_path(app, a.payload) for a in mail.attachments]
    assert not any(t.exists() for t in targets)

    ahead.submit([Request(5, path, RECEIVED, None)])
    with deadline(10):
        done = ahead.take(5)

    assert done is not None and done.decision == decision
    for target, attachment in zip(targets, mail.attachments):
        assert target.read_bytes() == attachment.payload
    att_root = Path(app.store.root) / "att"
    assert {p for p in att_root.rglob("*") if p.is_file()} == set(targets), "nothing else, no temporaries"


def test_close_reaps_the_helper_and_a_second_close_is_harmless(app, caplog):
    pa = ParseAhead(app).start()
    (path,) = stored(app, "sample-001.eml")
    pa.submit([Request(1, path, RECEIVED, None)])    # answered, never taken: close still ends it
    pid = pa._child.pid

    close_or_kill(pa)
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], "it ended well"

    pa.close()                                         # the second time: nothing to do


def test_children_forked_later_do_not_hold_the_parse_ahead_pipe_ends(app, ahead):
    parent_ends = (ahead._requests_w, ahead._results_r)
    gate_r, gate_w = os.pipe()

    def still_open() -> list[int]:
        open_ends = []
        for fd in parent_ends:
            try:
                os.fstat(fd)
                open_ends.append(fd)
            except OSError:
                pass
        os.read(gate_r, 1)                              # stay alive while the parent closes ParseAhead
        return open_ends or True

    sibling = fork_child("sibling", app, still_open, close_in_child=[gate_w])
    try:
        close_or_kill(ahead)                           # the helper sees EOF although the sibling lives
        assert not sibling.finished(0)
    finally:
        os.write(gate_w, b"x")
        os.close(gate_w)
        os.close(gate_r)
        result = sibling.result()
    assert result is True
