"""Prefect tasks of the look-back stage (回头看), one per step whatever the number of cases; the
work is in the plain modules beside this file (checks.py, notices.py)."""

from __future__ import annotations

from datetime import datetime

from prefect import task
from prefect.cache_policies import NO_CACHE

from liandong.resources import Resources
from liandong.settings import Settings
from tasks.lookback.checks import AnswersResult, QuestionsResult, apply_answers, ask_and_remind


@task(name="apply-lookback-answers", cache_policy=NO_CACHE)
def apply_answers_task(settings: Settings, as_of: datetime, run_id: str) -> AnswersResult:
    resources = Resources(settings)
    with resources.warehouse() as wh:
        return apply_answers(wh, resources.roster, resources.calendar, resources.composer, as_of, run_id)


@task(name="ask-lookbacks", cache_policy=NO_CACHE)
def ask_and_remind_task(settings: Settings, as_of: datetime, run_id: str) -> QuestionsResult:
    resources = Resources(settings)
    with resources.warehouse() as wh:
        return ask_and_remind(wh, resources.roster, resources.calendar, resources.composer, as_of, run_id)
