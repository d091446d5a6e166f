"""The rotating chair (轮值主席) of a community on a given day: member units take the chair in
`chair_order`, `chair_term_months` each, from `chair_start`, round and round."""

from __future__ import annotations

from datetime import date

from liandong.roster import Community


class ChairUnknown(ValueError):
    """The roster's chair settings cannot name a chair; the message is bilingual."""


def chair_unit_id(community: Community, on: date) -> str | None:
    """The chair unit's id, or None when the community has no rotation or it starts later."""
    if not community.chair_order:
        return None
    try:
        start = date.fromisoformat(community.chair_start)
    except ValueError:
        raise ChairUnknown(
            f"社区 {community.id} 的 chair_start 不是日期（YYYY-MM-DD）：{community.chair_start!r}"
            f" / community {community.id}: chair_start is not a date (YYYY-MM-DD): {community.chair_start!r}"
        ) from None
    if on < start:
        return None
    months = (on.year - start.year) * 12 + on.month - start.month - (on.day < start.day)
    term = months // community.chair_term_months
    return community.chair_order[term % len(community.chair_order)]
