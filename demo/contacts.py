"""Simulated unit contacts and grid workers for `make demo`: they answer some of the emails the
nightly run sent, from the recipient's address to the Reply-To address, quoting the original as
a mail client does, into the demo inbox (a maildir) that the next run's `ingest-replies` reads.

Who answers what is decided by the case number, so every demo run tells the same story:
most lead units accept, one in six declines with a reason, accepted cases are reported done
four days later, and look-backs come back fixed and satisfied — except one that is not fixed,
which reopens its case.
"""

from __future__ import annotations

import mailbox
import zlib
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid

from liandong.clock import local, naive_utc
from liandong.settings import Settings
from warehouse.store import open_warehouse

ANSWERS_SQL = {
    # Lead units' fresh notices: accept or decline.
    "assignment": """
        SELECT m.message_id, m.raw, a.case_id FROM messages m JOIN assignments a USING (assignment_id)
        WHERE m.purpose = 'assignment' AND a.role = 'lead' AND a.state = 'notified' AND m.state = 'sent'""",
    # Accepted four days ago or more: report done on the same thread.
    "done": """
        SELECT m.message_id, m.raw, a.case_id FROM messages m JOIN assignments a USING (assignment_id)
        WHERE m.purpose = 'assignment' AND a.state = 'accepted' AND a.responded_at <= $before""",
    "lookback": """
        SELECT m.message_id, m.raw, m.case_id FROM messages m JOIN lookbacks l USING (case_id)
        WHERE m.purpose = 'lookback' AND l.state IN ('asked', 'reminded')""",
}


def _pick(case_id: str, n: int) -> int:
    return zlib.crc32(case_id.encode()) % n


def answer(kind: str, case_id: str) -> str:
    if kind == "assignment":
        return "退回\n原因：此事项不属于我单位职责，建议转城管执法中队。" if _pick(case_id, 6) == 0 else "接收，我单位马上安排人员处理。"
    if kind == "done":
        return "办结\n办理情况：已到现场处理完毕，并向居民反馈。"
    return "未解决，问题仍然存在，居民不满意。" if _pick(case_id, 4) == 0 else "已解决，居民满意。"


def reply_to(raw: bytes, body: str, when: datetime) -> EmailMessage:
    original = message_from_bytes(raw, policy=policy.default)
    contact = getaddresses([str(original["To"])])[0][1]
    reply = EmailMessage()
    reply["From"] = contact
    reply["To"] = getaddresses([str(original["Reply-To"])])[0][1]
    reply["Subject"] = f"回复：{original['Subject']}"
    reply["Date"] = format_datetime(when)
    reply["Message-ID"] = make_msgid(domain=contact.split("@")[1])
    reply["In-Reply-To"] = str(original["Message-ID"])
    reply["References"] = str(original["Message-ID"])
    quoted = original.get_body(("plain",)).get_content()
    reply.set_content(f"{body}\n\n------------------ 原始邮件 ------------------\n"
                      f"发件人: {original['From']}\n主题: {original['Subject']}\n\n{quoted}")
    return reply


def answer_mail(settings: Settings, as_of: datetime, answered: set[str]) -> int:
    """Write the contacts' answers to the mail of the night into the demo inbox."""
    inbox = mailbox.Maildir(settings.inbox_folder, create=True)
    when = local(as_of) + timedelta(hours=7)  # answered during the working day
    written = 0
    with open_warehouse(settings.warehouse_path, read_only=True) as wh:
        for kind, sql in ANSWERS_SQL.items():
            params = {"before": naive_utc(as_of) - timedelta(days=4)} if kind == "done" else None
            for row in wh.rows(sql, params):
                key = f"{kind}:{row['message_id']}"
                if key in answered:
                    continue
                answered.add(key)
                inbox.add(reply_to(row["raw"], answer(kind, row["case_id"]), when).as_bytes())
                written += 1
    return written
