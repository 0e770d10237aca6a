package pgstore

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"

	"switchboard/crmcore"
	"switchboard/crmcore/pgcluster/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// newPool returns a pool on a fresh, migrated database.
func newPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	pool, err := Connect(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	return pool
}

func TestMigrateIdempotentAndConcurrent(t *testing.T) {
	ctx := context.Background()
	pool, err := Connect(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() { errs <- Migrate(ctx, pool) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent migrate: %v", err)
		}
	}
	if err := Migrate(ctx, pool); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	files, _ := fs.Glob(migrationFS, "migrations/*.sql")
	v, err := SchemaVersion(ctx, pool)
	if err != nil || int(v) != len(files) || len(files) == 0 {
		t.Fatalf("schema version = %d, %v; want %d (one per migration file)", v, err, len(files))
	}
}

func TestSeedOnce(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	res, err := Seed(ctx, pool, WithPasswordCost(bcrypt.MinCost))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Seeded || res.Contacts < 45 || res.Agents < 10 || res.Tickets < 5 {
		t.Fatalf("seed = %+v", res)
	}
	again, err := Seed(ctx, pool, WithPasswordCost(bcrypt.MinCost))
	if err != nil || again.Seeded {
		t.Fatalf("second seed = %+v, %v; want no-op", again, err)
	}
	s := New(pool)
	tk, err := s.GetTicket(ctx, 1042)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.GetContact(ctx, tk.RequesterID)
	if err != nil || c.Name != "Olivia Smith" {
		t.Fatalf("T-1042 requester = %+v, %v", c, err)
	}
	// The sequence continues after the seeded numbers.
	nt, err := crmcore.NewTicket(crmcore.TicketInput{Subject: "next"}, s.sla, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.CreateTicket(ctx, "", nt)
	if err != nil || got.Number != "T-1044" {
		t.Fatalf("next ticket = %q, %v; want T-1044", got.Number, err)
	}
	// Login works with the demo credentials.
	auth := crmcore.NewAuth(s, s)
	for login, pw := range map[string]string{"alice": "demo", "sam": "demo", "admin": "admin"} {
		if _, _, _, err := auth.Login(ctx, login, pw, ""); err != nil {
			t.Errorf("login %s: %v", login, err)
		}
	}
	agents, err := s.ListAgents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range agents {
		if want := crmcore.ComputeSIPHA1(a.Login, DefaultSIPRealm, DemoSIPSecret); a.SIPUsername != a.Login || a.SIPHA1 != want || a.SIPSecret != "" {
			t.Errorf("agent %s SIP = %q/%+v, want %+v and no secret", a.Login, a.SIPUsername, a.SIPHA1, want)
		}
		if a.Role == crmcore.RoleAgent && len(a.Skills) == 0 {
			t.Errorf("agent %s has no skills", a.Login)
		}
	}
}

func TestContactsCRUDAndConflicts(t *testing.T) {
	ctx := context.Background()
	s := New(newPool(t))
	c, err := crmcore.NewContact(crmcore.ContactInput{Name: "Ana García", Emails: []string{"ana@example.com"},
		Phones: []crmcore.PhoneInput{{Number: "912 34 56 78"}}, Tags: []string{"vip"}}, "ES")
	if err != nil {
		t.Fatal(err)
	}
	c, err = s.CreateContact(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.GetContact(ctx, c.ID)
	if err != nil || got.Phones[0].E164 != "+34912345678" || got.TimeZone != "Europe/Madrid" {
		t.Fatalf("get = %+v, %v", got, err)
	}
	dup, _ := crmcore.NewContact(crmcore.ContactInput{Name: "Other", Phones: []crmcore.PhoneInput{{Number: "+34912345678"}}}, "")
	if _, err := s.CreateContact(ctx, dup); !errors.Is(err, crmcore.ErrConflict) {
		t.Fatalf("duplicate phone: %v, want ErrConflict", err)
	}
	for name, q := range map[string]crmcore.ContactQuery{
		"text": {Text: "garc"}, "phone": {Phone: "+34912345678"}, "email": {Email: "ANA@example.com"}, "tag": {Tag: "vip"},
	} {
		cs, err := s.SearchContacts(ctx, q)
		if err != nil || len(cs) != 1 || cs[0].ID != c.ID {
			t.Errorf("search %s = %d results, %v", name, len(cs), err)
		}
	}
	if cs, _ := s.SearchContacts(ctx, crmcore.ContactQuery{Text: "%"}); len(cs) != 0 {
		t.Errorf("LIKE wildcard not escaped: %d results", len(cs))
	}
	in := got.Input()
	in.Name = "Ana María García"
	in.Phones = append(in.Phones, crmcore.PhoneInput{Number: "+34 612 34 56 01"})
	upd, err := crmcore.NewContact(in, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateContact(ctx, c.ID, upd); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetContact(ctx, c.ID)
	if got.Name != "Ana María García" || len(got.Phones) != 2 {
		t.Fatalf("after update = %+v", got)
	}
	if err := s.DeleteContact(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetContact(ctx, c.ID); !errors.Is(err, crmcore.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}

func TestTicketLifecycleAndAudit(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	if _, err := Seed(ctx, pool, WithPasswordCost(bcrypt.MinCost)); err != nil {
		t.Fatal(err)
	}
	s := New(pool)
	alice, _ := s.AgentByLogin(ctx, "alice")
	c, _ := s.SearchContacts(ctx, crmcore.ContactQuery{Phone: "+14155550100"})
	nt, err := crmcore.NewTicket(crmcore.TicketInput{Subject: "Headset broken", RequesterID: c[0].ID, Priority: crmcore.PriorityUrgent}, s.sla, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tk, err := s.CreateTicket(ctx, alice.ID, nt)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := crmcore.ParseTicketNumber(tk.Number)
	for _, st := range []crmcore.TicketStatus{crmcore.StatusOpen, crmcore.StatusPending, crmcore.StatusSolved, crmcore.StatusOpen, crmcore.StatusSolved, crmcore.StatusClosed} {
		if tk, err = s.TransitionTicket(ctx, alice.ID, n, st); err != nil {
			t.Fatalf("→ %s: %v", st, err)
		}
	}
	_, err = s.TransitionTicket(ctx, alice.ID, n, crmcore.StatusOpen)
	var te *crmcore.TransitionError
	if !errors.As(err, &te) || te.From != crmcore.StatusClosed {
		t.Fatalf("closed → open: %v", err)
	}
	// A DB-level CHECK refuses an impossible status even if code had a bug.
	if _, err := pool.Exec(ctx, `update tickets set status='reopened' where number=$1`, n); err == nil {
		t.Fatal("CHECK constraint did not refuse status 'reopened'")
	}
	if _, err := s.AddComment(ctx, n, crmcore.Comment{AuthorID: alice.ID, Body: "Sent a new headset", Public: true}); err != nil {
		t.Fatal(err)
	}
	au, err := s.Audit(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	// created + 6 transitions + comment
	if len(au) != 8 || au[0].Action != "created" || au[6].New != "closed" || au[7].Action != "comment" {
		t.Fatalf("audit = %+v", au)
	}
	if _, err := pool.Exec(ctx, `delete from ticket_audit`); err == nil {
		t.Fatal("audit trail is not append-only")
	}
	prio := crmcore.PriorityLow
	if _, err := s.UpdateTicket(ctx, alice.ID, 1042, crmcore.TicketPatch{Priority: &prio}); err != nil {
		t.Fatal(err)
	}
	bad := "00000000-0000-4000-8000-000000000000"
	if _, err := s.UpdateTicket(ctx, alice.ID, 1042, crmcore.TicketPatch{AssigneeID: &bad}); !errors.Is(err, crmcore.ErrInvalid) {
		t.Fatalf("unknown assignee: %v, want ErrInvalid", err)
	}
	list, err := s.ListTickets(ctx, crmcore.TicketFilter{Status: []crmcore.TicketStatus{crmcore.StatusOpen}, AssigneeID: alice.ID})
	if err != nil || len(list) == 0 {
		t.Fatalf("list = %d, %v", len(list), err)
	}
	for _, tk := range list {
		if tk.Status != crmcore.StatusOpen || tk.AssigneeID != alice.ID {
			t.Errorf("filter leak: %+v", tk)
		}
	}
	yes := true
	br, err := s.ListTickets(ctx, crmcore.TicketFilter{Breached: &yes})
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range br {
		if !tk.FirstResponseBreached && !tk.ResolutionBreached {
			t.Errorf("%s listed as breached but flags are false", tk.Number)
		}
	}
}

func TestLookupByPhone(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	if _, err := Seed(ctx, pool, WithPasswordCost(bcrypt.MinCost)); err != nil {
		t.Fatal(err)
	}
	s := New(pool)
	t.Run("unknown", func(t *testing.T) {
		res, err := s.LookupByPhone(ctx, "+14155559999")
		if err != nil {
			t.Fatal(err)
		}
		if res.Known || res.Contact != nil || len(res.OpenTickets) != 0 || len(res.Recent) != 0 || res.LastAgent != nil {
			t.Fatalf("unknown caller = %+v", res)
		}
		if res.Phone.Country != "US" || res.Phone.TimeZone != "America/Los_Angeles" {
			t.Errorf("phone info = %+v", res.Phone)
		}
	})
	t.Run("known", func(t *testing.T) {
		res, err := s.LookupByPhone(ctx, "+14155550100")
		if err != nil {
			t.Fatal(err)
		}
		if !res.Known || res.Contact.Name != "Olivia Smith" || res.Account == nil || res.Account.Name != "Acme Corp" {
			t.Fatalf("known caller = %+v", res)
		}
		found := false
		for _, tk := range res.OpenTickets {
			found = found || tk.Number == "T-1042"
		}
		if !found {
			t.Errorf("open tickets %+v lack T-1042", res.OpenTickets)
		}
		if len(res.Recent) == 0 || res.LastAgent == nil || res.LastAgent.Login != "alice" {
			t.Errorf("recent=%d last agent=%+v", len(res.Recent), res.LastAgent)
		}
	})
}

func TestSessions(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	if _, err := Seed(ctx, pool, WithPasswordCost(bcrypt.MinCost)); err != nil {
		t.Fatal(err)
	}
	s := New(pool)
	now := time.Now()
	auth := crmcore.NewAuth(s, s, crmcore.WithClock(func() time.Time { return now }))
	tok, _, _, err := auth.Login(ctx, "bob", "demo", "")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	pool.QueryRow(ctx, `select count(*) from sessions where token_hash = $1`, []byte(tok)).Scan(&n)
	if n != 0 {
		t.Fatal("token stored in clear")
	}
	if p, err := auth.Verify(ctx, tok); err != nil || p.Login != "bob" {
		t.Fatalf("verify = %+v, %v", p, err)
	}
	now = now.Add(crmcore.DefaultSessionTTL + time.Minute)
	if _, err := auth.Verify(ctx, tok); !errors.Is(err, crmcore.ErrUnauthenticated) {
		t.Fatalf("expired: %v", err)
	}
	if k, err := s.PurgeSessions(ctx, now); err != nil || k != 1 {
		t.Fatalf("purge = %d, %v", k, err)
	}
}

// TestOpenTicketsByPhoneUsesIndex: the screen pop's open-tickets query
// reads a handful of pages whatever the size of the help desk — for a
// number no contact owns (most callers of a busy line) and for a contact
// with thousands of open tickets. Before migration 003 the first walked
// every ticket (5,000 here: hundreds of pages). Pages, not time: what the
// plan does, not how fast this machine is.
func TestOpenTicketsByPhoneUsesIndex(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	if _, err := Seed(ctx, pool, WithPasswordCost(bcrypt.MinCost)); err != nil {
		t.Fatal(err)
	}
	const known = "+14155550100"
	if _, err := pool.Exec(ctx, `insert into tickets (id, subject, requester_id)
		select gen_random_uuid(), 'ticket ' || g, (select contact_id from contact_phones where e164 = $1)
		from generate_series(1, 5000) g`, known); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `analyze tickets`); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		e164 string
		rows int
	}{{"+14155559999", 0}, {known, 20}} {
		var plan []struct {
			Plan struct {
				Rows int `json:"Actual Rows"`
				Hit  int `json:"Shared Hit Blocks"`
				Read int `json:"Shared Read Blocks"`
			}
		}
		if err := pool.QueryRow(ctx, `explain (analyze, buffers, format json) `+openTicketsByPhone, tc.e164).Scan(&plan); err != nil {
			t.Fatal(err)
		}
		if len(plan) != 1 {
			t.Fatalf("%s: plan %+v", tc.e164, plan)
		}
		p := plan[0].Plan
		if p.Rows != tc.rows || p.Hit+p.Read > 40 {
			t.Errorf("%s: %d rows from %d pages, want %d rows from at most 40 pages", tc.e164, p.Rows, p.Hit+p.Read, tc.rows)
		}
	}
}
