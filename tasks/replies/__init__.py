"""Unit contacts' emailed replies. Reading a reply (body text, quote stripping, auto-reply and
bounce detection, the intent on its first lines) is in `reading`; ingesting them (transports,
matching, effects in the warehouse) in `ingest` and the modules beside it. Prefect tasks here."""

from __future__ import annotations

from datetime import datetime

from prefect import task
from prefect.cache_policies import NO_CACHE

from liandong.resources import Resources
from liandong.settings import Settings
from tasks.replies.inbound import inbound_from_settings
from tasks.replies.ingest import IngestResult, ingest_replies


@task(name="ingest-replies", cache_policy=NO_CACHE)
def ingest_replies_task(settings: Settings, as_of: datetime, run_id: str) -> IngestResult:
    """Every unprocessed reply in the mailbox, in one task however many there are."""
    resources = Resources(settings)
    with resources.warehouse() as wh:
        return ingest_replies(wh, resources, inbound_from_settings(settings), as_of, run_id)
