package edgetest

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/google/go-cmp/cmp"
)

// rotationWait bounds how long a node may take to enter or leave the
// rotation: Kamailio probes every second and gives a probe FR_TIMER_MS
// (2 s) to be answered.
const rotationWait = 5 * time.Second

// callTimeout bounds one call through the edge, failover to another node
// included.
const callTimeout = 10 * time.Second

// edgeCall places a call from caller to user at Kamailio and returns the
// name of the node that answered, after hanging up (the node gets the BYE).
func edgeCall(t *testing.T, k *Kamailio, caller *agent, nodes map[string]*agent) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
	defer cancel()
	d, node, err := caller.call(ctx, sipURI("+15550100", k.Addr()), nil)
	if err != nil {
		t.Fatalf("call through the edge: %v", err)
	}
	n, ok := nodes[node]
	if !ok {
		t.Fatalf("call answered by %q, not a node", node)
	}
	if err := hangupAndWait(ctx, d, n); err != nil {
		t.Fatal(err)
	}
	return node
}

// waitForCallTo places calls until one is answered by node, for up to
// rotationWait, and fails the test otherwise.
func waitForCallTo(t *testing.T, k *Kamailio, caller *agent, nodes map[string]*agent, node string) {
	t.Helper()
	deadline := time.Now().Add(rotationWait)
	for {
		if waitRotation(t, k, caller, nodes) == node {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no call reached %s within %v", node, rotationWait)
		}
	}
}

