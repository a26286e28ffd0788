"""The operators' duties the daemon's sweep loop runs besides the charter clocks:
the daily retention purge (once a day across instances: a ``notice`` ledger key) and the
admins' alerts (intake.stages.alerts). One call, ``daily_duties(app, now, ops)``."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from intake.db import transaction
from intake.domain.workdays import to_seoul
from intake.models import Notice
from intake.stages.purge import purge_due

log = logging.getLogger("intake.duties")


def daily_duties(app, now: datetime, ops=None) -> int:
    """Returns the number of mails queued (the caller wakes the senders)."""
    queued = 0
    try:
        run_daily_purge(app, now)
    except Exception as exc:  # noqa: BLE001 - tomorrow's run tries again; the sweep goes on
        log.error("- daily purge failed: %s", exc, exc_info=True)
    try:
        from intake.stages.alerts import check_alerts

        queued += check_alerts(app, now, ops)
    except Exception as exc:  # noqa: BLE001
        log.error("- alert check failed: %s", exc, exc_info=True)
    return queued


def run_daily_purge(app, now: datetime) -> bool:
    """Purge once per Seoul day; False when this day's purge was done (by this or another instance)."""
    key = f"retention-purge:{to_seoul(now):%Y-%m-%d}"
    try:
        with transaction(app.engine) as session:
            session.add(Notice(key=key, kind="retention-purge", at=now))
    except IntegrityError:
        return False
    purge_due(app, now)
    return True
