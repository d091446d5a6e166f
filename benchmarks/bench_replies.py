"""Reply-ingestion benchmark (not a timed test): N replies in a Maildir → the warehouse, the whole
ingestion as the `ingest-replies` flow runs it: read each file, parse, match (token, sender),
decide, keep the raw bytes and attachments, write every effect, move the file to `.processed`.

Setup, not timed: the demo roster, cases routed and notified through the real pipeline
(routing, queue_drafts, the Maildir outbox), so tokens and Message-IDs are genuine; then N
replies built from the client fixtures (tests/fixtures/replies), each re-addressed from the
lead unit's contact to one notice with a Message-ID of its own: accepts, declines with reasons,
progress, done (one with a photo), unknown answers, auto-replies, in the corpus's proportions.

    .venv/bin/python benchmarks/bench_replies.py --replies 10000
"""

from __future__ import annotations

import argparse
import json
import mailbox
import os
import resource
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from email import message_from_bytes
from email.utils import parseaddr
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from liandong.resources import Resources  # noqa: E402
from liandong.settings import load_settings  # noqa: E402
from tasks.mail.outbox import deliver_due, queue_drafts  # noqa: E402
from tasks.mail.transport import MaildirTransport  # noqa: E402
from tasks.replies.inbound import MaildirInbox  # noqa: E402
from tasks.replies.ingest import BATCH_SIZE, ingest_replies  # noqa: E402
from tasks.roster.sync import sync_roster  # noqa: E402
from tasks.routing.assign import route_triaged_cases  # noqa: E402
from tasks.routing.notices import assignment_notices  # noqa: E402
from tests.test_replies_ingest import readdress  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "replies"
REPLIES = [  # the client corpus: human answers first, then machines
    "01_qq_html_only_accept.eml", "02_qq_en_plain_decline.eml", "03_qq_new_card_done.eml",
    "05_netease163_progress.eml", "06_netease126_en_done_attachment.eml", "07_mailmaster_done.eml",
    "08_outlook_zh_plain_8bit.eml", "09_outlook_zh_html_only.eml", "10_outlook_en_plain_decline.eml",
    "11_owa_progress_with_suppress.eml", "12_gmail_en_accept.eml", "14_apple_mail_zh_accept.eml",
    "15_iphone_decline.eml", "16_huawei_phone_done.eml", "17_thunderbird_zh_bottom_post_flowed.eml",
    "18_roundcube_en_progress.eml", "27_broken_mime_wrong_boundary.eml", "28_wrong_charset_damaged_base64.eml",
    "29_gmail_empty_reply_quote_only.eml", "22_auto_reply_qq.eml", "23_outlook_out_of_office.eml",
    "24_autoresponder_headers_only.eml",
]
CATEGORIES = [("noise", "xingguang"), ("sanitation", "donghu"), ("roads", "qiaoxi"), ("public_order", "xingguang"),
              ("market", "donghu"), ("property", "qiaoxi"), ("parking", "xingguang"), ("power", "donghu")]
NOTIFIED = datetime.fromisoformat("2026-11-16T09:00:00+08:00")


def setup(resources: Resources, cases: int) -> list[dict]:
    """Cases routed and notified; the lead notices as (message id, reply address, contact)."""
    now = datetime(2026, 11, 15)
    rows = [{"case_id": f"LD-2026-{i + 1:06d}", "source": "bench", "source_ref": str(i), "received_at": now,
             "title": f"诉求 {i}", "description": "居民反映", "category": CATEGORIES[i % len(CATEGORIES)][0],
             "urgency": "normal", "community_id": CATEGORIES[i % len(CATEGORIES)][1], "status": "triaged",
             "created_at": now, "updated_at": now} for i in range(cases)]
    with resources.warehouse() as wh:
        sync_roster(wh, resources.roster)
        wh.append("cases", rows)
        route_triaged_cases(wh, resources.roster, resources.calendar, NOTIFIED, "bench")
        queue_drafts(wh, resources.composer, assignment_notices(wh, resources.roster), NOTIFIED)
        deliver_due(wh, MaildirTransport(resources.settings.outbox_folder), NOTIFIED)
        sent = wh.rows("SELECT m.message_id, m.raw, m.to_addrs FROM messages m JOIN assignments a USING (assignment_id) "
                       "WHERE a.role = 'lead' ORDER BY m.case_id")
    return [{"message_id": s["message_id"], "reply_to": parseaddr(message_from_bytes(s["raw"])["Reply-To"])[1],
             "contact": s["to_addrs"].split(",")[0].strip()} for s in sent]


def write_replies(inbox: Path, notices: list[dict], count: int) -> int:
    corpus = [(FIXTURES / name).read_bytes() for name in REPLIES]
    box = mailbox.Maildir(inbox, factory=None, create=True)
    size = 0
    for i in range(count):
        notice = notices[i % len(notices)]
        raw = readdress(corpus[i % len(corpus)], {
            "From": f"<{notice['contact']}>", "To": f"<{notice['reply_to']}>", "Cc": None,
            "In-Reply-To": f"<{notice['message_id']}>", "References": f"<{notice['message_id']}>",
            "Message-ID": f"<bench-{i}@replies.example.cn>"})
        box.add(raw)
        size += len(raw)
    return size


def cpu_seconds() -> tuple[float, float]:
    """(this process, its finished children: the reading workers, reaped when the run ends)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def load_average() -> float:
    return round(os.getloadavg()[0], 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replies", type=int, default=10_000)
    parser.add_argument("--cases", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=None, help="reading processes (default: one per core)")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(home=Path(tmp), roster_path=ROOT / "demo" / "roster.yaml")
        resources = Resources(settings)
        notices = setup(resources, args.cases)
        size = write_replies(settings.inbox_folder, notices, args.replies)
        load_before = load_average()
        with resources.warehouse() as wh:
            t0, cpu0 = time.perf_counter(), cpu_seconds()
            result = ingest_replies(wh, resources, MaildirInbox(settings.inbox_folder),
                                    NOTIFIED + timedelta(hours=6), "bench", workers=args.workers,
                                    batch_size=args.batch_size)
            seconds, cpu1 = time.perf_counter() - t0, cpu_seconds()
            outcomes = dict(wh.execute("SELECT outcome, count(*) FROM inbound_messages GROUP BY ALL").fetchall())
        processed = len(list((settings.inbox_folder / ".processed" / "cur").iterdir()))
    assert result.read == args.replies == processed and result.transport_error is None, result
    figures = {
        "replies": args.replies, "mean_kib": round(size / args.replies / 1024, 1), "cases": args.cases,
        "seconds": round(seconds, 2), "replies_per_s": round(args.replies / seconds),
        "cpu_ms_per_reply_main": round((cpu1[0] - cpu0[0]) * 1000 / args.replies, 3),
        "cpu_ms_per_reply_workers": round((cpu1[1] - cpu0[1]) * 1000 / args.replies, 3),
        "workers": args.workers or os.cpu_count(), "batch_size": args.batch_size,
        "cpus": os.cpu_count(), "load_average_before": load_before, "outcomes": outcomes,
        "intents": dict(Counter(result.intents).most_common()), "auto_replies": result.auto_replies,
        "rerouted": result.rerouted, "needs_meeting": result.needs_meeting, "attachments": result.attachments,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "target": "≥ 1,000 replies/s on 2 cores",
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "replies.json").write_text(json.dumps(figures, indent=2, ensure_ascii=False))
    for key, value in figures.items():
        print(f"{key:18} {value}")


if __name__ == "__main__":
    main()
