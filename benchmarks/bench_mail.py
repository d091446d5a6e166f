"""Outbound mail throughput: the whole pipeline against bare aiosmtplib, same server, same N.

    .venv/bin/python benchmarks/bench_mail.py [--messages 2000] [--connections 16] [--repeats 3]
                                              [--idle-wait SECONDS]

Each repeat, with a fresh aiosmtpd sink in a separate process (tests/support/smtp_sink.py,
storing raw bytes in a Maildir) for every measurement:
- pipeline: from 2,000 assignment drafts to 2,000 stored messages: render, queue into a fresh
  DuckDB file, deliver with N connections, all in `send_drafts` (rendering overlaps sending);
- sequential: the same with `queue_drafts` and then `deliver_due`, for comparison;
- bare: the very bytes the pipeline rendered, sent with N `aiosmtplib.SMTP` connections pulling
  from one `asyncio.Queue` (`sendmail`, no database, no rendering).
The clock runs from the drafts to the last stored message; opening the warehouse (schema
migrations) and starting the sink are outside it. Medians and ratios are printed (target ≥ 0.8).
"""

from __future__ import annotations

import argparse
import asyncio
import mailbox
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import aiosmtplib

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from liandong.settings import MailSettings
from tasks.mail.compose import Composer, Draft, Recipient
from tasks.mail.notices import assignment_draft
from tasks.mail.outbox import deliver_due, queue_drafts, send_drafts
from tasks.mail.transport import SmtpTransport
from tests.support.smtp_sink import HOST, sink_process
from warehouse.store import open_warehouse

AS_OF = datetime(2026, 11, 20, 1, 0)


def drafts(n: int) -> list[Draft]:
    out = []
    for i in range(1, n + 1):
        case = {
            "case_id": f"LD-2026-{i:06d}", "title": f"小区消防通道被占用第{i}次反映，请尽快处理",
            "description": "幸福里小区3号楼北侧消防通道长期被私家车占用，夜间尤其严重，多次劝离无效。" * 3,
            "urgency": "high", "category": "消防安全", "address": f"星光路{i % 90 + 1}号幸福里小区",
            "received_at": AS_OF - timedelta(hours=3), "reporter_name": "王小明", "reporter_phone": "13812345678",
        }
        role = "lead" if i % 3 else "support"
        out.append(assignment_draft(
            case=case, assignment_id=f"{case['case_id']}/1", role=role, unit_id=f"unit-{i % 40}",
            unit_name="星光派出所", to=[Recipient(f"联系人{i % 200}", f"contact{i % 200}@unit{i % 40}.example.cn",
                                              "zh-CN" if i % 5 else "en")],
            accept_by=AS_OF + timedelta(days=1), due_at=AS_OF + timedelta(days=14),
            lead_unit_name="城管执法中队", support_unit_names=["城管执法中队", "生态环境分局"],
        ))
    return out


Rendered = list[tuple[str, list[str], bytes]]


def run_pipeline(work: Path, items: list[Draft], connections: int, *, sequential: bool) -> tuple[float, Rendered]:
    name = "sequential" if sequential else "pipeline"
    with open_warehouse(work / f"{name}.duckdb") as wh, sink_process(work / f"{name}-maildir") as (port, _):
        composer = Composer(MailSettings())
        transport = SmtpTransport(HOST, port, connections=connections)
        started = time.perf_counter()
        if sequential:
            queued = queue_drafts(wh, composer, items, AS_OF)
            report = deliver_due(wh, transport, AS_OF)
        else:
            queued, report = send_drafts(wh, composer, transport, items, AS_OF)
        elapsed = time.perf_counter() - started
        assert queued.queued == report.sent == len(items), (queued, report)
        rendered = [(r[0], r[1].split(", "), r[2]) for r in wh.execute(
            "SELECT mail_from, to_addrs, raw FROM messages ORDER BY created_at, message_id").fetchall()]
    check_maildir(work / f"{name}-maildir", len(items))
    return elapsed, rendered


def run_bare(work: Path, rendered: Rendered, connections: int) -> float:
    with sink_process(work / "bare-maildir") as (port, _):
        started = time.perf_counter()
        asyncio.run(bare_send(port, rendered, connections))
        elapsed = time.perf_counter() - started
    check_maildir(work / "bare-maildir", len(rendered))
    return elapsed


