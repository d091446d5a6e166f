"""Which case, assignment and unit a reply is about, and whether its sender may speak for it.

The order of the email contract: the signed token in a recipient address, then In-Reply-To /
References against the Message-IDs of our outbound messages, then the subject tag
`[LD-2026-000123]`. A message about several cases (a chase digest) names the case in the reply.
Then the sender: the From address must be a contact of the unit the token or the message was
for (for a look-back: the person asked, else the grid worker or the coordinator). A token
whose MAC does not verify is a forgery and is not looked past; a genuine token from anyone
else is not acted on either. `Known` is what the warehouse knows about one batch's replies,
read with a few set-based queries.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from email import message_from_bytes

from liandong.roster import Roster
from tasks.mail.tokens import ReplyClaims
from tasks.replies.parsing import Reply, case_numbers
from tasks.replies.reader import Prepared
from tasks.replies.reading import body_text
from warehouse.store import Warehouse

LIVE = ("notified", "accepted")
NO_CASE_PURPOSES = ("claim_list", "meeting")
_SEPARATOR = "\x1f"
_NUMBERED_CASE = re.compile(r"^\s*\d+\.\s*\[(LD-\d{4}-\d{6})\]", re.M)


@dataclass(frozen=True)
class Outbound:
    message_id: str
    purpose: str
    case_id: str | None
    assignment_id: str | None
    unit_id: str | None
    to_addrs: str
    claim_list: tuple[str, ...] = ()  # a claim list's cases in the order it numbered them


@dataclass
class AssignmentRow:
    assignment_id: str
    case_id: str
    unit_id: str
    role: str
    state: str


@dataclass
class CaseRow:
    case_id: str
    status: str
    title: str
    grid_id: str | None
    community_id: str | None


@dataclass
class LookbackRow:
    lookback_id: str
    case_id: str
    state: str
    contact_email: str | None


@dataclass
class Known:
    messages: dict[str, Outbound] = field(default_factory=dict)
    cases: dict[str, CaseRow] = field(default_factory=dict)
    assignments: dict[str, AssignmentRow] = field(default_factory=dict)
    lookbacks: dict[str, list[LookbackRow]] = field(default_factory=dict)  # by case, oldest first
    recorded: set[str] = field(default_factory=set)  # inbound ids already in the warehouse
    tokens: dict[str, ReplyClaims | None] = field(default_factory=dict)  # reply+… address → verified claims

    def assignment_of(self, case_id: str, unit_id: str) -> AssignmentRow | None:
        """The unit's assignment on the case: a live one, else its latest."""
        rows = sorted((a for a in self.assignments.values() if a.case_id == case_id and a.unit_id == unit_id),
                      key=lambda a: (a.state in LIVE, int(a.assignment_id.rsplit("/", 1)[1])))
        return rows[-1] if rows else None

    def lookback_of(self, case_id: str) -> LookbackRow | None:
        rows = self.lookbacks.get(case_id)
        return rows[-1] if rows else None


@dataclass(frozen=True)
class Match:
    by: str  # token | in_reply_to | subject_tag | case_number
    purpose: str
    case_id: str | None
    assignment_id: str | None
    unit_id: str | None  # the sender's unit (None for a look-back's grid worker or coordinator)
    actor: str  # unit:<id> | contact:<email>, for case_events
    replied_to: Outbound | None = None


@dataclass(frozen=True)
class NoMatch:
    kind: str  # the attention kind
    reason: str
    case_id: str | None = None


@dataclass(frozen=True)
class _Target:
    by: str
    purpose: str
    case_id: str | None
    assignment_id: str | None
    unit_id: str | None = None
    claims: ReplyClaims | None = None
    replied_to: Outbound | None = None


