package sim

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"switchboard/acd/routing"
)

// Main runs the simulator as the "switchboard simulate" subcommand:
//
//	--scenario FILE   scenario YAML (required)
//	--strategy NAME   override every queue's strategy; "all" runs each named strategy
//	--rules NAME      apply the scenario's capacity rule set NAME; "all" runs each
//	--per-agent       print every agent's occupancy, not only each pool's
//	--seed N          override the scenario seed
//	--duration D      override the simulated duration (e.g. 24h)
//	--agents N,M,…    scale the agent pools to N agents in all, then M, …: one run each
//
// It prints, per strategy, rule set and staffing, SL, ASA, abandon rate
// and occupancy per queue and per channel, occupancy per pool (or
// agent) and the outbound campaigns' dials, connects, abandonment and
// occupancy, and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("scenario", "", "scenario YAML file")
	strategy := fs.String("strategy", "", `routing strategy for every queue ("all" for each)`)
	rules := fs.String("rules", "", `the scenario's capacity rule set to apply ("all" for each)`)
	perAgent := fs.Bool("per-agent", false, "print every agent's occupancy")
	seed := fs.Uint64("seed", 0, "random seed (0: the scenario's)")
	duration := fs.Duration("duration", 0, "simulated duration (0: the scenario's)")
	agents := fs.String("agents", "", "comma-separated agent counts to scale the pools to, one run each")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	staffing := []int{0}
	if *agents != "" {
		staffing = staffing[:0]
		for _, f := range strings.Split(*agents, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 || n > maxCount {
				fmt.Fprintf(stderr, "sim: --agents: %q is not a count in [1, %d]\n", f, maxCount)
				return 2
			}
			staffing = append(staffing, n)
		}
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
	ruleSets := []string{*rules}
	if *rules == "all" {
		ruleSets = ruleSets[:0]
		for _, r := range sc.Rules {
			ruleSets = append(ruleSets, r.Name)
		}
		if len(ruleSets) == 0 {
			fmt.Fprintln(stderr, "sim: the scenario has no rule sets (rules)")
			return 1
		}
	}
	var results []Result
	for _, s := range strategies {
		for _, rs := range ruleSets {
			for _, n := range staffing {
				r, err := Run(sc, Options{Strategy: s, Rules: rs, Seed: *seed, Duration: *duration, Agents: n})
				if err != nil {
					fmt.Fprintln(stderr, err)
					return 1
				}
				results = append(results, r)
			}
		}
	}
	Print(stdout, results, *perAgent)
	return 0
}

