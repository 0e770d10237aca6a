package pgstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"switchboard/crmcore"
)

// The webhook outbox (table webhook_events) is written here, inside the
// transaction of the data each event reports, so that an event exists if
// and only if its data was committed. The webhook dispatcher
// (crmcore/webhook) reads it and turns each event into delivery jobs.

// outboxEvent is one event to record. key names the fact reported when the
// same fact can be written twice (a journal segment replayed): the outbox
// keeps one event per type and key. An empty key never collides.
type outboxEvent struct {
	typ, key string
	payload  any
}

// insertOutbox records the events no active subscription wants nowhere,
// and the others once per (type, key), then signals the dispatcher; the
// signal is delivered at commit, and only when something was recorded.
const insertOutbox = `
with ins as (
	insert into webhook_events (type, key, payload)
	select e.type, nullif(e.key, ''), e.payload::jsonb
	from unnest($1::text[], $2::text[], $3::text[]) as e(type, key, payload)
	where exists (select 1 from webhook_subscriptions s where s.active and e.type = any(s.event_types))
	on conflict (type, key) do nothing
	returning 1)
select pg_notify($4, '') from (select count(*) as n from ins) c where c.n > 0`

// wantedEventTypes lists the event types some active subscription wants.
const wantedEventTypes = `select array(select distinct t from webhook_subscriptions s, unnest(s.event_types) t where s.active)`

// enqueueEvent records an event of type typ with payload (encoded as
// JSON) in tx, if an active subscription wants that type.
func enqueueEvent(ctx context.Context, tx pgx.Tx, typ string, payload any) error {
	return enqueueEvents(ctx, tx, []outboxEvent{{typ: typ, payload: payload}})
}

// enqueueEvents records evs in tx, skipping those no active subscription
// wants.
func enqueueEvents(ctx context.Context, tx pgx.Tx, evs []outboxEvent) error {
	if len(evs) == 0 {
		return nil
	}
	types, keys, payloads := make([]string, len(evs)), make([]string, len(evs)), make([]string, len(evs))
	for i, e := range evs {
		b, err := json.Marshal(e.payload)
		if err != nil {
			return fmt.Errorf("pgstore: webhook event %s: %w", e.typ, err)
		}
		types[i], keys[i], payloads[i] = e.typ, e.key, string(b)
	}
	_, err := tx.Exec(ctx, insertOutbox, types, keys, payloads, crmcore.WebhookNotifyChannel)
	return err
}

// enqueueRecordEvents records the webhook events of a writer chunk's
// records in tx: interaction.completed for every completed interaction,
// task.abandoned as well for an abandoned one, survey.answered for a
// wrap-up carrying survey answers. Each is keyed by its record's id, so a
// chunk written again adds nothing. The payloads are encoded only for the
// types an active subscription wants.
func enqueueRecordEvents(ctx context.Context, tx pgx.Tx, recs []record) error {
	var wanted []string
	if err := tx.QueryRow(ctx, wantedEventTypes).Scan(&wanted); err != nil {
		return err
	}
	if len(wanted) == 0 {
		return nil
	}
	want := make(map[string]bool, len(wanted))
	for _, t := range wanted {
		want[t] = true
	}
	var evs []outboxEvent
	add := func(typ, key string, payload any) {
		if want[typ] {
			evs = append(evs, outboxEvent{typ: typ, key: key, payload: payload})
		}
	}
	for _, r := range recs {
		if in := r.I; in != nil && in.Outcome != crmcore.OutcomeInProgress {
			add(crmcore.EventInteractionCompleted, in.ID, in)
			if in.Outcome == crmcore.OutcomeAbandoned || in.Outcome == crmcore.OutcomeShortAbandon {
				add(crmcore.EventTaskAbandoned, in.ID, in)
			}
		}
		if wu := r.W; wu != nil && (wu.SurveyScore != nil || len(wu.Survey) > 0) {
			add(crmcore.EventSurveyAnswered, wu.ID, wu)
		}
		// A call, chat or lead the ACD queued, once per task and queue (the
		// engine says again that a task is queued when it goes back to
		// its queue or changes place); tickets and emails are recorded
		// queued by the ticket's own transaction (insertTicket).
		if ev := r.E; ev != nil && ev.Kind == crmcore.AgentEventQueued && ev.Channel != crmcore.TaskChannelTicket && ev.Channel != "email" {
			add(crmcore.EventTaskQueued, ev.TaskID+" "+ev.Queue, crmcore.TaskEvent{Channel: ev.Channel, Since: ev.At.Add(-ev.Wait),
				Queue: ev.Queue, TaskID: ev.TaskID, InteractionID: ev.InteractionID})
		}
	}
	return enqueueEvents(ctx, tx, evs)
}
