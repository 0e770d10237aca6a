# Switchboard — see README.md.
GO      ?= go
BIN     := bin/switchboard
CONFIG  ?=
RUNARGS ?=

.PHONY: all build run cluster demo test deps bench load load-journey load-cluster load-chat lint fuzz prompts clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/switchboard

## run: start the whole system (own PostgreSQL under ./var when DATABASE_URL is unset, demo config)
run: build
	./$(BIN) serve $(if $(CONFIG),--config $(CONFIG),) $(RUNARGS)

## cluster: PostgreSQL, Kamailio (SIP edge on 127.0.0.1:5060), nginx (HTTP edge on 127.0.0.1:8080)
## and three nodes electing one leader, on this machine; state and logs under var/cluster; Ctrl-C stops all
cluster: deps build
	./$(BIN) cluster --nodes 3 --dir var/cluster

## demo: simulated callers, emailing customers and agents on the server `make run` started (another terminal)
demo: build
	./$(BIN) simulate --live $(DEMOARGS)

## load-journey: full-journey load on a fresh server: SIPp callers (IVR digit, queue, talk with RTP)
## and simulated agents (CTI, registered SIP phones, RTP, wrap-up); prints calls/s, screen-pop
## latency, server CPU and memory, and checks every call's interaction record. JOURNEY_ARGS tunes
## the traffic (calls per minute); CONFIG=FILE serves another config; JOURNEY_PROFILE=FILE writes
## the server's CPU profile. The generators (simulator and SIPp) run at nice JOURNEY_NICE, so that
## the server under test has the CPU first on the machine they share (0: same priority). Every
## call is recorded (with the demo config) into a temporary directory removed at the end
## (5 minutes at 100 calls/s is about 10 GB of WAV files).
JOURNEY_ARGS ?= --sipp --create-agents 2000 --rate 3600 --talk 10s --duration 300s
JOURNEY_NICE ?= 10
load-journey: deps build
	@rec=$$(mktemp -d); \
	SWITCHBOARD_RECORDING_DIR=$$rec ./$(BIN) serve $(if $(CONFIG),--config $(CONFIG)) $(if $(JOURNEY_PROFILE),--cpuprofile $(JOURNEY_PROFILE)) > var-load-journey.log 2>&1 & pid=$$!; \
	for i in $$(seq 60); do curl -sf http://127.0.0.1:8080/readyz >/dev/null && break; sleep 1; done; \
	nice -n $(JOURNEY_NICE) ./$(BIN) simulate --live $(JOURNEY_ARGS); rc=$$?; \
	kill $$pid; wait $$pid; echo "recordings: $$(du -sh $$rec | cut -f1) in $$(ls $$rec | wc -l) files (removed)"; \
	rm -rf $$rec; exit $$rc

## load-cluster: the full journey across a local cluster of three nodes (SIPp callers through
## Kamailio, simulated agents through nginx); the leader is killed (SIGKILL) 40 % into the traffic
## and another node at 70 %; prints calls, records (one per call), the time to the new leader's
## first routing decision and what became of the callers waiting at the kill. LOAD_CLUSTER_ARGS
## tunes it (see switchboard help).
LOAD_CLUSTER_ARGS ?= --rate 600 --duration 120s --create-agents 200 --talk 10s
load-cluster: deps build
	./$(BIN) load-cluster $(LOAD_CLUSTER_ARGS)

## load-chat: web chat load on a fresh server: agents (CTI) accepting chats, customers (each from a
## loopback address of its own) through the chat bot into the queue, then customer messages at a
## rate; prints customer → agent delivery latency. LOAD_CHAT_ARGS tunes it (switchboard help).
LOAD_CHAT_ARGS ?= --agents 1000 --customers 10000 --rate 1000 --duration 60s
load-chat: deps build
	@./$(BIN) serve $(if $(CONFIG),--config $(CONFIG)) > var-load-chat.log 2>&1 & pid=$$!; \
	for i in $$(seq 60); do curl -sf http://127.0.0.1:8080/readyz >/dev/null && break; sleep 1; done; \
	./$(BIN) load-chat $(LOAD_CHAT_ARGS); rc=$$?; \
	kill $$pid; wait $$pid; exit $$rc

## deps: install the system packages the tests need (only those missing)
deps:
	bash .ci/install-deps

## test: install missing system packages, then run every test with the race detector; the
## cluster tests (three nodes with Kamailio, NATS and nginx each) run in a second pass, so that
## no package's test binary holds both them and the single-node end-to-end tests
test: deps
	$(GO) test -race -timeout 18m -skip '^TestCluster' ./...
	$(GO) test -race -timeout 18m -run '^TestCluster' ./...

## bench: run the Go benchmarks (hot paths; figures in README "Performance")
bench: deps
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s ./acd/... ./agentdesk/... ./ivr/... ./sip/... ./crmcore ./crmcore/crmapi ./crmcore/mail
	$(GO) test -run '^$$' -bench EmailIngest -benchtime 5000x ./cmd/switchboard/
	$(GO) test -run '^$$' -bench LookupByPhone -benchtime 10s -timeout 20m ./crmcore/pgstore/
	$(GO) test -run '^$$' -bench InteractionWriter -benchtime 1000000x -timeout 20m ./crmcore/pgstore/
	$(GO) test -run '^$$' -bench EventWriter -benchtime 1000000x -timeout 20m ./crmcore/pgstore/

## load: SIPp call-rate load against the gateway's test endpoint. LOAD_SCENARIO=play: answer, play
## 2 s, the gateway hangs up; setup: answer + hang-up (the caller's BYE follows the ACK). With two
## or more CPUs SIPp runs on CPU 0 and the gateway on CPU 1 (LOAD_PIN=0: both on every CPU).
LOAD_RATE     ?= 600
LOAD_SECONDS  ?= 60
LOAD_SCENARIO ?= play
LOAD_PIN      ?= 1
load: deps
	$(GO) test -c -o bin/sip.test ./sip
	cd sip && pin=""; sippcpu=""; if [ "$(LOAD_PIN)" = 1 ] && [ "$$(nproc)" -ge 2 ]; then pin="taskset -c 1"; sippcpu=0; fi; \
	SWITCHBOARD_LOAD=1 SWITCHBOARD_LOAD_RATE=$(LOAD_RATE) SWITCHBOARD_LOAD_SECONDS=$(LOAD_SECONDS) \
	SWITCHBOARD_LOAD_SCENARIO=$(LOAD_SCENARIO) SWITCHBOARD_LOAD_SIPP_CPU=$$sippcpu \
		$$pin ../bin/sip.test -test.count=1 -test.run TestSIPpLoad -test.v -test.timeout 30m

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
