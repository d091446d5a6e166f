# The two commands a user needs: `make demo` and `make test`. Everything else is set up by them.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := .venv
export PREFECT_SERVER_ANALYTICS_ENABLED := false
# The temporary API server needs 10–16 s here, more on a first run or a busy machine.
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 180
UV = $(shell scripts/bootstrap.sh)

.PHONY: setup demo test bench bench-parts serve reset system-deps

.venv/.synced: pyproject.toml uv.lock
	$(UV) sync --frozen --all-groups
	@touch $@

setup: .venv/.synced

## make demo: several simulated days of the nightly job on embedded defaults, all state under var/
demo: setup
	@mkdir -p var/prefect
	PREFECT_HOME=$(CURDIR)/var/prefect PREFECT_LOGGING_LEVEL=WARNING .venv/bin/python -m demo.simulate

## make test: the whole suite (installs what the tests need: Dovecot, Chromium, CJK fonts)
test: setup system-deps
	.venv/bin/python -m pytest

## make serve: a local Prefect server with UI, the deployments and a worker (Ctrl-C stops it)
serve: setup
	scripts/serve.sh

## make bench: the district-scale nightly benchmark with its limits (not a timed test); results
## under benchmarks/results/. `make bench-parts`: the single-stage benchmarks.
bench: setup
	.venv/bin/python benchmarks/bench_nightly.py

bench-parts: setup
	.venv/bin/python benchmarks/bench_intake.py
	.venv/bin/python benchmarks/bench_mail.py
	.venv/bin/python benchmarks/bench_reply_reading.py
	.venv/bin/python benchmarks/bench_replies.py
	.venv/bin/python benchmarks/bench_quarterly.py

# Debian packages the suite runs for real: IMAP server, browser for UI and report checks, CJK
# glyphs for charts, PostgreSQL for the scale-out tests.
SYSTEM_PACKAGES := dovecot-imapd chromium fonts-noto-cjk postgresql

system-deps:
	@scripts/system_deps.sh $(SYSTEM_PACKAGES)

## make reset: forget all demo state (warehouse, outbox, inbox, archive, Prefect home)
reset:
	rm -rf var
