"""Errors that a wrong dependency set makes Prefect's server log (see ../shared/notes/prefect.md)."""

FORBIDDEN_SERVER_ERRORS = (
    "min_items",                     # FastAPI ≥0.155 with Prefect 3.8.8: every flow run fails
    "database is locked",            # the telemetry heartbeat racing migrations on SQLite
    "Can't evaluate bulk DML",       # SQLAlchemy 2.1: the scheduler never creates runs
    "Failed to send telemetry",      # analytics must be off
)


def forbidden_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if any(s in line for s in FORBIDDEN_SERVER_ERRORS)]
