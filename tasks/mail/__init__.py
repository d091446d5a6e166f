"""Outbound mail shared by every stage. Prefect tasks here; the work is in the plain modules
beside this file (compose, outbox, delivery, transport, tokens, privacy)."""

from __future__ import annotations

from datetime import datetime

from prefect import task
from prefect.cache_policies import NO_CACHE

from liandong.resources import Resources
from liandong.settings import Settings
from tasks.mail.delivery import DeliveryReport
from tasks.mail.outbox import deliver_due


@task(name="deliver-outbox", cache_policy=NO_CACHE)
def deliver_outbox_task(settings: Settings, as_of: datetime) -> DeliveryReport:
    """Every message due, in one task however many there are."""
    resources = Resources(settings)
    with resources.warehouse() as wh:
        return deliver_due(wh, resources.mail_transport(), as_of)
