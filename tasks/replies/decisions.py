"""What one reply does, decided against the batch's view of the warehouse (`Known`), which each
decision updates in memory so that two replies in one batch see each other (accept, then done).

    accept    notified → accepted; a lead's case assigned → in_progress
    decline   with a reason: notified → declined, then re-routing (next candidate or meeting);
              without one: nothing changes, the sender is asked for the reason by email
    progress  a note on the case (notified or accepted)
    done      → done_reported with the time; a lead's case → resolved, a look-back scheduled
    claim     (claim list) claim_case for each case named, by number or by list position
    fixed / not_fixed (+ satisfaction)   the look-back row → answered, for the look-back stage
Anything else, or a reply that arrives after its assignment or case moved on, is recorded and
put on the coordinator's attention list; it is never applied blindly. Auto-replies are recorded
as ignored; a bounce marks the message failed_permanent and the contact suspect.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from liandong.roster import Contact, Roster
from tasks.mail.compose import Draft, Recipient
from tasks.replies.effects import APPLIED, ATTENTION, IGNORED, Batch, Claim
from tasks.replies.matching import (
    LIVE, AssignmentRow, CaseRow, Known, LookbackRow, Match, Matcher, NoMatch, bounced_id,
)
from tasks.replies.parsing import Reply, case_numbers, first_lines, mask_phones, one_line
from tasks.replies.reader import Prepared, vocabulary
from tasks.replies.reading import Intent, read_intent
from tasks.replies.storage import keep_attachment

CLOSED = ("resolved", "verified", "closed", "rejected")
OPEN_LOOKBACK = ("scheduled", "asked", "reminded")
NOTE_LIMIT = 500
_ITEM_NUMBERS = re.compile(r"第?\s*(\d{1,3})\s*(?=[项、,，和及与]|$|\s)")


class Decider:
    def __init__(self, batch: Batch, known: Known, matcher: Matcher, roster: Roster, attachments_folder: Path):
        self.batch = batch
        self.known = known
        self.matcher = matcher
        self.roster = roster
        self.attachments_folder = attachments_folder
        self.contacts: dict[str, tuple[Contact, str]] = {c.email: (c, u.id) for u in roster.units for c in u.contacts}

    def handle(self, prepared: Prepared, row: dict[str, Any]) -> None:
        """Decide what the reply does; `row` is its inbound_messages row, completed here."""
        reply = prepared.reply
        if reply.unreadable:
            self.batch.outcome(row, ATTENTION, reply.unreadable)
            self.batch.raise_attention(row, "reply_unreadable", reply.unreadable)
        elif reply.automatic and reply.automatic.kind == "bounce":
            self._bounce(reply, row)
        elif reply.automatic:
            row["case_id"], _ = self.matcher.recipient_of(reply)
            self.batch.outcome(row, IGNORED, f"自动回复 / automatic reply: {one_line(reply.automatic.reason, 200)}")
        else:
            self._reply(prepared, row)

    # ---------------------------------------------------------------------------------- bounces

    def _bounce(self, reply: Reply, row: dict[str, Any]) -> None:
        bounce = reply.automatic
        message_id = bounced_id(reply)
        sent = self.known.messages.get(message_id)
        recipient = (bounce.failed_recipient or "").lower() or (sent.to_addrs if sent else "")
        row["case_id"] = sent.case_id if sent else None
        row["assignment_id"] = sent.assignment_id if sent else None
        if bounce.status and bounce.status.startswith("4"):
            self.batch.outcome(row, IGNORED, f"投递延迟，服务器仍在重试 / delivery delayed ({bounce.status}): still retried")
            return
        self.batch.outcome(row, ATTENTION, one_line(bounce.reason, 300))
        if sent is None:
            self.batch.raise_attention(row, "bounce_unmatched", f"退信对应不到已发邮件，收件人 {recipient or '未知'} / a bounce "
                                       f"for no message we know; recipient {recipient or 'unknown'}")
            return
        self.batch.bounced[message_id] = f"退信 / bounced: {one_line(bounce.reason, 200)}"
        unit = self.contacts.get(recipient, (None, sent.unit_id))[1] or "?"
        self.batch.raise_attention(
            row, "contact_suspect",
            f"发往 {recipient}（{unit}）的邮件被退回，该联系人地址可能失效，请核实花名册 / mail to {recipient} ({unit}) bounced "
            f"({bounce.status or 'no status'}): the contact's address may be wrong, please check the roster",
            ref=recipient or message_id)

    # ---------------------------------------------------------------------------------- replies

    def _reply(self, prepared: Prepared, row: dict[str, Any]) -> None:
        reply = prepared.reply
        match = self.matcher.match(reply)
        if isinstance(match, NoMatch):
            row["case_id"] = match.case_id
            self.batch.outcome(row, ATTENTION, match.reason)
            self.batch.raise_attention(row, match.kind, f"{match.reason}；{_said(reply)}")
            return
        row.update(case_id=match.case_id, assignment_id=match.assignment_id, unit_id=match.unit_id,
                   purpose=match.purpose, matched_by=match.by)
        words = vocabulary(match.purpose)
        intent = prepared.intent if prepared.vocabulary == words else read_intent(reply.text, words)
        row.update(intent=intent.kind, note=_note(intent.reason or intent.note) or None)
        self._keep_attachments(reply, row)
        self._act(reply, row, match, intent)

    def _act(self, reply: Reply, row: dict[str, Any], match: Match, intent: Intent) -> None:
        if match.purpose == "meeting":
            self.batch.outcome(row, IGNORED, "会议回复留给会议阶段 / meeting replies are left to the meeting stage")
        elif intent.kind == "unknown":
            self.batch.outcome(row, ATTENTION, "未能识别回复意图 / the reply's intent was not understood")
            self.batch.raise_attention(row, "reply_unknown_intent", f"未能识别回复意图 / not understood；{_said(reply)}")
        elif match.purpose == "lookback":
            self._lookback(row, match, intent)
        elif match.purpose == "claim_list":
            self._claim(reply, row, match, intent)
        else:
            self._assignment(row, match, intent)

    def _assignment(self, row: dict[str, Any], match: Match, intent: Intent) -> None:
        assignment = self.known.assignments[match.assignment_id]
        case = self.known.cases[assignment.case_id]
        action = {"accept": self._accept, "decline": self._decline, "progress": self._progress,
                  "done": self._done}.get(intent.kind)
        late = _late(intent.kind, assignment, case)
        if action is None:
            self.batch.outcome(row, ATTENTION, f"此类邮件不应有“{intent.kind}”回复 / unexpected answer {intent.kind}")
            self.batch.raise_attention(row, "reply_unknown_intent", f"意外的回复 / unexpected answer: {intent.kind}")
        elif late == "repeat":
            self.batch.outcome(row, IGNORED, f"已是 {assignment.state}，无需重复 / already {assignment.state}")
        elif late:
            self.batch.outcome(row, ATTENTION, late)
            self.batch.raise_attention(row, "reply_late", f"{late}；{intent.kind}")
        else:
            action(row, match, intent, assignment, case)

    def _accept(self, row: dict[str, Any], match: Match, intent: Intent, assignment: AssignmentRow,
                case: CaseRow) -> None:
        self._set(assignment, "accepted", responded_at=row["received_at"])
        moved = self._move(case, "in_progress") if assignment.role == "lead" and case.status == "assigned" else None
        self.batch.event(row, "accepted", "单位回复接收 / accepted by reply", actor=match.actor,
                         from_status=moved, to_status=moved and "in_progress", detail=_detail(intent))
        self.batch.outcome(row, APPLIED)

    def _decline(self, row: dict[str, Any], match: Match, intent: Intent, assignment: AssignmentRow,
                 case: CaseRow) -> None:
        if not intent.reason:
            self._ask_reason(row, match, case)
            return
        reason = _note(intent.reason)
        self._set(assignment, "declined", responded_at=row["received_at"], decline_reason=reason)
        self.batch.event(row, "declined", reason, actor=match.actor, detail=_detail(intent))
        self.batch.reroute = self.batch.reroute or assignment.role == "lead"
        self.batch.outcome(row, APPLIED)

    def _ask_reason(self, row: dict[str, Any], match: Match, case: CaseRow) -> None:
        contact, unit_id = self.contacts[row["from_addr"]]
        self.batch.drafts.append(Draft(
            idempotency_key=f"ask-reason:{row['inbound_id']}", purpose="assignment", template="ask_reason",
            to=(Recipient(contact.name, contact.email, contact.locale),), case_id=case.case_id,
            assignment_id=match.assignment_id, unit_id=unit_id,
            context={"case": {"case_id": case.case_id, "title": case.title},
                     "unit_name": self.roster.unit(unit_id).name}))
        self.batch.outcome(row, IGNORED, "退回未写原因，已去信询问 / decline without a reason: asked for one by email")

    def _progress(self, row: dict[str, Any], match: Match, intent: Intent, assignment: AssignmentRow,
                  case: CaseRow) -> None:
        self.batch.event(row, "progress_reported", _note(intent.note) or "进展 / progress", actor=match.actor,
                         detail=_detail(intent))
        self.batch.outcome(row, APPLIED)

    def _done(self, row: dict[str, Any], match: Match, intent: Intent, assignment: AssignmentRow,
              case: CaseRow) -> None:
        self._set(assignment, "done_reported", done_at=row["received_at"],
                  responded_at=row["received_at"] if assignment.state == "notified" else None)
        lead = assignment.role == "lead"
        moved = self._move(case, "resolved") if lead else None
        self.batch.event(row, "done_reported", _note(intent.note) or "办结 / done", actor=match.actor,
                         from_status=moved, to_status=moved and "resolved", detail=_detail(intent))
        if lead:
            self._schedule_lookback(row, case)
        self.batch.outcome(row, APPLIED)

    def _schedule_lookback(self, row: dict[str, Any], case: CaseRow) -> None:
        existing = self.known.lookbacks.setdefault(case.case_id, [])
        lookback = LookbackRow(f"{case.case_id}/L{len(existing) + 1}", case.case_id, "scheduled", None)
        existing.append(lookback)
        due = row["received_at"] + timedelta(days=self.roster.policy.lookback_calendar_days)
        self.batch.new_lookbacks.append({"lookback_id": lookback.lookback_id, "case_id": case.case_id, "due_at": due,
                                         "state": "scheduled", "created_at": self.batch.now,
                                         "updated_at": self.batch.now})
        self.batch.event(row, "lookback_scheduled", f"回头看 {due:%Y-%m-%d} / look-back due {due:%Y-%m-%d}",
                         actor="system", detail={"lookback_id": lookback.lookback_id, "due_at": due.isoformat()})

    def _lookback(self, row: dict[str, Any], match: Match, intent: Intent) -> None:
        lookback = self.known.lookback_of(match.case_id)
        if lookback.state not in OPEN_LOOKBACK:
            reason = f"回头看已是 {lookback.state} / the look-back is already {lookback.state}"
            self.batch.outcome(row, ATTENTION, reason)
            self.batch.raise_attention(row, "reply_late", reason)
            return
        lookback.state = "answered"
        self.batch.lookback_answers.append({
            "lookback_id": lookback.lookback_id, "fixed": intent.kind == "fixed", "satisfaction": intent.satisfaction,
            "answered_at": row["received_at"], "answer_note": _note(intent.note) or None,
            "answer_inbound_id": row["inbound_id"]})
        self.batch.event(row, "lookback_answered", _note(intent.note) or intent.kind, actor=match.actor,
                         detail={**_detail(intent), "lookback_id": lookback.lookback_id})
        self.batch.outcome(row, APPLIED)

    def _claim(self, reply: Reply, row: dict[str, Any], match: Match, intent: Intent) -> None:
        if intent.kind == "decline":
            self.batch.outcome(row, IGNORED, "不认领 / not claiming")
            return
        cases = _claimed_cases(reply.text, match) if intent.kind == "claim" else []
        if not cases:
            reason = ("认领回复中找不到诉求编号 / no case number in the claim" if intent.kind == "claim"
                      else f"认领清单不应有“{intent.kind}”回复 / unexpected answer to a claim list: {intent.kind}")
            self.batch.outcome(row, ATTENTION, reason)
            self.batch.raise_attention(row, "reply_unknown_intent", f"{reason}；{_said(reply)}")
            return
        row["case_id"] = cases[0]
        self.batch.claims.append(Claim(row, cases, match.unit_id))

    # ---------------------------------------------------------------------------------- helpers

    def _set(self, assignment: AssignmentRow, state: str, **changes: datetime | str | None) -> None:
        assignment.state = state
        change = self.batch.assignments.setdefault(assignment.assignment_id, {})
        change.update({"state": state, **{k: v for k, v in changes.items() if v is not None}})

    def _move(self, case: CaseRow, status: str) -> str:
        before, case.status = case.status, status
        self.batch.moves[case.case_id] = status
        return before

    def _keep_attachments(self, reply: Reply, row: dict[str, Any]) -> None:
        for position, attachment in enumerate(reply.attachments, start=1):
            stored = keep_attachment(self.attachments_folder, row["case_id"], row["inbound_id"], position, attachment)
            self.batch.attachments.append({
                "inbound_id": row["inbound_id"], "position": position, "case_id": row["case_id"],
                "stored_path": str(stored.path), "original_name": attachment.original_name or None,
                "content_type": one_line(attachment.content_type, 100), "size": stored.size, "sha256": stored.sha256,
                "created_at": self.batch.now})
        if reply.attachments_skipped:
            self.batch.raise_attention(
                row, "attachments_skipped",
                f"{reply.attachments_skipped} 个附件超出数量或大小限制，未保存（原邮件已存档）/ {reply.attachments_skipped} "
                f"attachments over the count or size limit were not saved (the raw message is kept)")


def _late(kind: str, assignment: AssignmentRow, case: CaseRow) -> str | None:
    """None when the answer fits the assignment's state; "repeat" for an answer already applied;
    otherwise why it came too late."""
    if (kind, assignment.state) in (("accept", "accepted"), ("done", "done_reported")):
        return "repeat"
    allowed = ("notified",) if kind in ("accept", "decline") else LIVE
    if assignment.state in allowed and case.status not in CLOSED:
        return None
    return (f"回复晚到：任务已是 {assignment.state}，诉求已是 {case.status}，未执行 / late reply: the assignment is "
            f"{assignment.state} and the case {case.status}; not applied")


def _claimed_cases(text: str, match: Match) -> list[str]:
    """Case numbers written in the claim, else list positions ("认领第2、5项") of the claim list replied to."""
    numbers = case_numbers(text)
    if numbers or match.replied_to is None:
        return numbers
    listed = match.replied_to.claim_list
    first_line = next((line for line in text.split("\n") if line.strip()), "")
    positions = [int(n) for n in _ITEM_NUMBERS.findall(first_line)]
    return list(dict.fromkeys(listed[p - 1] for p in positions if 0 < p <= len(listed)))


def _note(text: str) -> str:
    return one_line(mask_phones(text), NOTE_LIMIT)


def _said(reply: Reply) -> str:
    lines = first_lines(reply.text)
    return f"来信 / said: {lines}" if lines else "（正文为空 / empty body）"


def _detail(intent: Intent) -> dict[str, Any]:
    return {k: v for k, v in {"keyword": intent.keyword, "satisfaction": intent.satisfaction}.items() if v}
