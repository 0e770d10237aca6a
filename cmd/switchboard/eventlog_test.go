package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"switchboard/acd"
	"switchboard/crmcore"
	"switchboard/crmcore/jobs"
	"switchboard/crmcore/pgcluster/pgtest"
	"switchboard/crmcore/pgstore"
)

// TestReportRollUpJobs: the process's job runner rolls the event log up
// at start, as a periodic job, storing the queues' thresholds from the
// ACD config first.
func TestReportRollUpJobs(t *testing.T) {
	ctx := context.Background()
	pool := migratedPool(t, pgtest.NewDatabase(t))
	if err := jobs.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	agent := crmcore.NewID()
	if _, err := pool.Exec(ctx, `insert into agent_events (id, at, kind, agent_id, queue, channel, task_id)
		values ($1, now() - interval '20 minutes', 'offered', $2, 'sales', 'voice', 'c1')`, crmcore.NewID(), agent); err != nil {
		t.Fatal(err)
	}
	cfg := &acd.Config{Queues: []acd.QueueConfig{{Name: "sales",
		ServiceLevel: acd.SLConfig{Threshold: acd.Duration(30 * time.Second), ShortAbandon: acd.Duration(3 * time.Second)}}}}
	runner := jobs.New(pool, jobs.WithPollInterval(50*time.Millisecond))
	if err := registerRollUps(runner, pgstore.New(pool), func() *acd.Config { return cfg }, slog.Default()); err != nil {
		t.Fatal(err)
	}
	if err := runner.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := runner.Stop(sctx, time.Second); err != nil {
			t.Error(err)
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		var offered, slMS int64
		err := pool.QueryRow(ctx, `select coalesce((select sum(offered) from report_intervals where agent_id = $1), 0),
			coalesce((select sl_ms from report_queue_settings where queue = 'sales'), 0)`, agent).Scan(&offered, &slMS)
		if err != nil {
			t.Fatal(err)
		}
		if offered == 1 && slMS == 30000 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s: %d offers rolled up, sales service level %d ms; want 1 and 30000", offered, slMS)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestAgentEventsOf(t *testing.T) {
	t0 := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	now := t0.Add(time.Hour)
	agent := acd.AgentID(crmcore.NewID())
	meta := acd.Meta{Seq: 1, At: t0}
	base := crmcore.AgentEvent{At: t0, Node: "n1"}
	with := func(f func(*crmcore.AgentEvent)) []crmcore.AgentEvent {
		e := base
		f(&e)
		return []crmcore.AgentEvent{e}
	}
	for _, tc := range []struct {
		name string
		in   acd.Event
		want []crmcore.AgentEvent
	}{
		{"login not ready", &acd.AgentPresenceChanged{Meta: meta, Agent: agent, Presence: acd.PresenceNotReady, Reason: acd.ReasonLogin},
			with(func(e *crmcore.AgentEvent) {
				e.Kind, e.AgentID, e.Presence, e.Reason = crmcore.AgentEventLogin, string(agent), "not-ready", "login"
			})},
		{"ready", &acd.AgentPresenceChanged{Meta: meta, Agent: agent, Presence: acd.PresenceReady},
			with(func(e *crmcore.AgentEvent) {
				e.Kind, e.AgentID, e.Presence = crmcore.AgentEventPresence, string(agent), "ready"
			})},
		{"break", &acd.AgentPresenceChanged{Meta: meta, Agent: agent, Presence: acd.PresenceNotReady, Reason: "break", By: "sam"},
			with(func(e *crmcore.AgentEvent) {
				e.Kind, e.AgentID, e.Presence, e.Reason = crmcore.AgentEventPresence, string(agent), "not-ready", "break"
			})},
		{"logout", &acd.AgentPresenceChanged{Meta: meta, Agent: agent, Presence: acd.PresenceOffline},
			with(func(e *crmcore.AgentEvent) {
				e.Kind, e.AgentID, e.Presence = crmcore.AgentEventLogout, string(agent), "offline"
			})},
		{"on call", &acd.AgentStateChanged{Meta: meta, Agent: agent, State: acd.StateOnCall, CallID: "c1", Queue: "support"},
			with(func(e *crmcore.AgentEvent) {
				e.Kind, e.AgentID, e.State, e.TaskID, e.Queue = crmcore.AgentEventState, string(agent), "on-call", "c1", "support"
			})},
		{"queued", &acd.CallQueued{Meta: meta, Call: acd.CallInfo{ID: "c1", Queue: "support", Channel: acd.ChannelVoice, Queued: t0.Add(-7 * time.Second)}},
			with(func(e *crmcore.AgentEvent) {
				e.Kind, e.TaskID, e.Queue, e.Channel, e.Wait = crmcore.AgentEventQueued, "c1", "support", "phone", 7*time.Second
			})},
		{"offered", &acd.CallOffered{Meta: meta, Agent: agent, Waited: 3 * time.Second, Call: acd.CallInfo{ID: "c1", Queue: "support", Channel: acd.ChannelCallback}},
			with(func(e *crmcore.AgentEvent) {
				e.Kind, e.AgentID, e.TaskID, e.Queue, e.Channel, e.Wait = crmcore.AgentEventOffered, string(agent), "c1", "support", "phone", 3*time.Second
			})},
		{"rejected", &acd.OfferFailed{Meta: meta, Agent: agent, CallID: "c1", Cause: "rejected"},
			with(func(e *crmcore.AgentEvent) {
				e.Kind, e.AgentID, e.TaskID, e.Reason = crmcore.AgentEventRejected, string(agent), "c1", "rejected"
			})},
		{"no answer", &acd.OfferFailed{Meta: meta, Agent: agent, CallID: "c1", Cause: "no-answer", Missed: 2},
			with(func(e *crmcore.AgentEvent) {
				e.Kind, e.AgentID, e.TaskID, e.Reason = crmcore.AgentEventMissed, string(agent), "c1", "no-answer"
			})},
		{"withdrawn", &acd.OfferFailed{Meta: meta, Agent: agent, CallID: "c1", Cause: "withdrawn"}, nil},
		{"answered", &acd.CallAnswered{Meta: meta, Agent: agent, CallID: "c1", Queue: "support", Channel: acd.ChannelChat, Waited: time.Second},
			with(func(e *crmcore.AgentEvent) {
				e.Kind, e.AgentID, e.TaskID, e.Queue, e.Channel, e.Wait = crmcore.AgentEventAnswered, string(agent), "c1", "support", "chat", time.Second
			})},
		{"short abandon", &acd.CallAbandoned{Meta: meta, CallID: "c1", Queue: "support", Waited: 2 * time.Second, Short: true},
			with(func(e *crmcore.AgentEvent) {
				e.Kind, e.TaskID, e.Queue, e.Wait, e.Reason = crmcore.AgentEventAbandoned, "c1", "support", 2*time.Second, "short"
			})},
		{"transferred", &acd.CallTransferred{Meta: meta, CallID: "c1", From: agent, To: acd.TransferTarget{Queue: "sales"}},
			with(func(e *crmcore.AgentEvent) {
				e.Kind, e.AgentID, e.TaskID, e.Reason = crmcore.AgentEventTransferred, string(agent), "c1", "queue sales"
			})},
		{"ended", &acd.CallEnded{Meta: meta, CallID: "c1", Agent: agent, Channel: acd.ChannelVoice, Outcome: acd.OutcomeAnswered},
			with(func(e *crmcore.AgentEvent) {
				e.Kind, e.AgentID, e.TaskID, e.Channel, e.Reason = crmcore.AgentEventCompleted, string(agent), "c1", "phone", "answered"
			})},
		{"task wrap-up", &acd.TaskStateChanged{Meta: meta, TaskID: "t1", Channel: acd.ChannelEmail, Queue: "mail", Agent: agent, State: acd.TaskWrapUp},
			with(func(e *crmcore.AgentEvent) {
				e.Kind, e.AgentID, e.TaskID, e.Queue, e.Channel = crmcore.AgentEventWrapUp, string(agent), "t1", "mail", "email"
			})},
		{"task back in queue", &acd.TaskStateChanged{Meta: meta, TaskID: "t1", Channel: acd.ChannelChat, Queue: "chat", State: acd.TaskWaiting},
			with(func(e *crmcore.AgentEvent) {
				e.Kind, e.TaskID, e.Queue, e.Channel = crmcore.AgentEventQueued, "t1", "chat", "chat"
			})},
		{"no time", &acd.AgentPresenceChanged{Agent: agent, Presence: acd.PresenceReady},
			with(func(e *crmcore.AgentEvent) {
				e.At, e.Kind, e.AgentID, e.Presence = now, crmcore.AgentEventPresence, string(agent), "ready"
			})},
		{"agent outside the CRM", &acd.AgentPresenceChanged{Meta: meta, Agent: "bob", Presence: acd.PresenceReady}, nil},
		{"statistics", &acd.QueueStatsTick{Meta: meta}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := agentEventsOf(tc.in, "n1", now)
			for _, e := range got {
				if !crmcore.ValidID(e.ID) {
					t.Errorf("id %q", e.ID)
				}
				if err := e.Validate(); err != nil {
					t.Error(err)
				}
			}
			if d := cmp.Diff(tc.want, got, cmpopts.IgnoreFields(crmcore.AgentEvent{}, "ID")); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}
