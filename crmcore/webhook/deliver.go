package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"switchboard/crmcore"
)

// deliveryArgs is a delivery job: send event EventID to subscription
// SubscriptionID. DeliveryID stays the same across the job's attempts, so
// that a receiver can recognise a retry of something it already took.
type deliveryArgs struct {
	DeliveryID     string `json:"delivery_id"`
	SubscriptionID string `json:"subscription_id"`
	EventID        int64  `json:"event_id"`
}

// Kind implements river.JobArgs.
func (deliveryArgs) Kind() string { return "webhook_delivery" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (deliveryArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: queueName} }

// Envelope is the JSON body of a delivery.
type Envelope struct {
	ID        int64           `json:"id"` // the event's id, the same for every subscription
	Type      string          `json:"type"`
	CreatedAt time.Time       `json:"created_at"`
	Data      json.RawMessage `json:"data"`
}

// deliveryWorker works delivery jobs: one signed POST per attempt, each
// attempt logged.
type deliveryWorker struct {
	river.WorkerDefaults[deliveryArgs]
	s *Service
}

// NextRetry implements river.Worker: the WithBackoff schedule, or
// river's without it.
func (w *deliveryWorker) NextRetry(job *river.Job[deliveryArgs]) time.Time {
	if w.s.retry.base <= 0 {
		return time.Time{}
	}
	return w.s.retry.next(job.JobRow)
}

// Timeout implements river.Worker: one attempt's request, and the time to
// log it.
func (w *deliveryWorker) Timeout(*river.Job[deliveryArgs]) time.Duration {
	return w.s.timeout + 10*time.Second
}

// maxErrorText bounds the error kept with an attempt.
const maxErrorText = 500

// Work implements river.Worker. A delivery whose subscription was deleted
// or deactivated is cancelled; any answer but a 2xx is an error, which
// river retries with backoff until the attempts run out.
func (w *deliveryWorker) Work(ctx context.Context, job *river.Job[deliveryArgs]) error {
	s := w.s
	a := job.Args
	var url, secret, typ string
	var active bool
	var env Envelope
	var payload []byte
	err := s.pool.QueryRow(ctx, `select s.url, s.secret, s.active, e.type, e.created_at, e.payload::text
		from webhook_subscriptions s, webhook_events e where s.id = $1 and e.id = $2`,
		a.SubscriptionID, a.EventID).Scan(&url, &secret, &active, &typ, &env.CreatedAt, &payload)
	if errors.Is(err, pgx.ErrNoRows) {
		return river.JobCancel(errors.New("webhook: subscription or event deleted"))
	}
	if err != nil {
		return fmt.Errorf("webhook: load delivery: %w", err)
	}
	if !active {
		return river.JobCancel(errors.New("webhook: subscription inactive"))
	}
	env.ID, env.Type, env.Data = a.EventID, typ, payload
	env.CreatedAt = env.CreatedAt.UTC()
	body, err := json.Marshal(env)
	if err != nil {
		return river.JobCancel(fmt.Errorf("webhook: encode: %w", err))
	}

	start := time.Now()
	code, err := s.post(ctx, url, []byte(secret), typ, a.DeliveryID, body)
	took := time.Since(start)
	at := crmcore.WebhookAttempt{DeliveryID: a.DeliveryID, SubscriptionID: a.SubscriptionID, EventID: a.EventID,
		Attempt: job.Attempt, StatusCode: code, DurationMS: took.Milliseconds(), At: start.UTC()}
	if err != nil {
		at.Error = crmcore.CutText(err.Error(), maxErrorText)
	}
	// The attempt is logged even when the job's context ended (a stop).
	logCtx, done := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer done()
	if lerr := s.logAttempt(logCtx, at); lerr != nil {
		s.log.Error("webhook: log attempt", "delivery_id", a.DeliveryID, "err", lerr)
	}
	s.m.observe(at.OK(), took)
	return err
}

// post sends one signed attempt and returns the receiver's status code;
// the error is nil only for a 2xx.
func (s *Service) post(ctx context.Context, url string, secret []byte, typ, deliveryID string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("webhook: request: %w", err)
	}
	now := time.Now()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Switchboard-Webhooks/1")
	req.Header.Set(HeaderEvent, typ)
	req.Header.Set(HeaderDelivery, deliveryID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(HeaderSignature, Sign(secret, now, body))
	resp, err := s.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("webhook: post: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxResponseBody))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("webhook: receiver answered %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// logAttempt appends an attempt to the delivery log.
func (s *Service) logAttempt(ctx context.Context, a crmcore.WebhookAttempt) error {
	_, err := s.pool.Exec(ctx, `insert into webhook_deliveries (delivery_id, subscription_id, event_id, attempt,
		status_code, error, duration_ms, at) values ($1, $2, $3, $4, $5, $6, $7, $8)`,
		a.DeliveryID, a.SubscriptionID, a.EventID, a.Attempt, a.StatusCode, a.Error, a.DurationMS, a.At)
	if err != nil {
		var fk interface{ SQLState() string }
		if errors.As(err, &fk) && fk.SQLState() == "23503" {
			return nil // the subscription was deleted meanwhile: nothing to keep
		}
	}
	return err
}
