# `make demo` and `make test` do every set-up step from nothing, and are safe to
# run again: each step checks before it installs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# podman (+conmon) and containerd: real callers of mydocker-runc in tests/integration/test_oci_*.py
# (podman: 11 MB download, 36 MB installed; containerd: 26 MB, 98 MB; not counting dependencies).
HOST_PACKAGES := busybox-static iptables sqlite3 python3 python3-venv libseccomp2 podman conmon containerd
DEMO_ROOT ?= /var/lib/mydocker

.PHONY: all host-deps install demo test unit lint typecheck bench clean

all: install

host-deps:
	@missing=""; for p in $(HOST_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

$(BIN)/mydocker: pyproject.toml | host-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test]'
	@touch $@

install: host-deps $(BIN)/mydocker

# Only the demo puts this checkout's mydocker on PATH; tests call .venv's directly.
demo: install
	@ln -sf $(abspath $(BIN)/mydocker) /usr/local/bin/mydocker
	MYDOCKER_ROOT=$(DEMO_ROOT) bash bench/demo.sh

test: install
	$(BIN)/ruff check .
	$(MAKE) --no-print-directory typecheck
	$(BIN)/pytest -q -p no:cacheprovider tests

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
	$(BIN)/python bench/lifecycle.py

clean:
	rm -rf $(VENV) *.egg-info
