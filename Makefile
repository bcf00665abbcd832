# `make demo` and `make test` do every set-up step from nothing, and are safe to
# run again: each step checks before it installs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# docker-registry, skopeo, apache2-utils: a real registry and an independent client for
# the registry tests; podman (+conmon) and containerd: real callers of mydocker-runc in
# tests/integration/test_oci_*.py (podman: 11 MB download, 36 MB installed; containerd:
# 26 MB, 98 MB; not counting dependencies). docker.io: its 20.10 client (/usr/bin/docker)
# drives the Engine API service in tests/integration/test_api_*.py; dockerd is never started
# (a policy-rc.d that exists only during the install keeps apt from starting the services
# docker.io and containerd bring);
# docker-compose (1.29, on the docker Python package) drives it in test_api_objects.py.
HOST_PACKAGES := busybox-static iptables sqlite3 python3 python3-venv libseccomp2 \
	docker-registry skopeo apache2-utils podman conmon containerd docker.io docker-compose chromium
DEMO_ROOT ?= /var/lib/mydocker

.PHONY: all host-deps install demo completion-install test soak unit lint typecheck bench bench-scale bench-audit bench-warm clean

all: install

host-deps:
	@missing=""; for p in $(HOST_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		policy=""; if [ ! -e /usr/sbin/policy-rc.d ]; then \
			printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && policy=1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; rc=$$?; \
		[ -z "$$policy" ] || rm -f /usr/sbin/policy-rc.d; exit $$rc; \
	fi

$(BIN)/mydocker: pyproject.toml | host-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test]'
	@touch $@

# This machine (and CI) sets PYTHONDONTWRITEBYTECODE=1, so without this every command
# would recompile mydocker's modules (~17 ms of `ps -a`); a user's install has bytecode.
# compileall skips what is up to date, so running it on every install is cheap.
BYTECODE_DIRS := cli core statemachine store migrations bench

# pip's editable install puts an import hook in site-packages that costs every command
# ~14 ms at start-up (it loads pathlib, re, urllib...). A directory of symlinks named as
# the package maps (mydocker/cli -> cli, ...) and a plain path in a .pth give the same
# imports from this checkout, new files included, for the price of one sys.path entry.
PACKAGE_DIRS := cli core statemachine store migrations
LINKS := $(abspath $(VENV))/mydocker-src

install: host-deps $(BIN)/mydocker
	@$(BIN)/python -m compileall -q -j 0 $(BYTECODE_DIRS) >/dev/null
	@mkdir -p $(LINKS)/mydocker
	@for d in $(PACKAGE_DIRS); do ln -sfn $(abspath $$d) $(LINKS)/mydocker/$$d; done
	@site=$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))'); \
	echo $(LINKS) > $$site/mydocker-src.pth; rm -f $$site/__editable__.mydocker-*.pth

# Only the demo puts this checkout's mydocker on PATH; tests call .venv's directly.
# Bash completion from `mydocker completion bash`, where bash-completion looks for it;
# rewritten only when the script changed, so running it again changes nothing.
COMPLETION_DIR ?= $(firstword $(wildcard /usr/share/bash-completion/completions) /etc/bash_completion.d)

demo: install
	@ln -sf $(abspath $(BIN)/mydocker) /usr/local/bin/mydocker
	@$(MAKE) -s completion-install
	MYDOCKER_ROOT=$(DEMO_ROOT) bash bench/demo.sh

completion-install:
	@mkdir -p $(COMPLETION_DIR)
	@$(BIN)/mydocker completion bash > $(COMPLETION_DIR)/.mydocker.new
	@if cmp -s $(COMPLETION_DIR)/.mydocker.new $(COMPLETION_DIR)/mydocker; then rm -f $(COMPLETION_DIR)/.mydocker.new; \
	else mv $(COMPLETION_DIR)/.mydocker.new $(COMPLETION_DIR)/mydocker && echo "bash completion: $(COMPLETION_DIR)/mydocker"; fi

test: install
	$(BIN)/ruff check .
	$(MAKE) --no-print-directory typecheck
	$(BIN)/pytest -q -p no:cacheprovider tests

# The soak tests at full size: 1,000 `run --rm` on the default bridge, 1,000
# `run -d` / `rm -f` cycles and 8 processes hammering 20 containers for 2 minutes
# (`make test` runs the same tests with 20 cycles and 20 seconds).
SOAK_CYCLES  ?= 1000
SOAK_SECONDS ?= 120
soak: install
	MYDOCKER_SOAK_CYCLES=$(SOAK_CYCLES) MYDOCKER_SOAK_SECONDS=$(SOAK_SECONDS) \
		$(BIN)/pytest -q -p no:cacheprovider --timeout=0 tests/integration/test_soak.py

unit: install
	$(BIN)/pytest -q -p no:cacheprovider tests/unit

lint: install
	$(BIN)/ruff check .

# The type checker and the import-layer contract (cli -> statemachine -> {store, core}).
typecheck: install
	@mkdir -p .typecheck/mydocker; for d in cli core store statemachine; do ln -sfn ../../$$d .typecheck/mydocker/$$d; done
	cd .typecheck && ../$(BIN)/mypy --config-file ../pyproject.toml -p mydocker
	$(BIN)/lint-imports

bench: install
	$(BIN)/python bench/latency.py --eventlog

# issue 16's scale rows: a 10,000-container log, 500 running containers (~30 min)
bench-scale: install
	$(BIN)/python bench/scale.py

# A 1,000,000-event log: `ps -a --at` at random instants and `replay --check`
# (writes bench/AUDIT_RESULTS.md; ~10 minutes, most of it building the log).
bench-audit: install
	$(BIN)/python bench/audit.py

# issue 16's proposed next design, measured: each command cold (as today) and through a
# fork of a warm interpreter behind a unix socket (chg's way); ~2 minutes
bench-warm: install
	$(BIN)/python bench/warm_fork.py

clean:
	rm -rf $(VENV) *.egg-info
