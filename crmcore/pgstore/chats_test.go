package pgstore

import (
	"context"
	"errors"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"switchboard/crmcore"
)

// TestChatConversation: a chat from a known email is the contact's, opens
// an in-progress interaction, numbers its messages in order under
// concurrent appends, keeps text as it was sent, and once closed after an
// agent took it completes the record as answered with the disposition.
func TestChatConversation(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	if _, err := Seed(ctx, pool, WithPasswordCost(bcrypt.MinCost)); err != nil {
		t.Fatal(err)
	}
	s := New(pool)
	alice, _ := s.AgentByLogin(ctx, "alice")
	known, _ := s.SearchContacts(ctx, crmcore.ContactQuery{Phone: "+14155550100"})
	if len(known) == 0 || len(known[0].Emails) == 0 {
		t.Fatal("the seed has no contact with an email")
	}
	c, err := s.CreateConversation(ctx, crmcore.ChatConversation{ID: crmcore.NewID(), Name: "Someone", Email: known[0].Emails[0], Language: "en"})
	if err != nil {
		t.Fatal(err)
	}
	if c.ContactID != known[0].ID || c.Status != crmcore.ChatStatusBot {
		t.Fatalf("conversation = %+v, want %s's, in the bot", c, known[0].ID)
	}
	var outcome string
	if err := pool.QueryRow(ctx, `select outcome from interactions where id=$1 and channel='chat'`, c.ID).Scan(&outcome); err != nil || outcome != "in-progress" {
		t.Fatalf("interaction = %q, %v; want in progress", outcome, err)
	}

	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			text := "<script>alert(1)</script>"
			if i%2 == 0 {
				text = "hello"
			}
			if _, err := s.AppendMessage(ctx, crmcore.ChatMessage{ConversationID: c.ID, Sender: crmcore.ChatCustomer, Text: text}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	ms, err := s.Messages(ctx, c.ID, 0, 0)
	if err != nil || len(ms) != 20 {
		t.Fatalf("messages = %d, %v; want 20", len(ms), err)
	}
	for i, m := range ms {
		if m.Seq != int64(i+1) {
			t.Fatalf("message %d has seq %d", i, m.Seq)
		}
	}
	if after, _ := s.Messages(ctx, c.ID, 18, 0); len(after) != 2 || after[0].Seq != 19 {
		t.Errorf("messages after 18 = %+v, want 19 and 20", after)
	}
	bot, err := s.AppendMessage(ctx, crmcore.ChatMessage{ConversationID: c.ID, Sender: crmcore.ChatBot, Text: "Pick one",
		Buttons: []crmcore.ChatButton{{Label: "Sales", Value: "1"}}})
	if err != nil || bot.Seq != 21 {
		t.Fatalf("bot message = %+v, %v", bot, err)
	}
	if _, err := s.AppendMessage(ctx, crmcore.ChatMessage{ConversationID: c.ID, Sender: "robot", Text: "x"}); !errors.Is(err, crmcore.ErrInvalid) {
		t.Errorf("unknown sender = %v, want ErrInvalid", err)
	}

	c.Status, c.Queue = crmcore.ChatStatusQueued, "support"
	if err := s.UpdateConversation(ctx, c); err != nil {
		t.Fatal(err)
	}
	c.Status, c.AgentID = crmcore.ChatStatusActive, alice.ID
	if err := s.UpdateConversation(ctx, c); err != nil {
		t.Fatal(err)
	}
	c.Status = crmcore.ChatStatusClosed
	if err := s.UpdateConversation(ctx, c); err != nil {
		t.Fatal(err)
	}
	c.Disposition = "resolved" // the wrap-up comes after the close
	if err := s.UpdateConversation(ctx, c); err != nil {
		t.Fatal(err)
	}
	var agent, disp, queue string
	if err := pool.QueryRow(ctx, `select outcome, coalesce(agent_id::text,''), disposition, queue from interactions where id=$1`, c.ID).
		Scan(&outcome, &agent, &disp, &queue); err != nil {
		t.Fatal(err)
	}
	if outcome != "answered" || agent != alice.ID || disp != "resolved" || queue != "support" {
		t.Errorf("record = %s by %s (%s) in %s, want answered by alice (resolved) in support", outcome, agent, disp, queue)
	}
	got, err := s.Conversation(ctx, c.ID)
	if err != nil || got.Status != crmcore.ChatStatusClosed || got.EndedAt == nil {
		t.Errorf("conversation = %+v, %v; want closed", got, err)
	}

	anon, err := s.CreateConversation(ctx, crmcore.ChatConversation{ID: crmcore.NewID()})
	if err != nil || anon.ContactID != "" {
		t.Fatalf("anonymous chat = %+v, %v; want no contact", anon, err)
	}
	// What a new chat service takes over: the open chats only.
	open, err := s.OpenConversations(ctx, 100)
	if err != nil || len(open) != 1 || open[0].ID != anon.ID {
		t.Errorf("open conversations = %+v, %v; want only %s (the other is closed)", open, err, anon.ID)
	}
	fresh, err := s.CreateConversation(ctx, crmcore.ChatConversation{ID: crmcore.NewID(), Name: "New Person", Email: "New@Example.net"})
	if err != nil || fresh.ContactID == "" {
		t.Fatalf("chat from a new address = %+v, %v; want a new contact", fresh, err)
	}
	if list, _ := s.ContactConversations(ctx, fresh.ContactID, 10); len(list) != 1 {
		t.Errorf("the new contact's chats = %d, want 1", len(list))
	}
}

// TestSecret: a key is made once and the same for every caller.
func TestSecret(t *testing.T) {
	ctx := context.Background()
	s := New(newPool(t))
	var keys [][]byte
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			k, err := s.Secret(ctx, "chat.token")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			keys = append(keys, k)
			mu.Unlock()
		})
	}
	wg.Wait()
	for _, k := range keys {
		if len(k) != 32 || string(k) != string(keys[0]) {
			t.Fatalf("keys differ: %x and %x", k, keys[0])
		}
	}
	other, err := s.Secret(ctx, "other")
	if err != nil || string(other) == string(keys[0]) {
		t.Errorf("another key = %x, %v; want a different one", other, err)
	}
}
