package crmapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"switchboard/crmcore"
	"switchboard/crmcore/pgcluster/pgtest"
	"switchboard/crmcore/pgstore"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

var _ interface {
	ContactStore
	TicketStore
	InteractionStore
	AgentStore
	LeadStore
	crmcore.CallerLookuper
} = (*pgstore.Store)(nil)

type env struct {
	t     *testing.T
	h     http.Handler
	store *pgstore.Store
	pool  interface{ Close() }

	mu      sync.Mutex
	revoked []crmcore.Revocation // told to the auth's revocation hook
}

// newEnv serves the API over a fresh, migrated and seeded database; opts
// come after the test's own options.
func newEnv(t *testing.T, opts ...Option) *env {
	t.Helper()
	return newEnvWith(t, func(*pgstore.Store) []Option { return opts })
}

// newEnvWith is newEnv with options that need the store.
func newEnvWith(t *testing.T, storeOpts func(*pgstore.Store) []Option) *env {
	t.Helper()
	ctx := context.Background()
	pool, err := pgstore.Connect(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := pgstore.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if _, err := pgstore.Seed(ctx, pool, pgstore.WithPasswordCost(bcrypt.MinCost)); err != nil {
		t.Fatal(err)
	}
	s := pgstore.New(pool)
	e := &env{t: t, store: s}
	auth := crmcore.NewAuth(s, s, crmcore.WithRevocationHook(func(r crmcore.Revocation) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.revoked = append(e.revoked, r)
	}))
	h, err := New(Deps{Auth: auth, Contacts: s, Tickets: s, Interactions: s, Agents: s, Leads: s, Lookup: s},
		append([]Option{WithMetrics(NewMetrics(prometheus.NewRegistry())), WithBodyLimits(64<<10, 256<<10)}, storeOpts(s)...)...)
	if err != nil {
		t.Fatal(err)
	}
	e.h = contract(t, h)
	return e
}

type resp struct {
	Code int
	Body []byte
	Hdr  http.Header
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

type errBody struct {
	Error struct {
		Code, Message, Field string
		Allowed              []string
	}
}

func (r resp) err(t *testing.T) errBody {
	t.Helper()
	var e errBody
	r.json(t, &e)
	if e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("error body without code/message: %s", r.Body)
	}
	return e
}

func (e *env) do(method, path, token string, body any) resp {
	e.t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ct = strings.NewReader(b), "text/csv"
	case []byte:
		rd, ct = bytes.NewReader(b), "application/json"
	default:
		j, _ := json.Marshal(b)
		rd, ct = bytes.NewReader(j), "application/json"
	}
	req := httptest.NewRequest(method, path, rd)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code >= 500 {
		e.t.Errorf("%s %s → %d %s", method, path, rec.Code, rec.Body)
	}
	if rec.Code >= 400 && !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		e.t.Errorf("%s %s → %d with Content-Type %q", method, path, rec.Code, rec.Header().Get("Content-Type"))
	}
	return resp{Code: rec.Code, Body: rec.Body.Bytes(), Hdr: rec.Header()}
}

func (e *env) login(login, pw string) string {
	e.t.Helper()
	r := e.do("POST", "/api/v1/sessions", "", map[string]string{"login": login, "password": pw})
	if r.Code != http.StatusCreated {
		e.t.Fatalf("login %s: %d %s", login, r.Code, r.Body)
	}
	var lr loginResponse
	r.json(e.t, &lr)
	return lr.Token
}

