# Every target CI runs is here; .ci/run calls the same ones.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: all build run test lint fmt bench clean-data

all: build

build:
	$(CARGO) build --workspace --bins

## run: ledger-sim and the four services on their default ports, data under ./data/ (Ctrl-C stops all)
run: build
	scripts/run-all

## test: the whole suite; PostgreSQL/MariaDB variants run when TEST_POSTGRES_URL / TEST_MYSQL_URL are set
test:
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(CARGO) nextest run --workspace --no-fail-fast && $(CARGO) test --workspace --doc; \
	else \
		$(CARGO) test --workspace --no-fail-fast; \
	fi

## lint: formatting and clippy with warnings denied
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## bench: every benchmark (release build), figures as one table
bench:
	$(CARGO) bench --workspace --benches 2>/dev/null | scripts/bench-table

clean-data:
	rm -rf data
