package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"switchboard/cmd/switchboard/livesim"
)

// loadClusterOptions are the flags of `switchboard load-cluster`.
type loadClusterOptions struct {
	cluster    clusterOptions
	sim        livesim.Options
	killLeader float64 // share of the traffic window after which the leader is killed
	killNode   float64 // … after which a node that does not lead is killed (0: none)
}

// loadClusterMain runs `switchboard load-cluster`: a local cluster
// (switchboard cluster), the full journey across it (SIPp callers through
// Kamailio, simulated agents through nginx), the leader killed with
// SIGKILL in the traffic window and later another node, then a report
// read from the database.
func loadClusterMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("load-cluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o loadClusterOptions
	fs.IntVar(&o.cluster.nodes, "nodes", 3, "nodes to run")
	fs.StringVar(&o.cluster.deploy, "deploy", "deploy", "the repository's deploy directory")
	fs.StringVar(&o.cluster.dir, "dir", "", "state directory, kept (default: a temporary one, removed)")
	fs.Float64Var(&o.sim.Rate, "rate", 600, "new calls per minute")
	fs.DurationVar(&o.sim.Talk, "talk", 10*time.Second, "mean talk time")
	fs.DurationVar(&o.sim.Duration, "duration", 120*time.Second, "traffic window")
	fs.IntVar(&o.sim.CreateAgents, "create-agents", 200, "simulated agents")
	fs.StringVar(&o.sim.Prompts, "prompts", "ivr/prompts", "prompt root")
	fs.Float64Var(&o.killLeader, "kill-leader-at", 0.4, "share of the window after which the leader is killed (0: no kill; the desks then use the leader directly and its figures are printed)")
	fs.Float64Var(&o.killNode, "kill-node-at", 0.7, "share of the window after which another node is killed (0: none)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := loadCluster(ctx, o, stdout, logger); err != nil {
		fmt.Fprintln(stderr, "load-cluster:", err)
		return 1
	}
	return 0
}

func loadCluster(ctx context.Context, o loadClusterOptions, stdout io.Writer, logger *slog.Logger) error {
	dir := o.cluster.dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "switchboard-load-cluster-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var err error
	// PostgreSQL runs as its own user: the directory must be reachable.
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	var sipPort, httpPort, localPort, sippPort int
	for name, p := range map[string]*int{"sip": &sipPort, "http": &httpPort, "local": &localPort, "sipp": &sippPort} {
		network := "udp+tcp"
		if name == "http" {
			network = "tcp"
		}
		if *p, err = freeLoopbackPort("127.0.0.1", network); err != nil {
			return err
		}
	}
	o.cluster.dir = dir
	o.cluster.noPike = true // every caller and phone of the run shares 127.0.0.1
	o.cluster.sip = net.JoinHostPort("127.0.0.1", strconv.Itoa(sipPort))
	o.cluster.http = net.JoinHostPort("127.0.0.1", strconv.Itoa(httpPort))
	clusterCtx, stopCluster := context.WithCancel(context.WithoutCancel(ctx))
	defer stopCluster()
	clusterDone := make(chan error, 1)
	go func() { clusterDone <- runCluster(clusterCtx, o.cluster, io.Discard, logger) }()
	defer func() { stopCluster(); <-clusterDone }()

	info, err := awaitCluster(ctx, dir, clusterDone)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "cluster: %d nodes, SIP edge %s, HTTP edge %s (state in %s)\n", len(info.Nodes), info.SIP, info.HTTP, dir)

	sim := o.sim
	sim.HTTP, sim.SIP = info.HTTP, info.SIP
	if o.killLeader <= 0 {
		// Nothing is killed: the desks connect to the leader itself, whose
		// /metrics (loopback only) gives the run's screen-pop figures.
		l, _ := leaderOf(info)
		sim.HTTP, sim.Report = info.Nodes[l].HTTP, stdout
	}
	sim.Local = net.JoinHostPort("127.0.0.1", strconv.Itoa(localPort))
	sim.RTPMin, sim.DNIS, sim.Password, sim.AdminPassword = 40000, []string{"+15550100"}, "demo", "admin"
	sim.Patience = 10 * time.Minute
	sim.SIPp, sim.SIPpPort, sim.SpreadSources = true, sippPort, true
	for _, n := range info.Nodes {
		if host, _, err := net.SplitHostPort(n.SIP); err == nil {
			sim.Trusted = append(sim.Trusted, host)
		}
	}
	since := time.Now() // the calls of this run arrive after it (not the demo seed's)
	started := make(chan time.Time, 1)
	sim.OnTraffic = func() { started <- time.Now() }
	simDone := make(chan error, 1)
	var stats *livesim.Stats
	go func() {
		var err error
		stats, err = livesim.Run(ctx, sim, logger)
		simDone <- err
	}()

	var start time.Time
	select {
	case start = <-started:
	case err := <-simDone:
		return fmt.Errorf("the simulation ended before its traffic: %w", err)
	}
	fmt.Fprintf(stdout, "traffic: %.0f calls/min for %v, %d agents, talk %v\n", sim.Rate, sim.Duration, sim.CreateAgents, sim.Talk)
	var kill killReport
	wait := func(share float64) bool {
		select {
		case <-time.After(time.Until(start.Add(time.Duration(share * float64(sim.Duration))))):
			return true
		case <-ctx.Done():
			return false
		}
	}
	kamailioLog := filepath.Join(dir, "kamailio", "kamailio.log")
	var leaderOut, nodeOut <-chan time.Duration
	if o.killLeader > 0 && wait(o.killLeader) {
		var n ClusterNode
		n, kill.leaderAt, err = killNode(dir, info, true, "")
		if err != nil {
			return err
		}
		kill.leader, leaderOut = n.ID, outOfRotation(ctx, kamailioLog, n.SIP, kill.leaderAt)
		fmt.Fprintf(stdout, "killed the leader %s (SIGKILL) at %v\n", kill.leader, kill.leaderAt.Sub(start).Round(time.Second))
	}
	if o.killNode > o.killLeader && wait(o.killNode) {
		var n ClusterNode
		n, kill.nodeAt, err = killNode(dir, info, false, kill.leader)
		if err != nil {
			return err
		}
		kill.node, nodeOut = n.ID, outOfRotation(ctx, kamailioLog, n.SIP, kill.nodeAt)
		fmt.Fprintf(stdout, "killed node %s (SIGKILL) at %v\n", kill.node, kill.nodeAt.Sub(start).Round(time.Second))
	}
	if err := <-simDone; err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	for _, k := range []struct {
		id  string
		out <-chan time.Duration
	}{{kill.leader, leaderOut}, {kill.node, nodeOut}} {
		if k.out == nil {
			continue
		}
		if d, ok := <-k.out; ok {
			fmt.Fprintf(stdout, "Kamailio took %s out of rotation %v after the kill\n", k.id, d.Round(10*time.Millisecond))
		} else {
			fmt.Fprintf(stdout, "Kamailio's log does not say when it took %s out of rotation\n", k.id)
		}
	}
	fmt.Fprintf(stdout, "calls placed %d (SIPp), answered by the simulated agents %d, desks reconnected %d times\n",
		stats.Calls.Load(), stats.Answered.Load(), stats.Reconnects.Load())
	if stats.FailedWhy != "" {
		fmt.Fprintf(stdout, "SIPp's failed calls: %s\n", stats.FailedWhy)
	}
	return reportCluster(ctx, stdout, info.Database, since, stats.Calls.Load(), kill)
}

