package pgstore

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"switchboard/crmcore"
)

// TestCopyEncodingMatchesPgx writes the same interactions twice, once with
// the hand-written binary COPY encoding and once through pgx's generic
// encoder, and checks that the stored rows are identical column by column.
func TestCopyEncodingMatchesPgx(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	score0, score10 := 0, 10
	at := func(s string) *time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return &v
	}
	full := testInteraction(1, crmcore.NewID(), crmcore.NewID())
	full.TicketID = crmcore.NewID()
	full.OfferedAt = at("2026-03-02T10:00:12.123456789+02:00")
	full.Hold, full.WrapUp = 7*time.Second, 1500*time.Millisecond
	full.SurveyScore = &score10
	full.Survey = map[string]int{"nps": 9, "csat": 4, "first_call": 0}
	full.Recording, full.Disposition = "rec/1.wav", "refund"
	full.Notes = "line 1\nline 2\t\"quoted\" \\ back ünïcödé 📞"
	full.IVRPath = []crmcore.IVRStep{{Node: "menu", Digits: "2"}, {Node: "lang \"fr\"", Digits: ""}, {Node: "<&>"},
		{Node: "back\\slash\ttab\x01\u2028", Digits: "#*"}, {Node: "bad \xff utf-8"},
		{Node: "main_menu", Speech: "talk to a person", Confidence: 0.85}, {Node: "m", Speech: "x", Confidence: 1}, {Node: "n", Confidence: 0.123456789}}
	full.RoutingReasons = []string{"skill support", "", "ünï", `a,b{"c"}`}
	full.Parties = []crmcore.InteractionParty{{AgentID: crmcore.NewID(), Role: crmcore.PartyAgent, Joined: *at("2026-03-02T10:00:12Z"),
		Left: *at("2026-03-02T10:01:00.5Z")}, {Number: "+14155550100", Role: crmcore.PartyConference, Joined: *at("2026-03-02T10:00:40Z")}}
	full.Holds = []crmcore.InteractionHold{{AgentID: crmcore.NewID(), From: *at("2026-03-02T10:00:20Z"), To: *at("2026-03-02T10:00:40Z")}}
	full.Direction, full.Campaign, full.CampaignResult = crmcore.Outbound, "spring-2026", "connected"
	bare := crmcore.Interaction{ID: crmcore.NewID(), Direction: crmcore.Outbound, Channel: crmcore.ChannelWeb,
		ArrivedAt: *at("1999-12-31T23:59:59.999999Z"), Outcome: crmcore.OutcomeFailed}
	zeroScore := testInteraction(3, "", "")
	zeroScore.SurveyScore = &score0
	zeroScore.ArrivedAt = *at("2000-01-01T00:00:00Z")
	ins := []crmcore.Interaction{full, bare, zeroScore}
	for i := range ins {
		normalizeInteraction(&ins[i])
	}

	// appendIVRPath writes IVRStep's fields by hand.
	if n := reflect.TypeOf(crmcore.IVRStep{}).NumField(); n != 4 {
		t.Fatalf("crmcore.IVRStep has %d fields: teach appendIVRPath (and the journal codec) the new ones", n)
	}

	for _, table := range []string{"enc_hand", "enc_pgx"} {
		if _, err := pool.Exec(ctx, "create table "+table+" (like interactions including defaults)"); err != nil {
			t.Fatal(err)
		}
	}
	var rows []byte
	var ref [][]any
	for i := range ins {
		rows = appendInteractionRow(rows, &ins[i], refCleared{}, "node-a")
		ref = append(ref, interactionRow(&ins[i], "node-a"))
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	tag, err := conn.Conn().PgConn().CopyFrom(ctx, copyStream(rows), copySQL("enc_hand"))
	if err != nil {
		t.Fatal(err)
	}
	if tag.RowsAffected() != int64(len(ins)) {
		t.Fatalf("copied %d rows, want %d", tag.RowsAffected(), len(ins))
	}
	if _, err := conn.Conn().CopyFrom(ctx, pgx.Identifier{"enc_pgx"}, interactionCopyCols, pgx.CopyFromRows(ref)); err != nil {
		t.Fatal(err)
	}
	for _, col := range interactionCopyCols {
		var diff int
		err := conn.QueryRow(ctx, `select count(*) from enc_hand h full join enc_pgx p on h.id = p.id
			where h.`+col+` is distinct from p.`+col).Scan(&diff)
		if err != nil {
			t.Fatal(err)
		}
		if diff != 0 {
			t.Errorf("column %s: %d rows differ", col, diff)
		}
	}

	// Cleared references are written as NULL.
	if _, err := conn.Exec(ctx, "truncate enc_hand"); err != nil {
		t.Fatal(err)
	}
	rows = appendInteractionRow(nil, &ins[0], refCleared{contact: true, agent: true, ticket: true}, "")
	if _, err := conn.Conn().PgConn().CopyFrom(ctx, copyStream(rows), copySQL("enc_hand")); err != nil {
		t.Fatal(err)
	}
	var refs int
	if err := conn.QueryRow(ctx, `select count(contact_id) + count(agent_id) + count(ticket_id) from enc_hand`).Scan(&refs); err != nil {
		t.Fatal(err)
	}
	if refs != 0 {
		t.Errorf("cleared references stored: %d", refs)
	}
}

func TestParseUUID(t *testing.T) {
	for _, tc := range []struct {
		in    string
		valid bool
	}{
		{"0190a5c4-1b2c-7d3e-8f40-123456789abc", true},
		{"0190A5C4-1B2C-7D3E-8F40-123456789ABC", true},
		{"00000000-0000-0000-0000-000000000000", true},
		{"", false},
		{"0190a5c4-1b2c-7d3e-8f40-123456789ab", false},
		{"0190a5c4x1b2c-7d3e-8f40-123456789abc", false},
		{"0190a5c4-1b2c-7d3e-8f40-123456789abg", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got := parseUUID(tc.in)
			if got.Valid != tc.valid {
				t.Fatalf("valid = %v, want %v", got.Valid, tc.valid)
			}
			if got.Valid {
				if s := got.String(); s != strings.ToLower(tc.in) {
					t.Errorf("round trip = %s, want %s", s, strings.ToLower(tc.in))
				}
			}
		})
	}
}