// waitRotation places one call once some node is in rotation (Kamailio
// answers 503 before), for up to rotationWait, and returns who answered.
func waitRotation(t *testing.T, k *Kamailio, caller *agent, nodes map[string]*agent) string {
	t.Helper()
	deadline := time.Now().Add(rotationWait)
	for {
		status, err := exchangeSIP("udp", k.Addr(), "OPTIONS", "sip:probe@"+k.Addr().String(), nil, nil)
		if err == nil && strings.HasPrefix(status, "SIP/2.0 200 ") {
			return edgeCall(t, k, caller, nodes)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no node in rotation within %v (last answer %q, %v)", rotationWait, status, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// answered returns the next call a answered, and fails the test if none
// comes within callTimeout.
func answered(t *testing.T, a *agent) *sipgo.DialogServerSession {
	t.Helper()
	select {
	case d := <-a.answered:
		return d
	case <-time.After(callTimeout):
		t.Fatalf("%s answered no call within %v", a.name, callTimeout)
		return nil
	}
}

// byName maps agents by their names.
func byName(as ...*agent) map[string]*agent {
	m := map[string]*agent{}
	for _, a := range as {
		m[a.name] = a
	}
	return m
}

// TestKamailioSpreadsCallsAndDropsDeadNode: calls through Kamailio reach
// both nodes; once one node goes silent (dead, as Kamailio sees it over
// UDP), every call is still answered, by the other node, and within
// rotationWait of the death no INVITE is sent to the dead node any more.
func TestKamailioSpreadsCallsAndDropsDeadNode(t *testing.T) {
	n1, n2 := newAgent(t, "node1"), newAgent(t, "node2")
	nodes := byName(n1, n2)
	k := StartKamailio(t, KamailioOptions{Nodes: []netip.AddrPort{n1.addr, n2.addr}})
	caller := newAgent(t, "caller")

	got := map[string]int{}
	deadline := time.Now().Add(rotationWait)
	for got["node1"] == 0 || got["node2"] == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("calls did not reach both nodes within %v: %v", rotationWait, got)
		}
		got[waitRotation(t, k, caller, nodes)]++
	}

	n1.conn.silent.Store(true)
	died := time.Now()
	const cleanRun = 8 // consecutive calls the dead node saw no INVITE of
	clean, cleanSince := 0, time.Time{}
	for clean < cleanRun {
		if clean == 0 {
			cleanSince = time.Now()
		}
		if cleanSince.Sub(died) > rotationWait {
			t.Fatalf("the dead node still got INVITEs %v after it died", cleanSince.Sub(died).Round(time.Millisecond))
		}
		before := n1.conn.dropped.Load()
		if node := edgeCall(t, k, caller, nodes); node != "node2" {
			t.Fatalf("call answered by %s after node1 died", node)
		}
		if n1.conn.dropped.Load() == before {
			clean++
		} else {
			clean = 0
		}
	}
}

// TestKamailioDialog: a full dialog through Kamailio. The node gets the
// INVITE record-routed through Kamailio, the ACK of its 200, and the BYE
// whichever side hangs up; the other side gets it.
func TestKamailioDialog(t *testing.T) {
	node := newAgent(t, "node1")
	k := StartKamailio(t, KamailioOptions{Nodes: []netip.AddrPort{node.addr}})
	caller := newAgent(t, "caller")
	waitRotation(t, k, caller, byName(node))
	answered(t, node)

	for _, tc := range []struct {
		name       string
		nodeHangup bool
	}{
		{"caller hangs up", false},
		{"node hangs up", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
			defer cancel()
			d, name, err := caller.call(ctx, sipURI("+15550100", k.Addr()), nil)
			if err != nil {
				t.Fatal(err)
			}
			if name != "node1" {
				t.Fatalf("answered by %q, want node1", name)
			}
			srv := answered(t, node) // once the ACK came back through Kamailio
			callID := d.InviteRequest.CallID().Value()
			rr := node.inviteOf(callID).GetHeader("Record-Route")
			if rr == nil || !strings.Contains(rr.Value(), k.Addr().String()) {
				t.Fatalf("INVITE at the node: Record-Route %v, want Kamailio's %v", rr, k.Addr())
			}
			if !tc.nodeHangup {
				if err := hangupAndWait(ctx, d, node); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err := srv.Bye(ctx); err != nil {
				t.Fatalf("node's BYE: %v", err)
			}
			select {
			case <-caller.endedChan(callID):
			case <-ctx.Done():
				t.Fatal("the caller did not get the node's BYE")
			}
		})
	}
}

// TestKamailioRegister: REGISTERs through Kamailio reach a node, and the
// answer to a node's digest challenge (same Call-ID) goes back to the node
// that issued the nonce, which no other node accepts.
func TestKamailioRegister(t *testing.T) {
	n1, n2 := newAgent(t, "node1"), newAgent(t, "node2")
	nodes := byName(n1, n2)
	k := StartKamailio(t, KamailioOptions{Nodes: []netip.AddrPort{n1.addr, n2.addr}})
	phone := newAgent(t, "phone")
	waitRotation(t, k, phone, nodes)
	// Both nodes in rotation, so that a REGISTER's retry could land on
	// the other node if it were not sent where its Call-ID hashes to.
	waitForCallTo(t, k, phone, nodes, "node1")
	waitForCallTo(t, k, phone, nodes, "node2")

	const n = 10
	for i := range n {
		ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
		res, err := phone.register(ctx, k.Addr(), "alice")
		cancel()
		if err != nil {
			t.Fatalf("register %d: %v", i, err)
		}
		if res.StatusCode != 200 {
			t.Fatalf("register %d: %d %s, want 200", i, res.StatusCode, res.Reason)
		}
	}
	if got := n1.registered.Load() + n2.registered.Load(); got != n {
		t.Fatalf("nodes accepted %d REGISTERs, want %d", got, n)
	}
}

// TestKamailioStandbyJoins: a node that does not answer at start (a
// standby) gets no INVITE, and is in rotation within rotationWait of
// answering (it won the leader lease).
func TestKamailioStandbyJoins(t *testing.T) {
	leader, standby := newAgent(t, "node1"), newAgent(t, "node2")
	standby.conn.silent.Store(true)
	nodes := byName(leader, standby)
	k := StartKamailio(t, KamailioOptions{Nodes: []netip.AddrPort{leader.addr, standby.addr}})
	caller := newAgent(t, "caller")
	waitRotation(t, k, caller, nodes)
	for range 10 {
		if node := edgeCall(t, k, caller, nodes); node != "node1" {
			t.Fatalf("call answered by %s, want node1", node)
		}
	}
	if got := standby.conn.dropped.Load(); got != 0 {
		t.Fatalf("the standby was sent %d INVITEs", got)
	}

	standby.conn.silent.Store(false)
	waitForCallTo(t, k, caller, nodes, "node2")
}

// TestKamailioFailoverOn503: an INVITE a node refuses with 503 (draining,
// at its call limit) is answered by the other node.
func TestKamailioFailoverOn503(t *testing.T) {
	busy, free := newAgent(t, "node1"), newAgent(t, "node2")
	busy.refusing.Store(true)
	nodes := byName(busy, free)
	k := StartKamailio(t, KamailioOptions{Nodes: []netip.AddrPort{busy.addr, free.addr}})
	caller := newAgent(t, "caller")
	waitRotation(t, k, caller, nodes)
	for i := 0; busy.refused.Load() == 0; i++ {
		if i == 50 {
			t.Fatal("50 calls and none was sent to node1")
		}
		if node := edgeCall(t, k, caller, nodes); node != "node2" {
			t.Fatalf("call answered by %s, want node2", node)
		}
	}
}

// TestKamailioRelaysFromNodes: an INVITE from a node to a foreign
// Request-URI (an agent's phone) is relayed there and record-routed, so
// the node's BYE follows the dialog; the same INVITE from anyone else is
// refused, so the edge is no open relay.
func TestKamailioRelaysFromNodes(t *testing.T) {
	node := newAgent(t, "node1")
	k := StartKamailio(t, KamailioOptions{Nodes: []netip.AddrPort{node.addr}})
	caller := newAgent(t, "caller")
	waitRotation(t, k, caller, byName(node))
	answered(t, node)
	phone := newAgent(t, "phone")
	kURI := sipURI("", k.Addr())

	t.Run("from a node", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
		defer cancel()
		d, name, err := node.call(ctx, sipURI("alice", phone.addr), &kURI)
		if err != nil {
			t.Fatal(err)
		}
		if name != "phone" {
			t.Fatalf("answered by %q, want phone", name)
		}
		answered(t, phone)
		rr := phone.inviteOf(d.InviteRequest.CallID().Value()).GetHeader("Record-Route")
		if rr == nil || !strings.Contains(rr.Value(), k.Addr().String()) {
			t.Fatalf("INVITE at the phone: Record-Route %v, want Kamailio's %v", rr, k.Addr())
		}
		if err := hangupAndWait(ctx, d, phone); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("from elsewhere", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
		defer cancel()
		_, _, err := caller.call(ctx, sipURI("alice", phone.addr), &kURI)
		var refused *sipgo.ErrDialogResponse
		if !errors.As(err, &refused) || refused.Res.StatusCode != 403 {
			t.Fatalf("call relayed for a stranger: err %v, want 403", err)
		}
	})
}

// TestKamailioRefuses: the edge's own checks answer before any node sees
// the request.
func TestKamailioRefuses(t *testing.T) {
	node := newAgent(t, "node1")
	k := StartKamailio(t, KamailioOptions{Nodes: []netip.AddrPort{node.addr}})
	ruri := "sip:+15550100@" + k.Addr().String()
	for _, tc := range []struct {
		name    string
		network string
		method  string
		ruri    string
		extra   []string
		body    []byte
		want    string
	}{
		{"keepalive", "udp", "OPTIONS", "sip:" + k.Addr().String(), nil, nil, "SIP/2.0 200 Keepalive"},
		{"keepalive over TCP", "tcp", "OPTIONS", "sip:" + k.Addr().String(), nil, nil, "SIP/2.0 200 Keepalive"},
		{"hop limit", "udp", "OPTIONS", ruri, []string{"Max-Forwards: 0"}, nil, "SIP/2.0 483 Too Many Hops"},
		{"oversized", "udp", "MESSAGE", ruri, []string{"Content-Type: text/plain"}, []byte(strings.Repeat("x", 9000)), "SIP/2.0 513 Message Too Large"},
		{"method", "udp", "PUBLISH", ruri, nil, nil, "SIP/2.0 405 Method Not Allowed"},
		{"relay", "tcp", "MESSAGE", "sip:alice@192.0.2.1", []string{"Content-Type: text/plain"}, []byte("hi"), "SIP/2.0 403 Relaying Forbidden"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := exchangeSIP(tc.network, k.Addr(), tc.method, tc.ruri, tc.extra, tc.body)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("status line (-want +got):\n%s", diff)
			}
		})
	}
}

