"""District-scale benchmark of the whole nightly run (issue 10), with the limits measured beside it.

    .venv/bin/python benchmarks/bench_nightly.py [--repeats 2] [--cases 100000] [--new-cases 20000]
        [--replies 5000] [--communities 50] [--units 500] [--connections 8] [--seed 7]
        [--quarterly-cases 1000000 | --no-quarterly] [--scales 1,0.1]

For each scale (1 = the sizes given; 0.1 = a tenth of the cases, new cases and replies, same
communities and units) and each repeat:

1. a synthetic district is generated (benchmarks/district: roster, drop files, warehouse with
   the open cases, maildir of replies) — not timed;
2. an aiosmtpd server starts in a process of its own (tests/support/smtp_sink.py);
3. a fresh child process runs the flow `nightly-coordination` on it against Prefect's local API
   (a temporary server, started and warmed up before the clock), DuckDB on disk, mail over SMTP
   with `--connections` sessions, replies from the maildir. It then reads back from Prefect
   every flow run and task run the night created (per stage wall time from the subflow runs,
   email time from the `deliver-outbox` task runs), and measures in the same process the
   limits: bare aiosmtplib sending the very bytes of tonight's messages to the same server
   with the same number of connections, and DuckDB loading tonight's case rows straight from
   an Arrow table. Peak RSS is the child's (the Prefect server is a process of its own).

Then, once, the quarterly KPIs on a year of the district (bench_quarterly's generator with
the district's communities and units). Results: benchmarks/results/nightly.json and
nightly.md (not committed); medians over the repeats, the load average beside each run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_intake import peak_rss_mib  # noqa: E402
from benchmarks.bench_mail import bare_send, check_maildir  # noqa: E402
from benchmarks.bench_replies import load_average  # noqa: E402
from benchmarks.district import AS_OF, REPLY_SECRET, District, Sizes, generate_district  # noqa: E402
from benchmarks.district.__main__ import add_size_flags, sizes_from  # noqa: E402

STAGES = {  # subflow name → stage
    "pull-new-cases": "intake", "triage-new-cases": "triage", "ingest-replies": "replies",
    "assign-owning-units": "assignment", "chase-deadlines": "chase", "follow-up-checks": "lookback",
}  # the meetings stage is a task of the nightly flow itself: see stage_figures
TARGETS = {
    "nightly_seconds": 90.0, "email_ratio": 0.8, "intake_rows_per_s": 20_000, "replies_per_s": 1_000,
    "peak_rss_mib": 1536, "quarterly_seconds": 5.0,
}


# ------------------------------------------------------------------------------------ the child

def run_night(district_root: Path, port: int, connections: int, existing_cases: int) -> dict[str, Any]:
    """In a fresh process: the nightly flow on the district, then what Prefect recorded and the limits."""
    manifest = json.loads((district_root / "district.json").read_text(encoding="utf-8"))
    district = District(district_root, district_root / "roster.yaml", district_root / "home",
                        datetime.fromisoformat(manifest["as_of"]), REPLY_SECRET, manifest)
    os.environ.update(district.environment)
    os.environ.update({"LIANDONG_MAIL__TRANSPORT": "smtp", "LIANDONG_MAIL__SMTP_HOST": "127.0.0.1",
                       "LIANDONG_MAIL__SMTP_PORT": str(port), "LIANDONG_MAIL__SMTP_CONNECTIONS": str(connections)})
    from prefect import flow

    from flows.nightly_coordination import nightly_coordination

    @flow(name="warm-up")
    def warm_up() -> None:
        """Starts the temporary API server before the clock does."""

    t0 = time.perf_counter()
    warm_up()
    server_start = time.perf_counter() - t0
    load_before = load_average()
    t0, cpu0 = time.perf_counter(), time.process_time()
    state = nightly_coordination(as_of=district.as_of, return_state=True)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    load_after = load_average()
    if not state.is_completed():
        raise SystemExit(f"the nightly run did not complete: {state.message}")
    rss = peak_rss_mib()
    root_id = str(state.state_details.flow_run_id)
    runs = asyncio.run(prefect_runs())
    figures = {"nightly_seconds": round(wall, 2), "nightly_cpu_seconds": round(cpu, 2),
               "server_start_seconds": round(server_start, 1), "peak_rss_mib": round(rss),
               "load_average_before": load_before, "load_average_after": load_after,
               **stage_figures(runs), **warehouse_figures(district, root_id, existing_cases)}
    figures.update(email_limit(district, port, connections, figures))
    # The SMTP server bounds delivery (the limit above); the rest of the night is ours.
    figures["nightly_seconds_without_delivery"] = round(wall - figures["email_seconds"], 2)
    figures.update(arrow_limit(district, existing_cases, figures))
    return figures


async def prefect_runs() -> dict[str, list[Any]]:
    """Every flow run and task run the server holds (a fresh server: this night's, and the warm-up)."""
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        flows = {f.id: f.name for f in await client.read_flows()}
        flow_runs, task_runs = [], []
        while batch := await client.read_flow_runs(limit=200, offset=len(flow_runs)):
            flow_runs += batch
        while batch := await client.read_task_runs(limit=200, offset=len(task_runs)):
            task_runs += batch
    night = [{"flow_name": flows.get(r.flow_id, "?"), "start_time": r.start_time, "end_time": r.end_time, "id": r.id}
             for r in flow_runs if flows.get(r.flow_id) != "warm-up"]
    ids = {r["id"] for r in night}
    # A subflow is also a task run of its parent (its wrapper); counted, but not timed as a task.
    wrappers = {r.parent_task_run_id for r in flow_runs if r.parent_task_run_id}
    return {"flow_runs": night,
            "task_runs": [{"name": t.name, "start_time": t.start_time, "end_time": t.end_time,
                           "subflow": t.id in wrappers} for t in task_runs if t.flow_run_id in ids]}


def seconds(run: dict[str, Any]) -> float:
    return (run["end_time"] - run["start_time"]).total_seconds() if run["start_time"] and run["end_time"] else 0.0


def stage_figures(runs: dict[str, list[Any]]) -> dict[str, Any]:
    stages: dict[str, float] = {}
    spans: dict[str, list[Any]] = {}
    for run in runs["flow_runs"]:
        stage = STAGES.get(run["flow_name"])
        if stage:
            spans.setdefault(stage, []).append(run)
    for stage, stage_runs in spans.items():
        stages[stage] = (max(r["end_time"] for r in stage_runs) - min(r["start_time"] for r in stage_runs)).total_seconds()
    # Meetings: from `convene-due-meetings` (every community at once) to the night's summary,
    # which follows the meetings' mail.
    convene = [t["start_time"] for t in runs["task_runs"] if t["name"].startswith("convene-due-meetings")]
    summary = [t["start_time"] for t in runs["task_runs"] if t["name"].startswith("write-run-summary")]
    if convene and summary:
        stages["meetings"] = (min(summary) - min(convene)).total_seconds()
    tasks: dict[str, float] = {}
    task_counts: dict[str, int] = {}
    for t in runs["task_runs"]:
        if t["subflow"]:
            continue
        name = t["name"].rsplit("-", 1)[0]
        tasks[name] = tasks.get(name, 0.0) + seconds(t)
        task_counts[name] = task_counts.get(name, 0) + 1
    return {"flow_runs": len(runs["flow_runs"]), "task_runs": len(runs["task_runs"]),
            "task_runs_of_tasks": sum(not t["subflow"] for t in runs["task_runs"]),
            "flow_runs_by_flow": dict(sorted(Counter(r["flow_name"] for r in runs["flow_runs"]).items())),
            "task_runs_by_task": dict(sorted(task_counts.items())),
            "stage_seconds": {s: round(stages.get(s, 0.0), 2) for s in [*dict.fromkeys(STAGES.values()), "meetings"]},
            "task_seconds": {k: round(v, 2) for k, v in sorted(tasks.items(), key=lambda kv: -kv[1])}}


def tonight_messages_sql() -> str:
    # The generator's placeholder notices of earlier nights have ids starting with `district-`.
    return "FROM messages WHERE message_id NOT LIKE 'district-%'"


def warehouse_figures(district: District, root_id: str, existing_cases: int) -> dict[str, Any]:
    from warehouse.store import open_warehouse

    with open_warehouse(district.home / "warehouse.duckdb", read_only=True) as wh:
        first_new = f"LD-{district.as_of.year}-{existing_cases:06d}"
        events = dict(wh.execute("SELECT kind, count(*) FROM case_events WHERE run_id = ? GROUP BY ALL ORDER BY 2 DESC",
                                 [root_id]).fetchall())
        return {
            "new_cases": wh.scalar("SELECT count(*) FROM cases WHERE case_id > ?", [first_new]),
            "quarantined": wh.scalar("SELECT count(*) FROM quarantine"),
            "replies_read": wh.scalar("SELECT count(*) FROM inbound_messages"),
            "reply_outcomes": dict(wh.execute("SELECT outcome, count(*) FROM inbound_messages GROUP BY ALL").fetchall()),
            "messages_sent": wh.scalar(f"SELECT count(*) {tonight_messages_sql()} AND state = 'sent'"),
            "messages_not_sent": dict(wh.execute(f"SELECT state, count(*) {tonight_messages_sql()} AND state <> 'sent' "
                                                 "GROUP BY ALL").fetchall()),
            "messages_by_purpose": dict(wh.execute(f"SELECT purpose, count(*) {tonight_messages_sql()} GROUP BY ALL "
                                                   "ORDER BY 2 DESC").fetchall()),
            "message_kib_mean": round(wh.scalar(f"SELECT avg(octet_length(raw)) {tonight_messages_sql()}") / 1024, 1),
            "events_by_kind": events,
            "chase_rungs": dict(wh.execute("SELECT rung, count(*) FROM chase_notices WHERE run_id = ? GROUP BY ALL",
                                           [root_id]).fetchall()),
        }


def email_limit(district: District, port: int, connections: int, figures: dict[str, Any]) -> dict[str, Any]:
    """Bare aiosmtplib: tonight's messages, the same bytes and envelopes, to the same server."""
    from tests.support.smtp_sink import HOST  # noqa: F401  (the sink binds this host)
    from warehouse.store import open_warehouse

    with open_warehouse(district.home / "warehouse.duckdb", read_only=True) as wh:
        rows = wh.execute(f"SELECT mail_from, to_addrs, cc_addrs, raw {tonight_messages_sql()} AND state = 'sent' "
                          "ORDER BY created_at, message_id").fetchall()
    rendered = [(sender, [a.strip() for a in f"{to},{cc or ''}".split(",") if a.strip()], raw)
                for sender, to, cc, raw in rows]
    t0 = time.perf_counter()
    asyncio.run(bare_send(port, rendered, connections))
    bare = time.perf_counter() - t0
    delivery = figures["task_seconds"].get("deliver-outbox", 0.0)
    sent = figures["messages_sent"]
    return {"email_seconds": round(delivery, 2), "email_per_s": round(sent / delivery) if delivery else None,
            "limit_bare_smtp_seconds": round(bare, 2), "limit_bare_smtp_per_s": round(len(rendered) / bare),
            "email_ratio": round(bare / delivery, 3) if delivery else None, "connections": connections}


def arrow_limit(district: District, existing_cases: int, figures: dict[str, Any]) -> dict[str, Any]:
    """DuckDB loading tonight's case rows straight from Arrow into an empty copy of `cases`."""
    import duckdb

    from warehouse.store import open_warehouse

    with open_warehouse(district.home / "warehouse.duckdb", read_only=True) as wh:
        table = wh.execute("SELECT * FROM cases WHERE case_id > ?",
                           [f"LD-{district.as_of.year}-{existing_cases:06d}"]).to_arrow_table()
        schema = wh.execute("SELECT sql FROM duckdb_tables() WHERE table_name = 'cases'").fetchone()[0]
    with tempfile.TemporaryDirectory(dir=district.root) as tmp:
        con = duckdb.connect(str(Path(tmp) / "limit.duckdb"))
        con.execute(schema)
        con.register("limit_rows", table)
        t0 = time.perf_counter()
        con.execute("INSERT INTO cases SELECT * FROM limit_rows")
        limit = time.perf_counter() - t0
        con.close()
    intake = figures["stage_seconds"]["intake"]
    rows = figures["new_cases"] + figures["quarantined"]
    pull = figures["task_seconds"].get("pull-drop-folder")
    return {"intake_rows": rows, "intake_rows_per_s": round(rows / intake) if intake else None,
            # The reading, checking and loading alone (the task), without the stage's Prefect
            # subflow and roster sync around it.
            "intake_task_rows_per_s": round(rows / pull) if pull else None,
            "limit_arrow_insert_seconds": round(limit, 3), "limit_arrow_rows_per_s": round(table.num_rows / limit),
            "intake_ratio": round(limit / intake, 4) if intake else None,
            "replies_per_s": round(figures["replies_read"] / figures["task_seconds"]["ingest-replies"])
            if figures["task_seconds"].get("ingest-replies") else None}


# ----------------------------------------------------------------------------------- the parent

def measure(sizes: Sizes, seed: int, connections: int, work: Path, profile: Path | None = None) -> dict[str, Any]:
    from tests.support.smtp_sink import sink_process

    root = work / "district"
    t0 = time.perf_counter()
    generate_district(root, sizes, seed, AS_OF)
    generated = time.perf_counter() - t0
    # py-spy samples the child (the night, not the Prefect server): collapsed stacks, one line each.
    spy = [str(Path(sys.executable).parent / "py-spy"), "record", "--rate", "20", "--format", "raw", "--output", str(profile), "--"] if profile else []
    prefect_home = work / "prefect"
    env = {**os.environ, "PREFECT_HOME": str(prefect_home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180", "PREFECT_LOGGING_LEVEL": "WARNING",
           "PYTHONPATH": str(ROOT)}
    with sink_process(work / "sink-maildir") as (port, _):
        child = subprocess.run([*spy, sys.executable, __file__, "--night", str(root), "--port", str(port),
                                "--connections", str(connections), "--cases", str(sizes.cases)],
                               env=env, cwd=ROOT, capture_output=True, text=True)
    last = [ln for ln in child.stdout.splitlines() if ln.startswith("{")]  # py-spy talks on stdout too
    if child.returncode != 0 or not last:
        raise SystemExit(f"the night failed:\n{child.stdout[-3000:]}\n{child.stderr[-6000:]}")
    figures = json.loads(last[-1])
    check_maildir(work / "sink-maildir", 2 * figures["messages_sent"])  # the night's and the bare run's
    figures["generate_seconds"] = round(generated, 1)
    return figures


def quarterly(cases: int, communities: int, units: int, work: Path) -> dict[str, Any]:
    """bench_quarterly on one year of the district: its generator, its measuring child process."""
    from benchmarks.bench_quarterly import generate

    path = work / "quarterly.duckdb"
    built = generate(path, cases, communities=communities, units=units, years=1)
    load_before = load_average()
    child = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_quarterly.py"), "--measure", str(path),
                            "--repeat", "3"], check=True, capture_output=True, text=True, cwd=ROOT)
    result = json.loads(child.stdout.strip().splitlines()[-1])
    return {"cases": built["cases"], "case_events": built["case_events"], "generate_seconds": built["generate_seconds"],
            "cold_seconds": result["cold"]["seconds"], "warm_seconds": [r["seconds"] for r in result["warm"]],
            "seconds": statistics.median(r["seconds"] for r in result["warm"]), "peak_rss_mib": result["peak_rss_mib"],
            "load_average_before": load_before, "load_average_after": load_average()}


