package crmapi

import (
	"context"
	"testing"
	"time"

	"switchboard/crmcore"
	"switchboard/crmcore/jobs"
	"switchboard/crmcore/pgstore"
	"switchboard/crmcore/webhook"
)

var _ WebhookStore = (*webhook.Service)(nil)

// newWebhookEnv serves the API with webhooks over a webhook.Service that
// is not started: the tests see the subscriptions, the log and the jobs
// a replay queues, without deliveries.
func newWebhookEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, func(s *pgstore.Store) []Option {
		if err := jobs.Migrate(context.Background(), s.Pool()); err != nil {
			t.Fatal(err)
		}
		runner := jobs.New(s.Pool())
		svc, err := webhook.New(s.Pool(), runner)
		if err != nil {
			t.Fatal(err)
		}
		if err := runner.Open(); err != nil {
			t.Fatal(err)
		}
		return []Option{WithWebhooks(svc)}
	})
}

// TestWebhooksAdminOnly: only admins reach the webhook endpoints, and
// without the option they do not exist.
func TestWebhooksAdminOnly(t *testing.T) {
	e := newWebhookEnv(t)
	agent, sup, admin := e.login("alice", "demo"), e.login("sam", "demo"), e.login("admin", "admin")
	body := map[string]any{"url": "http://127.0.0.1:9/hook", "event_types": []string{crmcore.EventTicketCreated}}
	for _, tc := range []struct {
		name, token, method, path string
		body                      any
		want                      int
	}{
		{"no token", "", "GET", "/api/v1/webhooks", nil, 401},
		{"agent lists", agent, "GET", "/api/v1/webhooks", nil, 403},
		{"supervisor creates", sup, "POST", "/api/v1/webhooks", body, 403},
		{"supervisor replays", sup, "POST", "/api/v1/webhooks/deliveries/" + crmcore.NewID() + "/replay", nil, 403},
		{"admin lists", admin, "GET", "/api/v1/webhooks", nil, 200},
		{"admin creates", admin, "POST", "/api/v1/webhooks", body, 201},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := e.do(tc.method, tc.path, tc.token, tc.body); r.Code != tc.want {
				t.Errorf("got %d %s, want %d", r.Code, r.Body, tc.want)
			}
		})
	}

	plain := newEnv(t)
	if r := plain.do("GET", "/api/v1/webhooks", plain.login("admin", "admin"), nil); r.Code != 404 {
		t.Errorf("without WithWebhooks: %d, want 404", r.Code)
	}
}

