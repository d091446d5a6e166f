"""Reply-reading benchmark (not a timed test): raw replies → email.parser → body_text →
strip_quoted → read_intent, the work done for every message the ingest mailbox receives.

The replies are built from the fixture corpus (tests/fixtures/replies): every fixture as it is,
plus each human reply re-composed with other answers (接收 / 退回 原因 / 办结 … in Chinese and
English) above the same client's quoted history, in rotating charsets and transfer encodings
(utf-8 / gb18030, base64 / quoted-printable / 8bit), with its HTML alternative when it had one.
Every copy gets its own Message-ID. Building happens before the clock starts.

Prints replies/s for the four steps (and with classify_automatic added), time per step, the
intents found, and how many re-composed replies were read differently from their answer alone
(quoted history leaking into the intent would show up there). Messages are parsed with the
stdlib's default policy (compat32, as `BytesParser()` / `email.message_from_bytes`) and, for
comparison, with `policy.default`, whose structured headers make parsing itself ~6x slower.

    .venv/bin/python benchmarks/bench_reply_reading.py --count 10000
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from collections import Counter
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tasks.replies.reading import body_text, classify_automatic, read_intent, strip_quoted  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "replies"

ANSWERS = {
    "assignment": ["接收", "好的，我们接收。", "【接收】明天上午到现场", "退回，不属于我单位职责", "退回\r\n原因：该路段由区交通局管养",
                   "不接收，人手不足", "同意接收，已安排人员", "收到", "Accept.", "Decline - not our remit"],
    "reminder": ["进展：已联系施工单位", "正在处理，已派人到现场核实", "我单位已办结：已清运完毕", "办结\r\n办理情况：井盖已更换",
                 "尚未办结，预计周五完成", "Update: crew booked for Tuesday", "Done. Lamp replaced."],
    "claim_list": ["认领第2、5项", "认领 LD-2026-0118", "claim LD-2026-0120", "不认领"],
    "lookback": ["已解决，满意", "已解决，基本满意。地面还有污渍", "未解决，不满意", "问题仍然存在"],
    "meeting": ["参加", "请假，当天有值班任务", "准时参加", "无法参加，另有公务"],
}
ANSWERS["overdue"] = ANSWERS["reminder"]
# The product takes the purpose from the reply token; here the notice's subject tells it.
SUBJECT_PURPOSES = [("认领", "claim_list"), ("回头看", "lookback"), ("会议", "meeting"), ("超期", "overdue"),
                    ("催办", "reminder")]
ENCODINGS = [("utf-8", "base64"), ("gb18030", "base64"), ("utf-8", "quoted-printable"), ("utf-8", "8bit")]


def purpose_of(msg: EmailMessage) -> str:
    subject = str(msg.get("subject", ""))
    return next((purpose for word, purpose in SUBJECT_PURPOSES if word in subject), "assignment")


def recompose(msg: EmailMessage, answer: str, charset: str, cte: str) -> EmailMessage | None:
    """The same reply with another answer above the client's own quoted history."""
    parts = {part.get_content_subtype(): part.get_content() for part in msg.walk()
             if part.get_content_maintype() == "text" and part.get_content_subtype() in ("plain", "html")}
    written = strip_quoted(body_text(msg)).split("\n")[0]
    if not written or not any(written in text for text in parts.values()):
        return None  # nothing typed above the quote, or not findable verbatim in the source
    new = EmailMessage()
    for name in ("From", "To", "Subject", "Date", "In-Reply-To", "References", "X-Mailer"):
        if msg[name]:
            new[name] = str(msg[name])
    new.set_content(parts.get("plain", written).replace(written, answer, 1), charset=charset, cte=cte)
    if "html" in parts:
        new.add_alternative(parts["html"].replace(written, answer, 1), subtype="html", charset=charset, cte=cte)
    return new