// killReport says which nodes the run killed and when.
type killReport struct {
	leader, node     string
	leaderAt, nodeAt time.Time
}

// awaitCluster waits for cluster.json and a leader serving HTTP.
func awaitCluster(ctx context.Context, dir string, done <-chan error) (ClusterInfo, error) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var info ClusterInfo
		if b, err := os.ReadFile(filepath.Join(dir, "cluster.json")); err == nil && json.Unmarshal(b, &info) == nil {
			if _, ok := leaderOf(info); ok {
				return info, nil
			}
		}
		select {
		case err := <-done:
			return info, fmt.Errorf("the cluster stopped: %v", err)
		case <-ctx.Done():
			return info, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return info, errors.New("no cluster leader after 2 minutes")
		}
	}
}

// leaderOf returns the index of the node serving HTTP (the leader).
func leaderOf(info ClusterInfo) (int, bool) {
	c := http.Client{Timeout: time.Second}
	for i, n := range info.Nodes {
		res, err := c.Get("http://" + n.HTTP + "/readyz")
		if err != nil {
			continue
		}
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			return i, true
		}
	}
	return -1, false
}

// killNode sends SIGKILL to the leader, or to a node that does not lead
// other than avoid, reading the current PIDs from cluster.json.
func killNode(dir string, info ClusterInfo, leader bool, avoid string) (ClusterNode, time.Time, error) {
	if b, err := os.ReadFile(filepath.Join(dir, "cluster.json")); err == nil {
		_ = json.Unmarshal(b, &info)
	}
	l, ok := leaderOf(info)
	if !ok {
		return ClusterNode{}, time.Time{}, errors.New("no leader to kill")
	}
	victim := l
	for i := 1; !leader && i < len(info.Nodes); i++ {
		if victim = (l + i) % len(info.Nodes); info.Nodes[victim].ID != avoid {
			break
		}
	}
	if !leader && victim == l {
		return ClusterNode{}, time.Time{}, errors.New("no node but the leader to kill")
	}
	n := info.Nodes[victim]
	if err := syscall.Kill(n.PID, syscall.SIGKILL); err != nil {
		return ClusterNode{}, time.Time{}, fmt.Errorf("kill %s: %w", n.ID, err)
	}
	return n, time.Now(), nil
}