func TestSessions(t *testing.T) {
	e := newEnv(t)
	if r := e.do("POST", "/api/v1/sessions", "", map[string]string{"login": "alice", "password": "nope"}); r.Code != 401 {
		t.Fatalf("wrong password: %d", r.Code)
	}
	if r := e.do("GET", "/api/v1/sessions/current", "", nil); r.Code != 401 || r.Hdr.Get("WWW-Authenticate") == "" {
		t.Fatalf("no token: %d", r.Code)
	}
	tok := e.login("alice", "demo")
	r := e.do("GET", "/api/v1/sessions/current", tok, nil)
	var p crmcore.Principal
	r.json(t, &p)
	if r.Code != 200 || p.Login != "alice" || p.Role != crmcore.RoleAgent {
		t.Fatalf("whoami = %d %+v", r.Code, p)
	}
	if r := e.do("DELETE", "/api/v1/sessions", tok, nil); r.Code != 204 {
		t.Fatalf("logout: %d", r.Code)
	}
	if r := e.do("GET", "/api/v1/sessions/current", tok, nil); r.Code != 401 {
		t.Fatalf("after logout: %d", r.Code)
	}
}

func TestRoleChecks(t *testing.T) {
	e := newEnv(t)
	agent, sup, admin := e.login("alice", "demo"), e.login("sam", "demo"), e.login("admin", "admin")
	newAgent := map[string]any{"login": "zoe", "name": "Zoe", "password": "s3cret!", "skills": []map[string]any{{"name": "billing", "level": 2}}}
	tests := []struct {
		name   string
		token  string
		method string
		path   string
		body   any
		want   int
	}{
		{"agent cannot create agents", agent, "POST", "/api/v1/agents", newAgent, 403},
		{"supervisor cannot create agents", sup, "POST", "/api/v1/agents", newAgent, 403},
		{"agent cannot import contacts", agent, "POST", "/api/v1/contacts/import", "name\nX\n", 403},
		{"agent cannot create contacts", agent, "POST", "/api/v1/contacts", map[string]any{"name": "X"}, 403},
		{"supervisor cannot delete contacts", sup, "DELETE", "/api/v1/contacts/00000000-0000-4000-8000-000000000000", nil, 403},
		{"agent cannot read another agent's interactions", agent, "GET", "/api/v1/interactions?agent=00000000-0000-4000-8000-000000000000", nil, 403},
		{"agent reads contacts", agent, "GET", "/api/v1/contacts?q=smith", nil, 200},
		{"agent manages tickets", agent, "GET", "/api/v1/tickets", nil, 200},
		{"agent reads own interactions", agent, "GET", "/api/v1/interactions", nil, 200},
		{"supervisor reads all interactions", sup, "GET", "/api/v1/interactions", nil, 200},
		{"admin creates agents", admin, "POST", "/api/v1/agents", newAgent, 201},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.method, tt.path, tt.token, tt.body)
			if r.Code != tt.want {
				t.Fatalf("got %d, want %d: %s", r.Code, tt.want, r.Body)
			}
			if tt.want == 403 && r.err(t).Error.Code != "forbidden" {
				t.Errorf("code = %s", r.Body)
			}
		})
	}
	// The new agent's password is stored hashed and never returned.
	r := e.do("GET", "/api/v1/agents", admin, nil)
	if bytes.Contains(r.Body, []byte("s3cret")) || bytes.Contains(r.Body, []byte("$2a$")) || bytes.Contains(r.Body, []byte(`"sip_secret"`)) {
		t.Fatalf("secret leaked in %s", r.Body)
	}
	zoe := e.login("zoe", "s3cret!")
	if r := e.do("GET", "/api/v1/sessions/current", zoe, nil); r.Code != 200 {
		t.Fatalf("new agent cannot log in: %d", r.Code)
	}
	// Agents only see their own interactions.
	var list struct{ Items []crmcore.Interaction }
	e.do("GET", "/api/v1/interactions", agent, nil).json(t, &list)
	alice, _ := e.store.AgentByLogin(context.Background(), "alice")
	if len(list.Items) == 0 {
		t.Fatal("alice sees none of her seeded calls")
	}
	for _, in := range list.Items {
		if in.AgentID != alice.ID {
			t.Errorf("agent sees interaction of %s", in.AgentID)
		}
	}
	var all struct{ Items []crmcore.Interaction }
	e.do("GET", "/api/v1/interactions", sup, nil).json(t, &all)
	if len(all.Items) <= len(list.Items) {
		t.Errorf("supervisor sees %d, agent %d", len(all.Items), len(list.Items))
	}
}

