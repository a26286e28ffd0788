"""Writing mail to the outbox: the one place a stage queues a mail.

``enqueue`` renders a template, composes the message and inserts the outbox
row in the caller's transaction: the mail exists exactly when the change that
caused it is committed (the sender, ``intake/stages/send.py``, delivers it
later). Every template version a queued mail was rendered from is recorded
(``record_template_version``), so what a customer was sent can be shown again.
``customer_skip_reason`` is the loop guard every mail to a customer passes;
``ack_skip_reason`` adds the acknowledgements' own (the channel's duty, a cap per sender).
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from intake.domain.redact import masked_rendered
from intake.domain import replies
from intake.domain.outgoing import Envelope, FileAttachment, attach_file, compose, new_message_id
from intake.domain.records import Channel, MessageDecision, RenderedMail
from intake.domain.staff_commands import reply_address, staff_footer
from intake.models import Case, Outbox, TemplateVersion
from intake.stages.rows import ACK_WINDOW, acks_sent_since

if TYPE_CHECKING:
    from intake.app import App


def new_token() -> str:
    """A random token: a case's task token, the unique part of a Message-ID."""
    return f"{secrets.token_hex(8)}.{secrets.token_hex(3)}"


def enqueue(session: Session, app: App, case: Case | None, purpose: str, template: str, context: dict, *,
            language: str, to: str, now: datetime, in_reply_to: str | None = None,
            references: tuple[str, ...] = (), attach_raw_path: str | None = None,
            auto_submitted: str | None = "auto-replied", reply_to: str | None = None,
            attachments: tuple[FileAttachment, ...] = ()) -> int:
    """Render ``template`` and queue the mail; returns the new outbox row's id.

    A Core insert on the session's connection (executed at once, so later queries in the
    transaction see it), not an ORM object: outbox rows are never changed through the
    session, and the unit of work's flush of each was a large share of a new case's time."""
    rendered = masked_rendered(app.templates.render(template, context, language=language))
    record_template_version(session, app, rendered, language, now)
    if case is not None and case.task_token and replies.message_spec(template).audience == replies.STAFF:
        # Staff mail about a case carries its task token: a reply from the handler is a command.
        rendered = replace(rendered, text=rendered.text.rstrip("\n") + "\n\n" + staff_footer(case.task_token))
        reply_to = reply_address(app.settings.organization.intake_address, case.task_token)
    message_id = new_message_id(new_token(), app.settings.organization.domain)
    raw = compose(rendered, Envelope(
        from_address=app.settings.smtp.from_address, from_name=app.settings.organization.name, to=(to,),
        message_id=message_id, date=now, in_reply_to=in_reply_to, references=references,
        auto_submitted=auto_submitted, case_ref=case.ref if case else None, reply_to=reply_to))
    for file in attachments:
        raw = attach_file(raw, file)
    return session.connection().execute(_OUTBOX_INSERT, dict(
        case_id=case.id if case else None, purpose=purpose, message_id=message_id,
        mail_from=app.settings.smtp.from_address, rcpt_to=to, raw=raw, attach_raw_path=attach_raw_path,
        template=rendered.template, template_version=rendered.template_version, status="pending", attempts=0,
        next_attempt_at=now, claimed_until=None, sent_at=None, last_error=None, created_at=now)).scalar_one()


_OUTBOX_INSERT = Outbox.__table__.insert().returning(Outbox.__table__.c.id)


def record_template_version(session: Session, app: App, rendered: RenderedMail, language: str,
                            now: datetime) -> None:
    """The template version ``rendered`` came from, as a row (once per version, ever)."""
    key = (rendered.template, rendered.template_version)
    known = app.known_template_versions
    if key in known:
        return
    pending = session.info.setdefault("template_versions_added", set())   # added in this transaction
    exists = session.exec(select(TemplateVersion.id).where(TemplateVersion.name == rendered.template,
                                                           TemplateVersion.version == rendered.template_version)).first()
    if exists is None:
        content = app.templates.source(rendered.template, language)
        session.add(TemplateVersion(name=rendered.template, version=rendered.template_version,
                                    content=content or "", first_used_at=now))
        session.flush()
        pending.add(key)
    elif key not in pending:
        known.add(key)   # a committed row (rows are never deleted): no need to look again


def customer_skip_reason(app: App, address: str | None) -> str | None:
    """Why no mail may go to ``address`` as a customer, or None: the loop guards every customer mail shares."""
    if not address:
        return "no customer e-mail address known"
    a = address.lower()
    if a in app.rules.own_addresses or a.split("@")[-1] == app.settings.organization.domain:
        return f"{address} is one of our own addresses (loop protection)"
    if a.startswith(("mailer-daemon@", "postmaster@", "noreply@", "no-reply@")):
        return f"{address} is a robot address"
    return None


def ack_skip_reason(app: App, ack_to: str | None, decision: MessageDecision, session: Session, now: datetime,
                    purpose: str = "acknowledgement") -> str | None:
    """Why no acknowledgement goes out, or None. Loops are the worst failure of intake.

    ``purpose`` "fax-acknowledgement": ``ack_to`` is the fax gateway address, capped on its own.
    """
    if decision.channel.channel is Channel.POST:
        return "postal request: the charter promises a phone call, not an e-mail to the scanner"
    if purpose == "acknowledgement" and decision.channel.channel is Channel.FAX and not app.settings.fax.email_copy:
        return "fax: the e-mail copy of the acknowledgement is switched off ([fax] email_copy = false)"
    reason = customer_skip_reason(app, ack_to)
    if reason is not None:
        return reason
    limit = app.settings.processing.acks_per_sender_per_day
    if acks_sent_since(session, ack_to, now - ACK_WINDOW, purpose) >= limit:
        return f"{ack_to} already got {limit} acknowledgements in 24 h (loop protection)"
    return None
