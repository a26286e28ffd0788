"""The console's "스팸으로 표시" action: the code path of #spam and ``intake cases spam``, with CSRF."""

from __future__ import annotations

from sqlmodel import select

from intake.db import transaction
from intake.models import Case, Correction, InboundMessage, Outbox
from tests.web.conftest import ADMIN, csrf_of, sign_in


def test_mark_spam_in_the_console(console):
    client = console.client()
    sign_in(console, client, ADMIN)
    with transaction(console.app.engine) as s:
        case = s.exec(select(Case).where(Case.status == "open").order_by(Case.id)).first()
        ref, case_id = case.ref, case.id
    page = client.get(f"/cases/{ref}")
    assert page.status_code == 200 and f'action="/cases/{ref}/act/spam"' in page.text and "스팸으로 표시" in page.text
    token = csrf_of(page.text)
    assert client.post(f"/cases/{ref}/act/spam", data={"reason": "광고", "confirm": "1"}).status_code == 403
    assert client.post(f"/cases/{ref}/act/spam", data={"reason": "광고", "confirm": "1",
                                                        "csrf_token": "0" * 64}).status_code == 403
    # An answer queued for the sender (not sent yet: no send pass runs here) is cancelled by the marking.
    r = client.post(f"/cases/{ref}/act/answer", data={"text": "검토하겠습니다.", "csrf_token": token})
    assert r.status_code == 200, r.text
    r = client.post(f"/cases/{ref}/act/spam", data={"reason": "사무용품 광고", "confirm": "1", "csrf_token": token})
    assert r.status_code == 200 and "스팸으로 표시하여 종결하였습니다" in r.text and "closed as spam" in r.text
    with transaction(console.app.engine) as s:
        assert s.get(Case, case_id).status == "closed"
        corr = s.exec(select(Correction).where(Correction.case_id == case_id, Correction.kind == "spam")).one()
        assert (corr.to_value, corr.actor, corr.reason) == ("spam", "kim.minsu", "사무용품 광고")
        relay = s.exec(select(Outbox).where(Outbox.case_id == case_id, Outbox.purpose == "reply-relay")).one()
        assert relay.status == "cancelled"
        stages = {m.stage for m in s.exec(select(InboundMessage).where(InboundMessage.case_id == case_id))}
        assert stages == {"quarantine"}
    r = client.post(f"/cases/{ref}/act/spam", data={"confirm": "1", "csrf_token": token})
    assert r.status_code == 409 and "already marked as spam" in r.text