func TestContactsAndPhones(t *testing.T) {
	e := newEnv(t)
	sup := e.login("sam", "demo")
	// A demo contact found by a number typed in national format.
	var found struct{ Items []crmcore.Contact }
	r := e.do("GET", "/api/v1/contacts?phone=(415)%20555-0100", sup, nil)
	r.json(t, &found)
	if r.Code != 200 || len(found.Items) != 1 || found.Items[0].Name != "Olivia Smith" {
		t.Fatalf("search by national phone = %d %s", r.Code, r.Body)
	}
	r = e.do("GET", "/api/v1/contacts?phone=020%207946%200101&region=GB", sup, nil)
	r.json(t, &found)
	if len(found.Items) != 1 || found.Items[0].Name != "Amelia Jackson" {
		t.Fatalf("GB search = %s", r.Body)
	}
	r = e.do("GET", "/api/v1/contacts?phone=12", sup, nil)
	if r.Code != 400 || !strings.Contains(r.err(t).Error.Message, "too short") {
		t.Fatalf("short phone search = %d %s", r.Code, r.Body)
	}

	r = e.do("POST", "/api/v1/contacts?region=DE", sup, map[string]any{"name": "Klaus Becker", "phones": []map[string]string{{"number": "030 901820"}}})
	var c crmcore.Contact
	r.json(t, &c)
	if r.Code != 201 || c.Phones[0].E164 != "+4930901820" || c.Country != "DE" || c.TimeZone != "Europe/Berlin" {
		t.Fatalf("create = %d %s", r.Code, r.Body)
	}
	r = e.do("POST", "/api/v1/contacts", sup, map[string]any{"name": "Bad", "phones": []map[string]string{{"number": "+1 099 555 0100"}}})
	if eb := r.err(t); r.Code != 400 || eb.Error.Field != "phones[0]" || eb.Error.Code != "invalid_phone" || !strings.Contains(eb.Error.Message, "not a valid number") {
		t.Fatalf("invalid phone = %d %s", r.Code, r.Body)
	}
	r = e.do("POST", "/api/v1/contacts", sup, map[string]any{"name": "Dup", "phones": []map[string]string{{"number": "+4930901820"}}})
	if r.Code != 409 {
		t.Fatalf("duplicate phone = %d %s", r.Code, r.Body)
	}
	r = e.do("PATCH", "/api/v1/contacts/"+c.ID, sup, map[string]any{"segment": "vip", "tags": []string{"Key"}})
	r.json(t, &c)
	if r.Code != 200 || c.Segment != "vip" || c.Name != "Klaus Becker" || len(c.Phones) != 1 || c.Tags[0] != "key" {
		t.Fatalf("patch = %d %s", r.Code, r.Body)
	}
	if r := e.do("GET", "/api/v1/contacts/not-a-uuid", sup, nil); r.Code != 404 {
		t.Fatalf("bad id = %d", r.Code)
	}
	lookup := e.do("GET", "/api/v1/lookup?phone=%2B1%20415%20555%200100", sup, nil)
	var cl crmcore.CallerLookup
	lookup.json(t, &cl)
	if !cl.Known || cl.Contact.Name != "Olivia Smith" || cl.LastAgent == nil {
		t.Fatalf("lookup = %s", lookup.Body)
	}
	lookup = e.do("GET", "/api/v1/lookup?phone=%2B1%20415%20555%200199", sup, nil)
	lookup.json(t, &cl)
	if lookup.Code != 200 || cl.Known {
		t.Fatalf("unknown lookup = %s", lookup.Body)
	}
}

