"""The meeting documents from templates/agenda/<locale>/: the agenda and the minutes, each as
an HTML fragment and plain text (carried by the emails of templates/email) and as Markdown (the
Prefect artifact). The HTML environment autoescapes and the Markdown one escapes every value
(liandong/markdown.py), so case text stays data in every form; the HTML fragment is therefore
safe for the email templates to insert as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import jinja2

from liandong.clock import local
from liandong.markdown import escape
from tasks.meetings.agenda import Agenda

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "agenda"
LOCALES: tuple[str, ...] = ("zh-CN", "en")


@dataclass(frozen=True)
class Rendered:
    text: str
    html: str
    markdown: str


class MeetingDocuments:
    """Compiles the templates once; render as many agendas and minutes as needed."""

    def __init__(self, templates: Path = TEMPLATES):
        common = {"loader": jinja2.FileSystemLoader(templates), "undefined": jinja2.StrictUndefined,
                  "trim_blocks": True, "lstrip_blocks": True, "keep_trailing_newline": True}
        self._page = jinja2.Environment(autoescape=jinja2.select_autoescape(["html.j2"], default=False), **common)
        self._markdown = jinja2.Environment(autoescape=False, finalize=_escape_once, **common)
        self._markdown.filters["escaped"] = _Escaped
        for env in (self._page, self._markdown):
            env.filters["local_time"] = local_time
            env.filters["day"] = day
            env.filters["in_locale"] = in_locale

    def agenda(self, agenda: Agenda, locale: str) -> Rendered:
        return self._render("agenda", agenda, locale)

    def minutes(self, agenda: Agenda, locale: str) -> Rendered:
        return self._render("minutes", agenda, locale)

    def _render(self, name: str, agenda: Agenda, locale: str) -> Rendered:
        if locale not in LOCALES:
            raise ValueError(f"no meeting templates for locale {locale!r}")
        page = f"{locale}/{name}"
        return Rendered(
            text=self._page.get_template(f"{page}.txt.j2").render(a=agenda),
            html=self._page.get_template(f"{page}.html.j2").render(a=agenda),
            markdown=self._markdown.get_template(f"{page}.md.j2").render(a=agenda),
        )


class _Escaped(str):
    """Markdown whose values are escaped already: a macro's output (`{{ L.decided(d, units)|escaped }}`)."""


def _escape_once(value: object) -> str:
    return value if isinstance(value, _Escaped) else escape(value)


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A warehouse timestamp (naive UTC) or an aware one, in Beijing time."""
    return local(value).strftime(fmt) if value else ""


def day(value: date | None, fmt: str = "%Y-%m-%d") -> str:
    return value.strftime(fmt) if value else ""


def in_locale(text: str, locale: str) -> str:
    """The reader's half of a bilingual system text ("中文 / English"); other text as it is."""
    chinese, separator, english = text.partition(" / ")
    return text if not separator else chinese if locale == "zh-CN" else english
