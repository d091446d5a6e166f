"""Flow `follow-up-checks`: the look-back (回头看) of resolved cases: act on the answers (verified
and closed, or reopened with the lead unit told), ask and remind, record no response, and send
what is due."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from prefect import flow

from flows.naming import current_run_id, run_name
from liandong.clock import resolve_as_of
from liandong.resources import writing_run
from liandong.settings import load_settings
from tasks.lookback import apply_answers_task, ask_and_remind_task
from tasks.lookback.checks import AnswersResult, QuestionsResult
from tasks.mail import deliver_outbox_task
from tasks.mail.delivery import DeliveryReport
from tasks.summary import stand_alone, write_run_summary
from tasks.summary.run import RunResults


@dataclass
class LookbackStage:
    answers: AnswersResult = field(default_factory=AnswersResult)
    questions: QuestionsResult = field(default_factory=QuestionsResult)
    delivery: DeliveryReport = field(default_factory=DeliveryReport)

    @property
    def problems(self) -> list[str]:
        """Everything the night's summary must show, bilingual."""
        rejected = [reason for q in (self.answers.queued, self.questions.queued) for _, reason in q.rejected]
        return [*self.answers.problems, *self.questions.problems, *rejected, *self.delivery.problems]


@flow(name="follow-up-checks", flow_run_name=run_name("look-back"), log_prints=True)
def follow_up_checks(as_of: datetime | None = None) -> LookbackStage:
    with writing_run():  # one writer slot and one warehouse connection for the whole run
        settings, as_of, run_id = load_settings(), resolve_as_of(as_of), current_run_id()
        stage = LookbackStage()
        stage.answers = apply_answers_task(settings, as_of, run_id)
        stage.questions = ask_and_remind_task(settings, as_of, run_id)
        stage.delivery = deliver_outbox_task(settings, as_of)
        a, q = stage.answers, stage.questions
        print(f"look-back: {a.verified} verified and closed, {a.reopened} reopened; {q.asked} asked, "
              f"{q.reminded} reminded, {q.no_response} without response; {stage.delivery.sent} emails sent")
        if stand_alone():
            write_run_summary(settings, "lookback", RunResults(lookback=stage), as_of, run_id)
        return stage