// TestKamailioFloodProtection: with PikeDensity set, an address sending
// far more requests than the density is soon answered no more; without,
// every request is answered.
func TestKamailioFloodProtection(t *testing.T) {
	const flood = 200
	for _, tc := range []struct {
		name        string
		density     int
		wantBlocked bool
	}{
		{"off", 0, false},
		{"on", 5, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := StartKamailio(t, KamailioOptions{PikeDensity: tc.density})
			blocked := false
			for range flood {
				if _, err := exchangeSIP("udp", k.Addr(), "OPTIONS", "sip:"+k.Addr().String(), nil, nil); err != nil {
					blocked = true
					break
				}
			}
			if blocked != tc.wantBlocked {
				t.Fatalf("blocked during %d requests: %v, want %v", flood, blocked, tc.wantBlocked)
			}
		})
	}
}

// TestKamailioNoNodeLeft: an INVITE sent to the only node in rotation
// just as it dies gets 503 with Retry-After once the node times out (a
// trunk tries again; a new leader joins at its first probe), never the
// dead node's 408.
func TestKamailioNoNodeLeft(t *testing.T) {
	n := newAgent(t, "node1")
	k := StartKamailio(t, KamailioOptions{Nodes: []netip.AddrPort{n.addr}})
	caller := newAgent(t, "caller")
	waitRotation(t, k, caller, byName(n))
	n.conn.silent.Store(true)
	ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
	defer cancel()
	_, _, err := caller.call(ctx, sipURI("+15550100", k.Addr()), nil)
	var de *sipgo.ErrDialogResponse
	if !errors.As(err, &de) || de.Res.StatusCode != 503 || de.Res.GetHeader("Retry-After") == nil {
		t.Fatalf("INVITE with no live node: %v, want 503 with Retry-After", err)
	}
}
