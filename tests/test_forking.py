"""fork_child: a helper process's result, its error and its death reach the parent."""

from __future__ import annotations

import os
import signal
from types import SimpleNamespace

import pytest

from intake.db import make_engine
from intake.forking import ChildFailed, fork_child


@pytest.fixture
def app(tmp_path):
    return SimpleNamespace(engine=make_engine(f"sqlite:///{tmp_path / 'f.db'}"))


def test_the_result_comes_back(app):
    child = fork_child("adder", app, lambda: {"sum": 1 + 2, "pid": os.getpid()})
    value = child.result()
    assert value["sum"] == 3 and value["pid"] != os.getpid()


def test_an_error_in_the_child_is_raised_in_the_parent(app):
    def fail():
        raise ValueError("bad input in the child")
    with pytest.raises(ValueError, match="bad input in the child"):
        fork_child("failer", app, fail).result()


def test_a_killed_child_is_reported(app):
    child = fork_child("victim", app, lambda: os.kill(os.getpid(), signal.SIGKILL))
    with pytest.raises(ChildFailed, match="victim"):
        child.result()


def test_descriptors_named_are_closed_in_the_child(app):
    r, w = os.pipe()
    child = fork_child("closer", app, lambda: 0, close_in_child=[w])
    child.result()
    os.close(w)
    assert os.read(r, 1) == b"", "no one holds the write end any more: end of file"
    os.close(r)


def test_finished_reports_a_child_that_has_not_ended_yet(app):
    r, w = os.pipe()
    child = fork_child("waiter", app, lambda: os.read(r, 1), close_in_child=[w])
    assert not child.finished(0.05)
    os.write(w, b"x")
    assert child.finished(10)
    assert child.result() == b"x"
    os.close(w)
    os.close(r)
