"""Flow-run names that say what and when (`nightly 2026-11-21`), and tags per community."""

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


def tag_run(tag: str) -> None:
    """Adds a tag (`community:xingguang`) to the running flow run, so the UI can filter by it."""
    from prefect.client.orchestration import get_client

    if flow_run.id is None:
        return
    with get_client(sync_client=True) as client:
        tags = client.read_flow_run(flow_run.id).tags
        if tag not in tags:
            client.update_flow_run(flow_run.id, tags=[*tags, tag])
