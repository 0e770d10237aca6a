package chat_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"switchboard/acd"
	"switchboard/agentdesk/chat"
	"switchboard/crmcore"
)

// TestSpanishConversation: a chat whose customer speaks Spanish gets the
// service's texts in Spanish, and the flow's confirmation its buttons
// labelled in Spanish; an English chat gets them in English.
func TestSpanishConversation(t *testing.T) {
	r := newRig(t, nil)
	c := r.customer()
	c.send("start", map[string]string{"name": "Lucía", "language": "es"})
	_, id := c.welcome()
	c.message("Para ventas")
	c.send("button", map[string]string{"value": "2"})
	c.message("número de caso")
	c.send("message", map[string]string{"text": "1234", "client_id": "t1"})
	confirm := c.message("Usted ingresó")
	want := []crmcore.ChatButton{{Label: "Sí, es correcto", Value: "1"}, {Label: "No, cambiarlo", Value: "2"}}
	if diff := cmp.Diff(want, confirm.Buttons); diff != "" {
		t.Errorf("confirmation buttons (-want +got):\n%s", diff)
	}
	c.send("button", map[string]string{"value": "1"})
	c.message("está abierto")
	c.send("button", map[string]string{"value": "1"})
	c.message("Por favor espere")
	c.message("No hay ningún agente disponible")

	err := r.engine.Login(context.Background(), acd.AgentSpec{ID: "a1", Ready: true,
		Skills:   []acd.SkillLevel{{Skill: "support", Level: 1}, {Skill: "es", Level: 1}},
		Capacity: map[acd.Channel]int{acd.ChannelChat: 1}})
	if err != nil {
		t.Fatal(err)
	}
	r.accept("a1", id)
	c.message("Ana se unió al chat.")
	if err := r.engine.Complete(context.Background(), acd.TaskID(id)); err != nil {
		t.Fatal(err)
	}
	c.message("El chat ha terminado")
	c.next("closed")
	hist, _ := r.store.Messages(context.Background(), id, 0, 100)
	if !slicesHasText(hist, "Sí, es correcto") {
		t.Error("the customer's choice is not stored as the button's label")
	}
	for _, m := range hist {
		if m.Sender == crmcore.ChatSystem && (m.Text == "The chat has ended. Thank you!" || m.Text == "Ana joined the chat.") {
			t.Errorf("English system message %q in a Spanish chat", m.Text)
		}
	}

	en := r.customer()
	r.toQueue(en) // checks the English confirmation's labels too
}

func TestTextsPerLanguage(t *testing.T) {
	tests := []struct {
		name       string
		configured map[string]chat.Texts
		lang       string
		want       chat.Texts
	}{
		{"default language", nil, "", chat.DefaultTexts()["en"]},
		{"unknown language", nil, "de", chat.DefaultTexts()["en"]},
		{"region and case", nil, "ES_es", chat.DefaultTexts()["es"]},
		{"override one text", map[string]chat.Texts{"es": {Ended: "Adiós."}}, "es",
			func() chat.Texts { t := chat.DefaultTexts()["es"]; t.Ended = "Adiós."; return t }()},
		{"new language falls back to English", map[string]chat.Texts{"fr": {Ended: "Au revoir."}}, "fr-CA",
			func() chat.Texts { t := chat.DefaultTexts()["en"]; t.Ended = "Au revoir."; return t }()},
		{"configured English fills a new language", map[string]chat.Texts{"en": {Error: "Oops."}, "fr": {Ended: "Au revoir."}}, "fr",
			func() chat.Texts { t := chat.DefaultTexts()["en"]; t.Ended, t.Error = "Au revoir.", "Oops."; return t }()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, chat.ResolveTexts(tt.configured, tt.lang)); diff != "" {
				t.Errorf("texts (-want +got):\n%s", diff)
			}
		})
	}
}

// TestResumesDoNotCountAgainstTheAddress: with room for two chats started
// per address, a customer's many resumes are all accepted and a second
// chat can still start; the third start is refused, while its socket
// stays usable for a resume.
func TestResumesDoNotCountAgainstTheAddress(t *testing.T) {
	r := newRig(t, func(o *chat.Options) { o.StartRate, o.StartBurst = 0.001, 2 })
	first := r.customer()
	first.send("start", map[string]string{"name": "Ana"})
	token, id := first.welcome()
	first.conn.Close()
	for i := range 6 {
		c := r.customer()
		c.send("resume", map[string]any{"token": token, "after_seq": 0})
		if _, got := c.welcome(); got != id {
			t.Fatalf("resume %d joined %q, want %q", i, got, id)
		}
		c.conn.Close()
	}
	second := r.customer()
	second.send("start", map[string]string{"name": "Bea"})
	second.welcome()
	third := r.customer()
	third.send("start", map[string]string{"name": "Cid"})
	if code := third.errorCode(); code != "rate_limited" {
		t.Fatalf("third start: error %q, want rate_limited", code)
	}
	third.send("resume", map[string]any{"token": token, "after_seq": 0})
	if _, got := third.welcome(); got != id {
		t.Errorf("resume after a refused start joined %q, want %q", got, id)
	}
}

// TestSocketsPerChat: a conversation takes at most MaxSocketsPerChat
// sockets; the next resume is refused and its socket closed.
func TestSocketsPerChat(t *testing.T) {
	r := newRig(t, func(o *chat.Options) { o.MaxSocketsPerChat = 2 })
	a := r.customer()
	a.send("start", map[string]string{"name": "Ana"})
	token, _ := a.welcome()
	b := r.customer()
	b.send("resume", map[string]any{"token": token, "after_seq": 0})
	b.welcome()
	c := r.customer()
	c.send("resume", map[string]any{"token": token, "after_seq": 0})
	if code := c.errorCode(); code != "rate_limited" {
		t.Fatalf("third socket's resume: error %q, want rate_limited", code)
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := c.conn.ReadMessage(); err != nil {
			break // closed by the server
		}
	}
}

// TestIdleSocketsAreClosed: a socket that neither starts nor resumes a
// chat within HelloWait is closed, and its address's place freed.
func TestIdleSocketsAreClosed(t *testing.T) {
	r := newRig(t, func(o *chat.Options) { o.HelloWait, o.MaxPendingPerAddress = 100*time.Millisecond, 1 })
	c := r.customer()
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, _, err := c.conn.ReadMessage(); err == nil {
		t.Fatal("an idle socket got a frame")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, res, err := r.dial(nil)
		if err == nil {
			break
		}
		if res == nil || res.StatusCode != http.StatusTooManyRequests || time.Now().After(deadline) {
			t.Fatalf("dial after the idle socket closed: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
