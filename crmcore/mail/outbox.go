package mail

import (
	"context"
	"log/slog"
	"time"

	"switchboard/crmcore"
)

// Sender hands a rendered message to the next hop.
type Sender interface {
	// Send delivers msg from the envelope sender from to the envelope
	// recipients to; nil means the next hop took responsibility for it.
	Send(ctx context.Context, from string, to []string, msg []byte) error
	// Name says where the mail went, as recorded on the sent email.
	Name() string
}

// OutboxOptions configure an Outbox; zero fields take the defaults.
type OutboxOptions struct {
	// Interval is the time between two looks at the outbox (default 1 s);
	// Wake starts one at once.
	Interval time.Duration
	// Batch is the number of emails taken per look (default 50).
	Batch int
	// MaxAttempts is the number of failed attempts after which an email is
	// given up (default 10). The n-th failure is retried after
	// MinBackoff·2^(n-1) (default 1 min), at most MaxBackoff (default 1 h).
	MaxAttempts            int
	MinBackoff, MaxBackoff time.Duration
	// LoopToken is written in every message's X-Switchboard-Loop field.
	LoopToken string
	// Now is the clock (default time.Now), Logger the log (default
	// slog.Default()) and Metrics the counters (default: unregistered).
	Now     func() time.Time
	Logger  *slog.Logger
	Metrics *Metrics
}

// Outbox sends the CRM's queued outbound emails through a Sender and
// records each attempt in the store, retrying failures with exponential
// backoff. The store is the queue: an email is marked sent only after the
// Sender accepted it, so a crash between the two sends it again rather
// than never.
type Outbox struct {
	store  Store
	sender Sender
	opts   OutboxOptions
	log    *slog.Logger
	wake   chan struct{}
}

// NewOutbox returns an outbox that takes its emails from store and sends
// them through sender.
func NewOutbox(store Store, sender Sender, opts OutboxOptions) *Outbox {
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	if opts.Batch <= 0 {
		opts.Batch = 50
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 10
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = time.Minute
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(nil)
	}
	return &Outbox{store: store, sender: sender, opts: opts, log: opts.Logger, wake: make(chan struct{}, 1)}
}

// Wake makes Run look at the outbox now, as after queueing a reply. It
// never blocks.
func (o *Outbox) Wake() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Run sends due emails every Interval and on Wake until ctx ends; it
// returns nil then.
func (o *Outbox) Run(ctx context.Context) error {
	t := time.NewTicker(o.opts.Interval)
	defer t.Stop()
	for {
		for {
			n, err := o.SendDue(ctx)
			if err != nil && ctx.Err() == nil {
				o.log.Warn("mail: outbox pass failed", "err", err)
			}
			if err != nil || n < o.opts.Batch {
				break // a full batch means more may be waiting
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-o.wake:
		}
	}
}

// SendDue sends one batch of due emails and returns how many it took.
// An error is the store's: sending failures are recorded on the emails.
func (o *Outbox) SendDue(ctx context.Context) (int, error) {
	due, err := o.store.DueEmails(ctx, o.opts.Now(), o.opts.Batch)
	if err != nil {
		return 0, err
	}
	for _, e := range due {
		if err := o.send(ctx, e); err != nil {
			return len(due), err
		}
	}
	return len(due), nil
}

func (o *Outbox) send(ctx context.Context, e crmcore.OutboundEmail) error {
	m := o.opts.Metrics
	kind := e.Kind
	if kind != "ack" && kind != "reply" {
		kind = "other"
	}
	raw, err := Compose(e.Message, ComposeOptions{LoopToken: o.opts.LoopToken, Auto: e.Kind == "ack", Now: o.opts.Now})
	if err != nil {
		// A message that cannot be rendered never will be: give it up.
		m.Failed.WithLabelValues(kind).Inc()
		o.log.Error("mail: outbound email cannot be composed", "email_id", e.ID, "ticket_id", e.TicketID, "err", err)
		return o.store.MarkEmailFailed(ctx, e.ID, err.Error(), time.Time{})
	}
	rcpt := append(append([]string(nil), e.Message.To...), e.Message.Cc...)
	if err := o.sender.Send(ctx, e.Message.From, rcpt, raw); err != nil {
		if ctx.Err() != nil {
			return ctx.Err() // stopping: the attempt does not count
		}
		m.Failed.WithLabelValues(kind).Inc()
		retryAt := o.retryAt(e.Attempts + 1)
		o.log.Warn("mail: sending failed", "email_id", e.ID, "ticket_id", e.TicketID,
			"attempt", e.Attempts+1, "retry_at", retryAt, "err", err)
		return o.store.MarkEmailFailed(ctx, e.ID, err.Error(), retryAt)
	}
	m.Sent.WithLabelValues(kind).Inc()
	if e.Kind == "ack" {
		m.AcksSent.Inc()
	}
	return o.store.MarkEmailSent(ctx, e.ID, o.sender.Name(), o.opts.Now().UTC())
}

// retryAt is when the email that failed its attempt-th attempt is tried
// again; zero once it has had MaxAttempts.
func (o *Outbox) retryAt(attempt int) time.Time {
	if attempt >= o.opts.MaxAttempts {
		return time.Time{}
	}
	d := o.opts.MinBackoff
	for i := 1; i < attempt && d < o.opts.MaxBackoff; i++ {
		d *= 2
	}
	return o.opts.Now().UTC().Add(min(d, o.opts.MaxBackoff))
}
