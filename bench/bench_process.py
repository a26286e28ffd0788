#!/usr/bin/env python3
"""The process stage alone: CPU time and SQL statements per message, no servers.

    cd /work/main && .venv/bin/python bench/bench_process.py [--n 500] [--repeat 3] [--statements]

``bench_intake.py`` measures the whole ``run --once`` against the plain
libraries; this script isolates the stage that bounds it (parse → decide →
register → render → outbox, one group transaction at a time), so that a change
to it can be measured in seconds and without the disk noise of the SMTP sink.

It writes a local config (unused server ports: nothing connects), upgrades a
fresh SQLite database (WAL, synchronous=FULL, as in production), stores N
sample-like e-mails (the same corpus as ``bench_intake.py``) as the fetch stage
would (raw store + ``inbound_message`` rows), then times
``intake.runner.run_stage(app, intake.pipeline.PROCESS)`` over them and prints messages per second,
process CPU milliseconds per message and SQL statements per message
(``--statements`` also lists the statements of one message by kind).
"""

from __future__ import annotations

import argparse
import collections
import re
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.bench_intake import build_corpus  # noqa: E402


def one_run(n: int, show_statements: bool) -> dict:
    from sqlalchemy import event

    from intake.app import build_app
    from intake.db import transaction, upgrade
    from intake.devservers.localconfig import offline_config
    from intake.models import InboundMessage
    from intake.pipeline import PROCESS
    from intake.runner import run_stage
    from intake.settings import load_settings
    from intake.stages.fetch import header_message_id

    tmp = Path(tempfile.mkdtemp(prefix="bench-process-"))
    app = build_app(load_settings(offline_config(tmp)))
    upgrade(app.engine)
    now = datetime.now(timezone.utc)
    corpus = build_corpus(n)
    blobs = app.store.put_messages(corpus)
    with transaction(app.engine) as session:
        for uid, (raw, blob) in enumerate(zip(corpus, blobs), start=1):
            session.add(InboundMessage(mailbox="INBOX", uidvalidity=1, uid=uid, message_id=header_message_id(raw),
                                       content_hash=blob.sha256, raw_path=str(blob.path), size=blob.size,
                                       received_at=now, fetched_at=now, next_attempt_at=now, server_done=True))
    statements: list[str] = []

    @event.listens_for(app.engine, "before_cursor_execute")
    def _count(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        statements.append(statement)

    cpu0, wall0 = time.process_time(), time.perf_counter()
    report = run_stage(app, PROCESS)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    if report.processed != n:
        raise SystemExit(f"processed {report.processed} of {n} (failed {report.failed})")
    if show_statements:
        kinds = collections.Counter(re.sub(r"sa_savepoint_\d+", "sa_savepoint_N", " ".join(s.split()[:4]))[:70]
                                  for s in statements)
        print(f"statements for {n} messages, by kind (first words):")
        for k, v in kinds.most_common():
            print(f"  {v / n:6.2f}/msg  {k}")
    return {"rate": n / wall, "cpu_ms": cpu * 1000 / n, "wall_ms": wall * 1000 / n,
            "statements": len(statements) / n}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--statements", action="store_true", help="list the SQL statements by kind")
    args = ap.parse_args(argv)
    runs = [one_run(args.n, args.statements and i == 0) for i in range(args.repeat)]
    for r in runs:
        print(f"process stage: {r['rate']:6.1f} msg/s  wall {r['wall_ms']:5.1f} ms/msg  "
              f"CPU {r['cpu_ms']:5.1f} ms/msg  {r['statements']:5.1f} SQL statements/msg")
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(f"median of {len(runs)}: {med['rate']:.1f} msg/s, wall {med['wall_ms']:.1f} ms/msg, "
          f"CPU {med['cpu_ms']:.1f} ms/msg, {med['statements']:.1f} statements/msg")
    return 0


if __name__ == "__main__":
    sys.exit(main())
