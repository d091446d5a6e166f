"""Open311 GeoReport v2 pull against a real HTTP server on loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from liandong.resources import Resources
from liandong.settings import Open311Source, Settings
from tasks.intake.pull import pull_open311_sources
from tasks.roster.sync import sync_roster

UTC = timezone.utc


class City:
    """A city platform's GeoReport v2 endpoint: requests filtered by start/end, capped per page."""

    def __init__(self, requests: list[dict], page_cap: int = 1000):
        self.requests = requests
        self.page_cap = page_cap
        self.calls: list[tuple[datetime, datetime]] = []
        self.fail_with: int | None = None


def _handler(city: City):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            url = urlparse(self.path)
            if url.path != "/open311/v2/requests.json":
                self.send_error(404)
                return
            if city.fail_with:
                self.send_error(city.fail_with)
                return
            q = parse_qs(url.query)
            start = datetime.fromisoformat(q["start_date"][0].replace("Z", "+00:00"))
            end = datetime.fromisoformat(q["end_date"][0].replace("Z", "+00:00"))
            city.calls.append((start, end))
            hits = [r for r in city.requests
                    if start <= datetime.fromisoformat(r["requested_datetime"]) < end][: city.page_cap]
            body = json.dumps(hits, ensure_ascii=False).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # keep test output readable
            pass

    return Handler


@pytest.fixture
def city() -> Iterator[tuple[City, str]]:
    city = City([])
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(city))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield city, f"http://127.0.0.1:{server.server_address[1]}/open311/v2"
    server.shutdown()
    server.server_close()


def request(i: int, when: datetime, description="东湖路5号垃圾堆积，异味很大") -> dict:
    return {"service_request_id": f"SR{i}", "status": "open", "service_code": "", "service_name": "垃圾堆积",
            "description": description, "requested_datetime": when.isoformat(), "address": "东湖路5号"}


def pull(settings: Settings, as_of: datetime):
    resources = Resources(settings)
    with resources.warehouse() as wh:
        sync_roster(wh, resources.roster)
        results = pull_open311_sources(wh, settings, resources.roster, as_of, "run")
        cases = wh.rows("SELECT source, source_ref, community_id, received_at FROM cases ORDER BY source_ref")
        mark = wh.scalar("SELECT watermark FROM source_watermarks WHERE source = 'open311:city'")
    return results, cases, mark


def test_pull_in_windows_of_at_most_90_days_with_watermark(settings: Settings, city):
    server, url = city
    start = datetime(2026, 1, 1, tzinfo=UTC)
    server.requests = [request(i, start + timedelta(days=30 * i, hours=3)) for i in range(10)]
    settings.intake.open311 = [Open311Source(name="city", base_url=url, start=start.isoformat())]
    as_of = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)

    results, cases, mark = pull(settings, as_of)
    assert results[0].error is None and results[0].new_cases == 10
    assert [c["source_ref"] for c in cases] == [f"SR{i}" for i in range(10)]
    assert {c["community_id"] for c in cases} == {"donghu"}  # placed by address
    assert all(hi - lo <= timedelta(days=90) for lo, hi in server.calls) and len(server.calls) == 4
    assert mark == as_of.replace(tzinfo=None)

    # The next pull starts at the watermark: one short window, nothing new.
    server.calls.clear()
    server.requests.append(request(99, as_of + timedelta(hours=5)))
    results, cases, _ = pull(settings, as_of + timedelta(days=1))
    assert server.calls == [(as_of, as_of + timedelta(days=1))]
    assert results[0].new_cases == 1 and len(cases) == 11


def test_full_page_splits_the_window(settings: Settings, city):
    server, url = city
    server.page_cap = 5
    start = datetime(2026, 11, 1, tzinfo=UTC)
    server.requests = [request(i, start + timedelta(hours=i)) for i in range(12)]
    settings.intake.open311 = [Open311Source(name="city", base_url=url, start=start.isoformat())]
    import tasks.sources.open311 as open311
    original, open311.PAGE_CAP = open311.PAGE_CAP, 5
    try:
        results, cases, _ = pull(settings, datetime(2026, 11, 2, tzinfo=UTC))
    finally:
        open311.PAGE_CAP = original
    assert len(cases) == 12 and results[0].new_cases == 12


def test_server_error_keeps_the_watermark_and_reports(settings: Settings, city):
    server, url = city
    server.fail_with = 503
    settings.intake.open311 = [Open311Source(name="city", base_url=url)]
    results, cases, mark = pull(settings, datetime(2026, 11, 21, tzinfo=UTC))
    assert cases == [] and mark is None
    assert "pull failed, retried next run" in results[0].error and "503" in results[0].error


def test_bad_records_are_quarantined(settings: Settings, city):
    server, url = city
    start = datetime(2026, 11, 1, tzinfo=UTC)
    server.requests = [request(1, start), {**request(2, start), "address": "火星路"},
                       {**request(3, start), "description": "", "service_name": ""}]
    settings.intake.open311 = [Open311Source(name="city", base_url=url, start=start.isoformat())]
    results, cases, _ = pull(settings, datetime(2026, 11, 2, tzinfo=UTC))
    assert [c["source_ref"] for c in cases] == ["SR1"] and results[0].quarantined == 2
