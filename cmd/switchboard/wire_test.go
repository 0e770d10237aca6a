package main

import (
	"context"
	"regexp"
	"testing"
	"time"

	"switchboard/acd"
	"switchboard/acd/acdtest"
	"switchboard/acd/voice"
	"switchboard/agentdesk"
	"switchboard/crmcore"
	"switchboard/crmcore/pgcluster/pgtest"
	"switchboard/crmcore/pgstore"
)

// A ticket created at wrap-up is requested by the caller's contact (from
// the call's CRM lookup) and the agent gets its number; linking names the
// ticket by number too.
func TestWrapUpTicketLinksCallerAndAnswersNumber(t *testing.T) {
	ctx := context.Background()
	pool := migratedPool(t, pgtest.NewDatabase(t))
	if _, err := pgstore.Seed(ctx, pool, pgstore.WithPasswordCost(4)); err != nil {
		t.Fatal(err)
	}
	store := pgstore.New(pool)
	agent, err := store.AgentByLogin(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	// Liam Johnson: a standard contact of a VIP account.
	lookup, err := store.LookupByPhone(ctx, "+14155550101")
	if err != nil || lookup.Contact == nil {
		t.Fatalf("lookup = %+v, %v", lookup, err)
	}

	cfg, err := acd.ParseConfig([]byte("wrap_up: 60s\nqueues:\n  - name: sales\n"))
	if err != nil {
		t.Fatal(err)
	}
	phone := acdtest.NewPhone()
	phone.AutoAnswer = func(acd.Offer) bool { return true }
	engine, err := acd.New(cfg, phone, phone)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close() })
	entry := voice.New(voice.EngineRouter(engine), nil, store, nil, voice.Options{})
	if err := engine.Login(ctx, acd.AgentSpec{ID: acd.AgentID(agent.ID), Endpoint: "alice", Ready: true}); err != nil {
		t.Fatal(err)
	}
	caller := acdtest.NewLeg("call-wrap")
	if _, err := engine.Enqueue(ctx, acd.CallRequest{ID: "call-wrap", Queue: "sales", ANI: "+14155550101",
		Data: &voice.Pop{Known: true, Contact: lookup.Contact, Account: lookup.Account}}, caller); err != nil {
		t.Fatal(err)
	}
	waitAgentState(t, engine, agent.ID, acd.StateOnCall)
	caller.End()
	waitAgentState(t, engine, agent.ID, acd.StateWrapUp)

	tickets := wrapUpTickets{store: store, engine: engine, attach: func(_ context.Context, callID, ticketID string) error {
		entry.AttachTicket(callID, ticketID)
		return nil
	}}
	num, err := tickets.WrapUpTicket(ctx, agent.ID, "call-wrap", agentdesk.WrapUp{CallID: "call-wrap", Disposition: "resolved",
		Notes: "Router keeps dropping", CreateTicket: &agentdesk.NewTicket{Subject: "Router keeps dropping", Priority: "high"}})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^T-\d+$`).MatchString(num) {
		t.Fatalf("created ticket = %q, want its number T-…", num)
	}
	n, err := crmcore.ParseTicketNumber(num)
	if err != nil {
		t.Fatal(err)
	}
	tk, err := store.GetTicket(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	if tk.RequesterID != lookup.Contact.ID || tk.AssigneeID != agent.ID {
		t.Errorf("ticket requester %q assignee %q, want contact %q and agent %q", tk.RequesterID, tk.AssigneeID, lookup.Contact.ID, agent.ID)
	}
	linked, err := tickets.WrapUpTicket(ctx, agent.ID, "call-wrap", agentdesk.WrapUp{CallID: "call-wrap", Disposition: "resolved", LinkTicket: num})
	if err != nil || linked != num {
		t.Errorf("link %s = %q, %v; want %s", num, linked, err, num)
	}
}

func waitAgentState(t *testing.T, e *acd.Engine, id string, want acd.AgentState) {
	t.Helper()
	for range 2000 {
		s, err := e.Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range s.Agents {
			if string(a.ID) == id && a.State == want {
				return
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("agent %s never %s", id, want)
}
