"""Outbound mail: drafts → rendered messages in the outbox (`messages`) → SMTP or a Maildir.

    compose.py     Draft, Recipient, Composer: templates/email → bytes with every contract header
    notices.py     assignment_draft, claim_list_draft: drafts with the context their templates need
    outbox.py      queue_drafts, deliver_due, send_drafts: the batch entry points (crash safety)
    delivery.py    one delivery run: N sessions, chunks claimed ahead and settled behind
    retry.py       what an attempt leads to: sent, back-off, permanent, attention items
    tables.py      the SQL on messages and attention_items
    transport.py   MailTransport: SmtpTransport (aiosmtplib), MaildirTransport; transport_from_settings
    mime.py        the MIME writer: RFC 2047 headers, base64 parts, an optional calendar part (iMIP)
    tokens.py      make_reply_token / read_reply_token: the signed reply+TOKEN@ address
    privacy.py     mask_phone, mask_name, redact: reporter data for the lead unit only

The modules are plain functions, no Prefect; the one Prefect task every flow uses to send what
is due is below.
"""

from __future__ import annotations

from datetime import datetime

from prefect import task
from prefect.cache_policies import NO_CACHE

from liandong.resources import Resources
from liandong.settings import Settings
from tasks.mail.delivery import DeliveryReport
from tasks.mail.outbox import deliver_due
from tasks.mail.transport import MaildirTransport, OutboxUnwritable


@task(name="deliver-outbox", cache_policy=NO_CACHE)
def deliver_outbox_task(settings: Settings, as_of: datetime) -> DeliveryReport:
    """Every message due, in one task however many there are."""
    resources = Resources(settings)
    transport = resources.mail_transport()
    with resources.warehouse() as wh:
        report = deliver_due(wh, transport, as_of)
    if report.transport_error and isinstance(transport, MaildirTransport):
        raise OutboxUnwritable(report.transport_error)  # our own disk: fail the run; the messages wait
    return report