func TestCSVImportWithBadRows(t *testing.T) {
	e := newEnv(t)
	sup := e.login("sam", "demo")
	csvData := "Full Name,E-mail,Mobile,Company,Tier,Favourite colour,custom.plan\n" +
		"Nina Novak,nina@example.com,(212) 555-0188,Acme Corp,vip,blue,gold\n" + // 2 ok
		"Omar Haddad,omar@example.com,+44 20 7946 0999,,,,\n" + // 3 ok
		"Bad Phone,bad@example.com,555,,,,\n" + // 4 invalid phone
		",noname@example.com,+1 212 555 0177,,,,\n" + // 5 no name
		"Nina Twin,nina@example.com,,,,,\n" + // 6 duplicate email in file
		"Olivia Again,,+1 415 555 0100,,,,\n" + // 7 duplicate of a demo contact
		"Ghost,ghost@example.com,,No Such Co,,,\n" + // 8 unknown account
		"\"Broken \"quote,x@example.com,,,,,\n" + // 9 malformed CSV
		"Pia Park,pia@example.com,+61 412 345 699,,,,\n" // 10 ok
	r := e.do("POST", "/api/v1/contacts/import", sup, csvData)
	var res ImportResult
	r.json(t, &res)
	if r.Code != 200 || res.Created != 3 || res.Duplicates != 2 || res.Failed != 4 {
		t.Fatalf("import = %d %s", r.Code, r.Body)
	}
	lines := map[int]string{}
	for _, er := range res.Errors {
		lines[er.Line] = er.Field + ": " + er.Message
	}
	for line, want := range map[int]string{4: "phones[0]", 5: "name", 6: "duplicate of line 2", 7: "existing contact", 8: "unknown account", 9: "malformed"} {
		if !strings.Contains(lines[line], want) {
			t.Errorf("line %d error = %q, want it to mention %q", line, lines[line], want)
		}
	}
	if len(res.Ignored) != 1 || res.Ignored[0] != "Favourite colour" {
		t.Errorf("ignored = %v", res.Ignored)
	}
	var found struct{ Items []crmcore.Contact }
	e.do("GET", "/api/v1/contacts?email=nina@example.com", sup, nil).json(t, &found)
	if len(found.Items) != 1 || found.Items[0].Segment != "vip" || found.Items[0].AccountID == "" || found.Items[0].Custom["plan"] != "gold" {
		t.Fatalf("imported Nina = %+v", found.Items)
	}
	// An explicit mapping and a file with no usable header.
	r = e.do("POST", "/api/v1/contacts/import?map=Kontakt=name,Handy=phone&region=DE", sup, "Kontakt,Handy\nJörg Weiß,0151 23456789\n")
	r.json(t, &res)
	if r.Code != 200 || res.Created != 1 {
		t.Fatalf("mapped import = %s", r.Body)
	}
	if r := e.do("POST", "/api/v1/contacts/import", sup, "foo,bar\n1,2\n"); r.Code != 400 || !strings.Contains(r.err(t).Error.Message, "no name column") {
		t.Fatalf("headerless import = %d %s", r.Code, r.Body)
	}
	if r := e.do("POST", "/api/v1/contacts/import", sup, "name\n"+strings.Repeat("x,", 200<<10)); r.Code != 413 {
		t.Fatalf("huge import = %d", r.Code)
	}
	// Export round-trips through import as duplicates only.
	exp := e.do("GET", "/api/v1/contacts/export", sup, nil)
	if exp.Code != 200 || !strings.HasPrefix(string(exp.Body), "id,name,emails,phones") || !strings.Contains(string(exp.Body), "+14155550100") {
		t.Fatalf("export = %d %.200s", exp.Code, exp.Body)
	}
	r = e.do("POST", "/api/v1/contacts/import", sup, string(exp.Body))
	r.json(t, &res)
	if res.Created != 0 || res.Failed != 0 || res.Duplicates < 50 {
		t.Fatalf("re-import of export = %+v", res)
	}
}

