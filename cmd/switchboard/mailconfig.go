package main

import (
	"fmt"
	"net"
	"strings"

	"switchboard/crmcore"
)

// MailConfig is the email channel: the SMTP listener that takes mail for
// the support addresses (the target of an MTA, or of a forwarding rule),
// and where replies and acknowledgements go out.
type MailConfig struct {
	// SMTP is the listener's address ("": no email channel).
	SMTP string `yaml:"smtp"`
	// Domain names this system in EHLO and in the Message-IDs it makes.
	Domain string `yaml:"domain"`
	// Addresses are the support addresses mail is accepted for, each with
	// the ticket group (queue) and priority of the tickets it opens; the
	// first is the From of replies.
	Addresses []MailAddress `yaml:"addresses"`
	// FromName is the display name of outbound mail.
	FromName string `yaml:"from_name"`
	// MaxMessageBytes refuses larger messages with 552 (default 25 MiB).
	MaxMessageBytes int64 `yaml:"max_message_bytes"`
	// Relay is the SMTP server outbound mail goes through; with no host,
	// mail stays in the outbox for people to read (the sink).
	Relay MailRelay `yaml:"relay"`
	// AckTemplate is the text of the acknowledgement of a new ticket
	// (Go text/template over .Number, .Subject, .Name; "": the default).
	AckTemplate string `yaml:"ack_template"`
	// Templates are the canned responses agents reply with.
	Templates []crmcore.EmailTemplate `yaml:"templates"`
}

// MailAddress is a support address and the tickets it opens: their
// group (queue), priority, and the queue's first-response and resolution
// targets in business hours (both unset: the SLA policy's for the
// priority).
type MailAddress struct {
	Address       string   `yaml:"address"`
	Group         string   `yaml:"group"`
	Priority      string   `yaml:"priority"`
	FirstResponse Duration `yaml:"first_response"`
	Resolution    Duration `yaml:"resolution"`
}

// MailRelay is an SMTP relay ("smtp.example.com:587").
type MailRelay struct {
	Addr     string `yaml:"addr"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// StartTLS upgrades the connection before sending (required when a
	// username is set).
	StartTLS bool `yaml:"starttls"`
}

// validate checks the mail section; the key of a bad value and why.
func (m *MailConfig) validate() (key, reason string) {
	if m.SMTP == "" {
		return "", ""
	}
	if _, _, err := net.SplitHostPort(m.SMTP); err != nil {
		return "smtp", fmt.Sprintf("mail.smtp %q is not host:port", m.SMTP)
	}
	if len(m.Addresses) == 0 {
		return "addresses", "mail.smtp needs mail.addresses, the support addresses mail is accepted for"
	}
	if strings.ContainsAny(m.Domain, " \r\n\t<>@") || strings.ContainsAny(m.FromName, "\r\n") {
		return "domain", "mail.domain and mail.from_name must be one line, the domain without spaces or brackets"
	}
	for i := range m.Addresses {
		a := &m.Addresses[i]
		addr, err := crmcore.NormalizeEmail(a.Address)
		if err != nil {
			return "addresses", fmt.Sprintf("mail.addresses[%d]: %v", i, err)
		}
		a.Address = addr
		if (a.FirstResponse == 0) != (a.Resolution == 0) || a.FirstResponse.D() > a.Resolution.D() {
			return "addresses", fmt.Sprintf("mail.addresses[%d]: give first_response and resolution together, the first no later than the second", i)
		}
		if a.Priority != "" {
			if _, err := crmcore.ParsePriority(a.Priority); err != nil {
				return "addresses", fmt.Sprintf("mail.addresses[%d].priority %q must be low, normal, high or urgent", i, a.Priority)
			}
		}
	}
	if m.MaxMessageBytes < 0 {
		return "max_message_bytes", "mail.max_message_bytes must not be negative"
	}
	if r := m.Relay; r.Addr != "" {
		if _, _, err := net.SplitHostPort(r.Addr); err != nil {
			return "relay", fmt.Sprintf("mail.relay.addr %q is not host:port", r.Addr)
		}
		if r.Username != "" && !r.StartTLS {
			return "relay", "mail.relay with a username needs starttls: a password is never sent in clear"
		}
	}
	for i, t := range m.Templates {
		if strings.TrimSpace(t.Name) == "" || strings.TrimSpace(t.Text) == "" {
			return "templates", fmt.Sprintf("mail.templates[%d] needs a name and a text", i)
		}
	}
	return "", ""
}
