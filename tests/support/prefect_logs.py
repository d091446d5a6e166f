"""Errors that a wrong dependency set or setting makes Prefect's server log
(see ../shared/notes/prefect.md)."""

import re

FORBIDDEN_SERVER_ERRORS = (
    "min_items",                        # FastAPI ≥0.155 with Prefect 3.8.8: every flow run fails
    "Can't evaluate bulk DML",          # SQLAlchemy 2.1: the scheduler never creates runs
    "prefect.server.services.telemetry",  # analytics must be off: its heartbeat locked SQLite here
    "Failed to send telemetry",
)
# SQLite "database is locked" is forbidden when the telemetry service causes it (the known
# failure). Under heavy CPU contention SQLite can report it elsewhere and Prefect retries those.
_TELEMETRY_LOCK = re.compile(r"telemetry.*database is locked|database is locked.*telemetry", re.IGNORECASE)


def forbidden_lines(text: str) -> list[str]:
    return [line for line in text.splitlines()
            if any(s in line for s in FORBIDDEN_SERVER_ERRORS) or _TELEMETRY_LOCK.search(line)]