async def bare_send(port: int, rendered: Rendered, connections: int) -> None:
    queue: asyncio.Queue[tuple[str, list[str], bytes]] = asyncio.Queue()
    for item in rendered:
        queue.put_nowait(item)

    async def worker() -> None:
        async with aiosmtplib.SMTP(hostname=HOST, port=port, start_tls=False, timeout=30) as smtp:
            while not queue.empty():
                sender, recipients, raw = queue.get_nowait()
                await smtp.sendmail(sender, recipients, raw)

    await asyncio.gather(*(worker() for _ in range(connections)))


def check_maildir(folder: Path, expected: int) -> None:
    stored = len(mailbox.Maildir(folder, factory=None, create=False))
    assert stored == expected, f"{folder}: {stored} messages stored, {expected} expected"


def wait_until_idle(max_wait: float) -> bool:
    """On a shared machine: wait up to `max_wait` s for a second of ≥ 90 % idle CPUs (Linux).
    False when the machine stayed busy; True at once when not asked to wait."""
    deadline = time.monotonic() + max_wait
    while time.monotonic() < deadline:
        if idle_share(1.0) >= 0.9:
            return True
    return max_wait <= 0


def idle_share(seconds: float) -> float:
    def sample() -> tuple[int, int]:
        with open("/proc/stat") as f:
            ticks = [int(x) for x in f.readline().split()[1:]]
        return ticks[3] + ticks[4], sum(ticks)
    idle0, total0 = sample()
    time.sleep(seconds)
    idle1, total1 = sample()
    return (idle1 - idle0) / max(1, total1 - total0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--idle-wait", type=float, default=0.0, metavar="SECONDS",
                        help="before each measurement, wait up to this long for idle CPUs (shared machines)")
    args = parser.parse_args()
    items = drafts(args.messages)
    rates: dict[str, list[float]] = {"pipeline": [], "bare": [], "sequential": []}
    ratios: dict[str, list[float]] = {"pipeline": [], "sequential": []}
    for repeat in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="bench-mail-") as tmp:
            work = Path(tmp)
            idle = wait_until_idle(args.idle_wait)
            elapsed, rendered = run_pipeline(work, items, args.connections, sequential=False)
            rates["pipeline"].append(args.messages / elapsed)
            idle &= wait_until_idle(args.idle_wait)
            rates["bare"].append(args.messages / run_bare(work, rendered, args.connections))
            idle &= wait_until_idle(args.idle_wait)
            elapsed, _ = run_pipeline(work, items, args.connections, sequential=True)
            rates["sequential"].append(args.messages / elapsed)
        for name, values in ratios.items():
            values.append(rates[name][-1] / rates["bare"][-1])
        print(f"repeat {repeat + 1}: " + "   ".join(f"{k} {v[-1]:4.0f} msg/s" for k, v in rates.items())
              + f"   ratio {ratios['pipeline'][-1]:.2f}   load {os.getloadavg()[0]:.1f}"
              + ("" if idle else "   (machine busy)"), flush=True)
    size = statistics.mean(len(raw) for _, _, raw in rendered)
    median = {k: statistics.median(v) for k, v in rates.items()}
    print(f"{args.messages} messages of ~{size / 1024:.1f} KiB, {args.connections} connections, "
          f"median of {args.repeats} repeats:")
    print(f"  pipeline, send_drafts (render + queue in DuckDB + deliver): {median['pipeline']:5.0f} msg/s")
    print(f"  sequential, queue_drafts then deliver_due:                 {median['sequential']:5.0f} msg/s")
    print(f"  bare aiosmtplib (same bytes, same connections):            {median['bare']:5.0f} msg/s")
    # Each repeat's ratio compares runs seconds apart, so a busy neighbour skews it less.
    print(f"  pipeline / bare, median of the repeats' ratios:   {statistics.median(ratios['pipeline']):.2f}"
          "  (target ≥ 0.80)")
    print(f"  sequential / bare, median of the repeats' ratios: {statistics.median(ratios['sequential']):.2f}")


if __name__ == "__main__":
    main()
