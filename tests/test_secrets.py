"""Secrets and residents' phone numbers stay where they belong: a short demo (three nights of the
demo roster and exports under the Prefect harness, the demo's contacts answering in between)
with the SMTP and IMAP passwords and the reply-signing secret set to known values; then every
log line Prefect kept, everything printed, every artifact and every email not addressed to a
lead unit is searched for them. None may appear."""

from __future__ import annotations

import asyncio
import shutil
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, LogFilter, LogFilterFlowRunId
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterStartTime

from demo.contacts import answer_mail
from flows.nightly_coordination import nightly_coordination
from liandong.settings import Settings, load_settings
from warehouse.store import open_warehouse

pytestmark = pytest.mark.prefect
DEMO = Path(__file__).resolve().parents[1] / "demo"
SECRETS = {
    "LIANDONG_MAIL__SMTP_PASSWORD": "smtp-Pa55-7f3e91c2",
    "LIANDONG_MAIL__SMTP_USERNAME": "liandong-relay",
    "LIANDONG_IMAP__PASSWORD": "imap-Pa55-4b8d20aa",
    "LIANDONG_MAIL__REPLY_SECRET": "hmac-5ecret-9a1f03de77",
}
NIGHTS = [("2026-11-03T02:00:00+08:00", "2026-11-02_12345热线.csv"),
          ("2026-11-04T02:00:00+08:00", "2026-11-03_网格平台.xlsx"),
          ("2026-11-05T02:00:00+08:00", "2026-11-04_城市放大镜.jsonl")]


async def what_prefect_kept(since: datetime) -> tuple[list[str], list[str]]:
    """(every log line, every artifact) of the flow runs started since `since`, subflows included."""
    async with get_client() as client:
        runs = await client.read_flow_runs(flow_run_filter=FlowRunFilter(
            start_time=FlowRunFilterStartTime(after_=since)), limit=200)
        ids = [r.id for r in runs]
        logs = await client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=ids)), limit=200)
        offset = len(logs)
        while len(logs) == offset and offset % 200 == 0 and offset:
            more = await client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=ids)),
                                          limit=200, offset=offset)
            logs += more
            offset += 200
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=ids)), limit=200)
    return [log.message for log in logs], [f"{a.key} {a.description or ''} {a.data}" for a in artifacts]


def readable(message) -> str:
    """What a person reading the message sees: decoded headers and every decoded part."""
    headers = "\n".join(f"{k}: {v}" for k, v in message.items())
    parts = [p.get_content() for p in message.walk() if not p.is_multipart()]
    return headers + "\n" + "\n".join(p if isinstance(p, str) else p.decode("utf-8", "replace") for p in parts)


def test_no_secret_or_phone_number_leaves_where_it_belongs(prefect_harness, settings: Settings, monkeypatch,
                                                            capfd):
    monkeypatch.setenv("LIANDONG_ROSTER_PATH", str(DEMO / "roster.yaml"))
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    since = datetime.now(timezone.utc) - timedelta(seconds=1)
    answered: set[str] = set()
    for as_of, export in NIGHTS:
        shutil.copy(DEMO / "cases" / export, settings.drop_folder / export)
        state = nightly_coordination(as_of=datetime.fromisoformat(as_of), return_state=True)
        assert state.is_completed(), state.message
        answer_mail(load_settings(), datetime.fromisoformat(as_of), answered)

    logs, artifacts = asyncio.run(what_prefect_kept(since))
    printed = capfd.readouterr()
    with open_warehouse(settings.warehouse_path, read_only=True) as wh:
        phones = {r[0] for r in wh.execute("SELECT DISTINCT reporter_phone FROM cases WHERE reporter_phone IS NOT NULL"
                                           " AND length(reporter_phone) >= 7").fetchall()}
        leads = {r[0] for r in wh.execute("SELECT m.message_id FROM messages m JOIN assignments a USING (assignment_id)"
                                          " WHERE a.role = 'lead'").fetchall()}
        inbound = wh.scalar("SELECT count(*) FROM inbound_messages")
    mail = [message_from_bytes(p.read_bytes(), policy=policy.default)
            for sub in ("new", "cur") for p in (settings.outbox_folder / sub).glob("*")]
    others = [m for m in mail if m["Message-ID"].strip("<>") not in leads]

    assert len(phones) >= 10 and inbound > 0 and len(others) >= 10 and len(logs) >= 30 and len(artifacts) >= 6
    secrets = set(SECRETS.values()) - {SECRETS["LIANDONG_MAIL__SMTP_USERNAME"]}
    places = {"Prefect logs": "\n".join(logs), "artifacts": "\n".join(artifacts),
              "printed": printed.out + printed.err}
    places |= {f"mail {m['Message-ID']} ({m['Subject']})": readable(m) + m.as_string() for m in others}
    found = {(where, s) for where, text in places.items() for s in secrets | phones if s in text}
    assert not found, sorted(found)[:10]
    # Lead units do see the reporter's phone (they call the resident back), but never in a subject.
    lead_mail = [m for m in mail if m["Message-ID"].strip("<>") in leads]
    assert lead_mail and any(p in readable(m) for m in lead_mail for p in phones)
    assert not any(p in str(m["Subject"]) for m in mail for p in phones)
