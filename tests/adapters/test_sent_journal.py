"""The accepted-mail journal: what it records is found again, across rotation and other processes."""

from __future__ import annotations

import os
import signal

from intake.adapters.sent_journal import SentJournal


def test_recorded_ids_are_found_only_with_their_message_id(tmp_path):
    j = SentJournal(tmp_path / "j.log")
    j.record(1, "<a@x>")
    j.record(2, "<b@x>")
    assert j.accepted({1: "<a@x>", 2: "<other@x>", 3: "<c@x>"}) == {1}
    assert j.accepted({}) == set()


def test_missing_journal_means_nothing_accepted(tmp_path):
    assert SentJournal(tmp_path / "none.log").accepted({1: "<a@x>"}) == set()


def test_rotation_keeps_the_previous_file_readable(tmp_path):
    j = SentJournal(tmp_path / "j.log", max_bytes=20)
    j.record(1, "<first-message@example.org>")
    j.rotate_if_large()
    j.record(2, "<second@x>")
    assert (tmp_path / "j.log.1").exists()
    assert j.accepted({1: "<first-message@example.org>", 2: "<second@x>"}) == {1, 2}
    j.rotate_if_large()          # small again: stays
    assert j.accepted({2: "<second@x>"}) == {2}


def test_a_line_written_just_before_sigkill_survives(tmp_path):
    path = tmp_path / "j.log"
    pid = os.fork()
    if pid == 0:   # child: write and die without any cleanup
        SentJournal(path).record(7, "<killed@x>")
        os.kill(os.getpid(), signal.SIGKILL)
    os.waitpid(pid, 0)
    assert SentJournal(path).accepted({7: "<killed@x>"}) == {7}


def test_appends_from_two_writers_do_not_interleave(tmp_path):
    a, b = SentJournal(tmp_path / "j.log"), SentJournal(tmp_path / "j.log")
    for i in range(200):
        (a if i % 2 else b).record(i, f"<m{i}@x>")
    assert a.accepted({i: f"<m{i}@x>" for i in range(200)}) == set(range(200))
