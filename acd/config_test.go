package acd_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"switchboard/acd"
)

func TestParseConfig(t *testing.T) {
	cfg, err := acd.ParseConfig([]byte(`
ring_timeout: 12
wrap_up: 1m30s
queues:
  - name: sales
    skills: [{skill: sales, level: 2}]
    service_level: {threshold: 20s, target: 80, formula: answered}
    relax: [{after: 30s, lower: 1}]
`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RingTimeout.D() != 12*time.Second || cfg.WrapUp.D() != 90*time.Second {
		t.Errorf("durations = %v, %v", cfg.RingTimeout.D(), cfg.WrapUp.D())
	}
	if q := cfg.Queues[0]; q.Skills[0].Level != 2 || q.ServiceLevel.Target != 80 || q.Relax[0].After.D() != 30*time.Second {
		t.Errorf("queue = %+v", q)
	}
}

func TestValidateNamesField(t *testing.T) {
	tests := []struct {
		name, yaml, field string
	}{
		{"unknown field", "queuez: []", "queuez"},
		{"empty name", "queues: [{name: ''}]", "queues[0].name"},
		{"duplicate", "queues: [{name: a}, {name: a}]", "queues[1].name"},
		{"bad level", "queues: [{name: a, skills: [{skill: x, level: 6}]}]", "queues[0].skills[0].level"},
		{"bad strategy", "queues: [{name: a, strategy: random}]", "queues[0].strategy"},
		{"bad weight", "queues: [{name: a, weights: {luck: 1}}]", "queues[0].weights"},
		{"bad target", "queues: [{name: a, service_level: {target: 120}}]", "queues[0].service_level.target"},
		{"bad formula", "queues: [{name: a, service_level: {formula: best}}]", "queues[0].service_level.formula"},
		{"overflow queue unknown", "queues: [{name: a, overflow: {action: queue, queue: b}}]", "queues[0].overflow.queue"},
		{"overflow to itself", "queues: [{name: a, overflow: {action: queue, queue: a}}]", "queues[0].overflow.queue"},
		{"overflow action", "queues: [{name: a, overflow: {action: pray}}]", "queues[0].overflow.action"},
		{"no agents", "queues: [{name: a, no_agents: wait}]", "queues[0].no_agents"},
		{"relax order", "queues: [{name: a, relax: [{after: 20s}, {after: 10s}]}]", "queues[0].relax[1].after"},
		{"relax add queue", "queues: [{name: a, relax: [{after: 20s, add_queue: z}]}]", "queues[0].relax[0].add_queue"},
		{"relax geography", "queues: [{name: a, relax: [{after: 20s, geography: galaxy}]}]", "queues[0].relax[0].geography"},
		{"ordering", "ordering: random", "ordering"},
		{"bad duration", "ring_timeout: soon", `line 1: bad duration "soon"`},
		{"ring timeout", "queues: [{name: a, ring_timeout: 0s}]", "queues[0].ring_timeout"},
		{"capacity total", "capacity: {total: -1}", "capacity.total"},
		{"capacity channel", "capacity: {channels: {Chat!: {capacity: 2}}}", "capacity.channels"},
		{"capacity chat", "capacity: {channels: {chat: {capacity: 101}}}", "capacity.channels.chat.capacity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := acd.ParseConfig([]byte(tt.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, acd.ErrConfig) {
				t.Errorf("error %v does not wrap ErrConfig", err)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Errorf("error %q does not name %q", err, tt.field)
			}
		})
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(basicYAML))
	f.Add([]byte("queues: [{name: a, relax: [{after: 20s, lower: 1, drop: [x], geography: any}]}]"))
	f.Add([]byte("ring_timeout: 1e400"))
	f.Add([]byte("{"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := acd.ParseConfig(b)
		if err != nil {
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("parsed config fails Validate: %v", err)
		}
	})
}

func TestResolveNumber(t *testing.T) {
	tests := []struct {
		ani, region   string
		e164, country string
	}{
		{"+14155550123", "", "+14155550123", "US"},
		{"sip:+442079460958@host", "", "+442079460958", "GB"},
		{"020 7946 0958", "GB", "+442079460958", "GB"},
		{"12", "", "", ""},
		{"anonymous", "", "", ""},
	}
	for _, tt := range tests {
		g := acd.ResolveNumber(tt.ani, tt.region)
		if g.E164 != tt.e164 || g.Country != tt.country {
			t.Errorf("ResolveNumber(%q) = %+v, want %s %s", tt.ani, g, tt.e164, tt.country)
		}
		if g.E164 != "" && g.TimeZone == "" {
			t.Errorf("ResolveNumber(%q): no time zone", tt.ani)
		}
	}
}

