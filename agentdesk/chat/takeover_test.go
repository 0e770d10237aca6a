package chat_test

import (
	"context"
	"testing"
	"time"

	"switchboard/acd"
	"switchboard/agentdesk/chat"
	"switchboard/crmcore"
)

// TestTakeOver: a service stops (a restart, a lost leader) with one chat
// queued and one active; the next service, on another engine, takes both
// over from the store: the queued chat is routed again and accepted, the
// active one is its agent's again, and their customers resume and talk.
func TestTakeOver(t *testing.T) {
	r1 := newRig(t, nil)
	r1.login("a1", true)
	active := r1.customer()
	activeToken, activeID := r1.toQueue(active)
	r1.accept("a1", activeID)
	active.message("Ana joined the chat.")
	if err := r1.engine.SetPresence(context.Background(), "a1", acd.PresenceNotReady, "break"); err != nil {
		t.Fatal(err)
	}
	queued := r1.customer()
	queuedToken, queuedID := r1.toQueue(queued)
	queued.next("queue")
	// The first service and its engine go; the chats stay open in the store.
	_ = r1.svc.Close()
	_ = r1.engine.Close()

	r2 := newRigOn(t, r1.store, nil)
	deadline := time.Now().Add(10 * time.Second)
	for {
		snap, err := r2.engine.Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var waiting, held bool
		for _, c := range snap.Calls {
			waiting = waiting || (c.Call.ID == acd.CallID(queuedID) && c.State == acd.CallStateQueued)
			held = held || (c.Call.ID == acd.CallID(activeID) && c.Agent == "a1")
		}
		if waiting && held {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new engine has queued %v (want %s waiting) and active %v (want %s held by a1): %+v",
				waiting, queuedID, held, activeID, snap.Calls)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// a1 comes back to the active chat; its customer resumes and writes.
	r2.login("a1", false)
	c := r2.customer()
	c.send("resume", map[string]any{"token": activeToken, "after_seq": 0})
	c.welcome()
	c.send("message", map[string]string{"text": "Still there?", "client_id": "t1"})
	if e := r2.event(chat.EvMessage); e.agent != "a1" || e.ev.TaskID != activeID {
		t.Errorf("agent event = %+v, want a1's message on %s", e, activeID)
	}
	if _, err := r2.svc.AgentSend(context.Background(), "a1", activeID, "Yes."); err != nil {
		t.Fatal(err)
	}
	c.message("Yes.")
	// The queued chat is offered to an agent of the new engine.
	q := r2.customer()
	q.send("resume", map[string]any{"token": queuedToken, "after_seq": 0})
	q.welcome()
	r2.login("b1", true)
	r2.accept("b1", queuedID)
	q.message("Bob joined the chat.")
	if cv, err := r2.store.Conversation(context.Background(), queuedID); err != nil || cv.Status != crmcore.ChatStatusActive || cv.AgentID != "b1" {
		t.Errorf("queued chat after the take-over = %+v, %v", cv, err)
	}
}
