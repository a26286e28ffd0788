"""RawStore: content-addressed, durable batches; the syncfs seam and its file-by-file fallback."""

from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path

import pytest

from intake.adapters.raw_store import RawStore, StoredBlob, system_syncfs

BLOBS = [b"From: a@b.kr\r\nSubject: one\r\n\r\nfirst\r\n",
         b"From: c@d.kr\r\nSubject: two\r\n\r\nsecond\r\n",
         bytes(range(256)) * 3,
         b"x"]


def expected_path(root: Path, kind: str, data: bytes, suffix: str) -> Path:
    sha = hashlib.sha256(data).hexdigest()
    return root / kind / sha[:2] / sha[2:4] / f"{sha}{suffix}"


def temporaries(root: Path) -> list[str]:
    return [os.path.join(d, f) for d, _, files in os.walk(root) for f in files if f.endswith(".tmp")]


def stored_files(root: Path) -> set[Path]:
    return {Path(d, f) for d, _, files in os.walk(root) for f in files}


class Recorder:
    """A syncfs stand-in that notes, at each call, which final files and temporaries exist."""

    def __init__(self, root: Path, targets: list[Path] = (), fail_on: int | None = None,
                 error: type[BaseException] = OSError):
        self.root, self.targets, self.fail_on, self.error = root, list(targets), fail_on, error
        self.calls: list[dict] = []

    def __call__(self, fd: int) -> None:
        os.fstat(fd)                                   # a real, open descriptor
        self.calls.append({"final": [t.exists() for t in self.targets], "tmp": len(temporaries(self.root))})
        if self.fail_on == len(self.calls):
            raise self.error(5, "syncfs failed (test)") if self.error is OSError else self.error("boom (test)")


@pytest.mark.parametrize("syncfs", ["system", "recorder", None], ids=["syncfs=system", "syncfs=callable",
                                                                      "syncfs=None"])
@pytest.mark.parametrize("method, kind, suffix", [("put_messages", "raw", ".eml"),
                                                  ("put_attachments", "att", ".bin")])
def test_a_batch_is_stored_content_addressed_in_order(tmp_path, syncfs, method, kind, suffix):
    root = tmp_path / "store"
    chosen = {"system": True, "recorder": Recorder(root), None: None}[syncfs]
    store = RawStore(root, syncfs=chosen)

    blobs = getattr(store, method)(BLOBS)

    assert [type(b) for b in blobs] == [StoredBlob] * len(BLOBS)
    for blob, data in zip(blobs, BLOBS):
        assert blob.sha256 == hashlib.sha256(data).hexdigest()
        assert blob.size == len(data)
        assert blob.path == expected_path(root, kind, data, suffix)
        assert blob.path.read_bytes() == data
        assert store.read(blob.path) == data
    assert stored_files(root) == {b.path for b in blobs}, "nothing but the hash-named files"
    assert temporaries(root) == []


@pytest.mark.parametrize("single, batch", [("put_message", "put_messages"), ("put_attachment", "put_attachments")])
def test_the_single_blob_forms_are_the_batch_of_one(tmp_path, single, batch):
    store = RawStore(tmp_path, syncfs=None)
    one = getattr(store, single)(BLOBS[0])
    assert one == getattr(store, batch)([BLOBS[0]])[0]
    assert one.path.read_bytes() == BLOBS[0]


def test_messages_and_attachments_of_the_same_bytes_are_kept_apart(tmp_path):
    store = RawStore(tmp_path, syncfs=None)
    message, attachment = store.put_message(b"same"), store.put_attachment(b"same")
    assert message.sha256 == attachment.sha256
    assert message.path.relative_to(tmp_path).parts[0] == "raw" and message.path.suffix == ".eml"
    assert attachment.path.relative_to(tmp_path).parts[0] == "att" and attachment.path.suffix == ".bin"


def test_duplicates_in_a_batch_and_blobs_stored_earlier(tmp_path):
    rec = Recorder(tmp_path)
    store = RawStore(tmp_path, syncfs=rec)
    earlier = store.put_messages([BLOBS[0]])
    assert len(rec.calls) == 2
    mtime = earlier[0].path.stat().st_mtime_ns

    blobs = store.put_messages([BLOBS[1], BLOBS[0], BLOBS[1], BLOBS[2], BLOBS[1]])

    assert [b.path for b in blobs] == [expected_path(tmp_path, "raw", d, ".eml")
                                       for d in (BLOBS[1], BLOBS[0], BLOBS[1], BLOBS[2], BLOBS[1])]
    assert blobs[0] == blobs[2] == blobs[4]
    assert blobs[1] == earlier[0]
    assert earlier[0].path.stat().st_mtime_ns == mtime, "a blob already stored is not written again"
    for blob, data in zip(blobs, (BLOBS[1], BLOBS[0], BLOBS[1], BLOBS[2], BLOBS[1])):
        assert blob.path.read_bytes() == data
    assert len(stored_files(tmp_path)) == 3
    assert temporaries(tmp_path) == []