def build_pool() -> list[tuple[bytes, str, str | None]]:
    """(raw bytes, purpose, the answer alone) for every fixture and every re-composed reply."""
    pool: list[tuple[bytes, str, str | None]] = []
    encodings = itertools.cycle(ENCODINGS)
    for path in sorted(FIXTURES.glob("*.eml")):
        raw = path.read_bytes()
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        purpose = purpose_of(msg)
        pool.append((raw, purpose, None))
        if classify_automatic(msg) is not None:
            continue
        for answer in ANSWERS[purpose]:
            charset, cte = next(encodings)
            new = recompose(msg, answer, charset, cte)
            if new is not None:
                pool.append((new.as_bytes(policy=policy.SMTP), purpose, answer))
    return pool


def with_message_id(raw: bytes, number: int) -> bytes:
    return b"Message-ID: <bench-%d@replies.example.cn>\r\n" % number + raw


def run(
    replies: list[tuple[bytes, str, str | None]], parser: BytesParser
) -> tuple[dict[str, float], Counter, int]:
    """One pass: seconds per step (and CPU seconds for the four reading steps, which other
    processes on the machine disturb less), the kinds found and the replies read wrongly."""
    spent = dict.fromkeys(["parse", "body_text", "strip_quoted", "read_intent", "classify_automatic", "cpu"], 0.0)
    kinds: Counter = Counter()
    wrong = 0
    clock, cpu = time.perf_counter, time.process_time
    for raw, purpose, answer in replies:
        cpu0 = cpu()
        t0 = clock()
        msg = parser.parsebytes(raw)
        t1 = clock()
        text = body_text(msg)
        t2 = clock()
        stripped = strip_quoted(text)
        t3 = clock()
        intent = read_intent(stripped, purpose)
        t4 = clock()
        spent["cpu"] += cpu() - cpu0
        classify_automatic(msg)
        t5 = clock()
        for step, seconds in zip(spent, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
            spent[step] += seconds
        kinds[intent.kind] += 1
        wrong += answer is not None and intent != read_intent(answer, purpose)
    return spent, kinds, wrong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000, help="replies per pass")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--policy", choices=["compat32", "default", "both"], default="both",
                        help="email policy the messages are parsed with")
    args = parser.parse_args()

    pool = build_pool()
    replies = [(with_message_id(raw, number), purpose, answer)
               for number, (raw, purpose, answer) in zip(range(args.count), itertools.cycle(pool))]
    size = statistics.mean(len(raw) for raw, _, _ in replies)
    print(f"{args.count} replies from {len(pool)} distinct ({len(list(FIXTURES.glob('*.eml')))} fixtures + "
          f"re-composed), mean {size / 1024:.1f} KiB; python {sys.version.split()[0]}")

    for name in ("compat32", "default") if args.policy == "both" else (args.policy,):
        print(f"\n== parsed with policy.{name}")
        passes = []
        for repeat in range(args.repeats):
            spent, kinds, wrong = run(replies, BytesParser(policy=getattr(policy, name)))
            four = sum(spent[step] for step in ("parse", "body_text", "strip_quoted", "read_intent"))
            passes.append((four, spent))
            print(f"repeat {repeat + 1}: {args.count / four:7.0f} replies/s", flush=True)
        four, spent = sorted(passes, key=lambda item: item[0])[len(passes) // 2]
        print(f"median: {args.count / four:7.0f} replies/s  (parse + body_text + strip_quoted + read_intent)")
        with_classify = args.count / (four + spent["classify_automatic"])
        print(f"        {with_classify:7.0f} replies/s  with classify_automatic too")
        print(f"        {args.count / spent['cpu']:7.0f} replies per CPU second (the four steps, process time)")
        steps = [(step, sec) for step, sec in spent.items() if step != "cpu"]
        print("per reply: " + "   ".join(f"{step} {sec / args.count * 1e6:.0f} µs" for step, sec in steps))
        print("intents: " + ", ".join(f"{kind} {count}" for kind, count in kinds.most_common()))
        print(f"re-composed replies read differently from their answer alone: {wrong}")


if __name__ == "__main__":
    main()
