package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"text/template"

	"switchboard/crmcore"
	"switchboard/crmcore/crmapi"
	"switchboard/crmcore/mail"
	"switchboard/crmcore/pgstore"
)

// mailIn is a node's SMTP listener: mail to the support addresses becomes
// tickets (crmcore/mail.Inbox over the CRM store). Every node of a cluster
// takes mail; the store threads it, whichever node it reached.
type mailIn struct {
	srv *mail.Server
	ln  net.Listener
}

// listenMail opens the SMTP listener of cfg.Mail, or returns nil when the
// email channel is off.
func listenMail(cfg *MailConfig, store *pgstore.Store, metrics *mail.Metrics, logger *slog.Logger) (*mailIn, error) {
	if cfg.SMTP == "" {
		return nil, nil
	}
	ack := mail.DefaultAckTemplate
	if cfg.AckTemplate != "" {
		t, err := template.New("ack").Parse(cfg.AckTemplate)
		if err != nil {
			return nil, fmt.Errorf("mail.ack_template: %w", err)
		}
		ack = t
	}
	routes := make(map[string]mail.Route, len(cfg.Addresses))
	addrs := make([]string, 0, len(cfg.Addresses))
	for _, a := range cfg.Addresses {
		prio := crmcore.PriorityNormal
		if a.Priority != "" {
			prio, _ = crmcore.ParsePriority(a.Priority) // validated with the config
		}
		r := mail.Route{Group: a.Group, Priority: prio}
		if a.FirstResponse > 0 {
			r.SLA = &crmcore.SLATarget{FirstResponse: a.FirstResponse.D(), Resolution: a.Resolution.D()}
		}
		routes[a.Address] = r
		addrs = append(addrs, a.Address)
	}
	inbox := mail.NewInbox(store, mail.InboxOptions{Domain: cfg.Domain, MaxMessageBytes: cfg.MaxMessageBytes, Routes: routes,
		DefaultRoute: routes[addrs[0]], FromName: cfg.FromName, AckTemplate: ack, Logger: logger, Metrics: metrics})
	srv := mail.NewServer(inbox, mail.ServerOptions{Domain: cfg.Domain, Addresses: addrs, MaxMessageBytes: cfg.MaxMessageBytes,
		Logger: logger})
	ln, err := net.Listen("tcp", cfg.SMTP)
	if err != nil {
		return nil, fmt.Errorf("mail.smtp: %w", err)
	}
	return &mailIn{srv: srv, ln: ln}, nil
}

// serve takes mail until close.
func (m *mailIn) serve() error {
	if err := m.srv.Serve(m.ln); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("smtp: %w", err)
	}
	return nil
}

// close stops taking mail; a message being received is finished first,
// within ctx.
func (m *mailIn) close(ctx context.Context) error { return m.srv.Shutdown(ctx) }

// newOutbox returns the outbox sender of cfg.Mail: through the relay, or
// into the sink (the mail stays readable in the outbox) when none is
// configured; nil when the email channel is off.
func newOutbox(cfg *MailConfig, store *pgstore.Store, metrics *mail.Metrics, logger *slog.Logger) (*mail.Outbox, error) {
	if cfg.SMTP == "" {
		return nil, nil
	}
	var sender mail.Sender = mail.Sink{}
	if cfg.Relay.Addr != "" {
		r, err := mail.NewRelay(mail.RelayOptions{Addr: cfg.Relay.Addr, StartTLS: cfg.Relay.StartTLS,
			Username: cfg.Relay.Username, Password: cfg.Relay.Password, LocalName: cfg.Domain})
		if err != nil {
			return nil, fmt.Errorf("mail.relay: %w", err)
		}
		sender = r
	}
	return mail.NewOutbox(store, sender, mail.OutboxOptions{LoopToken: loopToken(cfg), Logger: logger, Metrics: metrics}), nil
}

// loopToken names this installation in the X-Switchboard-Loop field of
// the mail it sends.
func loopToken(cfg *MailConfig) string {
	if cfg.Domain != "" {
		return cfg.Domain
	}
	return "switchboard"
}

// emailSettings are the REST API's email replies for cfg.Mail.
func emailSettings(cfg *MailConfig, outbox *mail.Outbox) crmapi.EmailSettings {
	s := crmapi.EmailSettings{Domain: cfg.Domain, FromName: cfg.FromName, Templates: cfg.Templates}
	if len(cfg.Addresses) > 0 {
		s.From = cfg.Addresses[0].Address
	}
	if outbox != nil {
		s.Queued = outbox.Wake
	}
	return s
}
