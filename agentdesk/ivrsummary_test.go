package agentdesk

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestIVRSummary(t *testing.T) {
	tests := []struct {
		name string
		path []string
		vars map[string]string
		want []string
	}{
		{"menu choices and a ticket looked up",
			[]string{"welcome", "hours", "hours:open", "identify", "identify:found", "vip_check", "main_menu", "dtmf:2",
				"ticket_entry", "dtmf:1", "dtmf:0", "dtmf:4", "dtmf:4", "dtmf:#", "dtmf:1", "ticket_entry:confirmed",
				"ticket_lookup", "ticket_lookup:found", "ticket_status", "status_open", "ticket_menu", "dtmf:1", "support_queue"},
			map[string]string{"contact.id": "0190d6f2-8c1e-7a51-b2a3-3f0e9d1c2b4a", "contact.name": "Olivia Smith",
				"contact.segment": "standard", "contact.open_tickets": "1", "input.ticket": "1044", "ticket.number": "T-1044",
				"ticket.status": "open", "ticket.subject": "Router keeps dropping", "call.reason": "support"},
			[]string{"Chose: Ticket entry → Support", "Caller identified: Olivia Smith", "Ticket T-1044 (open): Router keeps dropping"}},
		{"nested menus",
			[]string{"main_menu", "dtmf:3", "billing_menu", "dtmf:1", "speak_to_agent"},
			map[string]string{"call.reason": "billing"},
			[]string{"Chose: Billing → Speak to agent"}},
		{"a wrong key, then a choice",
			[]string{"main_menu", "dtmf:7", "main_menu:invalid", "dtmf:1", "sales_queue"}, nil,
			[]string{"Chose: Sales"}},
		{"no choice made",
			[]string{"main_menu", "main_menu:timeout", "main_menu:timeout", "main_menu:max_retries", "operator_queue"}, nil,
			[]string{"No valid choice (sent on by default)"}},
		{"ticket number not found",
			[]string{"ticket_entry", "dtmf:9", "dtmf:9", "dtmf:9", "ticket_lookup", "ticket_lookup:not_found", "ticket_not_found"},
			map[string]string{"input.ticket": "999"},
			[]string{"Ticket 999 not found"}},
		{"a spoken choice",
			[]string{"main_menu", `speech:"billing"@0.87`, "billing_queue"}, nil,
			[]string{`Chose: Billing (said "billing")`}},
		{"nothing to say", nil, nil, []string{}},
	}
	uuid := regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ivrSummary(tt.path, tt.vars)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("summary (-want +got):\n%s", diff)
			}
			if s := strings.Join(got, "; "); uuid.MatchString(s) || strings.Contains(s, "=") {
				t.Errorf("summary shows raw variables or ids: %q", s)
			}
		})
	}
}
