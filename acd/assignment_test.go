package acd_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"switchboard/acd"
)

const assignYAML = `
queues:
  - name: support
  - name: support-t2
  - name: vip
assignment:
  - match: {channel: ticket, priority: urgent}
    queue: support-t2
    skills: [{skill: network, level: 3}]
  - match: {channel: ticket, segment: vip, reopened: true}
    queue: vip
    priority: 20
  - match: {channel: ticket, tag: billing, language: es}
    queue: support
    priority: 5
  - match: {channel: lead}
    queue: support
`

func TestAssign(t *testing.T) {
	cfg, err := acd.ParseConfig([]byte(assignYAML))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		item     acd.WorkItem
		queue    string
		priority int
		skills   int
		unrouted bool
	}{
		{"urgent ticket", acd.WorkItem{Channel: acd.ChannelTicket, Priority: "urgent", Segment: "vip", Reopened: true}, "support-t2", 0, 1, false},
		{"reopened vip ticket", acd.WorkItem{Channel: acd.ChannelTicket, Priority: "high", Segment: "vip", Reopened: true}, "vip", 20, 0, false},
		{"new vip ticket", acd.WorkItem{Channel: acd.ChannelTicket, Priority: "high", Segment: "vip"}, "", 0, 0, true},
		{"tagged spanish ticket", acd.WorkItem{Channel: acd.ChannelTicket, Tags: []string{"vat", "billing"}, Language: "es"}, "support", 5, 0, false},
		{"tagged english ticket", acd.WorkItem{Channel: acd.ChannelTicket, Tags: []string{"billing"}, Language: "en"}, "", 0, 0, true},
		{"lead", acd.WorkItem{Channel: acd.ChannelLead, Priority: "urgent"}, "support", 0, 0, false},
		{"chat", acd.WorkItem{Channel: acd.ChannelChat}, "", 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, ok := cfg.Assign(tt.item)
			if ok == tt.unrouted || r.Queue != tt.queue || r.Priority != tt.priority || len(r.Skills) != tt.skills {
				t.Errorf("Assign = %+v, %v; want queue %q priority %d, %d skills (routed %v)", r, ok, tt.queue, tt.priority, tt.skills, !tt.unrouted)
			}
		})
	}
}

func TestAssignmentValidation(t *testing.T) {
	base := "queues:\n  - name: support\nassignment:\n"
	tests := map[string]struct{ rule, field string }{
		"unknown queue":    {"  - queue: nowhere\n", "assignment[0].queue"},
		"bad channel":      {"  - {match: {channel: Fax!}, queue: support}\n", "assignment[0].match.channel"},
		"bad priority":     {"  - {match: {priority: urgnet}, queue: support}\n", "assignment[0].match.priority"},
		"bad skill level":  {"  - {queue: support, skills: [{skill: x, level: 9}]}\n", "assignment[0].skills[0]"},
		"unknown key":      {"  - {match: {colour: red}, queue: support}\n", "colour"},
		"unknown prefer":   {"  - {queue: support}\n  - {queue: support, prefer: [account_owner, manager]}\n", "assignment[1].prefer[1]"},
		"duplicate prefer": {"  - {queue: support, prefer: [last_agent, account_owner, last_agent]}\n", "assignment[0].prefer[2]"},
		"none with others": {"  - {queue: support, prefer: [none, last_agent]}\n", "assignment[0].prefer"},
		"empty prefer":     {"  - {queue: support, prefer: []}\n", "assignment[0].prefer"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := acd.ParseConfig([]byte(base + tt.rule))
			if !errors.Is(err, acd.ErrConfig) || !strings.Contains(err.Error(), tt.field) {
				t.Errorf("err = %v, want a config error naming %s", err, tt.field)
			}
		})
	}
}

// TestAssignmentPreferences: a rule's preferred-agent order is its prefer
// list, the account owner then the last agent by default, and nothing
// for [none].
func TestAssignmentPreferences(t *testing.T) {
	cfg, err := acd.ParseConfig([]byte(`
queues:
  - name: support
assignment:
  - {match: {group: default}, queue: support}
  - {match: {group: last}, queue: support, prefer: [last_agent]}
  - {match: {group: both}, queue: support, prefer: [last_agent, account_owner]}
  - {match: {group: none}, queue: support, prefer: [none]}
`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		group string
		want  []string
	}{
		{"default", []string{acd.PreferAccountOwner, acd.PreferLastAgent}},
		{"last", []string{acd.PreferLastAgent}},
		{"both", []string{acd.PreferLastAgent, acd.PreferAccountOwner}},
		{"none", nil},
	}
	for _, tt := range tests {
		t.Run(tt.group, func(t *testing.T) {
			r, ok := cfg.Assign(acd.WorkItem{Channel: acd.ChannelTicket, Group: tt.group})
			if !ok {
				t.Fatal("no rule matched")
			}
			if got := r.Preferences(); !cmp.Equal(got, tt.want) {
				t.Errorf("Preferences() = %q, want %q", got, tt.want)
			}
		})
	}
}
