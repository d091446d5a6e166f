"""What one delivery attempt leads to: the message's next state, when to try again, and what
the coordinator must be told.

- accepted for every recipient → `sent`;
- a temporary failure (4xx, timeout, lost connection, server unreachable) → `failed_temporary`,
  due again after 5 min, 30 min, 2 h, then every 6 h; once three days have passed since the
  first attempt, `failed_permanent` instead;
- a permanent failure (5xx) → `failed_permanent` and an attention item;
- accepted for some recipients only: those refused for good get an attention item each, those
  deferred (4xx) are retried alone (`retry_rcpts`) — the others have the message already.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tasks.mail.tables import FAILED_PERMANENT, FAILED_TEMPORARY, SENT, Attention
from tasks.mail.transport import Envelope, Outcome, Refusal

RETRY_DELAYS = (timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=6))
GIVE_UP_AFTER = timedelta(days=3)


@dataclass(frozen=True)
class Attempt:
    """A message as it is being sent: `attempts` counts this attempt."""

    message_id: str
    case_id: str | None
    envelope: Envelope
    attempts: int
    first_attempt_at: datetime
    retry_rcpts: str | None


def retry_delay(attempts: int) -> timedelta:
    """Wait after the `attempts`-th failed attempt (1-based)."""
    return RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1]


def transition(attempt: Attempt, outcome: Outcome, as_of: datetime) -> tuple[dict[str, Any], list[Attention]]:
    """The message's new row values (see tables.record_outcomes) and its attention items."""
    failure = outcome.failure
    if failure is not None:
        if failure.temporary:
            return _temporary(attempt, str(failure), attempt.retry_rcpts, as_of)
        return _permanent(attempt, f"邮件被拒收 / message refused: {failure}")
    refused = {rcpt: why for rcpt, why in outcome.refused.items() if not why.temporary}
    deferred = {rcpt: why for rcpt, why in outcome.refused.items() if why.temporary}
    delivered = len(outcome.refused) < len(attempt.envelope.recipients)
    if not delivered and not deferred:
        return _permanent(attempt, f"收件人全部被拒收 / every recipient refused: {_describe(refused)}")
    problems = [_attention("mail_recipient_refused", attempt, f"收件人被拒收 / recipient refused: {rcpt}: {why}")
                for rcpt, why in refused.items()]
    if deferred:
        row, more = _temporary(attempt, _describe(deferred), ", ".join(deferred), as_of)
    else:
        row, more = _row(attempt, SENT, last_error=_describe(refused) or None), []
    if delivered:
        row["sent_at"] = as_of
    return row, problems + more


def _temporary(attempt: Attempt, error: str, retry_rcpts: str | None,
               as_of: datetime) -> tuple[dict[str, Any], list[Attention]]:
    if as_of >= attempt.first_attempt_at + GIVE_UP_AFTER:
        return _permanent(attempt, f"{attempt.attempts} 次尝试、3 天后仍无法投递 / undeliverable after "
                                   f"{attempt.attempts} attempts over 3 days: {error}")
    return _row(attempt, FAILED_TEMPORARY, next_attempt_at=as_of + retry_delay(attempt.attempts),
                last_error=error, retry_rcpts=retry_rcpts), []


def _permanent(attempt: Attempt, reason: str) -> tuple[dict[str, Any], list[Attention]]:
    return _row(attempt, FAILED_PERMANENT, last_error=reason), [_attention("mail_failed", attempt, reason)]


def _row(attempt: Attempt, state: str, *, next_attempt_at: datetime | None = None, last_error: str | None = None,
         retry_rcpts: str | None = None) -> dict[str, Any]:
    return {"message_id": attempt.message_id, "state": state, "next_attempt_at": next_attempt_at,
            "last_error": last_error, "retry_rcpts": retry_rcpts, "sent_at": None}


def _attention(kind: str, attempt: Attempt, reason: str) -> Attention:
    return kind, attempt.case_id, attempt.message_id, reason


def _describe(refused: dict[str, Refusal]) -> str:
    return "; ".join(f"{rcpt}: {why}" for rcpt, why in refused.items())
