package crmcore

import (
	"testing"
	"time"
)

func TestReplySubject(t *testing.T) {
	tests := []struct{ subject, number, want string }{
		{"Invoice missing", "T-1044", "Re: Invoice missing [T-1044]"},
		{"Re: Invoice missing", "T-1044", "Re: Invoice missing [T-1044]"},
		{"RE: re: Re:Invoice missing", "T-1044", "Re: Invoice missing [T-1044]"},
		{"AW: Rechnung fehlt", "T-1044", "Re: Rechnung fehlt [T-1044]"},
		{"Re[2]: Invoice", "T-1044", "Re: Invoice [T-1044]"},
		{"Re: Invoice missing [T-1044]", "T-1044", "Re: Invoice missing [T-1044]"},
		{"Re: [t-1044] Invoice missing", "T-1044", "Re: Invoice missing [T-1044]"},
		{"Fwd: Invoice", "T-9", "Re: Fwd: Invoice [T-9]"},
		{"", "T-5", "Re: [T-5]"},
		{"Hello", "", "Re: Hello"},
	}
	for _, tt := range tests {
		t.Run(tt.subject, func(t *testing.T) {
			if got := ReplySubject(tt.subject, tt.number); got != tt.want {
				t.Errorf("ReplySubject(%q, %q) = %q, want %q", tt.subject, tt.number, got, tt.want)
			}
		})
	}
}

func TestFillTemplate(t *testing.T) {
	vars := map[string]string{"contact.name": "Zoe {{agent.name}}", "agent.name": "Bob"}
	for _, tt := range []struct{ in, want string }{
		{"Hello {{contact.name}}, {{ agent.name }} here", "Hello Zoe {{agent.name}}, Bob here"},
		{"{{unknown}} and {{", "{{unknown}} and {{"},
		{"no vars", "no vars"},
	} {
		if got := FillTemplate(tt.in, vars); got != tt.want {
			t.Errorf("FillTemplate(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNewEmailReplyThreads(t *testing.T) {
	tk := Ticket{ID: "t1", Number: "T-7", Subject: "Broken"}
	thread := []EmailMessage{
		{Direction: EmailInbound, MessageID: "a@x", From: "zoe@example.org", Subject: "Broken"},
		{Direction: EmailOutbound, MessageID: "ack@sb", From: "support@example.com"},
		{Direction: EmailInbound, MessageID: "b@x", References: []string{"a@x"}, From: "zoe@example.org", Subject: "Re: Broken [T-7]"},
	}
	m, err := NewEmailReply(tk, Contact{}, thread, "support@example.com", " Fixed. ", nil, "r@sb", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if m.To[0] != "zoe@example.org" || m.InReplyTo != "b@x" || len(m.References) != 2 || m.References[1] != "b@x" ||
		m.Subject != "Re: Broken [T-7]" || m.Text != "Fixed." {
		t.Errorf("reply = %+v", m)
	}
	if _, err := NewEmailReply(tk, Contact{}, nil, "support@example.com", "x", nil, "r@sb", time.Now()); err == nil {
		t.Error("a reply with no customer address was accepted")
	}
	if _, err := NewEmailReply(tk, Contact{}, thread, "support@example.com", "x", []string{"a@b.c\r\nBcc: x@y.z"}, "r@sb", time.Now()); err == nil {
		t.Error("a cc with a line break was accepted")
	}
}
