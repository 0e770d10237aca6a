package dispatch_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"switchboard/acd"
	"switchboard/crmcore"
	"switchboard/crmcore/dispatch"
)

// load counts the tasks of channel ch an agent holds, from a snapshot.
func (e *env) load(login string, ch acd.Channel) int {
	e.t.Helper()
	snap, err := e.engine.Snapshot(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, a := range snap.Agents {
		if a.ID != acd.AgentID(e.agents[login]) {
			continue
		}
		for _, t := range a.Tasks {
			if t.Channel == ch {
				n++
			}
		}
	}
	return n
}

// TestRestartKeepsAcceptedItems: after a restart (a new router and a new
// engine over the same CRM), the ticket and lead an agent accepted before
// are adopted again: they hold the agent's capacity, so the next ticket
// goes to someone else, and solving or closing them in the CRM frees it.
func TestRestartKeepsAcceptedItems(t *testing.T) {
	e := newEnv(t)
	sales := crmcore.Skill{Name: "sales", Level: 1}
	e.agent("ann", 5, []string{"en"}, map[string]int{"ticket": 1, "lead": 1}, sales)
	tk := e.ticket("Broken", crmcore.PriorityNormal, "en", "")
	e.sync()
	e.offered(tk)
	e.accept("ann", tk)
	lead, err := crmcore.NewLead(crmcore.LeadInput{Name: "Pedro", Language: "en"}, "US", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if lead, err = e.store.CreateLead(e.ctx, lead); err != nil {
		t.Fatal(err)
	}
	e.sync()
	o := e.offeredTask(dispatch.LeadTask(lead.ID))
	if err := e.engine.Accept(e.ctx, o.Agent, o.Call.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "lead owned by ann", func() bool {
		l, err := e.store.GetLead(e.ctx, lead.ID)
		return err == nil && l.OwnerID == e.agents["ann"]
	})

	// The restart: the agents log in again after the router restored.
	if err := e.engine.Close(); err != nil {
		t.Fatal(err)
	}
	e.start()
	for range 2 { // restoring again changes nothing
		if err := e.router.Restore(e.ctx); err != nil {
			t.Fatal(err)
		}
	}
	e.login("ann")
	e.agent("ben", 1, []string{"en"}, nil)
	want := []acd.TaskID{dispatch.TicketTask(tk.ID), dispatch.LeadTask(lead.ID)}
	if got := e.held("ann"); !cmp.Equal(got, want) {
		t.Fatalf("ann holds %v after the restart, want %v", got, want)
	}
	if got := e.load("ann", acd.ChannelTicket); got != 1 {
		t.Errorf("ann's ticket load after the restart = %d, want 1", got)
	}

	// ann is at her ticket capacity: the next ticket goes to ben, though
	// ann ranks higher.
	next := e.ticket("Also broken", crmcore.PriorityNormal, "en", "")
	e.sync()
	if o := e.offered(next); o.Agent != acd.AgentID(e.agents["ben"]) {
		t.Fatalf("next ticket offered to %s, want ben (ann is at capacity)", o.Agent)
	}

	// Solving the ticket and closing the lead in the CRM free ann.
	n, _ := crmcore.ParseTicketNumber(tk.Number)
	if _, err := e.store.TransitionTicket(e.ctx, e.agents["ann"], n, crmcore.StatusSolved); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.TransitionLead(e.ctx, lead.ID, crmcore.LeadDisqualified); err != nil {
		t.Fatal(err)
	}
	e.sync()
	eventually(t, "ann's restored tasks completed", func() bool { return len(e.held("ann")) == 0 })
}
