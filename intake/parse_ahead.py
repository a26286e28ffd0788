"""Parse-ahead: the pure first half of the process stage, in a helper process.

Per message the process stage parses the raw bytes (``parse_message``) and
decides what they are (``decide_message``: channel, kind, category, contact
data, …), both pure; then it writes the effects in the database. In ``run
--once`` the interpreter lock makes that one CPU's work, so ``ParseAhead`` runs
the pure half in a forked child for the rows the runner has claimed, while the
parent applies the groups before them: the child is usually a group ahead.

What goes over the pipes: the parent sends (row id, raw path, received time,
page text) per claimed row; the child reads the raw file itself and answers
with the pickled ``ParsedMail`` and ``MessageDecision``. Nothing durable
depends on the child: it holds no database connection. It does store the
attachments of cases and follow-ups in the content-addressed store, a group at
a time (one sync instead of one per message, and none inside the stage's
write transaction); the stage finds them there, or stores them itself.

The child decides without the database. Its ``known_message_ids`` lookup
answers "unknown" and notes that it was asked; a message whose decision
consulted it (a reply, a bounce: it carries references) is decided again in
the parent, inside the transaction, where the answers are current. So is any
message the child could not handle (the parent's own parse raises the error,
and the usual catch-all records it), and every message after the child died.

Fork it before starting threads (as the other helpers of ``run --once``).
"""

from __future__ import annotations

import logging
import os
import pickle
import struct
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from intake.domain.decide import decide_message
from intake.domain.mailparse import parse_message
from intake.domain.records import Kind, MessageDecision, ParsedMail
from intake.forking import ChildHandle, fork_child, keep_from_children, release_from_children

log = logging.getLogger("intake.runner")

_HEADER = struct.Struct("!I")


@dataclass(frozen=True)
class Request:
    inbound_id: int
    raw_path: str
    received_at: datetime
    page_text: str | None


@dataclass(frozen=True)
class Ahead:
    """The child's work on one message: its parse and a decision that needs no database lookup."""

    mail: ParsedMail
    decision: MessageDecision | None    # None: decide it in the parent (it consulted the Message-ID lookup)


def work_ahead(app, request: Request) -> Ahead:
    """Parse and decide one message without the database (in the child); the decision is left to
    the parent when it consulted the Message-ID lookup (the parent's answers are current)."""
    mail = parse_message(app.store.read(request.raw_path), request.received_at)
    asked: list[str] = []

    def unknown(message_id: str) -> None:
        asked.append(message_id)
        return None

    decision = decide_message(mail, app.rules, known_message_ids=unknown, page_text=request.page_text)
    return Ahead(mail, None if asked else decision)


def store_attachments_ahead(app, done: list[Ahead]) -> None:
    """Store the attachments of the cases and follow-ups among ``done`` (the process stage stores
    exactly those; the store is content-addressed, so the stage then finds them there), in one
    durable batch, outside the process stage's transaction. A failure is left to the stage."""
    keep = (Kind.CASE, Kind.FOLLOW_UP)
    payloads = [att.payload for a in done if a.decision is not None and a.decision.kind.kind in keep
                for att in a.mail.attachments]
    if payloads:
        try:
            app.store.put_attachments(payloads)
        except OSError as exc:
            log.warning("- parse-ahead could not store attachments (the process stage will): %s", exc)


class ParseAhead:
    """``chunk``: answers are sent this many at a time (the process stage's group size), each chunk
    after its attachments are stored."""

    def __init__(self, app, chunk: int = 16):
        self.app = app
        self.chunk = chunk
        self._child: ChildHandle | None = None
        self._requests_w: int | None = None
        self._results_r: int | None = None
        self._ready: dict[int, Ahead | None] = {}
        self._pending: set[int] = set()
        self._dead = False

    def start(self) -> "ParseAhead":
        req_r, req_w = os.pipe()
        res_r, res_w = os.pipe()
        self._child = fork_child("parse-ahead", self.app, lambda: self._serve(req_r, res_w),
                                 close_in_child=[req_w, res_r])
        os.close(req_r)
        os.close(res_w)
        for fd in (req_w, res_r):
            keep_from_children(fd)
        self._requests_w, self._results_r = req_w, res_r
        return self

    # -- parent ------------------------------------------------------------------
    def submit(self, requests: Iterable[Request]) -> None:
        """Ask for these rows' work (call ``take`` for each later)."""
        batch = [r for r in requests if r.inbound_id not in self._pending]
        if self._dead or not batch:
            return
        try:
            _send(self._requests_w, batch)
        except OSError as exc:
            self._died(f"cannot reach it: {exc}")
            return
        self._pending.update(r.inbound_id for r in batch)

    def take(self, inbound_id: int) -> Ahead | None:
        """The child's work on the row, waiting for it; None when the parent must do it itself
        (not submitted, the child failed on it, or the child is gone)."""
        while inbound_id in self._pending and inbound_id not in self._ready and not self._dead:
            try:
                answers = _receive(self._results_r)
            except (OSError, EOFError, pickle.UnpicklingError) as exc:
                self._died(f"no answer: {exc}")
                break
            for answer_id, ahead in answers:
                self._ready[answer_id] = ahead
        self._pending.discard(inbound_id)
        return self._ready.pop(inbound_id, None)

    def close(self) -> None:
        """No more requests: the child exits once it has answered what it was asked."""
        if self._requests_w is None:
            return
        release_from_children(self._requests_w)
        os.close(self._requests_w)
        self._requests_w = None
        try:
            while True:                      # let it finish writing, then reap it
                _receive(self._results_r)
        except (OSError, EOFError, pickle.UnpicklingError):
            pass
        release_from_children(self._results_r)
        os.close(self._results_r)
        try:
            self._child.result()
        except Exception as exc:             # nothing durable depended on it
            log.warning("- parse-ahead helper ended badly: %s", exc)

    def _died(self, why: str) -> None:
        if not self._dead:
            log.warning("- parse-ahead helper is gone (%s); parsing in the main process from now on", why)
        self._dead = True

    # -- child -------------------------------------------------------------------
    def _serve(self, requests_r: int, results_w: int) -> int:
        handled = 0
        while True:
            try:
                batch = _receive(requests_r)
            except EOFError:
                break
            for i in range(0, len(batch), self.chunk):
                answers = []
                for request in batch[i:i + self.chunk]:
                    try:
                        ahead = work_ahead(self.app, request)
                    except Exception:       # the parent parses it again and records the error
                        ahead = None
                    answers.append((request.inbound_id, ahead))
                store_attachments_ahead(self.app, [a for _, a in answers if a is not None])
                try:
                    _send(results_w, answers)
                except BrokenPipeError:      # the parent is gone: nothing to do
                    return handled
                handled += len(answers)
        os.close(results_w)
        return handled


def _send(fd: int, value) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def _receive(fd: int):
    (size,) = _HEADER.unpack(_read_exactly(fd, _HEADER.size))
    return pickle.loads(_read_exactly(fd, size))


def _read_exactly(fd: int, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError("pipe closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
