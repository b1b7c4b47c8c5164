# CallPulse — the two commands of the quick start are `make demo` and `make test`.
# Everything installs into .venv from pinned requirements; system packages (redis-server,
# chromium for the browser tests) come from Debian's apt when missing (CI runs as root).

PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
APT_STAMP := $(VENV)/.sysdeps

.PHONY: install sysdeps demo test test-fast bench lint typecheck clean lock

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	@test -n "$(PY)" || { echo "Python 3.11 is required (python3.11 or python3 on PATH)"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt -r requirements-dev.txt
	touch $(STAMP)

# redis-server for the embedded stack; chromium for the dashboard's browser tests; CJK and
# condensed fonts for the wall board (its numbers are sized for DejaVu Sans Condensed Bold).
sysdeps: $(APT_STAMP)

$(APT_STAMP): $(STAMP)
	@missing=""; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	fc-list 2>/dev/null | grep -qi "cjk\|wqy\|noto sans cjk" || missing="$$missing fonts-noto-cjk"; \
	fc-list 2>/dev/null | grep -qi "DejaVu Sans Condensed" || missing="$$missing fonts-dejavu-extra"; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	touch $(APT_STAMP)

demo: sysdeps
	$(BIN)/python -m stream demo

test: sysdeps
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not slow and not browser"

bench: sysdeps
	$(BIN)/python -m bench

lint: install
	$(BIN)/ruff check stream dashboard simulators sources bench tests
	$(BIN)/ruff format --check stream dashboard simulators sources bench tests

typecheck: install
	$(BIN)/mypy stream dashboard/data.py

lock:
	rm -rf /tmp/callpulse-lock && $(PY) -m venv /tmp/callpulse-lock
	/tmp/callpulse-lock/bin/pip install -q -r requirements.in
	/tmp/callpulse-lock/bin/pip freeze > requirements.txt

clean:
	rm -rf $(VENV) artifacts .pytest_cache .hypothesis