func TestTicketsOverAPI(t *testing.T) {
	e := newEnv(t)
	tok := e.login("bob", "demo")
	var contacts struct{ Items []crmcore.Contact }
	e.do("GET", "/api/v1/contacts?phone=%2B442079460100", tok, nil).json(t, &contacts)
	r := e.do("POST", "/api/v1/tickets", tok, map[string]any{"subject": "Line crackles", "priority": "high",
		"requester_id": contacts.Items[0].ID, "assignee_id": "", "tags": []string{"voice"}})
	var tk crmcore.Ticket
	r.json(t, &tk)
	if r.Code != 201 || !regexp.MustCompile(`^T-\d+$`).MatchString(tk.Number) || tk.Status != crmcore.StatusNew || tk.ResolutionDue.IsZero() {
		t.Fatalf("create = %d %s", r.Code, r.Body)
	}
	base := "/api/v1/tickets/" + tk.Number
	for _, to := range []string{"open", "pending", "solved", "open", "solved", "closed"} {
		r := e.do("POST", base+"/transitions", tok, map[string]string{"to": to})
		if r.Code != 200 {
			t.Fatalf("→ %s: %d %s", to, r.Code, r.Body)
		}
	}
	r = e.do("POST", base+"/transitions", tok, map[string]string{"to": "open"})
	if eb := r.err(t); r.Code != 409 || eb.Error.Code != "invalid_transition" || !strings.Contains(eb.Error.Message, "final") {
		t.Fatalf("closed → open = %d %s", r.Code, r.Body)
	}
	r = e.do("POST", "/api/v1/tickets/T-1042/transitions", tok, map[string]string{"to": "closed"})
	if eb := r.err(t); r.Code != 409 || strings.Join(eb.Error.Allowed, ",") != "pending,solved" {
		t.Fatalf("open → closed = %d %s", r.Code, r.Body)
	}
	if r := e.do("POST", "/api/v1/tickets/T-1042/transitions", tok, map[string]string{"to": "reopened"}); r.Code != 400 {
		t.Fatalf("unknown status = %d", r.Code)
	}
	if r := e.do("POST", "/api/v1/tickets/T-1042/comments", tok, map[string]any{"body": "Called the customer", "public": false}); r.Code != 201 {
		t.Fatalf("comment = %d %s", r.Code, r.Body)
	}
	var au struct{ Items []crmcore.AuditEntry }
	e.do("GET", base+"/audit", tok, nil).json(t, &au)
	if len(au.Items) != 7 {
		t.Fatalf("audit = %+v", au.Items)
	}
	r = e.do("PATCH", "/api/v1/tickets/T-1042", tok, map[string]any{"priority": "urgent", "status": "closed"})
	if r.Code != 400 || r.err(t).Error.Field != "status" {
		t.Fatalf("patch with status = %d %s", r.Code, r.Body)
	}
	var list struct{ Items []crmcore.Ticket }
	e.do("GET", "/api/v1/tickets?status=open,pending&assignee=me", tok, nil).json(t, &list)
	if len(list.Items) == 0 {
		t.Fatal("bob has no open tickets")
	}
	for _, x := range list.Items {
		if !x.Status.Open() {
			t.Errorf("filter leak %s %s", x.Number, x.Status)
		}
	}
	if r := e.do("GET", "/api/v1/tickets?priority=critical", tok, nil); r.Code != 400 {
		t.Fatalf("bad priority filter = %d", r.Code)
	}
	if r := e.do("GET", "/api/v1/tickets/T-99999", tok, nil); r.Code != 404 {
		t.Fatalf("missing ticket = %d", r.Code)
	}
	if r := e.do("GET", "/api/v1/tickets/DROP%20TABLE", tok, nil); r.Code != 404 {
		t.Fatalf("garbage number = %d", r.Code)
	}
}

