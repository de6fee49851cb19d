# Every target CI runs is here; .ci/run calls the same ones.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: all setup build run test lint fmt bench docker images cluster-test k8s-validate clean-data

all: build

build: setup
	$(CARGO) build --workspace --bins

## setup: install the build dependencies a fresh machine lacks (or say the exact command)
setup:
	@scripts/setup

## run: ledger-sim and the four services on their default ports, data under ./data/ (Ctrl-C stops all)
run: build
	scripts/run-all

## test: the whole suite on SQLite and on the local PostgreSQL/MariaDB when they answer (or
## TEST_POSTGRES_URL / TEST_MYSQL_URL); the last lines name any backend left out and how many
## tests that was. REQUIRE_DB_BACKENDS=1 fails the run instead.
test: setup
	@scripts/test

## lint: formatting and clippy with warnings denied
lint: setup
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## bench: every benchmark (release build), figures as one table
bench: setup
	@scripts/bench

SERVICES := tails-server:6543:TAILS_SERVER zkap-client-api:3457:ZKAP_CLIENT_API \
	causeway:2016:CAUSEWAY downstream-node:5000:DOWNSTREAM_NODE ledger-sim:9700:LEDGER_SIM

## docker: one image per service from deploy/Dockerfile (needs a Docker engine)
docker:
	@docker info >/dev/null 2>&1 || { echo "no Docker engine here; make docker needs one"; exit 1; }
	@for entry in $(SERVICES); do \
		IFS=: read -r svc port prefix <<< "$$entry"; \
		docker build -f deploy/Dockerfile --build-arg SERVICE=$$svc --build-arg PORT=$$port \
			--build-arg ENV_PREFIX=$$prefix -t $$svc:latest . || exit 1; \
	done

## images: the five images with podman, no Docker engine or registry needed: a local
## debian:bookworm-slim (debootstrap) and Rust builder first, then one shared workspace build
## (about 25 minutes on 2 cores from nothing; deploy/README.md). Installs podman when missing.
images:
	scripts/podman-images

## cluster-test: the dev overlay run as pods with `podman kube play` from the images above:
## a real flow through every service, then fault drills; prints "N passed, M failed" last.
cluster-test:
	scripts/cluster-test

## k8s-validate: render every overlay, validate offline with strict schemas, hadolint, shellcheck
k8s-validate:
	scripts/k8s-validate

clean-data:
	rm -rf data
