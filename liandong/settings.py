"""All settings in one pydantic-settings class.

Sources, highest first: keyword arguments to `load_settings`, environment variables
(`LIANDONG_…`, nested with `__`, e.g. `LIANDONG_MAIL__SMTP_HOST`), the YAML settings file
named by `LIANDONG_SETTINGS_FILE` (default `liandong.yaml` in the working directory, if present),
then the embedded defaults, which run the demo: everything under `var/`.

Settings are built by `load_settings()` when a flow starts, never at import time, so tests and
deployments can point the same code at different warehouses.
"""

from __future__ import annotations

import os
from datetime import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, YamlConfigSettingsSource

from liandong.roster import Email

# Column names of hotline / grid-platform exports → the fields of an intake row. Extend per
# source in the settings file (`intake.column_map`); keys are compared after trimming spaces.
DEFAULT_COLUMN_MAP: dict[str, str] = {
    "工单编号": "source_ref", "诉求编号": "source_ref", "编号": "source_ref", "id": "source_ref",
    "service_request_id": "source_ref",
    "受理时间": "received_at", "来电时间": "received_at", "上报时间": "received_at",
    "requested_datetime": "received_at", "received_at": "received_at",
    "诉求标题": "title", "标题": "title", "title": "title", "service_name": "title",
    "诉求内容": "description", "问题描述": "description", "内容": "description",
    "description": "description",
    "诉求类别": "category", "类别": "category", "category": "category", "service_code": "category",
    "紧急程度": "urgency", "urgency": "urgency",
    "所属社区": "community", "社区": "community", "community": "community",
    "所属网格": "grid", "网格": "grid", "grid": "grid",
    "事发地址": "address", "地址": "address", "问题地址": "address", "address": "address",
    "反映人": "reporter_name", "联系人": "reporter_name", "来电人": "reporter_name",
    "reporter_name": "reporter_name", "first_name": "reporter_name",
    "联系电话": "reporter_phone", "电话": "reporter_phone", "reporter_phone": "reporter_phone",
    "phone": "reporter_phone",
    "来源渠道": "channel", "渠道": "channel", "channel": "channel",
}


class Open311Source(BaseModel):
    """One Open311 GeoReport v2 endpoint (e.g. the city platform)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    base_url: str  # ends before `requests.json`
    api_key: SecretStr | None = None
    jurisdiction_id: str | None = None
    start: str = "2026-01-01T00:00:00+08:00"  # first window when no watermark exists yet
    timeout_seconds: float = 30.0


class IntakeSettings(BaseModel):
    column_map: dict[str, str] = DEFAULT_COLUMN_MAP
    open311: list[Open311Source] = []


class MailSettings(BaseModel):
    transport: Literal["maildir", "smtp"] = "maildir"
    from_address: str = "liandong@community.example.cn"
    from_name: str = "联动协调平台"
    reply_domain: str = "community.example.cn"
    reply_secret: SecretStr = SecretStr("demo-secret-change-me")
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_connections: int = Field(8, ge=1, le=64)
    smtp_timeout_seconds: float = 30.0


class ImapSettings(BaseModel):
    """The organisation's mailbox that receives the replies (`reply+TOKEN@<reply_domain>`).
    Disabled: replies are read from `inbox_folder`, a Maildir (the demo). A message moves to
    `processed_folder` only after its effect is committed to the warehouse."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 993
    security: Literal["tls", "starttls", "none"] = "tls"
    username: str = ""
    password: SecretStr = SecretStr("")
    mailbox: str = "INBOX"
    processed_folder: str = "Liandong-Processed"
    timeout_seconds: float = 30.0
    # A CA bundle for a server whose certificate the system does not trust (an internal CA).
    ca_file: Path | None = None


class ReportRecipient(BaseModel):
    name: str
    email: Email
    locale: Literal["zh-CN", "en"] = "zh-CN"


class ScoreWeights(BaseModel):
    """Weights of the rates in a unit's red/yellow-list score; localities weigh them differently."""

    response: float = Field(0.25, ge=0)
    on_time: float = Field(0.25, ge=0)
    resolution: float = Field(0.25, ge=0)
    satisfaction: float = Field(0.25, ge=0)


class ReportSettings(BaseModel):
    """The quarterly summary; docs/kpis.md defines every figure and when these choices matter."""

    folder: Path | None = None  # default <home>/reports
    recipients: list[ReportRecipient] = []
    send_to_coordinators: bool = True
    min_cases_ranked: int = Field(5, ge=1)
    list_size: int = Field(3, ge=1)
    score_weights: ScoreWeights = ScoreWeights()
    basically_satisfied_counts: bool = True
    satisfaction_base: Literal["answered", "rated"] = "answered"
    extensions_move_deadline: bool = True
    trend_quarters: int = Field(4, ge=0, le=20)
    notable_cases: int = Field(10, ge=0, le=200)


