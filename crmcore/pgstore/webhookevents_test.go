package pgstore

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"switchboard/crmcore"
)

// subscribe adds a webhook subscription for types straight in the table.
func subscribe(t *testing.T, pool *pgxpool.Pool, active bool, types ...string) {
	t.Helper()
	_, err := pool.Exec(context.Background(), `insert into webhook_subscriptions (id, url, event_types, secret, active)
		values ($1, 'http://127.0.0.1:9/hook', $2, 'whsec_0123456789abcdef', $3)`, crmcore.NewID(), types, active)
	if err != nil {
		t.Fatal(err)
	}
}

// outbox returns the types of the recorded events, in order, and their
// payloads.
func outbox(t *testing.T, pool *pgxpool.Pool) ([]string, []json.RawMessage) {
	t.Helper()
	rows, err := pool.Query(context.Background(), `select type, payload::text from webhook_events order by id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var types []string
	var payloads []json.RawMessage
	for rows.Next() {
		var typ, p string
		if err := rows.Scan(&typ, &p); err != nil {
			t.Fatal(err)
		}
		types, payloads = append(types, typ), append(payloads, json.RawMessage(p))
	}
	return types, payloads
}

// TestOutboxTickets: ticket writes record their events only for the types
// an active subscription wants, in the ticket's transaction.
func TestOutboxTickets(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	s := New(pool)
	create := func(subject string) crmcore.Ticket {
		nt, err := crmcore.NewTicket(crmcore.TicketInput{Subject: subject, Channel: crmcore.ChannelWeb}, s.SLAPolicy(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		tk, err := s.CreateTicket(ctx, "", nt)
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	create("nobody listens")
	subscribe(t, pool, false, crmcore.EventTicketCreated) // inactive
	subscribe(t, pool, true, crmcore.EventInteractionCompleted)
	create("still nobody for tickets")
	if got, _ := outbox(t, pool); len(got) != 0 {
		t.Fatalf("events without a subscription for them: %v", got)
	}

	subscribe(t, pool, true, crmcore.EventTicketCreated, crmcore.EventTicketUpdated, crmcore.EventTaskQueued)
	tk := create("printer on fire")
	n, _ := crmcore.ParseTicketNumber(tk.Number)
	prio := crmcore.PriorityHigh
	if _, err := s.UpdateTicket(ctx, "", n, crmcore.TicketPatch{Priority: &prio}); err != nil {
		t.Fatal(err)
	}
	// A refused change records nothing.
	if _, err := s.TransitionTicket(ctx, "", n, crmcore.StatusClosed); err == nil {
		t.Fatal("new → closed accepted")
	}
	types, payloads := outbox(t, pool)
	want := []string{crmcore.EventTicketCreated, crmcore.EventTaskQueued, crmcore.EventTicketUpdated}
	if diff := cmp.Diff(want, types); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
	var created crmcore.Ticket
	var queued crmcore.TaskEvent
	var updated crmcore.TicketUpdate
	for i, v := range []any{&created, &queued, &updated} {
		if err := json.Unmarshal(payloads[i], v); err != nil {
			t.Fatal(err)
		}
	}
	if created.ID != tk.ID || created.Number != tk.Number || created.Subject != "printer on fire" {
		t.Errorf("ticket.created payload = %+v", created)
	}
	if queued.TicketID != tk.ID || queued.Channel != crmcore.TaskChannelTicket || queued.Cause != "new" {
		t.Errorf("task.queued payload = %+v", queued)
	}
	if updated.Ticket.Priority != crmcore.PriorityHigh || len(updated.Changes) != 1 || updated.Changes[0].Field != "priority" {
		t.Errorf("ticket.updated payload = %+v", updated)
	}
}

// TestOutboxInteractions: the writer records the events of completed
// interactions and answered surveys in its flush transaction, once per
// record even when the record is written again.
func TestOutboxInteractions(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	subscribe(t, pool, true, crmcore.EventInteractionCompleted, crmcore.EventTaskAbandoned, crmcore.EventSurveyAnswered)
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	end := t0.Add(time.Minute)
	open := crmcore.Interaction{ID: crmcore.NewID(), CallID: "c1", Direction: crmcore.Inbound, Channel: crmcore.ChannelPhone,
		ArrivedAt: t0, Outcome: crmcore.OutcomeInProgress}
	answered := open
	answered.EndedAt, answered.Outcome = &end, crmcore.OutcomeAnswered
	abandoned := crmcore.Interaction{ID: crmcore.NewID(), CallID: "c2", Direction: crmcore.Inbound, Channel: crmcore.ChannelPhone,
		ArrivedAt: t0, EndedAt: &end, Outcome: crmcore.OutcomeAbandoned, Queue: "sales"}
	score := 5
	survey := crmcore.WrapUp{ID: crmcore.NewID(), InteractionID: answered.ID, At: end, SurveyScore: &score, Survey: map[string]int{"csat": 5}}
	plain := crmcore.WrapUp{ID: crmcore.NewID(), InteractionID: answered.ID, At: end, Disposition: "sale"}

	dir := t.TempDir()
	w, err := NewWriter(pool, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []crmcore.Interaction{open, answered, abandoned, abandoned} {
		if err := w.Write(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	for _, wu := range []crmcore.WrapUp{survey, plain, survey} {
		if err := w.AppendWrapUp(ctx, wu); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	types, payloads := outbox(t, pool)
	count := map[string]int{}
	for _, typ := range types {
		count[typ]++
	}
	want := map[string]int{crmcore.EventInteractionCompleted: 2, crmcore.EventTaskAbandoned: 1, crmcore.EventSurveyAnswered: 1}
	if diff := cmp.Diff(want, count); diff != "" {
		t.Fatalf("events by type (-want +got):\n%s", diff)
	}
	for i, typ := range types {
		if typ != crmcore.EventTaskAbandoned {
			continue
		}
		var in crmcore.Interaction
		if err := json.Unmarshal(payloads[i], &in); err != nil || in.ID != abandoned.ID || in.Queue != "sales" {
			t.Errorf("task.abandoned payload = %s (%v)", payloads[i], err)
		}
	}
}

// TestOutboxTasksQueued: the event log's queued entries give one
// task.queued per task and queue, written with the events; tickets and
// emails are left to the ticket's own transaction.
func TestOutboxTasksQueued(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	subscribe(t, pool, true, crmcore.EventTaskQueued)
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	queued := func(task, queue, channel string, wait time.Duration) crmcore.AgentEvent {
		return crmcore.AgentEvent{ID: crmcore.NewID(), At: t0.Add(wait), Kind: crmcore.AgentEventQueued, TaskID: task,
			Queue: queue, Channel: channel, Wait: wait}
	}
	w, err := NewWriter(pool, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteEvents(ctx,
		queued("call-1", "sales", "phone", 0),
		queued("call-1", "sales", "phone", 30*time.Second), // back in its queue after a missed offer
		queued("call-1", "support", "phone", time.Minute),  // overflowed to another queue
		queued("chat-1", "support", "chat", 0),
		queued("ticket-1", "billing", crmcore.TaskChannelTicket, 0),
		queued("mail-1", "billing", "email", 0)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	_, payloads := outbox(t, pool)
	var got []string
	for _, p := range payloads {
		var te crmcore.TaskEvent
		if err := json.Unmarshal(p, &te); err != nil {
			t.Fatal(err)
		}
		if !te.Since.Equal(t0) {
			t.Errorf("task %s queued since %v, want %v", te.TaskID, te.Since, t0)
		}
		got = append(got, te.TaskID+" "+te.Queue+" "+te.Channel)
	}
	want := []string{"call-1 sales phone", "call-1 support phone", "chat-1 support chat"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("task.queued events (-want +got):\n%s", diff)
	}
}
