"""Flow `ingest-replies`: read the unit contacts' replies and act on them, send what that queued
(requests for a decline's reason, notices of re-routed cases), and list what needs the
coordinator. Runs on its own every few minutes and as a stage of the nightly flow."""

from __future__ import annotations

from datetime import datetime

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact

from flows.naming import current_run_id, run_name
from liandong.clock import resolve_as_of
from liandong.resources import writing_run
from liandong.settings import load_settings
from tasks.mail import deliver_outbox_task
from tasks.replies import ingest_replies_task
from tasks.replies.ingest import IngestResult
from tasks.summary import stand_alone, write_run_summary
from tasks.summary.run import RunResults


@flow(name="ingest-replies", flow_run_name=run_name("replies"), log_prints=True)
def ingest_replies_flow(as_of: datetime | None = None) -> IngestResult:
    with writing_run():  # one writer slot and one warehouse connection for the whole run
        settings, as_of = load_settings(), resolve_as_of(as_of)
        run_id = current_run_id()
        result = ingest_replies_task(settings, as_of, run_id)
        deliver_outbox_task(settings, as_of)
        create_table_artifact(
            table=[{"类别 / kind": i["kind"], "诉求 / case": i["case_id"] or "", "发件人 / from": i["from_addr"] or "",
                    "原因 / reason": i["reason"]} for i in result.attention_items],
            key="reply-attention",
            description="回复中需要协调人处理的事项 / replies that need the coordinator",
        )
        if result.transport_error:
            get_run_logger().warning("收件箱不可用，未读完的邮件留待下次 / the mailbox is unavailable; unread replies wait "
                                     "for the next run: %s", result.transport_error)
        print(f"replies: {result.read} read, {result.applied} applied, {result.ignored} ignored, "
              f"{result.attention} for the coordinator, {result.duplicates} already seen; "
              f"{result.rerouted} re-routed, {result.asked_again} asked for a reason")
        if stand_alone():
            write_run_summary(settings, "replies", RunResults(replies=result), as_of, run_id)
        return result