def test_a_truncated_file_under_the_hash_name_is_written_again(tmp_path):
    store = RawStore(tmp_path, syncfs=Recorder(tmp_path))
    target = expected_path(tmp_path, "raw", BLOBS[0], ".eml")
    target.parent.mkdir(parents=True)
    target.write_bytes(BLOBS[0][:5])
    assert store.put_message(BLOBS[0]).path.read_bytes() == BLOBS[0]


@pytest.mark.parametrize("first, second, calls_for_second", [
    ([BLOBS[0], BLOBS[1]], [BLOBS[2]], 2),                 # a new blob: synced before and after the renames
    ([BLOBS[0], BLOBS[1]], [BLOBS[1], BLOBS[0]], 0),       # all stored already: nothing written, no sync
    ([BLOBS[0]], [BLOBS[0], BLOBS[3], BLOBS[3]], 2),       # one new (twice) among old ones: one batch, two syncs
    ([BLOBS[0]], [], 0),                                   # an empty batch
])
def test_syncfs_is_called_twice_per_batch_that_writes(tmp_path, first, second, calls_for_second):
    targets = [expected_path(tmp_path, "raw", d, ".eml") for d in BLOBS]
    rec = Recorder(tmp_path, targets)
    store = RawStore(tmp_path, syncfs=rec)
    store.put_messages(first)
    assert len(rec.calls) == 2
    rec.calls.clear()

    store.put_messages(second)

    assert len(rec.calls) == calls_for_second
    if calls_for_second:
        new = {d for d in second if d not in first}
        before, after = rec.calls
        assert before["tmp"] == len(new), "first sync: the new data is in temporaries ..."
        assert not any(ex for ex, d in zip(before["final"], BLOBS) if d in new), "... not yet under hash names"
        assert after["tmp"] == 0 and all(ex for ex, d in zip(after["final"], BLOBS) if d in new), \
            "second sync: after the renames"


@pytest.mark.parametrize("failing_call", [1, 2], ids=["fails-before-renames", "fails-after-renames"])
def test_a_failing_syncfs_falls_back_to_file_by_file(tmp_path, caplog, failing_call):
    rec = Recorder(tmp_path, fail_on=failing_call, error=OSError)
    store = RawStore(tmp_path, syncfs=rec)

    blobs = store.put_messages(BLOBS[:2])             # completes, durably, file by file

    assert [b.path.read_bytes() for b in blobs] == BLOBS[:2]
    assert temporaries(tmp_path) == []
    assert len(rec.calls) == failing_call
    assert sum("syncfs" in r.getMessage() and "failed" in r.getMessage() for r in caplog.records) == 1

    later = store.put_messages(BLOBS[2:])              # from now on: write_atomically, no syncfs
    assert [b.path.read_bytes() for b in later] == BLOBS[2:]
    assert len(rec.calls) == failing_call
    assert temporaries(tmp_path) == []


def test_an_error_in_the_middle_of_a_batch_leaves_no_trace_and_propagates(tmp_path):
    targets = [expected_path(tmp_path, "raw", d, ".eml") for d in BLOBS]
    rec = Recorder(tmp_path, targets, fail_on=1, error=RuntimeError)
    store = RawStore(tmp_path, syncfs=rec)

    with pytest.raises(RuntimeError, match="boom"):
        store.put_messages(BLOBS)

    assert rec.calls[0]["tmp"] == len(BLOBS), "the temporaries were written when it failed"
    assert temporaries(tmp_path) == []
    assert not any(t.exists() for t in targets)
    assert stored_files(tmp_path) == set()

    # not a syncfs failure: the store keeps using it, and the batch can be retried
    blobs = store.put_messages(BLOBS)
    assert len(rec.calls) == 3
    assert [b.path.read_bytes() for b in blobs] == BLOBS
    assert temporaries(tmp_path) == []


def test_system_syncfs_syncs_an_open_directory(tmp_path):
    syncfs = system_syncfs()
    assert callable(syncfs)
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        assert syncfs(fd) is None
    finally:
        os.close(fd)
    with pytest.raises(OSError) as err:               # a bad descriptor: the C error comes back as OSError
        syncfs(-1)
    assert err.value.errno == errno.EBADF