// Print writes results as tables: per queue, per channel, and occupancy
// per pool or, with perAgent, per agent.
func Print(w io.Writer, results []Result, perAgent bool) {
	if len(results) == 0 {
		return
	}
	r0 := results[0]
	fmt.Fprintf(w, "scenario %s, seed %d, %v simulated\n", r0.Scenario, r0.Seed, r0.Duration)
	withRules := false
	for _, r := range results {
		withRules = withRules || r.Rules != ""
	}
	run := func(r Result) string {
		if withRules {
			return r.Strategy + "\t" + r.Rules
		}
		return r.Strategy
	}
	head := "strategy"
	if withRules {
		head += "\trules"
	}
	pct := func(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }
	asa := func(d time.Duration) string { return d.Round(100 * time.Millisecond).String() }

	fmt.Fprintln(w, "\nper queue")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, head+"\tqueue\tchannel\toffered\tSL\tASA\tabandon\toccupancy\tagents\tErlang C SL*\t")
	for _, r := range results {
		for _, q := range r.Queues {
			erlang := "-"
			if q.ErlangC > 0 {
				erlang = pct(q.ErlangC)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%d\t%s\t\n", run(r), q.Queue, q.Channel, q.Offered,
				pct(q.ServiceLevel), asa(q.ASA), pct(q.AbandonRate), pct(q.Occupancy), q.Agents, erlang)
		}
	}
	tw.Flush()

	fmt.Fprintln(w, "\nper channel")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, head+"\tchannel\toffered\tSL\tASA\tabandon\toccupancy\tagents\t")
	for _, r := range results {
		for _, c := range r.Channels {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%d\t\n", run(r), c.Channel, c.Offered,
				pct(c.ServiceLevel), asa(c.ASA), pct(c.AbandonRate), pct(c.Occupancy), c.Agents)
		}
	}
	tw.Flush()

	who := "pool"
	if perAgent {
		who = "agent"
	}
	fmt.Fprintf(w, "\noccupancy per %s\n", who)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	var chans []string
	for _, c := range r0.Channels {
		chans = append(chans, string(c.Channel))
	}
	fmt.Fprintf(tw, "%s\t%s\tagents\toccupancy\t%s\t\n", head, who, strings.Join(chans, "\t"))
	for _, r := range results {
		for _, g := range groups(r.Agents, perAgent) {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s", run(r), g.name, g.n, pct(g.occ))
			for _, c := range g.chans {
				fmt.Fprintf(tw, "\t%s", pct(c))
			}
			fmt.Fprintln(tw, "\t")
		}
		fmt.Fprintf(tw, "%s\t(all agents)\t%d\t%s%s\t\n", run(r), len(r.Agents), pct(r.Occupancy), strings.Repeat("\t", len(chans)))
	}
	tw.Flush()
	printCampaigns(w, results, head, run, pct)
	fmt.Fprintln(w, "\nSL: answered within the queue's threshold or, for a stream with a response-time target,")
	fmt.Fprintln(w, "handled within the target. Occupancy: the share of an agent's capacity in use across")
	fmt.Fprintln(w, "channels; per channel, tasks held over the channel's capacity.")
	fmt.Fprintln(w, "* Erlang C SL (voice): prediction if the queue's qualified agents served only that queue,")
	fmt.Fprintln(w, "  without abandonment or wrap-up (exact for single-skill scenarios; a reference otherwise).")
}

// group is a row of the occupancy table: one agent or a pool's mean.
type group struct {
	name  string
	n     int
	occ   float64
	chans []float64
}

// groups returns one row per agent or, unless perAgent, per pool in the
// order pools first appear.
func groups(agents []AgentResult, perAgent bool) []group {
	var out []group
	at := map[string]int{}
	for _, a := range agents {
		name := a.Pool
		if perAgent {
			name = string(a.Agent)
		}
		i, ok := at[name]
		if !ok {
			i = len(out)
			at[name] = i
			out = append(out, group{name: name, chans: make([]float64, len(a.Channels))})
		}
		g := &out[i]
		g.n++
		g.occ += a.Occupancy
		for j, c := range a.Channels {
			g.chans[j] += c
		}
	}
	for i := range out {
		g := &out[i]
		g.occ /= float64(g.n)
		for j := range g.chans {
			g.chans[j] /= float64(g.n)
		}
	}
	return out
}

// printCampaigns writes the campaigns table, if any run has campaigns.
func printCampaigns(w io.Writer, results []Result, head string, run func(Result) string, pct func(float64) string) {
	any := false
	for _, r := range results {
		any = any || len(r.Campaigns) > 0
	}
	if !any {
		return
	}
	fmt.Fprintln(w, "\ncampaigns (abandon: over the run; max rolling: the rolling window's rate at each hour's end)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, head+"\tcampaign\tmode\tagents\tdials\tconnects\tmachines\tanswer rate\tabandoned\tabandon\tmax rolling\tcap\toccupancy\t")
	for _, r := range results {
		for _, c := range r.Campaigns {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%d\t%s\t%s\t%s\t%s\t\n", run(r), c.ID, c.Mode, c.Agents, c.Dials,
				c.Connects, c.Machines, pct(c.AnswerRate), c.Abandoned, fmt.Sprintf("%.2f%%", 100*c.AbandonRate),
				fmt.Sprintf("%.2f%%", 100*c.MaxRolling), pct(c.Cap), pct(c.Occupancy))
		}
	}
	tw.Flush()
}
