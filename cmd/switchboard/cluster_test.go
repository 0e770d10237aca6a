package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5"

	"switchboard/agentdesk/agentdesktest"
	"switchboard/crmcore/pgcluster"
	"switchboard/sip/media"
	"switchboard/sip/siptest"
)

// clusterRig is a `switchboard cluster` run by a test: PostgreSQL,
// Kamailio, nginx and three node processes.
type clusterRig struct {
	*system
	info ClusterInfo
	pg   *pgcluster.Cluster // the nodes' database, which a test may restart
}

// startCluster builds the binary and runs `switchboard cluster` from the
// repository's root, with the edges on ports from the kernel and the
// flags extra; it returns once the HTTP edge serves (a leader is up).
func startCluster(t *testing.T, extra ...string) *clusterRig {
	t.Helper()
	siptest.RequireProgram(t, "kamailio", "kamailio")
	siptest.RequireProgram(t, "nginx", "nginx")
	siptest.RequireProgram(t, "nats-server", "nats-server")
	bin := filepath.Join(t.TempDir(), "switchboard")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// PostgreSQL runs as its own user, so the state directory must be
	// reachable by others (a test's TempDir is not).
	dir, err := os.MkdirTemp("", "switchboard-cluster-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	pg, err := pgcluster.Start(t.Context(), filepath.Join(dir, "pg"), pgcluster.WithoutDurability())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Close() })
	if err := pg.CreateDatabase(t.Context(), "switchboard"); err != nil {
		t.Fatal(err)
	}
	sipPort, err := freeLoopbackPort("127.0.0.1", "udp+tcp")
	if err != nil {
		t.Fatal(err)
	}
	sipAddr := fmt.Sprintf("127.0.0.1:%d", sipPort)
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t, "tcp"))
	cmd := exec.Command(bin, append([]string{"cluster", "--dir", dir, "--sip", sipAddr, "--http", httpAddr, "--deploy", "deploy",
		"--database", pg.DSN("switchboard")}, extra...)...)
	cmd.Dir = "../.."
	cmd.Stdout, cmd.Stderr = testWriter{t}, testWriter{t}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var exitErr error
	go func() { exitErr = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("switchboard cluster did not stop")
		}
		for _, n := range []string{"node-1/switchboard.log", "node-2/switchboard.log", "node-3/switchboard.log", "kamailio/kamailio.log"} {
			if b, err := os.ReadFile(filepath.Join(dir, n)); err == nil {
				t.Logf("%s log (tail):\n%s", n, tail(b, 3000))
			}
		}
	})
	r := &clusterRig{system: &system{t: t, http: httpAddr, sip: netip.MustParseAddrPort(sipAddr), stop: func() {}}, pg: pg}
	deadline := time.Now().Add(90 * time.Second)
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "cluster.json")); err == nil && json.Unmarshal(b, &r.info) == nil && r.leader() >= 0 {
			break
		}
		select {
		case <-done:
			t.Fatalf("switchboard cluster exited: %v", exitErr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("no cluster leader after 90 s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	r.dsn = r.info.Database
	r.waitReady(r.http)
	return r
}

// leader is the index of the node that serves (its own /readyz answers),
// or -1.
func (r *clusterRig) leader() int {
	c := http.Client{Timeout: time.Second}
	for i, n := range r.info.Nodes {
		res, err := c.Get("http://" + n.HTTP + "/readyz")
		if err != nil {
			continue
		}
		res.Body.Close()
		if res.StatusCode == 200 {
			return i
		}
	}
	return -1
}

// waitReady polls addr's /readyz until it answers 200.
func (r *clusterRig) waitReady(addr string) {
	r.t.Helper()
	c := http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := c.Get("http://" + addr + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("%s/readyz not ready after 30 s", addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// agent logs an agent's desk in through the HTTP edge and registers
// their auto-answering phone through the SIP edge, trying again while
// the edge has no node in rotation yet (it probes every second).
func (r *clusterRig) agent(login string) (*cti, *siptest.Phone) {
	r.t.Helper()
	token, _ := r.login(login, "demo")
	desk := r.connectCTI(token)
	desk.waitFor(5*time.Second, func(e envelope) bool { return e.Type == "hello" })
	phone := siptest.NewPhone(r.t, login)
	pcmu := media.PCMU
	phone.AnswerWith(&pcmu)
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(300 * time.Millisecond) {
		res, err := phone.Register(r.t.Context(), r.sip, "demo", 300)
		if err == nil && res.StatusCode == 200 {
			return desk, phone
		}
		if time.Now().After(end) {
			r.t.Fatalf("REGISTER %s through the SIP edge: %v %v", login, res, err)
		}
	}
}

// salesCall dials the demo number through the SIP edge as ani and
// presses 1 (sales) once the main menu plays. Like a trunk, it tries
// again for up to 10 s while the edge has no node to take the call (a
// new leader joins the edge's rotation at its next probe).
func (r *clusterRig) salesCall(ani string) *siptest.Call {
	r.t.Helper()
	caller := siptest.NewPhone(r.t, ani)
	var call *siptest.Call
	var err error
	for end := time.Now().Add(10 * time.Second); ; {
		if call, err = caller.Invite(r.t.Context(), r.sip, "+15550100", media.PCMU); err == nil || time.Now().After(end) {
			break
		}
		r.t.Logf("INVITE through the SIP edge: %v; trying again", err)
		time.Sleep(500 * time.Millisecond)
	}
	if err != nil {
		r.t.Fatalf("INVITE through the SIP edge: %v", err)
	}
	time.Sleep(3 * time.Second) // welcome, then the main menu
	if err := call.Session().SendDigit(r.t.Context(), '1'); err != nil {
		r.t.Fatal(err)
	}
	return call
}

// records returns the outcome and routing reasons of each interaction
// record of calls from ani.
func (r *clusterRig) records(ani string) (outcomes []string, reasons [][]string) {
	r.t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, r.dsn)
	if err != nil {
		r.t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `select outcome, routing_reasons from interactions where ani = $1 order by arrived_at`, ani)
	if err != nil {
		r.t.Fatal(err)
	}
	for rows.Next() {
		var o string
		var rs []string
		if err := rows.Scan(&o, &rs); err != nil {
			r.t.Fatal(err)
		}
		outcomes, reasons = append(outcomes, o), append(reasons, rs)
	}
	if err := rows.Err(); err != nil {
		r.t.Fatal(err)
	}
	return outcomes, reasons
}

// record is one interaction record as the cluster tests check it.
type record struct {
	outcome, node string
	reasons       []string
	answered      *time.Time
}

// recordsOf returns the records of calls from ani.
func (r *clusterRig) recordsOf(ani string) []record {
	r.t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, r.dsn)
	if err != nil {
		r.t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `select outcome, node, routing_reasons, answered_at from interactions where ani = $1`, ani)
	if err != nil {
		r.t.Fatal(err)
	}
	var out []record
	for rows.Next() {
		var rec record
		if err := rows.Scan(&rec.outcome, &rec.node, &rec.reasons, &rec.answered); err != nil {
			r.t.Fatal(err)
		}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		r.t.Fatal(err)
	}
	return out
}

// waitRecord waits until the call from ani has exactly one record that
// is no longer in progress, and returns it.
func (r *clusterRig) waitRecord(ani string) record {
	r.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		recs := r.recordsOf(ani)
		if len(recs) > 1 {
			r.t.Fatalf("call from %s has %d records", ani, len(recs))
		}
		if len(recs) == 1 && recs[0].outcome != "in-progress" {
			return recs[0]
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("call from %s: records %+v, want one completed", ani, recs)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// lostRecord reports whether rec is the record of a call whose node was
// killed: failed, closed by the leader (node lost) or by the node itself
// when its supervisor started it again first (interrupted).
func lostRecord(rec record) bool {
	return rec.outcome == "failed" && (slices.Contains(rec.reasons, "node lost") || slices.Contains(rec.reasons, "interrupted"))
}

// talk answers the next call offered to the agent, then ends it (end).
func (r *clusterRig) talk(desk *cti, phone *siptest.Phone, call *siptest.Call) {
	r.t.Helper()
	r.end(desk, call, r.answer(desk, phone))
}

// end hangs an answered call up from the caller's side and submits the
// agent's wrap-up.
func (r *clusterRig) end(desk *cti, call *siptest.Call, callID string) {
	r.t.Helper()
	if err := call.Hangup(r.t.Context()); err != nil {
		r.t.Fatal(err)
	}
	desk.waitFor(15*time.Second, func(e envelope) bool { return e.Type == "wrapup.started" })
	desk.command("wrapup.submit", map[string]any{"call_id": callID, "disposition": "resolved"})
}

// TestClusterLeaderKilled: three nodes behind Kamailio and nginx, every
// one taking calls, one leader routing them. An agent whose phone
// registered through the SIP edge answers calls from every node (the
// phone rung from the node that holds the caller). With the agent on a
// call and two callers waiting, the leader is killed (SIGKILL): a standby
// takes over within seconds, the surviving nodes re-announce their calls,
// the agent's desk reconnects through the HTTP edge, and the callers
// still on the line are answered in the order they called. Every call
// has exactly one record: answered, or failed with reason node lost when
// the killed node held it (closed by the leader, or by the node itself
// when its supervisor restarted it first).
func TestClusterLeaderKilled(t *testing.T) {
	r := startCluster(t)
	desk, phone := r.agent("carol")
	desk.command("presence.set", map[string]string{"presence": "ready"})

	// Calls spread over the nodes (Kamailio hashes the Call-ID).
	nodes := map[string]bool{}
	for i := range 4 {
		ani := fmt.Sprintf("+1415555020%d", i)
		r.talk(desk, phone, r.salesCall(ani))
		rec := r.waitRecord(ani)
		if rec.outcome != "answered" {
			t.Fatalf("call %s: outcome %q, want answered", ani, rec.outcome)
		}
		nodes[rec.node] = true
	}
	if len(nodes) < 2 {
		t.Errorf("4 calls all held by %v: want them spread over the nodes", nodes)
	}

	talking := r.salesCall("+14155550210")
	talkingID := r.answer(desk, phone)
	waiting := []*siptest.Call{r.salesCall("+14155550211"), r.salesCall("+14155550212")}
	anis := []string{"+14155550210", "+14155550211", "+14155550212"}
	old := r.leader()
	killed := time.Now()
	if err := syscall.Kill(r.info.Nodes[old].PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var now int
	for now = r.leader(); now < 0 || now == old; now = r.leader() {
		if time.Since(killed) > 30*time.Second {
			t.Fatal("no standby took over within 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%s took over from %s %v after the kill", r.info.Nodes[now].ID, r.info.Nodes[old].ID, time.Since(killed).Round(100*time.Millisecond))
	oldID := r.info.Nodes[old].ID

	// The desk reconnects through the HTTP edge to the new leader.
	r.waitReady(r.http)
	token, _ := r.login("carol", "demo")
	desk = r.connectCTI(token)
	desk.waitFor(10*time.Second, func(e envelope) bool { return e.Type == "hello" })
	desk.command("presence.set", map[string]string{"presence": "ready"})

	// Which node held which call: the open records say.
	held := map[string]string{}
	for _, ani := range anis {
		if recs := r.recordsOf(ani); len(recs) == 1 {
			held[ani] = recs[0].node
		}
	}
	if held[anis[0]] != oldID {
		select {
		case <-talking.Done():
			t.Fatal("the call in progress on a surviving node ended with the leader")
		default:
		}
		r.end(desk, talking, talkingID)
	}
	for i, c := range waiting {
		if held[anis[i+1]] != oldID {
			r.talk(desk, phone, c)
		}
	}
	var answered []time.Time
	for _, ani := range anis {
		rec := r.waitRecord(ani)
		if held[ani] == oldID {
			if !lostRecord(rec) {
				t.Errorf("call %s on the killed node: %q %v, want failed with reason node lost", ani, rec.outcome, rec.reasons)
			}
			continue
		}
		if rec.outcome != "answered" {
			t.Errorf("call %s on %s: outcome %q, want answered", ani, held[ani], rec.outcome)
			continue
		}
		if ani != anis[0] && rec.answered != nil {
			answered = append(answered, *rec.answered)
		}
	}
	if !slices.IsSortedFunc(answered, func(a, b time.Time) int { return a.Compare(b) }) {
		t.Errorf("waiting callers answered out of order: %v", answered)
	}
}

// TestClusterNodeKilled: a node that does not lead is killed (SIGKILL)
// while it holds a call in progress. The leader takes it for lost and
// ends the call, so the agent is free again; the call keeps exactly one
// record (failed); Kamailio takes the node out of rotation, so the next
// calls are answered on the other nodes.
func TestClusterNodeKilled(t *testing.T) {
	r := startCluster(t)
	desk, phone := r.agent("carol")
	desk.command("presence.set", map[string]string{"presence": "ready"})
	held := r.remoteCall(desk, phone, "+1415555030")
	ani, callID := held.ani, held.id
	var pid int
	for _, n := range r.info.Nodes {
		if n.ID == held.node {
			pid = n.PID
		}
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// The leader ends the call: the agent's desk sees it end.
	desk.waitFor(15*time.Second, func(e envelope) bool {
		if e.Type != "call.ended" {
			return false
		}
		var c struct {
			CallID string `json:"call_id"`
		}
		return json.Unmarshal(e.Data, &c) == nil && c.CallID == callID
	})
	if rec := r.waitRecord(ani); !lostRecord(rec) {
		t.Errorf("call on the killed node: %q %v, want failed with reason node lost", rec.outcome, rec.reasons)
	}
	desk.command("wrapup.submit", map[string]any{"call_id": callID, "disposition": "resolved"})

	// The next calls are answered, each with one record.
	for i := range 3 {
		next := fmt.Sprintf("+1415555031%02d", i)
		r.talk(desk, phone, r.salesCall(next))
		if rec := r.waitRecord(next); rec.outcome != "answered" {
			t.Errorf("call %s after the kill: outcome %q, want answered", next, rec.outcome)
		}
	}
}

// TestClusterSoftphoneOnAnotherNode: an agent's browser softphone
// (headless Chromium through the HTTP edge) is connected to the leader,
// and a caller whose call Kamailio gave to another node reaches it: the
// caller's node relays the audio to the leader over SIP. Audio flows both
// ways, and the call has one record, answered, kept by the caller's node.
func TestClusterSoftphoneOnAnotherNode(t *testing.T) {
	r := startCluster(t)
	leaderID := r.info.Nodes[r.leader()].ID
	desk := softphoneDesk(t, r.http, "carol")

	tone := make([]int16, 8000)
	for i := range tone {
		tone[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(i)/8000))
	}
	for i := 0; ; i++ {
		if i == 12 {
			t.Fatal("12 calls, none held by a node that does not lead")
		}
		ani := fmt.Sprintf("+1415555040%02d", i)
		call := r.salesCall(ani)
		agentdesktest.Poll(t, desk, "offer", `!document.getElementById('btn-answer').disabled && document.getElementById('btn-answer').offsetParent !== null`)
		agentdesktest.Step(t, desk, "answer", chromedp.Click(chromedp.CSS("#btn-answer")))
		agentdesktest.Poll(t, desk, "talking", `document.getElementById('call-status').textContent.startsWith('Talking')`)
		recs := r.recordsOf(ani)
		remote := len(recs) == 1 && recs[0].node != leaderID
		if remote {
			ctx, stop := context.WithCancel(t.Context())
			go func() { _ = media.Play(ctx, call.Session(), tone, true, nil) }()
			time.Sleep(2 * time.Second)
			got, err := chromedp.Run(desk, chromedp.Evaluate[float64](`(async () => {
				const st = await window.switchboard.phone.pc.getStats();
				let n = 0; st.forEach(r => { if (r.type === 'inbound-rtp' && r.kind === 'audio') n += r.totalAudioEnergy || 0; });
				return n; })()`, chromedp.EvalAwaitPromise))
			stop()
			if err != nil || got <= 0 {
				t.Errorf("the browser heard nothing from the caller on %s (%v, %v)", recs[0].node, got, err)
			}
			var energy float64
			for _, v := range call.Samples() {
				energy += math.Abs(float64(v))
			}
			if energy == 0 {
				t.Errorf("the caller on %s heard nothing from the browser", recs[0].node)
			}
		}
		if err := call.Hangup(t.Context()); err != nil {
			t.Fatal(err)
		}
		agentdesktest.Poll(t, desk, "wrap-up form", `!document.getElementById('wrap-submit').disabled && document.getElementById('wrap-submit').offsetParent !== null`)
		agentdesktest.Step(t, desk, "wrap up",
			chromedp.Evaluate[chromedp.Void](`(() => { document.getElementById('disposition').value = 'resolved'; })()`),
			chromedp.Click(chromedp.CSS("#wrap-submit")))
		rec := r.waitRecord(ani)
		if rec.outcome != "answered" {
			t.Fatalf("call %s on %s: outcome %q, want answered", ani, rec.node, rec.outcome)
		}
		if remote {
			t.Logf("call on %s answered on the softphone at %s", rec.node, leaderID)
			return
		}
		agentdesktest.Poll(t, desk, "ready again", `document.getElementById('state-badge').textContent === 'ready'`)
	}
}

// answer waits for the agent's phone to ring and the desk to show the
// call answered, and returns the call's id.
func (r *clusterRig) answer(desk *cti, phone *siptest.Phone) string {
	_, id := r.answerLeg(desk, phone)
	return id
}

// answerLeg is answer that also returns the agent's leg.
func (r *clusterRig) answerLeg(desk *cti, phone *siptest.Phone) (*siptest.Call, string) {
	r.t.Helper()
	var leg *siptest.Call
	select {
	case leg = <-phone.Inbound:
	case <-time.After(30 * time.Second):
		r.t.Fatal("the agent's phone never rang")
	}
	answered := desk.waitFor(15*time.Second, func(e envelope) bool { return e.Type == "call.answered" })
	var c struct {
		CallID string `json:"call_id"`
	}
	if err := json.Unmarshal(answered.Data, &c); err != nil {
		r.t.Fatal(err)
	}
	return leg, c.CallID
}

// remoteCall is a sales call answered by the agent at a desk and held by
// a node that does not lead.
type remoteCall struct {
	ani, id, node    string
	caller, agentLeg *siptest.Call
}

// remoteCall places sales calls from prefix followed by 00, 01, … to the
// agent at desk, ending each held by the leader, until one is held by
// another node; it returns that call, answered.
func (r *clusterRig) remoteCall(desk *cti, phone *siptest.Phone, prefix string) remoteCall {
	r.t.Helper()
	leaderID := r.info.Nodes[r.leader()].ID
	for i := range 12 {
		c := remoteCall{ani: fmt.Sprintf("%s%02d", prefix, i)}
		c.caller = r.salesCall(c.ani)
		c.agentLeg, c.id = r.answerLeg(desk, phone)
		if recs := r.recordsOf(c.ani); len(recs) == 1 && recs[0].node != leaderID {
			c.node = recs[0].node
			return c
		}
		r.end(desk, c.caller, c.id)
		r.waitRecord(c.ani)
	}
	r.t.Fatal("12 calls, none held by a node that does not lead")
	return remoteCall{}
}

// TestClusterDatabaseRestart: PostgreSQL restarts under a cluster with a
// call in progress. The leader keeps serving, takes its leader lock back
// with a new epoch (the standbys leave it the term), the call goes on and
// ends with exactly one record, answered, and the next call is answered
// by the same leader.
func TestClusterDatabaseRestart(t *testing.T) {
	r := startCluster(t)
	desk, phone := r.agent("carol")
	desk.command("presence.set", map[string]string{"presence": "ready"})
	leader := r.leader()

	call := r.salesCall("+14155550121")
	callID := r.answer(desk, phone)
	if err := r.pg.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // the nodes see their connections fail
	if err := r.pg.Restart(t.Context()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		conn, err := pgx.Connect(t.Context(), r.dsn)
		if err == nil {
			var node string
			var epoch int64
			err = conn.QueryRow(t.Context(), `select node, epoch from cluster_leader`).Scan(&node, &epoch)
			conn.Close(t.Context())
			if err == nil && epoch >= 2 {
				if node != r.info.Nodes[leader].ID {
					t.Fatalf("after the restart %s leads (epoch %d), want %s to keep leading", node, epoch, r.info.Nodes[leader].ID)
				}
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the leader did not take its lock back after the restart: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := r.leader(); got != leader {
		t.Fatalf("node %d serves after the restart, want %d", got, leader)
	}
	select {
	case <-call.Done():
		t.Fatal("the call in progress ended with the database restart")
	default:
	}
	r.end(desk, call, callID)
	if in := r.waitInteraction("ani = $1", "+14155550121"); in.Outcome != "answered" {
		t.Errorf("call across the restart: outcome %q, want answered", in.Outcome)
	}
	if outcomes, _ := r.records("+14155550121"); len(outcomes) != 1 {
		t.Errorf("call across the restart has %d records, want 1", len(outcomes))
	}

	r.salesCall("+14155550122")
	r.answer(desk, phone)
}

// TestClusterNodeConfig: a node's configuration written by `switchboard
// cluster` is the demo configuration with the node's own listeners, the
// shared database, the edge as its SIP edge proxy, cluster mode and the
// NATS server, and it passes the strict config check.
func TestClusterNodeConfig(t *testing.T) {
	n, err := newClusterNode(t.TempDir(), 2, "postgres://db.example/switchboard", "nats://127.0.0.1:4222", "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(n.Dir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := parseConfig("config.yaml", b)
	if err != nil {
		t.Fatalf("node config: %v\n%s", err, b)
	}
	if !cfg.Cluster.Enabled || cfg.Cluster.NodeID != "node-2" || cfg.Cluster.NATS != "nats://127.0.0.1:4222" || cfg.Database.URL != "postgres://db.example/switchboard" ||
		cfg.HTTP.Listen != n.HTTP || cfg.SIP.UDP != n.SIP || cfg.SIP.TCP != n.SIP || len(cfg.SIP.EdgeProxies) != 1 ||
		cfg.SIP.EdgeProxies[0] != "127.0.0.1" || len(cfg.ACD.Queues) == 0 || cfg.Mail.SMTP != n.SMTP ||
		len(cfg.HTTP.EdgeProxies) != 1 || cfg.HTTP.EdgeProxies[0] != "127.0.0.1" {
		t.Errorf("node config: cluster %+v, database %q, http %q, sip %q/%q, edge proxies %v, %d queues",
			cfg.Cluster, cfg.Database.URL, cfg.HTTP.Listen, cfg.SIP.UDP, cfg.SIP.TCP, cfg.SIP.EdgeProxies, len(cfg.ACD.Queues))
	}
}

// TestClusterChatAndEmail: in a cluster, mail reaches a node that does not
// lead and becomes an email task on a desk connected through the HTTP
// edge, its acknowledgement in the outbox; a web chat through the edge
// reaches the same desk and the two write to each other.
func TestClusterChatAndEmail(t *testing.T) {
	r := startCluster(t)
	token, _ := r.login("alice", "demo")
	desk := r.connectCTI(token)
	desk.waitFor(5*time.Second, func(e envelope) bool { return e.Type == "hello" })
	desk.command("presence.set", map[string]string{"presence": "ready"})

	other := r.info.Nodes[(r.leader()+1)%len(r.info.Nodes)]
	m := email{from: "zoe@example.org", to: "billing@example.com", id: "cluster-1@cust.example", subject: "Invoice", text: "Wrong amount."}
	if code := sendMail(t, other.SMTP, m.from, m.to, m.bytes()); code != 0 {
		t.Fatalf("%s's SMTP refused the mail: %d", other.ID, code)
	}
	offer := desk.waitFor(30*time.Second, func(e envelope) bool { return e.Type == "task.offered" })
	var o struct {
		TaskID  string `json:"task_id"`
		Channel string `json:"channel"`
	}
	_ = json.Unmarshal(offer.Data, &o)
	if o.Channel != "email" {
		t.Fatalf("offer = %s, want the email", offer.Data)
	}
	desk.command("task.accept", map[string]string{"task_id": o.TaskID})
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		code, body := r.rest("GET", "/api/v1/email/outbox", token, nil)
		if code == 200 && strings.Contains(string(body), `"kind":"ack"`) && strings.Contains(string(body), `"relay":"sink"`) &&
			strings.Contains(string(body), m.id) {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("outbox = %d %s, want the acknowledgement sent to the sink", code, body)
		}
	}

	cust := r.chatCustomer(t)
	cust.send("start", map[string]string{"name": "Zoe Q", "email": "zoe@example.org"})
	cust.wait("the bot's menu", func(e envelope) bool { return e.Type == "message" && strings.Contains(string(e.Data), `"buttons"`) })
	cust.send("button", map[string]string{"value": "3"})
	chatOffer := desk.waitFor(30*time.Second, func(e envelope) bool { return e.Type == "task.offered" })
	_ = json.Unmarshal(chatOffer.Data, &o)
	if o.Channel != "chat" {
		t.Fatalf("offer = %s, want the chat", chatOffer.Data)
	}
	desk.command("task.accept", map[string]string{"task_id": o.TaskID})
	desk.command("chat.send", map[string]string{"task_id": o.TaskID, "text": "Hello from the cluster."})
	cust.wait("the agent's message", func(e envelope) bool {
		sender, text := chatText(e)
		return sender == "agent" && text == "Hello from the cluster."
	})
	cust.send("message", map[string]string{"text": "Thanks!", "client_id": "k1"})
	desk.waitFor(10*time.Second, func(e envelope) bool { return e.Type == "chat.message" && strings.Contains(string(e.Data), "Thanks!") })
}
