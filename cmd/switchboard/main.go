package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"switchboard/acd/sim"
	"switchboard/cmd/switchboard/livesim"
	"switchboard/ivr"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
}

func usage(w io.Writer) {
	fmt.Fprintln(w, `usage: switchboard <command> [flags]

commands:
  serve     run the server (HTTP, CTI, REST, SIP)
  migrate   apply database migrations and exit
  passwd [--config FILE] LOGIN
            set an agent's password (typed twice, or one line on standard input)
            and end its sessions; needed before serving beyond loopback with the demo data
  ivr validate [-prompts DIR] [-queues a,b] FILE…
            check IVR flows files; prints file:line problems, exits 1 on errors
  simulate  --scenario FILE [--strategy S] [--rules R] [--per-agent] [--seed N] [--duration D]
            run the ACD discrete-event simulator on a scenario (voice, chat, email):
            SL per queue and channel, occupancy per pool (--per-agent: per agent);
            --rules all compares the scenario's capacity rule sets
  simulate --live [--http ADDR] [--sip ADDR] [--rate N] [--agents a,b] [--duration D]
            put simulated callers and agents on a running server (real SIP, CTI, REST);
            --sipp has SIPp place the calls (load tests: make load-journey)
  cluster   [--nodes N] [--dir DIR] [--sip ADDR] [--http ADDR] [--database URL]
            run a cluster on this machine: PostgreSQL, NATS, Kamailio (SIP edge), nginx
            (HTTP edge) and N nodes electing one leader (make cluster)
  load-cluster [--nodes N] [--rate N] [--duration D] [--create-agents N] [--kill-leader-at F] [--kill-node-at F]
            the full journey across a local cluster, killing the leader and then another
            node (SIGKILL) mid-run; prints calls, records and the takeover (make load-cluster)
  load-chat [--http ADDR] [--agents N] [--customers N] [--rate N] [--duration D]
            web chat load on a running server: agents on the desk, customers through the
            bot into the queue, messages timed from the customer to the agent (make load-chat)
  version   print the version`)
}

// runMain dispatches a subcommand and returns the process exit code.
func runMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "version":
		fmt.Fprintln(stdout, "switchboard", version)
		return 0
	case "serve", "migrate":
		fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
		fs.SetOutput(stderr)
		cfgPath := fs.String("config", "", "YAML configuration file (default: the embedded demo config)")
		cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file (load measurements)")
		if err := fs.Parse(rest); err != nil {
			return 2
		}
		if *cpuProfile != "" {
			f, err := os.Create(*cpuProfile)
			if err == nil {
				err = pprof.StartCPUProfile(f)
			}
			if err != nil {
				fmt.Fprintln(stderr, "switchboard: --cpuprofile:", err)
				return 1
			}
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
		cfg, err := loadConfig(*cfgPath)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		logger := newLogger(cfg.Log, stderr)
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		if cmd == "migrate" {
			err = migrateOnly(ctx, cfg, logger)
		} else {
			err = serve(ctx, cfg, logger)
		}
		if err != nil && !errors.Is(err, context.Canceled) {
			logger.Error("exit", "err", err)
			return 1
		}
		return 0
	case "passwd":
		return passwdMain(rest, os.Stdin, stdout, stderr)
	case "ivr":
		if len(rest) == 0 || rest[0] != "validate" {
			fmt.Fprintln(stderr, "usage: switchboard ivr validate [-prompts DIR] [-queues a,b] FILE…")
			return 2
		}
		// Flows that take speech are checked against the recognizer.
		opts, closeSpeech := speechOptions(&SpeechConfig{}, ivr.Options{}, 1, slog.New(slog.NewTextHandler(io.Discard, nil)))
		defer closeSpeech()
		return ivr.ValidateMainWith(opts, rest[1:], stdout, stderr)
	case "cluster":
		return clusterMain(rest, stdout, stderr)
	case "load-cluster":
		return loadClusterMain(rest, stdout, stderr)
	case "load-chat":
		raiseOpenFileLimit(slog.New(slog.NewTextHandler(stderr, nil)))
		return livesim.ChatLoadMain(rest, stdout, stderr)
	case "simulate":
		for i, a := range rest {
			if a == "--live" || a == "-live" {
				return livesim.Main(append(rest[:i:i], rest[i+1:]...), stdout, stderr)
			}
		}
		return sim.Main(rest, stdout, stderr)
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "switchboard: unknown command %q\n", cmd)
		usage(stderr)
		return 2
	}
}

func newLogger(c LogConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