func TestErrorsAreJSON(t *testing.T) {
	e := newEnv(t)
	tok := e.login("admin", "admin")
	tests := []struct {
		name, method, path string
		body               any
		ctype              string
		want               int
		code               string
	}{
		{"unknown endpoint", "GET", "/api/v1/nope", nil, "", 404, "not_found"},
		{"wrong method", "PUT", "/api/v1/sessions", nil, "", 405, "method_not_allowed"},
		{"malformed JSON", "POST", "/api/v1/tickets", []byte(`{"subject":`), "", 400, "invalid_argument"},
		{"unknown field", "POST", "/api/v1/tickets", []byte(`{"subject":"x","colour":"red"}`), "", 400, "invalid_argument"},
		{"wrong type", "POST", "/api/v1/tickets", []byte(`{"subject":5}`), "", 400, "invalid_argument"},
		{"bad enum", "POST", "/api/v1/tickets", []byte(`{"subject":"x","priority":"asap"}`), "", 400, "invalid_argument"},
		{"trailing data", "POST", "/api/v1/tickets", []byte(`{"subject":"x"} {}`), "", 400, "invalid_argument"},
		{"empty body", "POST", "/api/v1/tickets", []byte(``), "", 400, "invalid_argument"},
		{"too large", "POST", "/api/v1/tickets", []byte(`{"subject":"` + strings.Repeat("x", 70<<10) + `"}`), "", 413, "too_large"},
		{"wrong content type", "POST", "/api/v1/tickets", []byte(`{"subject":"x"}`), "text/plain", 415, "unsupported_media_type"},
		{"bad time", "GET", "/api/v1/interactions?from=yesterday", nil, "", 400, "invalid_argument"},
		{"bad limit", "GET", "/api/v1/contacts?limit=-1", nil, "", 400, "invalid_argument"},
		{"NUL in subject", "POST", "/api/v1/tickets", []byte(`{"subject":"a\u0000b"}`), "", 400, "invalid_argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r resp
			if tt.ctype != "" {
				req := httptest.NewRequest(tt.method, tt.path, bytes.NewReader(tt.body.([]byte)))
				req.Header.Set("Content-Type", tt.ctype)
				req.Header.Set("Authorization", "Bearer "+tok)
				rec := httptest.NewRecorder()
				e.h.ServeHTTP(rec, req)
				r = resp{Code: rec.Code, Body: rec.Body.Bytes()}
			} else {
				r = e.do(tt.method, tt.path, tok, tt.body)
			}
			if r.Code != tt.want || r.err(t).Error.Code != tt.code {
				t.Fatalf("got %d %s, want %d %s", r.Code, r.Body, tt.want, tt.code)
			}
		})
	}
}

