"""`make demo`: several simulated days of the nightly job on embedded defaults.

Each demo export in demo/cases/ arrives in the drop folder on the day its name starts with;
the nightly flow then runs at 02:00 the next morning with `as_of` set to that moment, so three
weeks pass in a couple of minutes. All state is under var/ (see `make reset`).
"""

from __future__ import annotations

import shutil
from datetime import date, datetime, time, timedelta
from pathlib import Path

from demo.contacts import answer_mail
from demo.minutes import held_meetings, write_minutes
from flows.convene_joint_meeting import record_meeting_decisions
from flows.nightly_coordination import nightly_coordination
from liandong.clock import SHANGHAI
from liandong.settings import load_settings
from warehouse.store import open_warehouse

CASES = Path(__file__).parent / "cases"
FIRST_DAY, LAST_DAY = date(2026, 11, 2), date(2026, 11, 25)


def exports_of(day: date) -> list[Path]:
    return sorted(p for p in CASES.iterdir() if p.name.startswith(day.isoformat()))


def main() -> None:
    settings = load_settings()
    settings.drop_folder.mkdir(parents=True, exist_ok=True)
    answered: set[str] = set()
    day = FIRST_DAY
    while day <= LAST_DAY:
        files = exports_of(day)
        for f in files:
            shutil.copy(f, settings.drop_folder / f.name)
        as_of = datetime.combine(day + timedelta(days=1), time(2, 0), tzinfo=SHANGHAI)
        print(f"== {as_of:%Y-%m-%d %H:%M} 夜间运行 / nightly run: {', '.join(f.name for f in files) or '-'}")
        nightly_coordination(as_of=as_of)
        replies = answer_mail(settings, as_of, answered)
        print(f"   单位回复 / contacts answered {replies} emails (read by the next run)")
        day += timedelta(days=1)
    apply_minutes(settings)
    report(settings)


def apply_minutes(settings) -> None:
    """The joint meetings held in the simulated weeks: minutes filed, decisions recorded."""
    as_of = datetime.combine(LAST_DAY + timedelta(days=2), time(17, 0), tzinfo=SHANGHAI)
    for meeting_id in held_meetings(settings, as_of):
        minutes = write_minutes(settings, meeting_id, as_of)
        state = record_meeting_decisions(meeting_id, minutes_file=str(minutes), as_of=as_of, return_state=True)
        print(f"== 会议纪要 / minutes {minutes}: {state.type.value} {state.message or ''}")


def report(settings) -> None:
    with open_warehouse(settings.warehouse_path, read_only=True) as wh:
        cases = wh.scalar("SELECT count(*) FROM cases")
        by_status = wh.rows("SELECT status, count(*) AS n FROM cases GROUP BY ALL ORDER BY n DESC")
        quarantined = wh.scalar("SELECT count(*) FROM quarantine")
        meetings = wh.rows("SELECT m.meeting_id, m.kind, m.status, count(DISTINCT o.idempotency_key) AS emails "
                           "FROM meetings m LEFT JOIN messages o ON o.purpose = 'meeting' "
                           "AND o.idempotency_key LIKE 'meeting:' || m.meeting_id || ':%' GROUP BY ALL ORDER BY 1")
    home = settings.home.resolve()
    print()
    statuses = ", ".join(f"{r['status']} {r['n']}" for r in by_status)
    print(f"演示完成 / demo finished: {cases} cases ({statuses}), {quarantined} rows in quarantine")
    for m in meetings:
        print(f"  联席会议 / meeting {m['meeting_id']} ({m['kind']}, {m['status']}): {m['emails']} 封邀请和纪要 / "
              f"invitations and minutes in the outbox")
    print(f"  会议纪要 / minutes files: {settings.home.resolve() / 'minutes'}")
    print(f"  数据仓库 / warehouse : {settings.warehouse_path.resolve()}")
    print(f"    .venv/bin/python -c \"import duckdb; duckdb.connect('{settings.warehouse_path}', read_only=True)"
          f".sql('SELECT location, reason FROM quarantine').show(max_width=200)\"")
    print(f"  发件箱 / outbox      : {settings.outbox_folder.resolve()}")
    print(f"  归档 / archive       : {settings.archive_folder.resolve()}")
    print(f"  Prefect 运行记录 / runs: PREFECT_HOME={home / 'prefect'}")
    print(f"    查看界面 / open the UI: PREFECT_HOME={home / 'prefect'} .venv/bin/prefect server start"
          " → http://127.0.0.1:4200 (流程运行 / flow runs → nightly … → Artifacts)")
    print("  重置 / reset: make reset")


if __name__ == "__main__":
    main()
