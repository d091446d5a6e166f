"""One line per meeting for the coordinators' run summary, with a link to its agenda or minutes."""

from __future__ import annotations

from liandong.clock import local
from liandong.markdown import Trusted, artifact_link, escape
from tasks.meetings.convene import Convened
from tasks.meetings.decisions import Recorded

OUTCOMES = {
    "created": ("已召集", "convened"), "moved": ("已改期，已重发邀请", "moved, invitations sent again"),
    "updated": ("议程已更新", "agenda updated"), "unchanged": ("无变化", "unchanged"),
}


def artifact_key(community_id: str, document: str) -> str:
    """One key per community and document (agenda | minutes): the Artifacts page keeps each
    meeting as a version of it."""
    return f"joint-meeting-{document}-{community_id.replace('_', '-')}"


def convened_line(convened: Convened, invitations: int, locale: str) -> Trusted:
    zh = locale == "zh-CN"
    outcome = OUTCOMES[convened.outcome][0 if zh else 1]
    when = f"{local(convened.starts_at):%Y-%m-%d %H:%M}"
    text = (f"{convened.meeting_id}：{outcome}，{when}，新增议题 {convened.items_added} 项，邀请邮件 {invitations} 封"
            if zh else f"{convened.meeting_id}: {outcome}, {when}, {convened.items_added} new items, "
            f"{invitations} invitations")
    if convened.waiting:
        text += (f"；议程已满，另有 {convened.waiting} 件待下次会议" if zh else
                 f"; agenda full: {convened.waiting} more cases wait for the next meeting")
    agenda = artifact_link("议程" if zh else "agenda", artifact_key(convened.community_id, "agenda"))
    return Trusted(f"{escape(text)} — {agenda}")


def recorded_line(recorded: Recorded, community_id: str, emails: int, locale: str) -> Trusted:
    zh, c = locale == "zh-CN", recorded.counts
    if recorded.already_recorded:
        text = f"{recorded.meeting_id}：决定此前已录入，未作改动" if zh else \
            f"{recorded.meeting_id}: recorded before, nothing changed"
    else:
        text = (f"{recorded.meeting_id}：交办 {c['assign']}，下次再议 {c['defer']}，不予受理 {c['reject']}，"
                f"知悉 {c['noted']}；通知和纪要邮件 {emails} 封" if zh else
                f"{recorded.meeting_id}: {c['assign']} assigned, {c['defer']} deferred, {c['reject']} rejected, "
                f"{c['noted']} noted; {emails} notices and minutes queued")
    minutes = artifact_link("纪要" if zh else "minutes", artifact_key(community_id, "minutes"))
    return Trusted(f"{escape(text)} — {minutes}")
