"""The quarterly report by email, through the outbox: one message per recipient in their
language (template `quarterly_report`, purpose `notice`).

Recipients are `report.recipients` from the settings, plus, unless `send_to_coordinators` is
off, the coordinators of the communities in the report. The composer cannot attach files, so
the message gives the headline and the report's path on the server. The idempotency key holds
the quarter, the scope, the address and a digest of the headline: a rerun with the same figures
sends nothing, a rerun after a correction sends the corrected figures.

Template context: quarter_name, scope_name (None: all communities), headline (name, value,
change), headline_rows [(name, "value (change)")], no_response, red, yellow (unit names), notes,
report_path.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from liandong.roster import Roster
from liandong.settings import ReportSettings
from tasks.mail.compose import Draft, Recipient
from tasks.report.files import ReportFiles


def recipients(options: ReportSettings, roster: Roster, community: str | None) -> list[Recipient]:
    """Configured recipients first, then the coordinators in scope; each address once."""
    found = [Recipient(r.name, r.email, r.locale) for r in options.recipients]
    if options.send_to_coordinators:
        found += [Recipient(c.coordinator.name, c.coordinator.email, c.coordinator.locale)
                  for c in roster.communities if community in (None, c.id)]
    unique: dict[str, Recipient] = {}
    for r in found:
        unique.setdefault(r.email.lower(), r)
    return list(unique.values())


def report_drafts(files: ReportFiles, quarter: str, community: str | None, options: ReportSettings,
                  roster: Roster) -> list[Draft]:
    drafts = []
    for to in recipients(options, roster, community):
        context = email_context(files.summaries[to.locale])
        drafts.append(Draft(
            idempotency_key=f"quarterly_report:{quarter}:{community or 'all'}:{to.email}:{_digest(context)}",
            purpose="notice", template="quarterly_report", to=(to,), context=context))
    return drafts


def email_context(summary: dict[str, Any]) -> dict[str, Any]:
    rows = [(f["name"], f"{f['value']} ({f['change']})" if f["change"] else f["value"]) for f in summary["headline"]]
    return {**summary, "headline_rows": rows}


def _digest(context: dict[str, Any]) -> str:
    figures = [context["headline"], context["red"], context["yellow"]]
    return hashlib.sha256(json.dumps(figures, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:16]
