"""Wiring in one place: the external systems (warehouse, roster, calendar, mail) built from
settings. Tasks ask `Resources` for what they need; tests build the same from test settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from liandong.locking import warehouse_writer
from liandong.roster import Roster, load_roster
from liandong.settings import Settings
from liandong.workdays import ChineseWorkCalendar, WorkCalendar
from warehouse.store import Warehouse, open_warehouse

if TYPE_CHECKING:
    from tasks.mail.compose import Composer
    from tasks.mail.transport import MailTransport


# The connections of the writing run in progress, by warehouse, and what closes them at its end.
_run_connections: ContextVar[tuple[dict[str, Warehouse], ExitStack] | None] = ContextVar("run_connections",
                                                                                          default=None)


@contextmanager
def writing_run() -> Iterator[None]:
    """Around a writing flow's body: the writer slot for the whole run (liandong/locking.py), and
    one warehouse connection that its stages and tasks share, closed when the run ends. Every
    close checkpoints the file; with a connection per task, closes and commits checkpointing were
    43 % of a 100,000-case night (docs/benchmarks.md)."""
    if _run_connections.get() is not None:  # a stage flow inside the nightly run
        yield
        return
    with warehouse_writer(), ExitStack() as closing:  # connections close before the slot is let go
        token = _run_connections.set(({}, closing))
        try:
            yield
        finally:
            _run_connections.reset(token)


@dataclass
class Resources:
    settings: Settings

    @contextmanager
    def warehouse(self) -> Iterator[Warehouse]:
        """The warehouse for writing: the writing run's connection if one is open, else a
        connection of its own, with one writer at a time across flow runs."""
        run = _run_connections.get()
        if run is None:
            with warehouse_writer(), self._open() as wh:
                yield wh
            return
        connections, closing = run
        key = f"{self.settings.warehouse_path} {self.settings.warehouse_lake()}"
        if key not in connections:
            connections[key] = closing.enter_context(self._open())
        yield connections[key]

    def _open(self) -> AbstractContextManager[Warehouse]:
        return open_warehouse(self.settings.warehouse_path, lake=self.settings.warehouse_lake(),
                              lock_timeout=self.settings.warehouse_lock_timeout)

    @cached_property
    def roster(self) -> Roster:
        return load_roster(self.settings.roster_path)

    @cached_property
    def calendar(self) -> WorkCalendar:
        return ChineseWorkCalendar(self.settings.calendar_overrides)

    # Mail is imported when first used: tasks/mail's Prefect tasks import this module.
    @cached_property
    def composer(self) -> Composer:
        from tasks.mail.compose import Composer

        return Composer(self.settings.mail)

    def mail_transport(self) -> MailTransport:
        from tasks.mail.transport import transport_from_settings

        return transport_from_settings(self.settings)
