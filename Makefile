# Kibitz: `make demo` runs a server and two chat windows; `make test` runs every test;
# `make bench` measures Kibitz against ngIRCd, `make bench-cluster` two nodes against one.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# Debian packages the tests drive: a virtual X display, a key typist, a real IRC client,
# another IRC server and a D-Bus session bus (releases before Debian 12 ship dbus-daemon in
# the package dbus). PostgreSQL and Redis are added when they neither answer on their
# usual ports nor are installed (tests/support/services.py starts private ones then).
SYSTEM_TOOLS := Xvfb:xvfb xdotool:xdotool irssi:irssi tmux:tmux ngircd:ngircd \
	dbus-daemon:dbus-daemon
PORT   ?= 5000

.PHONY: test demo server lint system-deps screenshots clean bench bench-cluster

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,postgresql,cluster]'
	touch $@

system-deps:
	@missing=""; for pair in $(SYSTEM_TOOLS); do \
	  command -v $${pair%%:*} >/dev/null 2>&1 || [ -x /usr/sbin/$${pair%%:*} ] || missing="$$missing $${pair#*:}"; \
	done; \
	$(PY) -c 'import tkinter' 2>/dev/null || missing="$$missing python3-tk"; \
	services=$$($(PY) -m tests.support.services missing) || exit 1; \
	[ -z "$$services" ] || missing="$$missing $$services"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq || exit 1; \
	    case "$$missing " in *" dbus-daemon "*) apt-cache show dbus-daemon >/dev/null 2>&1 \
	      || missing=$$(echo "$$missing " | sed 's/ dbus-daemon / dbus /');; esac; \
	    echo "installing:$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "The tests need:$$missing"; \
	    echo "Install them with: sudo apt-get install$$missing"; \
	    case "$$missing " in *" dbus-daemon "*) \
	      echo "(on older releases dbus-daemon is in the package dbus)";; esac; \
	    exit 1; \
	  fi; \
	fi

test: $(STAMP) system-deps
	$(PY) -m ruff check app server tests
	$(PY) -m mypy
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check app server tests
	$(PY) -m ruff format --check app server tests
	$(PY) -m mypy

# Kibitz against ngIRCd (about 6 minutes): one table, as in the README's Performance section.
bench: $(STAMP) system-deps
	ulimit -n 20000 2>/dev/null || true; $(PY) -m server.bench_compare $(BENCH_ARGS)

# Two Kibitz nodes sharing a private Redis, next to one node (about a minute a run;
# BENCH_ARGS="--runs 3" for medians).
bench-cluster: $(STAMP) system-deps
	ulimit -n 20000 2>/dev/null || true; $(PY) -m server.bench_cluster $(BENCH_ARGS)

server: $(STAMP)
	$(PY) -m server -p $(PORT)

# Ends when both windows are closed (the server is stopped then); Ctrl-C stops all three.
demo: $(STAMP)
	@if [ -f app/__main__.py ]; then \
	  alice=; bob=; \
	  $(PY) -m server -p $(PORT) & srv=$$!; \
	  trap 'kill $$alice $$bob $$srv 2>/dev/null; wait; exit 130' INT TERM; \
	  sleep 1; \
	  $(PY) -m app --port $(PORT) --nick alice & alice=$$!; \
	  $(PY) -m app --port $(PORT) --nick bob & bob=$$!; \
	  wait $$alice; a=$$?; wait $$bob; b=$$?; \
	  kill $$srv 2>/dev/null; wait $$srv; \
	  [ $$a = 0 ] && [ $$b = 0 ]; \
	else \
	  $(PY) -m server -p $(PORT); \
	fi

# Refresh the README's screenshots of the chat window (on a virtual display of its own).
screenshots: $(STAMP) system-deps
	$(PY) -m tests.app.screenshots assets

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis *.egg-info
