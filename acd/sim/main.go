package sim

import (
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"switchboard/acd/routing"
)

// Main runs the simulator as the "switchboard simulate" subcommand:
//
//	--scenario FILE   scenario YAML (required)
//	--strategy NAME   override every queue's strategy; "all" runs each named strategy
//	--seed N          override the scenario seed
//	--duration D      override the simulated duration (e.g. 24h)
//
// It prints SL, ASA, abandon rate and occupancy per queue and per
// strategy, and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("scenario", "", "scenario YAML file")
	strategy := fs.String("strategy", "", `routing strategy for every queue ("all" for each)`)
	seed := fs.Uint64("seed", 0, "random seed (0: the scenario's)")
	duration := fs.Duration("duration", 0, "simulated duration (0: the scenario's)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *file == "" {
		fmt.Fprintln(stderr, "sim: --scenario is required")
		fs.Usage()
		return 2
	}
	f, err := os.Open(*file)
	if err != nil {
		fmt.Fprintln(stderr, "sim:", err)
		return 1
	}
	sc, err := ParseScenario(f)
	f.Close()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	strategies := []string{*strategy}
	if *strategy == "all" {
		strategies = strategies[:0]
		for _, s := range routing.Strategies() {
			strategies = append(strategies, s.String())
		}
	}
	var results []Result
	for _, s := range strategies {
		r, err := Run(sc, Options{Strategy: s, Seed: *seed, Duration: *duration})
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		results = append(results, r)
	}
	Print(stdout, results)
	return 0
}

// Print writes results as a table.
func Print(w io.Writer, results []Result) {
	if len(results) == 0 {
		return
	}
	r0 := results[0]
	fmt.Fprintf(w, "scenario %s, seed %d, %v simulated\n\n", r0.Scenario, r0.Seed, r0.Duration)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "strategy\tqueue\tcalls\tSL\tASA\tabandon\toccupancy\tagents\tErlang C SL*\t")
	for _, r := range results {
		for _, q := range r.Queues {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f%%\t%v\t%.1f%%\t%.1f%%\t%d\t%.1f%%\t\n", r.Strategy, q.Queue, q.Offered,
				100*q.ServiceLevel, q.ASA.Round(100*time.Millisecond), 100*q.AbandonRate, 100*q.Occupancy, q.Agents, 100*q.ErlangC)
		}
		fmt.Fprintf(tw, "%s\t(all agents)\t%d\t\t\t\t%.1f%%\t\t\t\n", r.Strategy, r.Calls, 100*r.Occupancy)
	}
	tw.Flush()
	fmt.Fprintln(w, "\n* Erlang C SL: prediction if the queue's qualified agents served only that queue, without")
	fmt.Fprintln(w, "  abandonment or wrap-up (exact for single-skill scenarios; a reference otherwise).")
}
