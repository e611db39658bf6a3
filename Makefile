# The two commands a newcomer needs are `make demo` and `make check`.
SHELL := /bin/bash
GO ?= $(shell scripts/ensure-go)
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -s -w -X github.com/ybfed/ybfed/internal/version.Version=$(VERSION) \
	-X github.com/ybfed/ybfed/internal/version.Commit=$(COMMIT) \
	-X github.com/ybfed/ybfed/internal/version.Date=$(DATE)

.PHONY: build demo check check-containers bench soak clean

## build: the static ybnode binary in bin/
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ybnode ./cmd/ybnode

## demo: the whole federation (national + 32 provinces) on this machine
demo: build
	bin/ybnode demo $(DEMO_FLAGS)

## check: every test (gofmt, vet, race tests on SQLite and PostgreSQL, fuzz)
check:
	GO=$(GO) scripts/check

## bench: the benchmarks behind docs/BENCHMARKS.md
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./... | tee bench.txt

## check-containers: the slow container tests of the installer and the playbooks
check-containers:
	YBFED_CONTAINER_TESTS=1 scripts/with-postgres $(GO) test -count=1 -timeout 60m -run Container ./installer/ ./deploy/ansible/

## soak: long chaos and soak runs (not part of check)
soak:
	YBFED_SOAK=1 $(GO) test -count=1 -timeout 90m -run 'Soak|Chaos' ./...

clean:
	rm -rf bin bench.txt
