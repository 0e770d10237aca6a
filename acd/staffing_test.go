package acd_test

import (
	"testing"
	"time"

	"switchboard/acd"
	"switchboard/acd/acdtest"
	"switchboard/acd/stats"
)

// The staffing recommendation measures the arrival rate over the time the
// queue was observed and the handle time of the calls it handled: ten
// minutes after the start, 42 calls of 3m10s (talk 3 min, wrap-up 10 s)
// against three agents need 17 agents for 80 % in 20 s (the last hour
// spread over a whole hour would have said 4), while the queue grows.
func TestStaffingFromScenario(t *testing.T) {
	h := newHarness(t, `
wrap_up: 10s
queues:
  - name: sales
    skills: [{skill: sales, level: 1}]
    service_level: {threshold: 20s, target: 80}
`)
	h.phone.AutoAnswer = func(acd.Offer) bool { return true }
	for _, id := range []string{"a1", "a2", "a3"} {
		h.login(id, true, sk("sales", 1))
	}
	const calls, talk = 42, 180 * time.Second
	hangups := map[time.Time][]*acdtest.Leg{}
	legs := map[acd.CallID]*acdtest.Leg{}
	next := 0
	for s := 0; s < 600; s++ {
		now := t0.Add(time.Duration(s) * time.Second)
		for next < calls && time.Duration(next)*600*time.Second/calls <= time.Duration(s)*time.Second {
			id := acd.CallID("c" + string(rune('A'+next/26)) + string(rune('a'+next%26)))
			legs[id] = h.enqueue(acd.CallRequest{ID: id, Queue: "sales", ANI: "+14155550123", Caller: geoOf("+14155550123")})
			next++
		}
		// Ring goroutines answer asynchronously: let them finish before the
		// clock moves on, or a ring times out on the fake clock.
		eventually(t, "engine settles", h.e.Quiet)
		for more := true; more; {
			select {
			case ev := <-h.events:
				if a, ok := ev.(*acd.CallAnswered); ok {
					end := a.At.Add(talk)
					hangups[end] = append(hangups[end], legs[a.CallID])
				}
			default:
				more = false
			}
		}
		for _, l := range hangups[now] {
			l.End()
		}
		if len(hangups[now]) > 0 {
			eventually(t, "engine settles after hangups", h.e.Quiet)
		}
		h.advance(time.Second)
	}
	snap, err := h.e.Snapshot(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	q := snap.Queues[0]
	st := q.Staffing
	if st.Calls != calls || st.Period != 10*time.Minute || st.AHT != 190*time.Second || st.AHTDefault {
		t.Fatalf("staffing inputs = %d calls over %v, AHT %v (default %v); want 42 over 10m0s, AHT 3m10s",
			st.Calls, st.Period, st.AHT, st.AHTDefault)
	}
	if st.Target != 0.8 || st.Threshold != 20*time.Second {
		t.Errorf("staffing goal = %v in %v, want 0.8 in 20s", st.Target, st.Threshold)
	}
	want := stats.AgentsNeeded(float64(calls)/600, 190, 20, 0.8)
	if want != 17 || st.Agents != want || q.AgentsNeeded != want {
		t.Errorf("agents needed = %d (staffing %d), want %d = 17", q.AgentsNeeded, st.Agents, want)
	}
	if q.Waiting < 5 {
		t.Errorf("waiting = %d; the scenario should build a queue", q.Waiting)
	}
	t.Logf("waiting %d, staffed %d, recommended %d, SL %.2f", q.Waiting, q.AgentsStaffed, q.AgentsNeeded, q.Last15.ServiceLevel)
}
