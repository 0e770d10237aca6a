package pgstore

import (
	"context"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/tern/v2/migrate"

	"switchboard/crmcore"
	"switchboard/crmcore/pgcluster/pgtest"
)

func TestRegistrations(t *testing.T) {
	ctx := context.Background()
	s := New(newPool(t))
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	alice := []Registration{
		{User: "alice", Contact: "sip:alice@10.0.0.1:5060", Source: "10.0.0.1:5060", Expires: now.Add(time.Hour)},
		{User: "alice", Contact: "sip:alice@10.0.0.2:5060;transport=tcp", Source: "10.0.0.2:40000", Expires: now.Add(time.Minute),
			Path: []string{"sip:192.0.2.10:5060;lr;received=sip:203.0.113.5%3A40000", "sip:198.51.100.1;lr"}},
	}
	if err := s.SetRegistrations(ctx, "alice", alice); err != nil {
		t.Fatal(err)
	}
	bob := []Registration{{User: "bob", Contact: "sip:bob@10.0.0.3", Source: "10.0.0.3:5060", Expires: now.Add(time.Second)}}
	if err := s.SetRegistrations(ctx, "bob", bob); err != nil {
		t.Fatal(err)
	}
	got, err := s.Registrations(ctx, "alice", now)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(alice, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("alice (-want +got):\n%s", diff)
	}
	// Expired bindings are not returned, and are purged.
	if got, _ := s.Registrations(ctx, "alice", now.Add(2*time.Minute)); len(got) != 1 {
		t.Errorf("after 2 min: %d registrations, want 1", len(got))
	}
	n, err := s.PurgeRegistrations(ctx, now.Add(2*time.Minute))
	if err != nil || n != 1 {
		t.Errorf("purge: %d remain, %v; want 1", n, err)
	}
	// Replacing with none removes them.
	if err := s.SetRegistrations(ctx, "alice", nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Registrations(ctx, "alice", now); len(got) != 0 {
		t.Errorf("after removal: %+v", got)
	}
}

// TestAgentSIPHA1: the store keeps the SIP secret only as its HA1 hashes
// for its realm; an update without a secret keeps them unless the SIP
// username changes (they name it), and a new secret replaces them.
func TestAgentSIPHA1(t *testing.T) {
	ctx := context.Background()
	s := New(newPool(t), WithSIPRealm("pbx.example"))
	in := crmcore.AgentInput{Login: "zoe", Name: "Zoe", Password: "pw12345", SIPUsername: "zoe", SIPSecret: "s3cret"}
	a, err := crmcore.NewAgent(in, true)
	if err != nil {
		t.Fatal(err)
	}
	a, err = s.CreateAgent(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, want crmcore.SIPHA1) {
		t.Helper()
		got, err := s.AgentBySIPUsername(ctx, "zoe")
		if err != nil {
			got, err = s.GetAgent(ctx, a.ID)
		}
		if err != nil {
			t.Fatal(err)
		}
		if got.SIPHA1 != want || got.SIPSecret != "" {
			t.Errorf("%s: SIPHA1 %+v secret %q, want %+v and no secret", what, got.SIPHA1, got.SIPSecret, want)
		}
	}
	check("created", crmcore.ComputeSIPHA1("zoe", "pbx.example", "s3cret"))
	var stored string
	if err := s.pool.QueryRow(ctx, `select row_to_json(a)::text from agents a where id=$1`, a.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored == "" || strings.Contains(stored, "s3cret") {
		t.Errorf("the agent row holds the SIP secret: %s", stored)
	}

	in.Password, in.SIPSecret = "", ""
	upd, _ := crmcore.NewAgent(in, false)
	if _, err := s.UpdateAgent(ctx, a.ID, upd); err != nil {
		t.Fatal(err)
	}
	check("updated without a secret", crmcore.ComputeSIPHA1("zoe", "pbx.example", "s3cret"))

	in.SIPSecret = "n3w"
	upd, _ = crmcore.NewAgent(in, false)
	if _, err := s.UpdateAgent(ctx, a.ID, upd); err != nil {
		t.Fatal(err)
	}
	check("new secret", crmcore.ComputeSIPHA1("zoe", "pbx.example", "n3w"))

	in.SIPUsername, in.SIPSecret = "zoe2", ""
	upd, _ = crmcore.NewAgent(in, false)
	if _, err := s.UpdateAgent(ctx, a.ID, upd); err != nil {
		t.Fatal(err)
	}
	check("renamed without a secret", crmcore.SIPHA1{})
}

// TestMigrateHashesSIPSecrets: SIP secrets stored in plain text by the
// schema before 004 are replaced by their HA1 hashes for the configured
// realm (computed in SQL as crmcore computes them), and the column is gone.
func TestMigrateHashesSIPSecrets(t *testing.T) {
	ctx := context.Background()
	pool, err := Connect(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	const realm = "o'realm"
	// The schema before 004, with a plain-text secret.
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m, err := migrate.NewMigrator(ctx, conn.Conn(), VersionTable)
	if err == nil {
		m.Data["sip_realm"] = realm
		sub, _ := fs.Sub(migrationFS, "migrations")
		if err = m.LoadMigrations(sub); err == nil {
			err = m.MigrateTo(ctx, 3)
		}
	}
	conn.Release()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `insert into agents (id, login, name, role, password_hash, sip_username, sip_secret)
		values (gen_random_uuid(), 'amy', 'Amy', 'agent', '$2a$x', 'amy', 'pässword'),
		       (gen_random_uuid(), 'ben', 'Ben', 'agent', '$2a$x', null, '')`); err != nil {
		t.Fatal(err)
	}
	if err := Migrate(ctx, pool, WithMigrateSIPRealm(realm)); err != nil {
		t.Fatal(err)
	}
	s := New(pool, WithSIPRealm(realm))
	amy, err := s.AgentByLogin(ctx, "amy")
	if err != nil {
		t.Fatal(err)
	}
	if want := crmcore.ComputeSIPHA1("amy", realm, "pässword"); amy.SIPHA1 != want {
		t.Errorf("amy: %+v, want %+v", amy.SIPHA1, want)
	}
	if ben, err := s.AgentByLogin(ctx, "ben"); err != nil || ben.SIPHA1 != (crmcore.SIPHA1{}) {
		t.Errorf("ben: %+v, %v; want no hashes", ben.SIPHA1, err)
	}
	var n int
	if err := pool.QueryRow(ctx, `select count(*) from information_schema.columns where table_name='agents' and column_name='sip_secret'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("sip_secret column still there (%d, %v)", n, err)
	}
}
