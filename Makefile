# Switchboard — see README.md.
GO      ?= go
BIN     := bin/switchboard
CONFIG  ?=
RUNARGS ?=

.PHONY: all build run demo test deps bench lint fuzz prompts clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/switchboard

## run: start the whole system (own PostgreSQL under ./var when DATABASE_URL is unset, demo config)
run: build
	./$(BIN) serve $(if $(CONFIG),--config $(CONFIG),) $(RUNARGS)

## deps: install the system packages the tests need (only those missing)
deps:
	bash .ci/install-deps

## test: install missing system packages, then run every test with the race detector
test: deps
	$(GO) test -race -timeout 14m ./...

## bench: run the Go benchmarks (hot paths; see each issue note for figures)
bench: deps
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s ./...

## lint: go vet and gofmt
lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt wants to change:"; echo "$$out"; exit 1; fi

## fuzz: run every fuzz target for FUZZTIME each
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

## prompts: regenerate the IVR prompt WAVs (needs espeak-ng and sox)
prompts:
	bash ivr/prompts/generate.sh

clean:
	rm -rf bin
