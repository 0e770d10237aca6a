package sim

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"switchboard/acd"
)

func parse(t *testing.T, yaml string) *Scenario {
	t.Helper()
	sc, err := ParseScenario(strings.NewReader(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func channel(t *testing.T, res Result, ch acd.Channel) ChannelResult {
	t.Helper()
	for _, c := range res.Channels {
		if c.Channel == ch {
			return c
		}
	}
	t.Fatalf("no %s in %+v", ch, res.Channels)
	return ChannelResult{}
}

// TestMultiChannelDeterministic: the same seed reproduces the same
// report, to the last agent's occupancy.
func TestMultiChannelDeterministic(t *testing.T) {
	sc := load(t, "multi-channel.yaml")
	opt := Options{Duration: 6 * time.Hour}
	a, err := Run(sc, opt)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Run(sc, opt)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("two runs with seed %d differ (-first +second):\n%s", a.Seed, diff)
	}
	for _, ch := range []acd.Channel{acd.ChannelVoice, acd.ChannelChat, acd.ChannelEmail} {
		if c := channel(t, a, ch); c.Answered == 0 {
			t.Errorf("%s: nothing answered: %+v", ch, c)
		}
	}
	if len(a.Agents) != 12 {
		t.Errorf("agents = %d, want 12", len(a.Agents))
	}
}

// TestChatCapacityConcurrent: one agent with chat capacity 3 serves three
// chats at once; with capacity 1 (or a pool override of 2) the others wait.
func TestChatCapacityConcurrent(t *testing.T) {
	for _, tc := range []struct {
		name     string
		capacity int
		override string
		want     int
	}{
		{"capacity 3", 3, "", 3},
		{"capacity 1", 1, "", 1},
		{"pool override 2", 3, "capacity: {chat: 2}", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := parse(t, fmt.Sprintf(`
name: one-agent
duration: 30m
seed: 1
acd:
  capacity: {channels: {chat: {capacity: %d}}}
  queues: [{name: chat, skills: [{skill: chat, level: 1}], service_level: {threshold: 10s}}]
arrivals:
  - {queue: chat, channel: chat, backlog: 3, handle: {mean: 1h, dist: fixed}}
agents:
  - {name: a, count: 1, skills: [{skill: chat, level: 1}], %s}
`, tc.capacity, tc.override))
			res, err := Run(sc, Options{})
			if err != nil {
				t.Fatal(err)
			}
			c := channel(t, res, acd.ChannelChat)
			if c.Answered != tc.want || c.Within != tc.want || c.ASA != 0 || c.Late != 3-tc.want {
				t.Errorf("answered %d, within %d, ASA %v, late %d; want %d answered at once, %d late",
					c.Answered, c.Within, c.ASA, c.Late, tc.want, 3-tc.want)
			}
			// The agent held as many chats as their capacity the whole time.
			if got := res.Agents[0].Occupancy; got != 1 {
				t.Errorf("occupancy = %v, want 1", got)
			}
		})
	}
}

// TestChatsLowerVoiceSL: voice is blocking and an agent holds 3 tasks in
// all (the scenario's acd.capacity), so agents carrying chats take fewer
// calls: voice SL is lower than with no chats. The rule sets order as
// expected: one task at a time is worst, and without a cap across
// channels chats leave voice as it was.
func TestChatsLowerVoiceSL(t *testing.T) {
	sc := load(t, "multi-channel.yaml")
	if _, blocking := sc.ACD.Capacity.Rule(acd.ChannelVoice); !blocking || sc.ACD.Capacity.Total == 0 {
		t.Fatalf("scenario capacity %+v: want voice blocking and a total cap", sc.ACD.Capacity)
	}
	opt := Options{Duration: 12 * time.Hour}
	voiceSL := func(sc *Scenario, rules string) float64 {
		t.Helper()
		o := opt
		o.Rules = rules
		res, err := Run(sc, o)
		if err != nil {
			t.Fatal(err)
		}
		return channel(t, res, acd.ChannelVoice).ServiceLevel
	}
	noChats := *sc
	noChats.Arrivals = nil
	for _, a := range sc.Arrivals {
		if a.channel() != acd.ChannelChat {
			noChats.Arrivals = append(noChats.Arrivals, a)
		}
	}
	with, without := voiceSL(sc, ""), voiceSL(&noChats, "")
	t.Logf("voice SL with chats %.1f%%, without %.1f%%", 100*with, 100*without)
	if !(with < without) {
		t.Errorf("voice SL with chats %.3f, want below %.3f without", with, without)
	}
	sl := map[string]float64{}
	for _, rs := range sc.Rules {
		sl[rs.Name] = voiceSL(sc, rs.Name)
	}
	t.Logf("voice SL per rule set: %v", sl)
	if !(sl["chat1-total1"] < sl["chat3-total3"] && sl["chat3-total3"] < sl["no-chat"]) {
		t.Errorf("voice SL chat1-total1 %.3f, chat3-total3 %.3f, no-chat %.3f: want increasing",
			sl["chat1-total1"], sl["chat3-total3"], sl["no-chat"])
	}
	if sl["chat3-nocap"] < sl["chat3-total3"] {
		t.Errorf("voice SL without a total cap %.3f, want at least %.3f with one", sl["chat3-nocap"], sl["chat3-total3"])
	}
}

func TestScenarioInvalid(t *testing.T) {
	const base = `
duration: 1h
acd: {queues: [{name: q}]}
agents: [{name: a, count: 1%s}]
rules: [%s]
arrivals: [{queue: q%s}]
`
	for _, tc := range []struct{ name, agent, rules, arrival, field string }{
		{"callback stream", "", "", ", rate: 1, channel: callback, handle: {mean: 1s}", "channel"},
		{"bad channel", "", "", ", rate: 1, channel: Chat!, handle: {mean: 1s}", "channel"},
		{"no rate or backlog", "", "", ", handle: {mean: 1s}", "rate"},
		{"negative backlog", "", "", ", rate: 1, backlog: -1, handle: {mean: 1s}", "backlog"},
		{"huge backlog", "", "", ", backlog: 9223372036854775807, handle: {mean: 1s}", "backlog"},
		{"negative target", "", "", ", rate: 1, target: -1s, handle: {mean: 1s}", "target"},
		{"bad pool capacity", ", capacity: {chat: 101}", "", ", rate: 1, handle: {mean: 1s}", "capacity"},
		{"rule set named all", "", "{name: all}", ", rate: 1, handle: {mean: 1s}", "rules[0].name"},
		{"duplicate rule sets", "", "{name: x}, {name: x}", ", rate: 1, handle: {mean: 1s}", "rules[1].name"},
		{"bad rule set", "", "{name: x, capacity: {total: -1}}", ", rate: 1, handle: {mean: 1s}", "rules[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseScenario(strings.NewReader(fmt.Sprintf(base, tc.agent, tc.rules, tc.arrival)))
			if !errors.Is(err, ErrScenario) || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("err = %v, want ErrScenario naming %s", err, tc.field)
			}
		})
	}
	sc := load(t, "multi-channel.yaml")
	if _, err := Run(sc, Options{Rules: "nope"}); !errors.Is(err, ErrScenario) {
		t.Errorf("unknown rule set: err = %v, want ErrScenario", err)
	}
}

func TestMainMultiChannel(t *testing.T) {
	var out, errb bytes.Buffer
	code := Main([]string{"--scenario", "testdata/multi-channel.yaml", "--rules", "all", "--duration", "2h", "--per-agent"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"per channel", "occupancy per agent", "blended-009", "voice-chat-001", " email ",
		"no-chat", "chat1-total1", "chat3-total3", "chat3-nocap", "chat3-voice-nonblocking"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if code := Main([]string{"--scenario", "testdata/single-skill.yaml", "--rules", "all"}, &out, &errb); code != 1 {
		t.Errorf("--rules all without rule sets: exit %d, want 1", code)
	}
	if code := Main([]string{"--scenario", "testdata/multi-channel.yaml", "--rules", "nope", "--duration", "1h"}, &out, &errb); code != 1 {
		t.Errorf("unknown rule set: exit %d, want 1", code)
	}
}
