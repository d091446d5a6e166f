"""What a meeting decided, in one shape whichever way it arrives: the coordinator's flow-run
input form in the Prefect UI, or a minutes file (batch entry, the demo, tests).

Per case on the agenda:

    assign   lead_unit (required), support_units, due_date (default: the policy's handling time)
    defer    to the next meeting; the case stays as it is
    reject   with a reason: the committee will not take it; the case is closed as rejected
    noted    heard, nothing changes (progress reports, the chair's term report)

A minutes file (YAML)::

    meeting_id: xingguang-2026-11
    present_units: [zsl-police, eco-branch]     # optional; default: every member unit
    decisions:
      - {case_id: LD-2026-000012, decision: assign, lead_unit: cg-squad, support_units: [eco-branch],
         due_date: 2026-12-10}
      - {case_id: LD-2026-000031, decision: reject, reason: 属于司法诉讼事项}

A case the minutes do not mention is recorded as deferred.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from prefect.input import RunInput
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

Decision = Literal["assign", "defer", "reject", "noted"]


class MinutesFileInvalid(ValueError):
    """A minutes file that cannot be read; the message is bilingual and names the file."""


class ItemDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_id: str = Field(description="案件编号（勿改） / case number (leave as is)")
    decision: Decision = Field(description="assign 交办 | defer 下次再议 | reject 不予受理 | noted 知悉")
    lead_unit: str | None = Field(None, description="牵头单位 / lead unit (assign)")
    support_units: list[str] = Field([], description="协办单位 / supporting units (assign)")
    due_date: date | None = Field(None, description="办结期限 / deadline (assign; empty: the policy's)")
    reason: str = Field("", description="说明；不予受理时必填 / note; required to reject")


class Minutes(BaseModel):
    model_config = ConfigDict(extra="forbid")

    meeting_id: str | None = None
    present_units: list[str] | None = None
    decisions: list[ItemDecision] = []


class DecisionForm(RunInput):
    """The flow-run input form; `decision_form` narrows the unit fields to the community's units."""

    present_units: list[str] = Field(description="出席单位 / units present")
    decisions: list[ItemDecision]

    def minutes(self, meeting_id: str) -> Minutes:
        return Minutes(meeting_id=meeting_id, present_units=self.present_units,
                       decisions=[ItemDecision.model_validate(d.model_dump()) for d in self.decisions])


def decision_form(unit_ids: list[str], proposals: list[ItemDecision], description: str) -> type[DecisionForm]:
    """The form for one meeting: unit fields are drop-downs of its member units (the server then
    refuses any other), pre-filled with everyone present and the agenda's proposed decisions."""
    unit = Literal[tuple(unit_ids)]  # type: ignore[valid-type]
    item = create_model("ItemDecision", __base__=ItemDecision,
                        lead_unit=(unit | None, ItemDecision.model_fields["lead_unit"]),
                        support_units=(list[unit], ItemDecision.model_fields["support_units"]))
    form = create_model("DecisionForm", __base__=DecisionForm,
                        present_units=(list[unit], DecisionForm.model_fields["present_units"]),
                        decisions=(list[item], ...))
    return form.with_initial_data(description=description, present_units=list(unit_ids),
                                  decisions=[item.model_validate(p.model_dump()) for p in proposals])


def load_minutes_file(path: Path) -> Minutes:
    try:
        data: Any = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        return Minutes.model_validate(data)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise MinutesFileInvalid(f"无法读取会议纪要文件 / cannot read the minutes file {path}: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(file)'}: {e['msg']}" for e in exc.errors())
        raise MinutesFileInvalid(f"会议纪要文件有误 / invalid minutes file {path}: {problems}") from None
