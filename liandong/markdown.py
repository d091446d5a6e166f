"""Markdown for Prefect artifacts. Every value printed into a summary template is escaped, so
case text can neither break a table nor smuggle HTML or links into the coordinators' UI."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from prefect.settings import PREFECT_UI_URL

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


class Trusted(str):
    """Markdown our code built from escaped parts (a link): printed as it is."""


def escape(value: object) -> str:
    if isinstance(value, Trusted):
        return value
    text = "" if value is None else str(value)
    text = text.replace("&", "&amp;").replace("\r", " ").replace("\n", " ")
    return _SPECIAL.sub(r"\\\1", text)


def link(label: str, target: str) -> Trusted:
    """A link to a report file or a Prefect artifact; the label is escaped, the target quoted."""
    return Trusted(f"[{escape(label)}](<{quote(target, safe=':/#?=&%')}>)")


def artifact_link(label: str, key: str) -> Trusted:
    """A link to the artifact's page in the Prefect UI when its address is known, else its key."""
    ui = PREFECT_UI_URL.value()
    return link(label, f"{ui.rstrip('/')}/artifacts/key/{key}") if ui else Trusted(f"{escape(label)}: `{key}`")


def summary_environment() -> Environment:
    # Templates are files of ours; data is only ever passed in, never compiled as a template.
    return Environment(loader=FileSystemLoader(TEMPLATES / "summary"), finalize=escape,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, autoescape=False)


def render_summary(name: str, locale: str, **context: object) -> str:
    return summary_environment().get_template(f"{locale}/{name}.md.j2").render(**context)
