"""Admin notices: what the daemon tells the admins about live template edits.

A rejected edit gets one mail (the store reports each change once) naming the
file, the line and the problem; the last good version keeps serving. Every
change is written to the audit table.
"""

from __future__ import annotations

import logging

from intake.db import transaction
from intake.domain import replies
from intake.stages.outbox import enqueue
from intake.stages.rows import audit

log = logging.getLogger("intake.admin")


def record_template_changes(app, changes) -> int:
    """Audit every change; queue one mail per rejected template to each admin. Returns mails queued."""
    queued = 0
    if not changes:
        return 0
    now = app.now()
    with transaction(app.engine) as session:
        for change in changes:
            problems = [(p.file, p.line, p.message) for p in change.problems]
            audit(session, now, f"template-{change.status}", actor="admin",
                  detail={"template": change.label, "version": change.version,
                          "problems": [f"{f}:{line}: {m}" for f, line, m in problems]})
            if change.status != "rejected":
                log.info("- template %s %s (version %s)", change.label, change.status, change.version)
                continue
            log.error("- template %s rejected; %s keeps serving: %s", change.label,
                      change.version or "no good version", "; ".join(f"{f}:{line}: {m}" for f, line, m in problems))
            for address in app.settings.processing.admin_addresses:
                member = next((s for s in app.settings.roster.staff if s.email == address), None)
                ctx = replies.template_rejected_context(member.name if member else "관리자", app.org, change.label,
                                                        change.version, problems)
                enqueue(session, app, None, "template-rejected", "template-rejected", ctx, language="ko",
                        to=address, auto_submitted="auto-generated", now=now)
                queued += 1
    return queued
