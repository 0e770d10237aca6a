package agentdesk_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"switchboard/agentdesk"
)

type fakeListener struct {
	mu    sync.Mutex
	calls []string
}

func (l *fakeListener) Listen(_ context.Context, sup, callID, mode string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, "listen "+sup+" "+callID+" "+mode)
	return nil
}

func (l *fakeListener) StopListening(_ context.Context, sup, callID string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, "stop "+sup+" "+callID)
	return nil
}

type fakeTickets struct{ got chan agentdesk.WrapUp }

func (f fakeTickets) WrapUpTicket(_ context.Context, agentID, callID string, w agentdesk.WrapUp) (string, error) {
	f.got <- w
	if w.LinkTicket != "" {
		return w.LinkTicket, nil
	}
	return "T-2001", nil
}

func TestListenInAndWrapUpTickets(t *testing.T) {
	l := &fakeListener{}
	tk := fakeTickets{got: make(chan agentdesk.WrapUp, 4)}
	r := newFakeRig(t, func(c *agentdesk.Config) { c.Listener = l; c.Tickets = tk })
	sup := login(t, r.srv, "sup")
	sup.mustOK(agentdesk.CmdSupListen, map[string]any{"call_id": "c1", "mode": "barge"})
	sup.mustOK(agentdesk.CmdSupListenStop, map[string]any{"call_id": "c1"})
	l.mu.Lock()
	got := append([]string(nil), l.calls...)
	l.mu.Unlock()
	if len(got) != 2 || got[0] != "listen id-sup c1 barge" || got[1] != "stop id-sup c1" {
		t.Fatalf("listener calls = %q", got)
	}

	a := login(t, r.srv, "a1")
	r.eng.Publish(agentdesk.WrapUpTimer{AgentID: "id-a1", CallID: "c1", Deadline: time.Now().Add(time.Minute)})
	a.waitType(agentdesk.EvWrapUpStarted)
	ok := a.mustOK(agentdesk.CmdWrapUp, map[string]any{"call_id": "c1", "disposition": "callback", "notes": "n",
		"create_ticket": map[string]any{"subject": "Call back Tuesday"}})
	if d := decode[map[string]string](t, ok); d["ticket_id"] != "T-2001" {
		t.Fatalf("wrap-up reply = %v", d)
	}
	if w := <-tk.got; w.CreateTicket == nil || w.CreateTicket.Subject != "Call back Tuesday" || w.CreateTicket.Priority != "normal" {
		t.Fatalf("ticket request = %+v", w)
	}
	act := <-r.eng.Actions
	if act.Action != agentdesk.ActWrapUp || act.WrapUp.Disposition != "callback" || act.WrapUp.Notes != "n" {
		t.Fatalf("engine wrap-up = %+v", act)
	}
}

func TestResubscribeAfterEngineDrop(t *testing.T) {
	r := newFakeRig(t, nil)
	sup := login(t, r.srv, "sup")
	sup.waitType(agentdesk.EvSupSnapshot)
	r.eng.SetState(agentdesk.State{Queues: []agentdesk.QueueStats{{Queue: "sales"}, {Queue: "vip"}}})
	r.eng.Drop()
	snap := decode[agentdesk.SupSnapshot](t, sup.waitType(agentdesk.EvSupSnapshot))
	if len(snap.Queues) != 2 || snap.Queues[1].Queue != "vip" {
		t.Fatalf("snapshot after resubscribe = %+v", snap.Queues)
	}
	if n := r.eng.Subscriptions(); n != 2 {
		t.Fatalf("subscriptions = %d, want 2", n)
	}
}

func TestMetrics(t *testing.T) {
	r := newFakeRig(t, nil)
	a := login(t, r.srv, "a1")
	login(t, r.srv, "sup")
	r.eng.Publish(agentdesk.Offer{CallID: "m1", AgentID: "id-a1", Queue: "sales", DecidedAt: time.Now()})
	a.waitType(agentdesk.EvCallOffered)
	a.sendRaw([]byte(`{"v":1,"type":"nope","id":"z"}`))
	a.waitType(agentdesk.EvError)
	deadline := time.Now().Add(waitLimit)
	for testutil.CollectAndCount(r.reg, "switchboard_agentdesk_screen_pop_seconds") == 0 ||
		histCount(t, r) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("pop latency not observed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := gaugeValue(t, r, "agent"); got != 1 {
		t.Errorf("agent connections = %v, want 1", got)
	}
	if got := counterValue(t, r.reg, "switchboard_agentdesk_messages_in_total"); got < 1 {
		t.Errorf("messages in = %v", got)
	}
	if got := counterValue(t, r.reg, "switchboard_agentdesk_messages_out_total"); got < 4 {
		t.Errorf("messages out = %v", got)
	}
}

func histCount(t *testing.T, r *fakeRig) uint64 {
	mfs, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "switchboard_agentdesk_screen_pop_seconds" {
			return mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	return 0
}

func gaugeValue(t *testing.T, r *fakeRig, role string) float64 {
	mfs, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "switchboard_agentdesk_connections" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "role" && l.GetValue() == role {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return -1
}
