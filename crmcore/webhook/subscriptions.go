package webhook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"switchboard/crmcore"
)

const subCols = `id::text, url, event_types, active, created_at`

func scanSub(row pgx.Row) (crmcore.WebhookSubscription, error) {
	var s crmcore.WebhookSubscription
	err := row.Scan(&s.ID, &s.URL, &s.EventTypes, &s.Active, &s.CreatedAt)
	return s, err
}

// mapErr turns a missing row into crmcore.ErrNotFound.
func mapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("webhook: %s: %w", op, crmcore.ErrNotFound)
	}
	return fmt.Errorf("webhook: %s: %w", op, err)
}

// newSecret returns a fresh signing secret: 32 random bytes in hex.
func newSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return "whsec_" + hex.EncodeToString(b[:])
}

// CreateWebhook stores a new subscription with a fresh id and signing
// secret, and returns it with the secret (the only time it is shown).
func (s *Service) CreateWebhook(ctx context.Context, sub crmcore.WebhookSubscription) (crmcore.WebhookSubscription, error) {
	if err := sub.Validate(); err != nil {
		return crmcore.WebhookSubscription{}, err
	}
	sub.ID, sub.Secret = crmcore.NewID(), newSecret()
	err := s.pool.QueryRow(ctx, `insert into webhook_subscriptions (id, url, event_types, secret, active)
		values ($1, $2, $3, $4, $5) returning created_at`, sub.ID, sub.URL, sub.EventTypes, sub.Secret, sub.Active).Scan(&sub.CreatedAt)
	if err != nil {
		return crmcore.WebhookSubscription{}, mapErr("create", err)
	}
	return sub, nil
}

// GetWebhook returns a subscription, without its secret.
func (s *Service) GetWebhook(ctx context.Context, id string) (crmcore.WebhookSubscription, error) {
	if !crmcore.ValidID(id) {
		return crmcore.WebhookSubscription{}, crmcore.ErrNotFound
	}
	sub, err := scanSub(s.pool.QueryRow(ctx, `select `+subCols+` from webhook_subscriptions where id = $1`, id))
	return sub, mapErr("get", err)
}

// ListWebhooks returns every subscription, oldest first, without secrets.
func (s *Service) ListWebhooks(ctx context.Context) ([]crmcore.WebhookSubscription, error) {
	rows, err := s.pool.Query(ctx, `select `+subCols+` from webhook_subscriptions order by created_at, id`)
	if err != nil {
		return nil, mapErr("list", err)
	}
	subs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crmcore.WebhookSubscription, error) { return scanSub(r) })
	return subs, mapErr("list", err)
}

// UpdateWebhook applies p to a subscription. Deliveries already queued
// use the new URL and state when they are next tried.
func (s *Service) UpdateWebhook(ctx context.Context, id string, p crmcore.WebhookPatch) (crmcore.WebhookSubscription, error) {
	if !crmcore.ValidID(id) {
		return crmcore.WebhookSubscription{}, crmcore.ErrNotFound
	}
	var sub crmcore.WebhookSubscription
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		sub, err = scanSub(tx.QueryRow(ctx, `select `+subCols+` from webhook_subscriptions where id = $1 for update`, id))
		if err != nil {
			return err
		}
		if err := p.Apply(&sub); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `update webhook_subscriptions set url = $2, event_types = $3, active = $4 where id = $1`,
			id, sub.URL, sub.EventTypes, sub.Active)
		return err
	})
	var fe *crmcore.FieldError
	if errors.As(err, &fe) {
		return crmcore.WebhookSubscription{}, err
	}
	return sub, mapErr("update", err)
}

// DeleteWebhook removes a subscription and its delivery log; its queued
// deliveries are cancelled when they come up.
func (s *Service) DeleteWebhook(ctx context.Context, id string) error {
	if !crmcore.ValidID(id) {
		return crmcore.ErrNotFound
	}
	tag, err := s.pool.Exec(ctx, `delete from webhook_subscriptions where id = $1`, id)
	if err != nil {
		return mapErr("delete", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("webhook: delete: %w", crmcore.ErrNotFound)
	}
	return nil
}

// WebhookAttempts returns the latest delivery attempts to a subscription,
// newest first, at most limit.
func (s *Service) WebhookAttempts(ctx context.Context, subscriptionID string, limit int) ([]crmcore.WebhookAttempt, error) {
	if _, err := s.GetWebhook(ctx, subscriptionID); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `select d.id, d.delivery_id::text, d.subscription_id::text, d.event_id, e.type, d.attempt,
		d.status_code, d.error, d.duration_ms, d.at
		from webhook_deliveries d join webhook_events e on e.id = d.event_id
		where d.subscription_id = $1 order by d.id desc limit $2`, subscriptionID, limit)
	if err != nil {
		return nil, mapErr("attempts", err)
	}
	as, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crmcore.WebhookAttempt, error) {
		var a crmcore.WebhookAttempt
		err := r.Scan(&a.ID, &a.DeliveryID, &a.SubscriptionID, &a.EventID, &a.EventType, &a.Attempt,
			&a.StatusCode, &a.Error, &a.DurationMS, &a.At)
		return a, err
	})
	return as, mapErr("attempts", err)
}

// ReplayDelivery sends again the event of a logged delivery to its
// subscription, as a new delivery (a new id, attempts counted afresh),
// and returns the new delivery's id.
func (s *Service) ReplayDelivery(ctx context.Context, deliveryID string) (string, error) {
	if !crmcore.ValidID(deliveryID) {
		return "", crmcore.ErrNotFound
	}
	var sub string
	var event int64
	err := s.pool.QueryRow(ctx, `select subscription_id::text, event_id from webhook_deliveries where delivery_id = $1 limit 1`,
		deliveryID).Scan(&sub, &event)
	if err != nil {
		return "", mapErr("replay", err)
	}
	return s.ReplayEvent(ctx, sub, event)
}

// ReplayEvent queues a new delivery of an event to a subscription (which
// need not have wanted it when the event was recorded) and returns the
// delivery's id.
func (s *Service) ReplayEvent(ctx context.Context, subscriptionID string, eventID int64) (string, error) {
	if !crmcore.ValidID(subscriptionID) {
		return "", crmcore.ErrNotFound
	}
	args := deliveryArgs{DeliveryID: crmcore.NewID(), SubscriptionID: subscriptionID, EventID: eventID}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var ok bool
		err := tx.QueryRow(ctx, `select exists (select 1 from webhook_subscriptions where id = $1)
			and exists (select 1 from webhook_events where id = $2)`, subscriptionID, eventID).Scan(&ok)
		if err != nil {
			return err
		}
		if !ok {
			return pgx.ErrNoRows
		}
		client, err := s.client()
		if err != nil {
			return err
		}
		_, err = client.InsertTx(ctx, tx, args, s.insertOpts())
		return err
	})
	if err != nil {
		return "", mapErr("replay", err)
	}
	return args.DeliveryID, nil
}