class LakeSettings(BaseModel):
    """The warehouse on DuckLake (`warehouse_backend: ducklake`, docs/scale-out.md): the catalog in
    PostgreSQL, the data as Parquet files under `data_path`. Used only by that backend."""

    # libpq key=value without the password, e.g. "dbname=liandong_lake host=db.internal user=liandong"
    catalog: str = ""
    catalog_password: SecretStr | None = None  # kept out of the ATTACH string (a DuckDB secret)
    data_path: str | None = None  # a folder (or object-store URL) for the Parquet files; default <home>/lake/
    alias: str = Field("lake", pattern=r"^[a-z][a-z0-9_]*$")
    # DuckLake retries a commit that collided with another writer's snapshot when nothing
    # logically conflicts (two appends); these are its knobs (DuckLake's defaults: 10, 100 ms, 1.5).
    max_retry_count: int = Field(20, ge=0)
    retry_wait_ms: int = Field(100, ge=0)
    retry_backoff: float = Field(1.5, ge=1.0)


class MeetingSettings(BaseModel):
    # The virtual meeting room. `{meeting_id}` and `{community_id}` are filled in, e.g. a fixed
    # Tencent Meeting room per community: https://meeting.tencent.com/dm/{community_id}
    link_template: str = "https://meeting.example.cn/liandong/{community_id}/{meeting_id}"
    duration_minutes: int = Field(90, ge=15, le=480)
    # Regular meetings are held late in their month or quarter, so a chair term's last meeting
    # can carry the term report: on this working day counted back from the period's end, at this time.
    regular_working_day_from_end: int = Field(3, ge=1, le=15)
    regular_time: time = time(14, 30)
    # A regular meeting is convened (invitations sent) this many working days before it.
    regular_notice_working_days: int = Field(5, ge=1, le=30)
    # A case this many units work on (asked and not declined) goes on the agenda to coordinate them.
    several_units: int = Field(3, ge=2)
    # The cases one agenda holds, the most pressing first: a 90-minute meeting hears two or three
    # minutes a case. The rest wait for the next meeting; the run summary counts them.
    agenda_cases_max: int = Field(40, ge=1, le=500)
    # After the invitation a run waits this long for the decisions, polling Prefect this often.
    decision_wait_hours: int = Field(24 * 14, ge=1)
    decision_poll_seconds: int = Field(10, ge=1)

    @field_validator("link_template")
    @classmethod
    def _only_known_fields(cls, template: str) -> str:
        try:
            template.format(meeting_id="m", community_id="c")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"会议链接模板只能使用 {{meeting_id}} 和 {{community_id}} / the link template may only use "
                             f"{{meeting_id}} and {{community_id}}: {exc!r}") from None
        return template

    def link(self, meeting_id: str, community_id: str) -> str:
        return self.link_template.format(meeting_id=meeting_id, community_id=community_id)


class _Environment(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LIANDONG_", env_nested_delimiter="__", extra="ignore")

    meetings: MeetingSettings = MeetingSettings()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LIANDONG_", env_nested_delimiter="__", extra="forbid")

    home: Path = Path("var")
    warehouse_path: Path | None = None
    # How long a writer waits for another process's lock on the file before failing loudly.
    warehouse_lock_timeout: float = Field(60.0, ge=0)
    # `duckdb`: the one file at warehouse_path. `ducklake`: the lake described by `lake` (scale-out).
    warehouse_backend: Literal["duckdb", "ducklake"] = "duckdb"
    lake: LakeSettings = LakeSettings()
    roster_path: Path = Path("demo/roster.yaml")
    calendar_overrides: Path | None = None
    drop_folder: Path | None = None
    archive_folder: Path | None = None
    outbox_folder: Path | None = None
    inbox_folder: Path | None = None
    attachments_folder: Path | None = None
    inbound_archive_folder: Path | None = None
    locale: Literal["zh-CN", "en"] = "zh-CN"
    intake: IntakeSettings = IntakeSettings()
    mail: MailSettings = MailSettings()
    report: ReportSettings = ReportSettings()
    imap: ImapSettings = ImapSettings()
    meetings: MeetingSettings = MeetingSettings()

    def model_post_init(self, __context: object) -> None:
        # Every state folder defaults to a place under `home`, so one folder holds a whole install.
        defaults = {
            "warehouse_path": "warehouse.duckdb", "drop_folder": "drop", "archive_folder": "archive",
            "outbox_folder": "outbox", "inbox_folder": "inbox", "attachments_folder": "attachments",
            "inbound_archive_folder": "inbound_archive",
        }
        for field, name in defaults.items():
            if getattr(self, field) is None:
                setattr(self, field, self.home / name)
        if self.lake.data_path is None:
            self.lake.data_path = f"{self.home / 'lake'}/"

    def warehouse_lake(self) -> LakeSettings | None:
        """What `open_warehouse(..., lake=…)` takes: the lake when the backend is DuckLake, else None."""
        return self.lake if self.warehouse_backend == "ducklake" else None

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        settings_file = Path(os.environ.get("LIANDONG_SETTINGS_FILE", "liandong.yaml"))
        yaml_source = YamlConfigSettingsSource(settings_cls, yaml_file=settings_file, yaml_file_encoding="utf-8")
        return init_settings, env_settings, yaml_source


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)
