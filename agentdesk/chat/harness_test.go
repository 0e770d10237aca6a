package chat_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"switchboard/acd"
	"switchboard/acd/acdtest"
	"switchboard/agentdesk/chat"
	"switchboard/agentdesk/chat/chattest"
	"switchboard/crmcore"
	"switchboard/ivr"
	"switchboard/ivr/ivrtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const queuesYAML = `
queues:
  - name: sales
    skills: [{skill: sales, level: 1}]
  - name: support
    skills: [{skill: support, level: 1}]
  - name: billing
    skills: [{skill: billing, level: 1}]
  - name: operator
  - name: vip
`

// rig is a chat service with a real engine, the demo flows and an in-memory store,
// served over HTTP.
type rig struct {
	t      testing.TB
	svc    *chat.Service
	engine *acd.Engine
	store  *chattest.Store
	srv    *httptest.Server
	reg    *prometheus.Registry
	events chan agentEvent
	clock  atomic.Int64 // offset added to the real time, in nanoseconds
}

type agentEvent struct {
	agent string
	ev    chat.AgentEvent
}

func newRig(t testing.TB, edit func(*chat.Options)) *rig {
	t.Helper()
	return newRigOn(t, chattest.NewStore(), edit)
}

// newRigOn is newRig over store (the chats another rig left open).
func newRigOn(t testing.TB, store *chattest.Store, edit func(*chat.Options)) *rig {
	t.Helper()
	r := &rig{t: t, store: store, reg: prometheus.NewRegistry(), events: make(chan agentEvent, 1024)}
	flows := ivr.NewRegistry(ivr.Options{PromptDir: "../../ivr/prompts", Logger: slog.New(slog.DiscardHandler)}, nil)
	if _, err := flows.Reload("../../ivr/testdata/demo.yaml"); err != nil {
		t.Fatal(err)
	}
	opts := chat.Options{
		Secret: []byte("0123456789abcdef0123456789abcdef"), Hours: ivr.HoursOpen, QueueInterval: 20 * time.Millisecond,
		Lookup:  &ivrtest.Lookup{Tickets: map[string]ivr.Ticket{"1234": {Status: "open"}}},
		Metrics: chat.NewMetrics(r.reg),
		Now:     func() time.Time { return time.Now().Add(time.Duration(r.clock.Load())) },
		OnAgentEvent: func(agent string, ev chat.AgentEvent) {
			select {
			case r.events <- agentEvent{agent, ev}:
			default:
			}
		},
		AgentName: func(id string) string { return map[string]string{"a1": "Ana", "b1": "Bob"}[id] },
	}
	if edit != nil {
		edit(&opts)
	}
	svc, err := chat.New(r.store, flows, opts)
	if err != nil {
		t.Fatal(err)
	}
	r.svc = svc
	cfg, err := acd.ParseConfig([]byte(queuesYAML))
	if err != nil {
		t.Fatal(err)
	}
	phone := acdtest.NewPhone()
	r.engine, err = acd.New(cfg, phone, phone, acd.WithChannel(acd.ChannelChat, svc), acd.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	svc.Attach(r.engine)
	r.srv = httptest.NewServer(svc.Handler())
	t.Cleanup(func() {
		r.srv.Close()
		_ = svc.Close()
		_ = r.engine.Close()
	})
	return r
}

func (r *rig) login(id string, ready bool) {
	r.t.Helper()
	err := r.engine.Login(context.Background(), acd.AgentSpec{ID: acd.AgentID(id), Ready: ready,
		Skills:   []acd.SkillLevel{{Skill: "sales", Level: 1}, {Skill: "support", Level: 1}, {Skill: "en", Level: 1}},
		Capacity: map[acd.Channel]int{acd.ChannelChat: 2}})
	if err != nil {
		r.t.Fatal(err)
	}
}

// accept has agent accept task id once the engine offers it.
func (r *rig) accept(agent, id string) {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := r.engine.Accept(context.Background(), acd.AgentID(agent), acd.TaskID(id))
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("%s never got %s to accept: %v", agent, id, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// event waits for the next agent event of type typ.
func (r *rig) event(typ string) agentEvent {
	r.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e := <-r.events:
			if e.ev.Type == typ {
				return e
			}
		case <-deadline:
			r.t.Fatalf("no agent event %s", typ)
			return agentEvent{}
		}
	}
}

// customer is a real WebSocket client of the chat.
type customer struct {
	t    testing.TB
	conn *websocket.Conn
}

type frame struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

func (r *rig) dial(header http.Header) (*customer, *http.Response, error) {
	url := "ws" + strings.TrimPrefix(r.srv.URL, "http") + "/chat/ws"
	conn, res, err := websocket.DefaultDialer.Dial(url, header)
	if err != nil {
		return nil, res, err
	}
	c := &customer{t: r.t, conn: conn}
	r.t.Cleanup(func() { conn.Close() })
	return c, res, nil
}

func (r *rig) customer() *customer {
	r.t.Helper()
	c, _, err := r.dial(nil)
	if err != nil {
		r.t.Fatal(err)
	}
	return c
}

func (c *customer) send(typ string, data any) {
	c.t.Helper()
	if err := c.conn.WriteJSON(map[string]any{"type": typ, "data": data}); err != nil {
		c.t.Fatal(err)
	}
}

// next reads frames until one of type typ, returning it; frames of other types are
// skipped.
func (c *customer) next(typ string) frame {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var f frame
		if err := c.conn.ReadJSON(&f); err != nil {
			c.t.Fatalf("waiting for %s: %v", typ, err)
		}
		if f.Type == typ {
			return f
		}
	}
}

// message reads messages until one whose text contains substr.
func (c *customer) message(substr string) crmcore.ChatMessage {
	c.t.Helper()
	for {
		var m crmcore.ChatMessage
		if err := json.Unmarshal(c.next("message").Data, &m); err != nil {
			c.t.Fatal(err)
		}
		if strings.Contains(m.Text, substr) {
			return m
		}
	}
}

func (c *customer) errorCode() string {
	c.t.Helper()
	var e struct{ Code string }
	_ = json.Unmarshal(c.next("error").Data, &e)
	return e.Code
}

func (c *customer) welcome() (token, id string) {
	c.t.Helper()
	var w struct {
		Token          string `json:"token"`
		ConversationID string `json:"conversation_id"`
	}
	if err := json.Unmarshal(c.next("welcome").Data, &w); err != nil {
		c.t.Fatal(err)
	}
	return w.Token, w.ConversationID
}

func (c *customer) delivered() (string, int64) {
	c.t.Helper()
	var d struct {
		ClientID string `json:"client_id"`
		Seq      int64  `json:"seq"`
	}
	_ = json.Unmarshal(c.next("delivered").Data, &d)
	return d.ClientID, d.Seq
}

// toQueue starts a chat and walks the demo flow to the support queue: menu by button,
// ticket number typed, confirmed, status shown, agent chosen by typing.
func (r *rig) toQueue(c *customer) (token, id string) {
	r.t.Helper()
	c.send("start", map[string]string{"name": "Carla", "email": "carla@example.com"})
	token, id = c.welcome()
	menu := c.message("For sales")
	if len(menu.Buttons) != 6 || menu.Buttons[1] != (crmcore.ChatButton{Label: "Support", Value: "2"}) {
		r.t.Fatalf("menu buttons = %+v, want the six options with labels", menu.Buttons)
	}
	c.send("button", map[string]string{"value": "2"})
	c.message("ticket number")
	c.send("message", map[string]string{"text": "12 34", "client_id": "c-ticket"})
	if cid, seq := c.delivered(); cid != "c-ticket" || seq == 0 {
		r.t.Fatalf("delivered = %s %d", cid, seq)
	}
	confirm := c.message("You entered 1234")
	if want := []crmcore.ChatButton{{Label: "Yes, that is right", Value: "1"}, {Label: "No, change it", Value: "2"}}; !slices.Equal(confirm.Buttons, want) {
		r.t.Fatalf("confirm buttons = %+v, want %+v", confirm.Buttons, want)
	}
	c.send("button", map[string]string{"value": "1"})
	c.message("Ticket 1234 is open")
	c.send("message", map[string]string{"text": "agent", "client_id": "c-agent"})
	c.message("Please hold")
	return token, id
}

func slicesHasText(ms []crmcore.ChatMessage, text string) bool {
	for _, m := range ms {
		if m.Text == text {
			return true
		}
	}
	return false
}

// svcMetric finds a counter of the rig's registry by name and label value.
func (r *rig) svcMetric(name, label string) prometheus.Collector {
	r.t.Helper()
	return collectorFunc(func(ch chan<- prometheus.Metric) {
		mfs, _ := r.reg.Gather()
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			for _, m := range mf.GetMetric() {
				if m.GetLabel()[0].GetValue() == label {
					ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name, "", nil, nil), prometheus.CounterValue, m.GetCounter().GetValue())
				}
			}
		}
	})
}

type collectorFunc func(chan<- prometheus.Metric)

func (f collectorFunc) Describe(chan<- *prometheus.Desc)    {}
func (f collectorFunc) Collect(ch chan<- prometheus.Metric) { f(ch) }
