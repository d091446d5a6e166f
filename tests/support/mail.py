"""Data for the outbound-mail tests: settings, a case full of hostile text, drafts, and helpers to
read what an SMTP server received."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from pydantic import SecretStr

from liandong.settings import MailSettings
from tasks.mail.compose import Draft, Recipient
from tasks.mail.notices import assignment_draft, claim_list_draft

AS_OF = datetime(2026, 11, 20, 1, 0)  # naive UTC: 09:00 in Shanghai
SECRET = "test-reply-secret"
MAIL = MailSettings(from_address="liandong@xingguang.example.cn", from_name="星光社区联动平台",
                    reply_domain="reply.xingguang.example.cn", reply_secret=SecretStr(SECRET))

LEAD = Recipient("王警官", "wang@pcs.example.cn")
SUPPORT = Recipient("陈科长", "chen@eco.example.cn")
SUPPORT_EN = Recipient("Alice Chen", "alice@eco.example.cn", "en")
INJECTED_TITLE = "占道经营\r\nBcc: evil@attacker.example\r\nTo: evil2@attacker.example"


def hostile_case(n: int = 123, **overrides: Any) -> dict[str, Any]:
    """A case whose user-typed text tries header injection, script and template injection."""
    return {
        "case_id": f"LD-2026-{n:06d}",
        "title": INJECTED_TITLE,
        "description": "<script>alert('x')</script> 金额 {{ 7*7 }} 元 {% if true %}X{% endif %}\n请联系我 13812345678",
        "urgency": "high",
        "category": "市容环境",
        "address": "星光路12号",
        "received_at": AS_OF - timedelta(hours=2),
        "reporter_name": "王小明",
        "reporter_phone": "13812345678",
        **overrides,
    }


def assignment_drafts(n: int = 123, **case: Any) -> tuple[Draft, Draft]:
    """(lead notice, support notice) for one case."""
    case_row = hostile_case(n, **case)
    common = {"case": case_row, "accept_by": AS_OF + timedelta(days=1), "due_at": AS_OF + timedelta(days=14),
              "lead_unit_name": "星光派出所", "support_unit_names": ["生态环境分局"]}
    lead = assignment_draft(assignment_id=f"{case_row['case_id']}/1", role="lead", unit_id="pcs-xg",
                            unit_name="星光派出所", to=[LEAD], **common)
    support = assignment_draft(assignment_id=f"{case_row['case_id']}/2", role="support", unit_id="eco-bureau",
                               unit_name="生态环境分局", to=[SUPPORT], **common)
    return lead, support


def simple_drafts(count: int, start: int = 1) -> list[Draft]:
    """Lead notices for `count` harmless cases, one recipient each."""
    return [
        assignment_draft(case=hostile_case(i, title=f"第{i}件诉求", description="路灯不亮"),
                         assignment_id=f"LD-2026-{i:06d}/1", role="lead", unit_id="pcs-xg", unit_name="星光派出所",
                         to=[Recipient(f"联系人{i}", f"c{i}@pcs.example.cn")])
        for i in range(start, start + count)
    ]


def claim_list(to: Recipient = SUPPORT) -> Draft:
    return claim_list_draft(unit_id="hospital", unit_name="社区卫生服务中心", to=to,
                            cases=[hostile_case(7), hostile_case(8, title="独居老人需要上门巡诊")],
                            claim_by=AS_OF + timedelta(days=2))


def parts(message: EmailMessage) -> tuple[str, str]:
    """(text, html) of a received message."""
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()
