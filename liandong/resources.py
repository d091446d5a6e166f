"""Wiring in one place: the external systems (warehouse, roster, calendar, mail) built from
settings. Tasks ask `Resources` for what they need; tests build the same from test settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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


@dataclass
class Resources:
    settings: Settings

    @contextmanager
    def warehouse(self) -> Iterator[Warehouse]:
        """The warehouse for writing: one writer at a time across flow runs (liandong/locking.py)."""
        with warehouse_writer(), open_warehouse(self.settings.warehouse_path, lake=self.settings.warehouse_lake(),
                                                lock_timeout=self.settings.warehouse_lock_timeout) as wh:
            yield wh

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
