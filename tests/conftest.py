"""Shared fixtures: an isolated Liandong home per test, and ONE Prefect test harness per session
(it takes ~10 s to start) whose server output is kept and checked for the known bad errors."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Before Prefect is imported anywhere: no telemetry (its heartbeat locked SQLite here), no ~/.prefect.
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="liandong-prefect-"))
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")

import pytest  # noqa: E402

from liandong.settings import Settings, load_settings  # noqa: E402
from tests.support.dovecot import dovecot  # noqa: E402,F401  (one real IMAP server per session)
from tests.support.prefect_logs import FORBIDDEN_SERVER_ERRORS, forbidden_lines  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def liandong_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """LIANDONG_* pointing at a fresh folder and the test roster, as an operator would set them."""
    home = tmp_path / "var"
    monkeypatch.setenv("LIANDONG_HOME", str(home))
    monkeypatch.setenv("LIANDONG_ROSTER_PATH", str(FIXTURES / "roster.yaml"))
    monkeypatch.setenv("LIANDONG_SETTINGS_FILE", str(tmp_path / "no-settings-file.yaml"))
    (home / "drop").mkdir(parents=True)
    return home


@pytest.fixture
def settings(liandong_home: Path) -> Settings:
    return load_settings()


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory: pytest.TempPathFactory):
    """Prefect's test harness; the temporary server's own stdout/stderr go to a file that is
    checked at the end for the errors a wrong dependency set produces."""
    from prefect.testing.utilities import prefect_test_harness

    log = tmp_path_factory.mktemp("prefect") / "server.log"
    harness = prefect_test_harness(server_startup_timeout=90)
    with open(log, "wb") as sink:
        saved = os.dup(1), os.dup(2)
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            harness.__enter__()  # the server subprocess inherits the file as its stdout/stderr
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
    yield log
    harness.__exit__(None, None, None)
    bad = forbidden_lines(log.read_text(errors="replace"))
    assert not bad, f"Prefect server logged {FORBIDDEN_SERVER_ERRORS}: {bad[:5]}"
