# livecast: `make run` starts the server on defaults, `make test` runs every check.
# Both set up what they need: Debian packages (ffmpeg, rtmpdump, chromium), a virtualenv in
# .venv/ and, for the real-browser tests, the pinned npm players in node_modules/ (npm ci).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEBS   := ffmpeg rtmpdump chromium
ARGS   ?=

.PHONY: run test lint typecheck unit integration bench bench-quick clean deps venv npm

run: venv
	$(BIN)/livecast serve $(ARGS)

test: venv npm lint typecheck
	$(BIN)/pytest -q

lint: venv
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: venv
	$(BIN)/mypy

unit: venv
	$(BIN)/pytest -q tests/unit

integration: venv npm
	$(BIN)/pytest -q tests/integration

bench: venv .stamp-bench-debs
	$(BIN)/python -m benchmarks.run $(ARGS)

bench-quick: venv .stamp-bench-debs
	$(BIN)/python -m benchmarks.run --quick $(ARGS)

# the bench's reference server: nginx with the RTMP module (it starts its own instance)
BENCH_DEBS := nginx libnginx-mod-rtmp
.stamp-bench-debs:
	@missing=""; for p in $(BENCH_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
	@touch $@

venv: .stamp-debs $(VENV)/.stamp

.stamp-debs: Makefile
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
	@touch $@

# the browser tests' players (mpegts.js, hls.js), pinned by package-lock.json
npm: node_modules/.stamp

node_modules/.stamp: package.json package-lock.json
	@command -v npm >/dev/null || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq npm; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(VENV)/.stamp: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

clean:
	rm -rf $(VENV) .stamp-* .pytest_cache .mypy_cache .ruff_cache