def median_of(runs: list[dict[str, Any]], key: str) -> Any:
    values = [r[key] for r in runs if r.get(key) is not None]
    if not values:
        return None
    median = statistics.median(values)
    return int(median) if isinstance(median, float) and median.is_integer() else median


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    stage_seconds = {s: statistics.median(r["stage_seconds"][s] for r in runs) for s in runs[0]["stage_seconds"]}
    keys = ["nightly_seconds", "nightly_seconds_without_delivery", "intake_task_rows_per_s", "peak_rss_mib", "task_runs", "flow_runs", "email_seconds", "email_per_s",
            "limit_bare_smtp_per_s", "email_ratio", "intake_rows_per_s", "limit_arrow_rows_per_s", "intake_ratio",
            "replies_per_s", "messages_sent", "new_cases", "replies_read"]
    return {**{k: median_of(runs, k) for k in keys}, "stage_seconds": stage_seconds,
            "load_averages": [r["load_average_after"] for r in runs]}


def stage_rows(label: str, run: dict[str, Any], summary: dict[str, Any]) -> list[str]:
    ev = run["events_by_kind"]
    s = summary["stage_seconds"]

    def rate(n: float, sec: float) -> str:
        return f"{n / sec:,.0f}/s" if sec else "–"

    assigned = ev.get("assigned", 0)
    chase = sum(run["chase_rungs"].values())
    return [
        f"| {label} | intake | {s['intake']:.1f} | {summary['intake_rows_per_s'] or 0:,.0f} rows/s "
        f"({run['new_cases']:,} new, {run['quarantined']} quarantined); in the pull task "
        f"{summary['intake_task_rows_per_s'] or 0:,.0f} rows/s | Arrow insert "
        f"{summary['limit_arrow_rows_per_s'] or 0:,.0f} rows/s | {summary['intake_ratio']} | ≥ 20,000 rows/s |",
        f"| {label} | triage | {s['triage']:.1f} | {rate(ev.get('triaged', 0), s['triage'])} "
        f"({ev.get('triaged', 0):,} triaged) | | | |",
        f"| {label} | replies | {s['replies']:.1f} | {summary['replies_per_s'] or 0:,.0f} replies/s in the ingest "
        f"task ({run['replies_read']:,} read) | | {(summary['replies_per_s'] or 0) / 1000:.2f} of target | ≥ 1,000/s |",
        f"| {label} | assignment | {s['assignment']:.1f} | {rate(assigned, s['assignment'])} ({assigned:,} assigned) | | | |",
        f"| {label} | chase | {s['chase']:.1f} | {chase:,} rungs sent ({ev.get('expired', 0):,} expired) | | | |",
        f"| {label} | lookback | {s['lookback']:.1f} | {ev.get('lookback_asked', 0):,} asked, "
        f"{ev.get('verified', 0) + ev.get('reopened', 0):,} answers applied | | | |",
        f"| {label} | meetings | {s.get('meetings', 0.0):.1f} | every community in one task (convene-due-meetings), "
        "with its invitations sent | | | |",
        f"| {label} | email (deliver-outbox tasks) | {summary['email_seconds']:.1f} | {summary['email_per_s'] or 0:,.0f} "
        f"msg/s ({summary['messages_sent']:,} sent) | bare aiosmtplib {summary['limit_bare_smtp_per_s'] or 0:,.0f} msg/s "
        f"| {summary['email_ratio']} | ≥ 0.8 |",
        f"| {label} | **whole night** | **{summary['nightly_seconds']:.1f}** ({summary['nightly_seconds_without_delivery']:.1f} "
        f"without mail delivery) | peak RSS {summary['peak_rss_mib']:,.0f} MiB; "
        f"{summary['task_runs']} task runs, {summary['flow_runs']} flow runs | | | ≤ 90 s, ≤ 1,536 MiB |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_size_flags(parser)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8, help="SMTP sessions (settings.mail.smtp_connections)")
    parser.add_argument("--scales", default="1,0.1", help="fractions of cases, new cases and replies to run")
    parser.add_argument("--quarterly-cases", type=int, default=1_000_000, help="cases in the district's year")
    parser.add_argument("--no-quarterly", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--profile", action="store_true",
                        help="sample each night with py-spy into results/nightly-<cases>.stacks (collapsed stacks)")
    parser.add_argument("--night", type=Path, help=argparse.SUPPRESS)  # the child process
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.night:
        print(json.dumps(run_night(args.night, args.port, args.connections, args.cases), default=str))
        return

    base = sizes_from(args)
    result: dict[str, Any] = {"date": datetime.now().isoformat(timespec="seconds"), "cpus": os.cpu_count(),
                              "python": sys.version.split()[0], "as_of": AS_OF.isoformat(), "seed": args.seed,
                              "connections": args.connections, "scales": {}}
    lines = ["| cases | stage | wall s | throughput | limit (same run) | ratio | target |",
             "|---|---|---|---|---|---|---|"]
    for scale in [float(s) for s in args.scales.split(",") if s]:
        sizes = replace(base, cases=round(base.cases * scale), new_cases=round(base.new_cases * scale),
                        replies=round(base.replies * scale))
        runs = []
        for repeat in range(args.repeats):
            with tempfile.TemporaryDirectory(prefix="bench-nightly-") as tmp:
                profile = args.out / f"nightly-{sizes.cases}.stacks" if args.profile else None
                args.out.mkdir(parents=True, exist_ok=True)
                figures = measure(sizes, args.seed, args.connections, Path(tmp), profile)
            runs.append(figures)
            args.out.mkdir(parents=True, exist_ok=True)
            with (args.out / "nightly-runs.jsonl").open("a", encoding="utf-8") as log:  # each run as it ends
                log.write(json.dumps({"sizes": sizes.__dict__, **figures}, ensure_ascii=False, default=str) + "\n")
            print(f"{sizes.cases:,} cases, repeat {repeat + 1}: night {figures['nightly_seconds']} s, "
                  f"stages {figures['stage_seconds']}, email ratio {figures['email_ratio']}, "
                  f"intake {figures['intake_rows_per_s']} rows/s, replies {figures['replies_per_s']}/s, "
                  f"{figures['task_runs']} task runs, {figures['flow_runs']} flow runs, "
                  f"RSS {figures['peak_rss_mib']} MiB, load {figures['load_average_before']}→"
                  f"{figures['load_average_after']}", flush=True)
        summary = summarise(runs)
        result["scales"][str(sizes.cases)] = {"sizes": sizes.__dict__, "median": summary, "runs": runs}
        lines += stage_rows(f"{sizes.cases:,}", runs[-1], summary)
    if not args.no_quarterly:
        with tempfile.TemporaryDirectory(prefix="bench-quarterly-") as tmp:
            q = quarterly(args.quarterly_cases, base.communities, base.units, Path(tmp))
        result["quarterly"] = q
        print(f"quarterly KPIs on a year of the district ({q['cases']:,} cases, {q['case_events']:,} events): "
              f"cold {q['cold_seconds']} s, warm {q['warm_seconds']} s; load {q['load_average_after']}", flush=True)
        lines.append(f"| {q['cases']:,} (a year) | quarterly KPIs (warm, median of 3) | {q['seconds']:.2f} | cold "
                     f"{q['cold_seconds']} s; peak RSS {q['peak_rss_mib']} MiB | | | ≤ 5 s |")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "nightly.json").write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str),
                                           encoding="utf-8")
    loads = {k: v["median"]["load_averages"] for k, v in result["scales"].items()}
    table = "\n".join(lines) + f"\n\nLoad average (1 min) after each run: {loads}; {result['date']}\n"
    (args.out / "nightly.md").write_text(table, encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
