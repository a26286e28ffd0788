"""Prometheus metrics and ``/healthz`` on ``[metrics] listen`` (prometheus_client, own registry).

What the database knows is read at scrape time by ``DatabaseCollector`` (a few grouped counts
and the last 24 hours' timings), so a restart loses nothing and no loop has to keep a counter
in step with the rows. Only what leaves no row (a failed IMAP or SMTP cycle) is a counter, in
``OpsRuntime``. Timings are gauge histograms over a sliding 24-hour window.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import GaugeHistogramMetricFamily, GaugeMetricFamily
from sqlalchemy import func
from sqlmodel import Session, select

from intake.models import Case, CaseClock, InboundMessage, Outbox

log = logging.getLogger("intake.metrics")

WINDOW = timedelta(hours=24)
SECONDS_BUCKETS = (0.1, 0.5, 1, 5, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600)
ACK_PURPOSES = ("acknowledgement", "fax-acknowledgement")


def _gauge(name: str, doc: str, labels: list[str], rows) -> GaugeMetricFamily:
    g = GaugeMetricFamily(name, doc, labels=labels)
    for *values, count in rows:
        g.add_metric([str(v or "") for v in values], count)
    return g


def _histogram(name: str, doc: str, samples: list[float]) -> GaugeHistogramMetricFamily:
    buckets = [(str(le), sum(1 for s in samples if s <= le)) for le in SECONDS_BUCKETS]
    buckets.append(("+Inf", len(samples)))
    return GaugeHistogramMetricFamily(name, doc, buckets=buckets, gsum_value=sum(samples))


class DatabaseCollector:
    """Gauges computed from rows when Prometheus scrapes."""

    def __init__(self, app):
        self.app = app

    def collect(self):
        now = self.app.now()
        since = now - WINDOW
        with Session(self.app.engine) as s:
            yield _gauge("intake_messages", "Fetched messages by stage and kind", ["stage", "kind"], s.exec(
                select(InboundMessage.stage, InboundMessage.kind, func.count()).group_by(
                    InboundMessage.stage, InboundMessage.kind)).all())
            yield _gauge("intake_cases", "Cases by channel and status", ["channel", "status"], s.exec(
                select(Case.channel, Case.status, func.count()).group_by(Case.channel, Case.status)).all())
            yield _gauge("intake_outbox_mails", "Outbox rows by status", ["status"], s.exec(
                select(Outbox.status, func.count()).group_by(Outbox.status)).all())
            oldest = s.exec(select(func.min(Outbox.created_at)).where(Outbox.status.in_(("pending", "sending")))).one()
            yield GaugeMetricFamily("intake_outbox_oldest_unsent_seconds", "Age of the oldest unsent mail (0: none)",
                                    value=_age(now, oldest))
            yield GaugeMetricFamily("intake_outbox_retrying", "Unsent mail the SMTP server refused or could not take "
                                    "(pending with an error, waiting for a retry)", value=s.exec(
                select(func.count()).select_from(Outbox).where(Outbox.status == "pending",
                                                               Outbox.last_error.is_not(None))).one())
            pending = s.exec(select(func.min(InboundMessage.fetched_at)).where(
                InboundMessage.stage.in_(("received", "ocr", "ocr-done")))).one()
            yield GaugeMetricFamily("intake_oldest_pending_message_seconds",
                                    "Age of the oldest fetched message not yet processed (0: none)",
                                    value=_age(now, pending))
            yield GaugeMetricFamily("intake_set_aside_messages", "Messages set aside for a human", value=s.exec(
                select(func.count()).select_from(InboundMessage).where(InboundMessage.stage == "set-aside")).one())
            yield _gauge("intake_clocks_open", "Running or paused charter clocks by policy", ["policy"], s.exec(
                select(CaseClock.policy, func.count()).where(CaseClock.state.in_(("running", "paused")))
                .group_by(CaseClock.policy)).all())
            yield _gauge("intake_clocks_overdue", "Live charter clocks past their due time", ["policy"], s.exec(
                select(CaseClock.policy, func.count()).where(CaseClock.state.in_(("running", "paused")),
                                                             CaseClock.overdue_at.is_not(None))
                .group_by(CaseClock.policy)).all())
            yield from self._timings(s, since)

    def _timings(self, s: Session, since):
        done = s.exec(select(InboundMessage.fetched_at, InboundMessage.processed_at, InboundMessage.ocr_report)
                      .where(InboundMessage.processed_at >= since)).all()
        yield _histogram("intake_processing_seconds", "Fetch to processed, messages of the last 24 h",
                         [(p - f).total_seconds() for f, p, _ in done])
        acks = s.exec(select(Case.received_at, Outbox.sent_at).join(Case, Case.id == Outbox.case_id).where(
            Outbox.purpose.in_(ACK_PURPOSES), Outbox.sent_at >= since)).all()
        yield _histogram("intake_ack_latency_seconds", "Arrival to acknowledgement sent, last 24 h",
                         [(sent - received).total_seconds() for received, sent in acks])
        pages = [p.get("seconds", 0.0) for _, _, report in done if report
                 for f in json.loads(report) for p in f.get("pages", []) if p.get("method") == "ocr"]
        yield _histogram("intake_ocr_page_seconds", "Tesseract seconds per OCR page, last 24 h", pages)


def _age(now, then) -> float:
    return max(0.0, (now - then).total_seconds()) if then is not None else 0.0


def serve(app, ops, listen: str, stale_seconds: float) -> ThreadingHTTPServer:
    """Start ``/metrics`` and ``/healthz`` on ``listen`` ("host:port") in a daemon thread."""
    ops.registry.register(DatabaseCollector(app))
    host, _, port = listen.rpartition(":")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            if self.path.split("?")[0] == "/metrics":
                body, status, ctype = generate_latest(ops.registry), 200, CONTENT_TYPE_LATEST
            elif self.path.split("?")[0] == "/healthz":
                stale = ops.progress.stale(stale_seconds)
                body = json.dumps({"ok": not stale, "stale_loops": stale}).encode()
                status, ctype = (503 if stale else 200), "application/json"
            else:
                body, status, ctype = b"not found\n", 404, "text/plain"
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt, *args):
            log.debug("- metrics: " + fmt, *args)

    server = ThreadingHTTPServer((host.strip("[]"), int(port)), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    log.info("- metrics on http://%s/metrics, health on /healthz", listen)
    return server