// outOfRotation watches Kamailio's log from its end for the line that
// takes the node at sip (host:port) out of rotation — its probe unanswered
// ("node down"), or a call it failed ("marked down") — and sends how long
// after killed it appeared; it closes the channel without a value when
// none appears within a minute. The time is when the line is read, polled
// every 20 ms.
func outOfRotation(ctx context.Context, logPath, sip string, killed time.Time) <-chan time.Duration {
	out := make(chan time.Duration, 1)
	f, err := os.Open(logPath)
	if err != nil {
		close(out)
		return out
	}
	offset, _ := f.Seek(0, io.SeekEnd)
	go func() {
		defer close(out)
		defer f.Close()
		var pending string
		buf := make([]byte, 64<<10)
		for deadline := killed.Add(time.Minute); time.Now().Before(deadline) && ctx.Err() == nil; {
			n, _ := f.ReadAt(buf, offset)
			offset += int64(n)
			pending += string(buf[:n])
			lines := strings.Split(pending, "\n")
			pending = lines[len(lines)-1]
			for _, l := range lines[:len(lines)-1] {
				if strings.Contains(l, sip) && (strings.Contains(l, "node down:") || strings.Contains(l, "marked down")) {
					out <- time.Since(killed)
					return
				}
			}
			if n == 0 {
				time.Sleep(20 * time.Millisecond)
			}
		}
	}()
	return out
}

// reportCluster reads the calls' records once none is left in progress
// and prints the figures the run is judged by.
func reportCluster(ctx context.Context, w io.Writer, dsn string, since time.Time, placed int64, kill killReport) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	// Wrap-ups end and the records of killed nodes' calls are closed
	// (by the leader's sweep, or by the node started again).
	deadline := time.Now().Add(90 * time.Second)
	var open int
	for {
		if err := conn.QueryRow(ctx, `select count(*) from interactions where outcome = 'in-progress' and arrived_at >= $1`, since).Scan(&open); err != nil {
			return err
		}
		if open == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	var records, calls, answered, failed, lost, abandoned, dup int
	err = conn.QueryRow(ctx, `select count(*), count(distinct call_id),
		count(*) filter (where outcome = 'answered'),
		count(*) filter (where outcome = 'failed'),
		count(*) filter (where outcome = 'failed' and ('node lost' = any(routing_reasons) or 'interrupted' = any(routing_reasons))),
		count(*) filter (where outcome in ('abandoned', 'short-abandoned'))
		from interactions where direction = 'inbound' and arrived_at >= $1`, since).Scan(&records, &calls, &answered, &failed, &lost, &abandoned)
	if err != nil {
		return err
	}
	if err := conn.QueryRow(ctx, `select count(*) from (select call_id from interactions where arrived_at >= $1
		group by call_id having count(*) > 1) d`, since).Scan(&dup); err != nil {
		return err
	}
	fmt.Fprintf(w, "records: %d for %d calls placed (%d calls with more than one record); %d still in progress\n", records, placed, dup, open)
	fmt.Fprintf(w, "outcomes: answered %d, failed %d (%d of them on a killed node), abandoned %d\n", answered, failed, lost, abandoned)
	if kill.leader == "" {
		return nil
	}
	var first *time.Time
	if err := conn.QueryRow(ctx, `select min(offered_at) from interactions where offered_at > $1`, kill.leaderAt).Scan(&first); err != nil {
		return err
	}
	if first != nil {
		fmt.Fprintf(w, "leader %s killed: first routing decision by the new leader %v later\n", kill.leader, first.Sub(kill.leaderAt).Round(10*time.Millisecond))
	} else {
		fmt.Fprintf(w, "leader %s killed: no routing decision after it\n", kill.leader)
	}
	// Waiting at the kill on the nodes that survived it: queued before it,
	// not yet answered nor ended. (The killed leader's calls end with it;
	// their records never got a queue time.) The new leader should offer
	// them in the order they joined their queue.
	var onKilled int
	if err := conn.QueryRow(ctx, `select count(*) from interactions where node = $1 and arrived_at >= $2 and arrived_at <= $3
		and outcome = 'failed'`, kill.leader, since, kill.leaderAt).Scan(&onKilled); err != nil {
		return err
	}
	rows, err := conn.Query(ctx, `select queue, outcome, queued_at, offered_at from interactions
		where queued_at <= $1 and (answered_at is null or answered_at > $1) and (ended_at is null or ended_at > $1)
		order by queue, queued_at`, kill.leaderAt)
	if err != nil {
		return err
	}
	var waiting, stillAnswered, inversions int
	lastOffer := map[string]time.Time{}
	for rows.Next() {
		var queue, outcome string
		var queued time.Time
		var offered *time.Time
		if err := rows.Scan(&queue, &outcome, &queued, &offered); err != nil {
			return err
		}
		waiting++
		if outcome == "answered" {
			stillAnswered++
		}
		if offered != nil && offered.After(kill.leaderAt) {
			if offered.Before(lastOffer[queue]) {
				inversions++
			}
			lastOffer[queue] = *offered
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	fmt.Fprintf(w, "calls held by the killed leader: %d, recorded failed\n", onKilled)
	fmt.Fprintf(w, "callers waiting on the other nodes at the kill: %d; answered %d; offered by the new leader out of queue order: %d\n",
		waiting, stillAnswered, inversions)
	return nil
}