func FuzzResolveNumber(f *testing.F) {
	for _, s := range []string{"+14155550123", "sip:+442079460958@h", "0044", "+", "tel:+33 1 23 45 67 89"} {
		f.Add(s, "")
		f.Add(s, "FR")
	}
	f.Fuzz(func(t *testing.T, ani, region string) {
		g := acd.ResolveNumber(ani, region)
		if g.E164 != "" && (g.E164[0] != '+' || g.Country == "") {
			t.Fatalf("ResolveNumber(%q, %q) = %+v", ani, region, g)
		}
	})
}

func TestMetricsAndStatsTick(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := acd.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := acd.NewMetrics(reg); err == nil {
		t.Error("second registration succeeded")
	}
	h := newHarness(t, strings.Replace(basicYAML, "stats_interval: -1", "stats_interval: 5s", 1), acd.WithMetrics(m))
	h.login("a1", true, sk("sales", 1))
	h.enqueue(acd.CallRequest{ID: "c1", Queue: "sales"})
	h.ring().Answer()
	waitFor(h, func(e *acd.CallAnswered) bool { return true })
	h.enqueue(acd.CallRequest{ID: "c2", Queue: "sales"})
	h.advance(5 * time.Second)
	tick := waitFor(h, func(e *acd.QueueStatsTick) bool { return true })
	var sales acd.QueueStats
	for _, q := range tick.Queues {
		if q.Queue == "sales" {
			sales = q
		}
	}
	if sales.Waiting != 1 || sales.LongestWait != 5*time.Second || sales.Last15.Answered != 1 || sales.States["on-call"] != 1 {
		t.Errorf("sales stats = %+v", sales)
	}
	if got := testutil.ToFloat64(m.Offered("sales")); got != 2 {
		t.Errorf("offered = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.Waiting("sales")); got != 1 {
		t.Errorf("waiting gauge = %v, want 1", got)
	}
	if n, err := testutil.GatherAndCount(reg, "switchboard_acd_agents"); err != nil || n == 0 {
		t.Errorf("agents series = %d, %v", n, err)
	}
}

// TestOfferAnswerMetric: the time from the offer to the agent's answer is
// observed once per answered call, on the engine's clock.
func TestOfferAnswerMetric(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := acd.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, basicYAML, acd.WithMetrics(m))
	h.login("a1", true, sk("sales", 1))
	h.enqueue(acd.CallRequest{ID: "c1", Queue: "sales"})
	r := h.ring()
	h.advance(1500 * time.Millisecond)
	r.Answer()
	waitFor(h, func(e *acd.CallAnswered) bool { return true })
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == "switchboard_acd_offer_answer_seconds" {
			hist := f.GetMetric()[0].GetHistogram()
			if hist.GetSampleCount() != 1 || hist.GetSampleSum() != 1.5 {
				t.Errorf("offer→answer histogram: %d samples, sum %v; want 1 of 1.5 s", hist.GetSampleCount(), hist.GetSampleSum())
			}
			return
		}
	}
	t.Error("no switchboard_acd_offer_answer_seconds")
}

// TestCapacityRules: configured fields override the built-in rule of a
// channel, the others keep it; agents' overrides are checked.
func TestCapacityRules(t *testing.T) {
	cfg, err := acd.ParseConfig([]byte(`
capacity:
  total: 4
  channels:
    chat: {capacity: 2}
    email: {blocking: true}
    sms: {capacity: 10}
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		ch       acd.Channel
		capacity int
		blocking bool
	}{
		{acd.ChannelVoice, 1, true}, {acd.ChannelCallback, 1, true}, {acd.ChannelChat, 2, false},
		{acd.ChannelEmail, 5, true}, {acd.ChannelTicket, 10, false}, {acd.ChannelLead, 5, false}, {"sms", 10, false}, {"fax", 1, false},
	} {
		if n, b := cfg.Capacity.Rule(tt.ch); n != tt.capacity || b != tt.blocking {
			t.Errorf("%s: rule = %d, %v; want %d, %v", tt.ch, n, b, tt.capacity, tt.blocking)
		}
	}
	if cfg.Capacity.Total != 4 {
		t.Errorf("total = %d", cfg.Capacity.Total)
	}
	for _, bad := range []map[acd.Channel]int{{"chat": -1}, {"chat": 101}, {"": 1}, {"Chat": 1}} {
		if err := acd.ValidateCapacity(bad); !errors.Is(err, acd.ErrInvalidArgument) {
			t.Errorf("ValidateCapacity(%v) = %v, want ErrInvalidArgument", bad, err)
		}
	}
	if err := acd.ValidateCapacity(map[acd.Channel]int{"chat": 0, "voice": 1, "ticket": 20}); err != nil {
		t.Errorf("ValidateCapacity = %v", err)
	}
}