def load_known(wh: Warehouse, prepared: Sequence[Prepared]) -> Known:
    """Everything the batch's replies may refer to, in five queries however many replies there are."""
    known = Known()
    replies = [p.reply for p in prepared]
    known.recorded = {r["inbound_id"] for r in wh.query("inbound_already_recorded", _ids(r.inbound_id for r in replies))}
    known.tokens = {address: claims for p in prepared for address, claims in p.tokens.items()}
    message_ids = {m for r in replies for m in r.references}
    message_ids |= {bounced_id(r) for r in replies if r.automatic and r.automatic.original_message_id}
    for row in wh.query("outbound_messages_replied_to", _ids(message_ids)):
        numbered = _numbered_cases(wh, row["message_id"]) if row["purpose"] == "claim_list" else ()
        known.messages[row["message_id"]] = Outbound(row["message_id"], row["purpose"], row["case_id"],
                                                     row["assignment_id"], row["unit_id"], row["to_addrs"], numbered)
    case_ids = {c for r in replies for c in _mentioned_cases(r, known.tokens)}
    case_ids |= {m.case_id for m in known.messages.values() if m.case_id}
    case_ids |= {c for m in known.messages.values() for c in m.claim_list}
    for row in wh.query("cases_replied_about", _ids(case_ids)):
        known.cases[row["case_id"]] = CaseRow(**row)
    for row in wh.query("assignments_of_replied_cases", _ids(known.cases)):
        known.assignments[row["assignment_id"]] = AssignmentRow(**row)
    for row in wh.query("lookbacks_of_replied_cases", _ids(known.cases)):
        known.lookbacks.setdefault(row["case_id"], []).append(LookbackRow(**row))
    return known


def _ids(values: Iterable[str]) -> dict[str, str]:
    # One string split in SQL: binding a list costs ~0.1 ms per element (tasks/mail/tables.py).
    return {"ids": _SEPARATOR.join(values), "sep": _SEPARATOR}


def bounced_id(reply: Reply) -> str:
    """The Message-ID (without <>) of the message a bounce returned."""
    return (reply.automatic.original_message_id or "").strip().strip("<>")


def _mentioned_cases(reply: Reply, tokens: dict[str, ReplyClaims | None]) -> list[str]:
    found = [claims.case_id for a in reply.recipients if (claims := tokens.get(a)) and claims.case_id]
    return found + case_numbers(reply.subject) + case_numbers(reply.text)


def _numbered_cases(wh: Warehouse, message_id: str) -> tuple[str, ...]:
    """The cases of one of our claim lists, in the order it numbered them ("1. [LD-…]")."""
    (row,) = wh.query("claim_list_sent", {"message_id": message_id})
    text = body_text(message_from_bytes(row["raw"]))
    return tuple(found.group(1) for found in _NUMBERED_CASE.finditer(text))


