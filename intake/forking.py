"""Helper processes for ``run --once``: fork, run one function, hand its result back.

``fork_child(body, close_in_child)`` forks; the child closes the descriptors it
must not hold (pipe ends that signal EOF to others), drops the parent's
database connections (``engine.dispose(close=False)``: they are the
parent's), makes a crash point in it kill the parent too (the test sees the
whole run die there), runs ``body()`` and writes the pickled result to a pipe.
``ChildHandle.result()`` in the parent reads it and reaps the child; an
exception in ``body`` is raised again in the parent (as ``ChildFailed`` naming
it when it cannot be pickled), and so is a child that died without a result.
Fork before starting threads.

A pipe end whose EOF tells a child to finish must not be held open by its
siblings: the parent registers such ends with ``keep_from_children`` and every
child forked later closes them first.
"""

from __future__ import annotations

import logging
import os
import pickle
import select
from dataclasses import dataclass
from typing import Callable, Iterable

from intake import testing_hooks

log = logging.getLogger("intake")


_PARENT_ONLY: set[int] = set()


def keep_from_children(fd: int) -> None:
    """Children forked from now on close ``fd`` (until ``release_from_children``)."""
    _PARENT_ONLY.add(fd)


def release_from_children(fd: int) -> None:
    _PARENT_ONLY.discard(fd)


class ChildFailed(RuntimeError):
    pass


@dataclass
class ChildHandle:
    name: str
    pid: int
    result_fd: int

    def finished(self, timeout: float = 0) -> bool:
        """Whether the child has written its result or died (waiting up to ``timeout`` seconds)."""
        return bool(select.select([self.result_fd], [], [], timeout)[0])

    def result(self):
        chunks = []
        while chunk := os.read(self.result_fd, 1 << 16):
            chunks.append(chunk)
        os.close(self.result_fd)
        _, status = os.waitpid(self.pid, 0)
        if status != 0 or not chunks:
            raise ChildFailed(f"{self.name} (pid {self.pid}) exited with status {status:#x}")
        ok, value = pickle.loads(b"".join(chunks))
        if not ok:
            raise value
        return value


def fork_child(name: str, app, body: Callable[[], object], close_in_child: Iterable[int] = ()) -> ChildHandle:
    result_r, result_w = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(result_r)
            for fd in set(close_in_child) | _PARENT_ONLY:
                os.close(fd)
            _PARENT_ONLY.clear()
            app.engine.dispose(close=False)
            testing_hooks.kill_parent_on_crash(parent)
            _write_all(result_w, _outcome(body), name)
            code = 0
        except BaseException:                          # noqa: BLE001 - reported by the exit code
            log.exception("- %s failed", name)
        finally:
            logging.shutdown()
            os._exit(code)
    os.close(result_w)
    return ChildHandle(name, pid, result_r)


def _outcome(body) -> bytes:
    try:
        return pickle.dumps((True, body()))
    except Exception as exc:                           # handed to the parent, raised there
        try:
            return pickle.dumps((False, exc))
        except Exception:                              # noqa: BLE001 - an unpicklable error
            return pickle.dumps((False, ChildFailed(f"{type(exc).__name__}: {exc}")))


def _write_all(fd: int, data: bytes, name: str) -> None:
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view):]
    except BrokenPipeError:        # the parent is gone (killed); the work is done all the same
        log.warning("- %s finished after run --once ended", name)
    os.close(fd)