// TestWebhooksCRUD: a subscription's secret is shown once; bad URLs and
// event types are refused with 400 naming the field; the delivery log
// lists attempts; a replay queues a new delivery.
func TestWebhooksCRUD(t *testing.T) {
	e := newWebhookEnv(t)
	admin := e.login("admin", "admin")
	for _, tc := range []struct {
		name  string
		body  any
		field string
	}{
		{"ftp scheme", map[string]any{"url": "ftp://127.0.0.1/hook", "event_types": []string{"ticket.created"}}, "url"},
		{"javascript", map[string]any{"url": "javascript:alert(1)", "event_types": []string{"ticket.created"}}, "url"},
		{"no host", map[string]any{"url": "http:///hook", "event_types": []string{"ticket.created"}}, "url"},
		{"credentials", map[string]any{"url": "https://u:p@127.0.0.1/hook", "event_types": []string{"ticket.created"}}, "url"},
		{"line break", map[string]any{"url": "http://127.0.0.1/a\r\nb", "event_types": []string{"ticket.created"}}, "url"},
		{"unknown type", map[string]any{"url": "http://127.0.0.1/hook", "event_types": []string{"ticket.eaten"}}, "event_types"},
		{"no types", map[string]any{"url": "http://127.0.0.1/hook", "event_types": []string{}}, "event_types"},
		{"unknown field", map[string]any{"url": "http://127.0.0.1/hook", "event_types": []string{"ticket.created"}, "secret": "mine"}, "secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", "/api/v1/webhooks", admin, tc.body)
			if r.Code != 400 {
				t.Fatalf("got %d %s, want 400", r.Code, r.Body)
			}
			if got := r.err(t).Error.Field; got != tc.field {
				t.Errorf("field %q, want %q", got, tc.field)
			}
		})
	}

	r := e.do("POST", "/api/v1/webhooks", admin, map[string]any{"url": "https://127.0.0.1:8443/hook",
		"event_types": []string{"ticket.updated", "ticket.created", "ticket.created"}})
	if r.Code != 201 {
		t.Fatalf("create: %d %s", r.Code, r.Body)
	}
	var sub crmcore.WebhookSubscription
	r.json(t, &sub)
	if len(sub.Secret) < 32 || !sub.Active || len(sub.EventTypes) != 2 || r.Hdr.Get("Location") != "/api/v1/webhooks/"+sub.ID {
		t.Fatalf("created = %+v (Location %q)", sub, r.Hdr.Get("Location"))
	}
	var got crmcore.WebhookSubscription
	e.do("GET", "/api/v1/webhooks/"+sub.ID, admin, nil).json(t, &got)
	if got.Secret != "" || got.URL != sub.URL {
		t.Errorf("get = %+v: the secret must not be shown again", got)
	}
	var list listResponse[crmcore.WebhookSubscription]
	e.do("GET", "/api/v1/webhooks", admin, nil).json(t, &list)
	if list.Count != 1 || list.Items[0].Secret != "" {
		t.Errorf("list = %+v", list)
	}
	if r := e.do("PATCH", "/api/v1/webhooks/"+sub.ID, admin, map[string]any{"url": "file:///etc/passwd"}); r.Code != 400 {
		t.Errorf("patch to a file URL: %d", r.Code)
	}
	if r := e.do("PATCH", "/api/v1/webhooks/"+sub.ID, admin, map[string]any{"active": false}); r.Code != 200 {
		t.Errorf("deactivate: %d %s", r.Code, r.Body)
	}
	e.do("GET", "/api/v1/webhooks/"+sub.ID, admin, nil).json(t, &got)
	if got.Active || got.URL != sub.URL {
		t.Errorf("after patch = %+v", got)
	}

	// A logged delivery: an event and one failed attempt.
	ctx := context.Background()
	pool := e.store.Pool()
	var event int64
	if err := pool.QueryRow(ctx, `insert into webhook_events (type, payload) values ('ticket.created', '{}') returning id`).Scan(&event); err != nil {
		t.Fatal(err)
	}
	delivery := crmcore.NewID()
	if _, err := pool.Exec(ctx, `insert into webhook_deliveries (delivery_id, subscription_id, event_id, attempt, status_code, error, at)
		values ($1, $2, $3, 1, 503, 'webhook: receiver answered 503', $4)`, delivery, sub.ID, event, time.Now()); err != nil {
		t.Fatal(err)
	}
	var as listResponse[crmcore.WebhookAttempt]
	e.do("GET", "/api/v1/webhooks/"+sub.ID+"/deliveries?limit=10", admin, nil).json(t, &as)
	if as.Count != 1 || as.Items[0].DeliveryID != delivery || as.Items[0].StatusCode != 503 || as.Items[0].EventType != "ticket.created" {
		t.Errorf("deliveries = %+v", as)
	}
	for _, q := range []string{"0", "1001", "x"} {
		if r := e.do("GET", "/api/v1/webhooks/"+sub.ID+"/deliveries?limit="+q, admin, nil); r.Code != 400 {
			t.Errorf("limit=%s: %d", q, r.Code)
		}
	}
	if r := e.do("GET", "/api/v1/webhooks/"+crmcore.NewID()+"/deliveries", admin, nil); r.Code != 404 {
		t.Errorf("deliveries of a missing subscription: %d", r.Code)
	}
	var rep struct {
		DeliveryID string `json:"delivery_id"`
	}
	r = e.do("POST", "/api/v1/webhooks/deliveries/"+delivery+"/replay", admin, nil)
	r.json(t, &rep)
	if r.Code != 202 || !crmcore.ValidID(rep.DeliveryID) || rep.DeliveryID == delivery {
		t.Errorf("replay: %d %s", r.Code, r.Body)
	}
	var jobs int
	if err := pool.QueryRow(ctx, `select count(*) from river_job where args->>'delivery_id' = $1`, rep.DeliveryID).Scan(&jobs); err != nil || jobs != 1 {
		t.Errorf("queued replay jobs = %d (%v), want 1", jobs, err)
	}
	for _, id := range []string{crmcore.NewID(), "not-a-uuid"} {
		if r := e.do("POST", "/api/v1/webhooks/deliveries/"+id+"/replay", admin, nil); r.Code != 404 {
			t.Errorf("replay of %s: %d", id, r.Code)
		}
	}

	if r := e.do("DELETE", "/api/v1/webhooks/"+sub.ID, admin, nil); r.Code != 204 {
		t.Errorf("delete: %d", r.Code)
	}
	for _, m := range []string{"GET", "DELETE"} {
		if r := e.do(m, "/api/v1/webhooks/"+sub.ID, admin, nil); r.Code != 404 {
			t.Errorf("%s after delete: %d", m, r.Code)
		}
	}
}
