"""Flow-run names that say what and when: `nightly 2026-11-21`."""

from __future__ import annotations

from collections.abc import Callable

from prefect.runtime import flow_run

from liandong.clock import local, resolve_as_of


def run_name(what: str) -> Callable[[], str]:
    def name() -> str:
        as_of = flow_run.parameters.get("as_of")
        return f"{what} {local(resolve_as_of(as_of)):%Y-%m-%d}"
    return name


def current_run_id() -> str:
    """The top-level run's id: a night's stages share it, so its quarantine and events group together."""
    return str(flow_run.root_flow_run_id or flow_run.id or "local")
