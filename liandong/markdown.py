"""Markdown for Prefect artifacts. Every value printed into a summary template is escaped, so
case text can neither break a table nor smuggle HTML or links into the coordinators' UI."""

from __future__ import annotations

import re
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def escape(value: object) -> str:
    text = "" if value is None else str(value)
    text = text.replace("&", "&amp;").replace("\r", " ").replace("\n", " ")
    return _SPECIAL.sub(r"\\\1", text)


def summary_environment() -> Environment:
    # Templates are files of ours; data is only ever passed in, never compiled as a template.
    return Environment(loader=FileSystemLoader(TEMPLATES / "summary"), finalize=escape,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, autoescape=False)


def render_summary(name: str, locale: str, **context: object) -> str:
    return summary_environment().get_template(f"{locale}/{name}.md.j2").render(**context)