class Matcher:
    def __init__(self, roster: Roster, reply_domain: str, known: Known):
        self.reply_domain = reply_domain.lower()
        self.known = known
        self.contact_units = roster.contact_units()
        self.roster = roster

    def match(self, reply: Reply) -> Match | NoMatch:
        target = self._target(reply)
        if isinstance(target, NoMatch):
            return target
        if target.purpose == "lookback":
            return self._lookback(reply, target)
        return self._for_unit(reply, target)

    def recipient_of(self, reply: Reply) -> tuple[str | None, str | None]:
        """(case, unit) of an automatic message, without any check: for the record only."""
        target = self._target(reply)
        return (None, None) if isinstance(target, NoMatch) else (target.case_id, target.unit_id)

    # ---------------------------------------------------------------------------------- target

    def _target(self, reply: Reply) -> _Target | NoMatch:
        replied_to = next((m for m in map(self.known.messages.get, reply.references) if m is not None), None)
        forged = False
        for address in reply.recipients:
            if not address.startswith("reply+"):
                continue
            claims = self.known.tokens[address]
            if claims is not None:
                return _Target("token", claims.purpose, claims.case_id, claims.assignment_id, claims=claims,
                               replied_to=replied_to)
            forged = forged or address.endswith("@" + self.reply_domain)
        if forged:
            return NoMatch("reply_forged_token",
                           "回复地址中的令牌无法验证，可能是伪造 / the reply token does not verify: possibly forged")
        if replied_to is not None:
            return _Target("in_reply_to", replied_to.purpose, replied_to.case_id, replied_to.assignment_id,
                           replied_to.unit_id, replied_to=replied_to)
        tagged = [c for c in case_numbers(reply.subject) if c in self.known.cases]
        if tagged:
            return _Target("subject_tag", "assignment", tagged[0], None)
        return NoMatch("reply_unmatched", "无法对应到任何诉求或已发邮件 / matches no case and no message we sent")

    # ---------------------------------------------------------------------------------- sender

    def _for_unit(self, reply: Reply, target: _Target) -> Match | NoMatch:
        unit_id = self.contact_units.get(reply.from_addr)
        if unit_id is None:
            return NoMatch("reply_unknown_sender", f"发件人 {reply.from_addr or '（无）'} 不是任何成员单位的联系人 / "
                           f"the sender {reply.from_addr or '(none)'} is not a contact of any unit", target.case_id)
        if (target.claims and not target.claims.is_for_unit(unit_id)) or target.unit_id not in (None, unit_id):
            return NoMatch("reply_wrong_sender", f"发件人 {reply.from_addr}（{unit_id}）不是该邮件收件单位的联系人 / "
                           f"the sender {reply.from_addr} ({unit_id}) is not a contact of the unit this message "
                           f"was for", target.case_id)
        if target.purpose in NO_CASE_PURPOSES:
            return Match(target.by, target.purpose, target.case_id, None, unit_id, f"unit:{unit_id}", target.replied_to)
        return self._assignment(reply, target, unit_id)

    def _assignment(self, reply: Reply, target: _Target, unit_id: str) -> Match | NoMatch:
        by, case_id = target.by, target.case_id
        if case_id is None:  # a message about several cases: the reply must name one
            named = [c for c in case_numbers(reply.text) if c in self.known.cases]
            if len(named) != 1:
                return NoMatch("reply_unmatched", "回复针对多项诉求的邮件，但未写明（唯一的）诉求编号 / the reply answers a "
                               "message about several cases and does not name exactly one case number")
            by, case_id = "case_number", named[0]
        row = (self.known.assignments.get(target.assignment_id) if target.assignment_id
               else self.known.assignment_of(case_id, unit_id))
        if row is None:
            return NoMatch("reply_unmatched", f"{unit_id} 在 {case_id} 上没有任务 / {unit_id} has no assignment on "
                           f"{case_id}", case_id)
        if row.unit_id != unit_id:
            return NoMatch("reply_wrong_sender", f"发件人 {reply.from_addr} 不属于承办单位 {row.unit_id} / the sender "
                           f"{reply.from_addr} is not a contact of {row.unit_id}", case_id)
        return Match(by, target.purpose, case_id, row.assignment_id, unit_id, f"unit:{unit_id}", target.replied_to)

    def _lookback(self, reply: Reply, target: _Target) -> Match | NoMatch:
        case = self.known.cases.get(target.case_id or "")
        lookback = self.known.lookback_of(target.case_id or "")
        if case is None or lookback is None:
            return NoMatch("reply_unmatched", f"没有 {target.case_id} 的回头看 / no look-back of {target.case_id}",
                           target.case_id)
        if reply.from_addr not in self._asked(case, lookback):
            return NoMatch("reply_unknown_sender", f"发件人 {reply.from_addr or '（无）'} 不是回头看的被询问人 / the "
                           f"sender {reply.from_addr or '(none)'} is not the person asked for this look-back",
                           case.case_id)
        return Match(target.by, "lookback", case.case_id, None, None, f"contact:{reply.from_addr}", target.replied_to)

    def _asked(self, case: CaseRow, lookback: LookbackRow) -> set[str]:
        if lookback.contact_email:
            return {lookback.contact_email.lower()}
        try:
            community = self.roster.community(case.community_id or "")
        except KeyError:
            return set()
        workers = {g.worker.email for g in community.grids if g.id == case.grid_id and g.worker}
        return workers | {community.coordinator.email}