func TestInteractionsOverAPI(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	w, err := pgstore.NewWriter(e.store.Pool(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for i, out := range []crmcore.Outcome{crmcore.OutcomeAnswered, crmcore.OutcomeAbandoned, crmcore.OutcomeAnswered} {
		end := t0.Add(time.Duration(i)*time.Hour + time.Minute)
		if err := w.Write(ctx, crmcore.Interaction{ID: crmcore.NewID(), CallID: "c" + string(rune('0'+i)), Direction: crmcore.Inbound,
			Channel: crmcore.ChannelPhone, ANI: "=cmd|' /C calc'!A0", Queue: "sales", ArrivedAt: t0.Add(time.Duration(i) * time.Hour),
			EndedAt: &end, Outcome: out}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	sup := e.login("sam", "demo")
	var list struct {
		Items []crmcore.Interaction
		Count int
	}
	e.do("GET", "/api/v1/interactions?queue=sales&outcome=answered&from=2026-03-02T00:00:00Z&to=2026-03-03T00:00:00Z", sup, nil).json(t, &list)
	if list.Count != 2 {
		t.Fatalf("filtered list = %+v", list)
	}
	r := e.do("GET", "/api/v1/interactions/"+list.Items[0].ID, sup, nil)
	if r.Code != 200 {
		t.Fatalf("get = %d", r.Code)
	}
	if r := e.do("GET", "/api/v1/interactions/"+list.Items[0].ID, e.login("alice", "demo"), nil); r.Code != 404 {
		t.Fatalf("agent reading someone else's call = %d", r.Code)
	}
	exp := e.do("GET", "/api/v1/interactions/export?queue=sales", sup, nil)
	lines := strings.Split(strings.TrimSpace(string(exp.Body)), "\n")
	if exp.Code != 200 || len(lines) != 4 || !strings.HasPrefix(lines[0], "id,call_id") {
		t.Fatalf("export = %d %s", exp.Code, exp.Body)
	}
	if strings.Contains(string(exp.Body), ",=cmd") {
		t.Error("formula injection not neutralised in CSV export")
	}
}

// TestNoServerErrorOnHostileInput throws malformed and hostile values at
// every writing endpoint; the helper fails the test on any 5xx.
func TestNoServerErrorOnHostileInput(t *testing.T) {
	e := newEnv(t)
	tok := e.login("admin", "admin")
	nasty := []string{"", "\x00", "a\x00b", strings.Repeat("x", 5000), "\xff\xfe", "'; drop table contacts; --", "%", "_",
		"00000000-0000-4000-8000-000000000000", "T-1042", "-1", "1e309", "\u202e", "+", "++1", "{}", "[]"}
	paths := []struct{ method, path string }{
		{"POST", "/api/v1/contacts"}, {"POST", "/api/v1/tickets"}, {"PATCH", "/api/v1/tickets/T-1042"},
		{"POST", "/api/v1/tickets/T-1042/transitions"}, {"POST", "/api/v1/tickets/T-1042/comments"}, {"POST", "/api/v1/agents"},
		{"POST", "/api/v1/leads"},
	}
	fields := []string{"name", "subject", "requester_id", "assignee_id", "account_id", "to", "body", "login", "password",
		"time_zone", "country", "language", "group", "segment", "priority", "channel", "owner_id", "phone", "email", "company"}
	for _, p := range paths {
		for _, v := range nasty {
			for _, f := range fields {
				body, _ := json.Marshal(map[string]any{f: v})
				e.do(p.method, p.path, tok, body)
			}
			body, _ := json.Marshal(map[string]any{"name": "X", "phones": []map[string]string{{"number": v}}, "emails": []string{v}, "tags": []string{v}, "custom": map[string]string{v: v}})
			e.do(p.method, p.path, tok, body)
		}
	}
	for _, v := range nasty {
		for _, c := range []any{map[string]any{v: 1}, map[string]any{"chat": v}, v, map[string]any{"chat": 1.5}, map[string]any{"chat": 1 << 40}} {
			body, _ := json.Marshal(map[string]any{"login": "hostile", "password": "pw12345", "capacity": c})
			e.do("POST", "/api/v1/agents", tok, body)
		}
		e.do("GET", "/api/v1/tickets/"+urlEscape(v)+"/assignments", tok, nil)
		e.do("GET", "/api/v1/leads/"+urlEscape(v), tok, nil)
		e.do("POST", "/api/v1/leads/"+urlEscape(v)+"/transitions", tok, map[string]string{"to": v})
	}
	for _, v := range nasty {
		for _, q := range []string{"q", "phone", "email", "tag", "region", "limit", "offset"} {
			e.do("GET", "/api/v1/contacts?"+q+"="+urlEscape(v), tok, nil)
		}
		for _, q := range []string{"status", "priority", "assignee", "requester", "breached"} {
			e.do("GET", "/api/v1/tickets?"+q+"="+urlEscape(v), tok, nil)
		}
		for _, q := range []string{"from", "to", "queue", "agent", "contact", "outcome", "limit"} {
			e.do("GET", "/api/v1/interactions?"+q+"="+urlEscape(v), tok, nil)
		}
		e.do("GET", "/api/v1/lookup?phone="+urlEscape(v), tok, nil)
		e.do("GET", "/api/v1/tickets/"+urlEscape(v), tok, nil)
		e.do("GET", "/api/v1/contacts/"+urlEscape(v), tok, nil)
		e.do("POST", "/api/v1/contacts/import", tok, "name,phone,email,custom.x\n"+strings.ReplaceAll(v, "\n", "")+","+v+","+v+","+v+"\n")
	}
}

func urlEscape(s string) string { return url.QueryEscape(s) }
