package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// RelayOptions configure a Relay.
type RelayOptions struct {
	// Addr is the relay's host:port.
	Addr string
	// StartTLS upgrades the connection before anything else is sent; the
	// relay's certificate is checked against TLSConfig (nil: the system
	// roots and the relay's host name).
	StartTLS  bool
	TLSConfig *tls.Config
	// Username and Password, when set, authenticate with SASL PLAIN.
	// Credentials are sent only over STARTTLS or to a loopback relay.
	Username, Password string
	// LocalName is the name given in EHLO (default "localhost").
	LocalName string
	// Timeout bounds each command (default 30 s); SendTimeout bounds a
	// whole delivery, connection to QUIT (default 2 min).
	Timeout, SendTimeout time.Duration
}

// Relay sends mail through an SMTP relay (the organisation's mail server
// or a provider's submission service), one connection per message.
type Relay struct {
	opts RelayOptions
	host string
}

var _ Sender = (*Relay)(nil)

// NewRelay returns a relay sender for opts.Addr.
func NewRelay(opts RelayOptions) (*Relay, error) {
	host, _, err := net.SplitHostPort(opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("mail: relay address %q: %w", opts.Addr, err)
	}
	if opts.Username != "" && !opts.StartTLS && !loopback(host) {
		return nil, errors.New("mail: relay credentials need STARTTLS (or a loopback relay)")
	}
	if opts.LocalName == "" {
		opts.LocalName = "localhost"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.SendTimeout <= 0 {
		opts.SendTimeout = 2 * time.Minute
	}
	return &Relay{opts: opts, host: host}, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Name returns "smtp://host:port".
func (r *Relay) Name() string { return "smtp://" + r.opts.Addr }

// Send delivers one message. An error is an *smtp.SMTPError when the
// relay refused it.
func (r *Relay) Send(ctx context.Context, from string, to []string, msg []byte) error {
	ctx, cancel := context.WithTimeout(ctx, r.opts.SendTimeout)
	defer cancel()
	d := net.Dialer{Timeout: r.opts.Timeout}
	conn, err := d.DialContext(ctx, "tcp", r.opts.Addr)
	if err != nil {
		return fmt.Errorf("mail: relay: %w", err)
	}
	// go-smtp sets per-command deadlines only; the context bounds the
	// whole exchange, the message body included.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	c, err := r.client(conn)
	if err != nil {
		conn.Close()
		return r.fail(ctx, err)
	}
	defer c.Close()
	if r.opts.Username != "" {
		if err := c.Auth(sasl.NewPlainClient("", r.opts.Username, r.opts.Password)); err != nil {
			return r.fail(ctx, err)
		}
	}
	if err := c.SendMail(from, to, bytes.NewReader(msg)); err != nil {
		return r.fail(ctx, err)
	}
	// The relay took the message at the final dot; a failed QUIT does not
	// undo that.
	_ = c.Quit()
	return nil
}

func (r *Relay) client(conn net.Conn) (*smtp.Client, error) {
	if !r.opts.StartTLS {
		c := smtp.NewClient(conn)
		c.CommandTimeout, c.SubmissionTimeout = r.opts.Timeout, r.opts.Timeout
		return c, c.Hello(r.opts.LocalName)
	}
	cfg := &tls.Config{}
	if r.opts.TLSConfig != nil {
		cfg = r.opts.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = r.host
	}
	c, err := smtp.NewClientStartTLS(conn, cfg)
	if err != nil {
		return nil, err
	}
	c.CommandTimeout, c.SubmissionTimeout = r.opts.Timeout, r.opts.Timeout
	// The EHLO before STARTTLS said "localhost"; the one after it, which
	// the relay trusts, carries the configured name.
	return c, c.Hello(r.opts.LocalName)
}

func (r *Relay) fail(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("mail: relay %s: %w (%w)", r.opts.Addr, ctx.Err(), err)
	}
	return fmt.Errorf("mail: relay %s: %w", r.opts.Addr, err)
}

// Sink is the Sender when no relay is configured: it accepts every
// message and sends nothing, so the mail stays readable in the outbox
// (marked sent through "sink").
type Sink struct{}

var _ Sender = Sink{}

// Send accepts msg and drops it.
func (Sink) Send(context.Context, string, []string, []byte) error { return nil }

// Name returns "sink".
func (Sink) Name() string { return "sink" }
