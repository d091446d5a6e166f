"""The replies waiting in the mailbox (a Maildir): the client corpus of tests/fixtures/replies
(QQ, NetEase, Outlook, Apple Mail, phones, Thunderbird, auto-replies, broken MIME), each
re-addressed from the right person to a valid signed reply token of the right purpose:

- accepts and declines to lead assignments still waiting for acceptance,
- progress and done reports to accepted leads,
- look-back answers from the grid worker who was asked,
- auto-replies and damaged messages to any of them.
"""

from __future__ import annotations

import mailbox
import random
from pathlib import Path

from benchmarks.bench_replies import FIXTURES
from benchmarks.district.cases import Existing
from tasks.mail.tokens import make_reply_token, reply_address
from tests.test_replies_ingest import readdress

# (fixtures, the targets they answer, share of the replies)
GROUPS = [
    (["01_qq_html_only_accept.eml", "12_gmail_en_accept.eml", "14_apple_mail_zh_accept.eml",
      "02_qq_en_plain_decline.eml", "10_outlook_en_plain_decline.eml", "15_iphone_decline.eml",
      "08_outlook_zh_plain_8bit.eml", "09_outlook_zh_html_only.eml"], "notified", 0.35),
    (["03_qq_new_card_done.eml", "06_netease126_en_done_attachment.eml", "07_mailmaster_done.eml",
      "16_huawei_phone_done.eml", "05_netease163_progress.eml", "11_owa_progress_with_suppress.eml",
      "18_roundcube_en_progress.eml", "17_thunderbird_zh_bottom_post_flowed.eml"], "accepted", 0.40),
    (["19_qq_ios_lookback_fixed.eml", "20_legacy_oa_gbk_no_charset_lookback.eml"], "lookback", 0.15),
    (["22_auto_reply_qq.eml", "23_outlook_out_of_office.eml", "24_autoresponder_headers_only.eml",
      "27_broken_mime_wrong_boundary.eml", "28_wrong_charset_damaged_base64.eml",
      "29_gmail_empty_reply_quote_only.eml"], "accepted", 0.10),
]


def write_replies(inbox: Path, existing: Existing, count: int, seed: int, secret: str, reply_domain: str,
                  mail_domain: str = "community.example.cn") -> dict[str, int]:
    rng = random.Random(seed * 104729 + 3)
    corpus = {name: (FIXTURES / name).read_bytes() for names, _, _ in GROUPS for name in names}
    targets = {"notified": existing.notified_leads, "accepted": existing.accepted_leads,
               "lookback": existing.asked_lookbacks}
    for pool in targets.values():
        rng.shuffle(pool)
    used = dict.fromkeys(targets, 0)
    box = mailbox.Maildir(inbox, factory=None, create=True)
    written: dict[str, int] = {}
    for i in range(count):
        x, group = rng.random(), GROUPS[-1]
        for candidate in GROUPS:
            if x < candidate[2]:
                group = candidate
                break
            x -= candidate[2]
        names, kind, _ = group
        pool = targets[kind] or targets["accepted"]
        target = pool[used[kind] % len(pool)]
        used[kind] += 1
        name = rng.choice(names)
        if kind == "lookback":
            token = make_reply_token(secret, purpose="lookback", case_id=target["case_id"])
            replied_to = None
        else:
            token = make_reply_token(secret, purpose="assignment", case_id=target["case_id"],
                                     assignment_id=target["assignment_id"], unit_id=target["unit_id"])
            replied_to = f"<district-{target['assignment_id'].replace('/', '-')}@{mail_domain}>"
        raw = readdress(corpus[name], {
            "From": f"<{target['contact']}>", "To": f"<{reply_address(token, reply_domain)}>", "Cc": None,
            "In-Reply-To": replied_to, "References": replied_to,
            "Message-ID": f"<district-reply-{seed}-{i}@replies.example.cn>"})
        box.add(raw)
        written[name] = written.get(name, 0) + 1
    return written
