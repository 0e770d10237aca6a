package pgstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5/pgxpool"

	"switchboard/crmcore"
)

// reportDay is the fixtures' day (UTC).
var reportDay = time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)

func at(h, m, s int) time.Time { return reportDay.Add(time.Duration(h*3600+m*60+s) * time.Second) }

func tp(t time.Time) *time.Time { return &t }

// reportAgents creates n agents and returns their ids.
func reportAgents(t testing.TB, s *Store, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		a, err := s.CreateAgent(context.Background(), crmcore.Agent{Login: fmt.Sprintf("rep%d", i), Name: fmt.Sprintf("Rep %d", i),
			Role: crmcore.RoleAgent, Active: true, Languages: []string{"en"},
			PasswordHash: "$2a$04$" + strings.Repeat("x", 53)})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = a.ID
	}
	return ids
}

// contact is a completed interaction queued at q, answered after wait
// (never when answered is false), ended at end.
func contact(queue string, ch crmcore.Channel, agent string, q time.Time, wait time.Duration, answered bool,
	end time.Time, outcome crmcore.Outcome) crmcore.Interaction {
	in := crmcore.Interaction{ID: crmcore.NewID(), CallID: "c", Direction: crmcore.Inbound, Channel: ch,
		Queue: queue, AgentID: agent, ArrivedAt: q.Add(-5 * time.Second), QueuedAt: tp(q), EndedAt: tp(end),
		Outcome: outcome}
	if answered {
		in.OfferedAt, in.AnsweredAt = tp(q.Add(wait-2*time.Second)), tp(q.Add(wait))
	}
	return in
}

func ev(kind crmcore.AgentEventKind, agent string, t time.Time) crmcore.AgentEvent {
	return crmcore.AgentEvent{ID: crmcore.NewID(), At: t, Kind: kind, AgentID: agent, Node: "n1"}
}

func presence(agent string, t time.Time, p, reason string) crmcore.AgentEvent {
	e := ev(crmcore.AgentEventPresence, agent, t)
	e.Presence, e.Reason = p, reason
	return e
}

func state(agent string, t time.Time, st string) crmcore.AgentEvent {
	e := ev(crmcore.AgentEventState, agent, t)
	e.State = st
	return e
}

func offer(kind crmcore.AgentEventKind, agent string, t time.Time) crmcore.AgentEvent {
	e := ev(kind, agent, t)
	e.Queue, e.Channel = "support", "phone"
	return e
}

// writeFixture writes the small day whose figures TestReportFixture
// computes by hand.
func writeFixture(t *testing.T, pool *pgxpool.Pool, a, b string) {
	t.Helper()
	ctx := context.Background()
	w, err := NewWriter(pool, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	csat4, csat5 := 4, 5
	c1 := contact("support", crmcore.ChannelPhone, a, at(10, 0, 0), 10*time.Second, true, at(10, 5, 10), crmcore.OutcomeAnswered)
	c1.Hold, c1.WrapUp, c1.Disposition = 30*time.Second, 60*time.Second, "Resolved"
	c1.Survey, c1.SurveyScore = map[string]int{"csat": 4, "nps": 10}, &csat4
	c2 := contact("support", crmcore.ChannelPhone, a, at(10, 1, 0), 30*time.Second, true, at(10, 3, 30), crmcore.OutcomeTransferred)
	c2.WrapUp, c2.Survey = 20*time.Second, map[string]int{"nps": 5}
	c3 := contact("support", crmcore.ChannelPhone, "", at(10, 2, 0), 0, false, at(10, 2, 3), crmcore.OutcomeAbandoned)
	c4 := contact("support", crmcore.ChannelPhone, "", at(10, 3, 0), 0, false, at(10, 4, 0), crmcore.OutcomeAbandoned)
	c5 := contact("sales", crmcore.ChannelChat, b, at(10, 20, 0), 25*time.Second, true, at(10, 30, 25), crmcore.OutcomeAnswered)
	c5.Disposition, c5.Survey, c5.SurveyScore = "callback", map[string]int{"csat": 5}, &csat5
	c6 := contact("sales", crmcore.ChannelChat, "", at(10, 21, 0), 0, false, at(10, 21, 8), crmcore.OutcomeShortAbandon)
	open := contact("support", crmcore.ChannelPhone, "", at(10, 5, 0), 0, false, at(10, 5, 0), crmcore.OutcomeInProgress)
	open.EndedAt = nil
	late := contact("support", crmcore.ChannelPhone, "", reportDay.Add(24*time.Hour), 0, false, reportDay.Add(24*time.Hour+time.Minute), crmcore.OutcomeAbandoned)
	for _, in := range []crmcore.Interaction{c1, c2, c3, c4, c5, c6, open, late} {
		if err := w.Write(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	login := func(agent string, t time.Time, p, reason string) crmcore.AgentEvent {
		e := presence(agent, t, p, reason)
		e.Kind = crmcore.AgentEventLogin
		return e
	}
	evs := []crmcore.AgentEvent{
		login(a, at(9, 0, 0), crmcore.AgentPresenceReady, ""),
		state(a, at(10, 0, 5), crmcore.AgentStateReserved),
		offer(crmcore.AgentEventOffered, a, at(10, 0, 5)),
		state(a, at(10, 0, 10), crmcore.AgentStateOnCall),
		state(a, at(10, 5, 10), crmcore.AgentStateWrapUp),
		state(a, at(10, 6, 10), crmcore.AgentStateIdle),
		offer(crmcore.AgentEventOffered, a, at(10, 7, 0)),
		state(a, at(10, 7, 0), crmcore.AgentStateReserved),
		offer(crmcore.AgentEventMissed, a, at(10, 7, 20)),
		state(a, at(10, 7, 20), crmcore.AgentStateIdle),
		presence(a, at(10, 30, 0), crmcore.AgentPresenceNotReady, "break"),
		presence(a, at(10, 45, 0), crmcore.AgentPresenceReady, ""),
		ev(crmcore.AgentEventLogout, a, at(11, 0, 0)),
		// B logs in the evening before, not ready, and is ready ten
		// minutes into the day.
		login(b, at(-1, 50, 0), crmcore.AgentPresenceNotReady, "login"),
		presence(b, at(0, 10, 0), crmcore.AgentPresenceReady, ""),
		ev(crmcore.AgentEventLogout, b, at(1, 0, 0)),
	}
	if err := w.WriteEvents(ctx, evs...); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func f(v float64) *float64 { return &v }

// TestReportFixture checks every measure and figure against a small day
// computed by hand, in UTC and in a zone 5:30 ahead of it.
func TestReportFixture(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	s := New(pool)
	ids := reportAgents(t, s, 2)
	a, b := ids[0], ids[1]
	if err := s.SetReportThresholds(ctx, "sales", 30*time.Second, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	writeFixture(t, pool, a, b)
	if err := s.RollUp(ctx, reportDay.Add(-24*time.Hour), reportDay.Add(48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	day := func(by string, tz *time.Location) []crmcore.ReportRow {
		t.Helper()
		from := time.Date(2025, 3, 3, 0, 0, 0, 0, tz)
		rows, err := s.IntervalReport(ctx, crmcore.ReportQuery{From: from, To: from.AddDate(0, 0, 1), TZ: tz,
			Group: crmcore.GroupDay, By: by})
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	opt := cmpopts.EquateApprox(0, 1e-9)

	queues := day(crmcore.ByQueue, time.UTC)
	want := []crmcore.ReportRow{
		{Period: reportDay, Key: "sales", Sums: crmcore.ReportSums{Offered: 2, Answered: 1, AbandonedShort: 1,
			AnsweredWithinSL: 1, SumWaitMS: 25000, SumTalkMS: 600000, Handled: 1, CSATSum: 5, CSATN: 1}},
		{Period: reportDay, Key: "support", Sums: crmcore.ReportSums{Offered: 4, Answered: 2, AbandonedShort: 1,
			AbandonedLong: 1, AnsweredWithinSL: 1, SumWaitMS: 40000, SumTalkMS: 390000, SumHoldMS: 30000,
			SumWrapMS: 80000, Handled: 2, Transfers: 1, FCRResolved: 1, CSATSum: 4, CSATN: 1, NPSPromoters: 1,
			NPSDetractors: 1, NPSN: 2}},
	}
	for i := range want {
		want[i].Sums.NotReadyMS = map[string]int64{}
		want[i].Figures = want[i].Sums.Figures()
	}
	if d := cmp.Diff(want, queues, opt); d != "" {
		t.Errorf("queues (-want +got):\n%s", d)
	}
	sup := want[1].Figures
	for _, c := range []struct {
		name      string
		got, want *float64
	}{
		{"service level", sup.ServiceLevel, f(0.25)},
		{"service level without short abandons", sup.ServiceLevelExShort, f(1.0 / 3)},
		{"service level of answered and long abandons", sup.ServiceLevelAnswered, f(1.0 / 3)},
		{"abandon rate", sup.AbandonRate, f(0.5)},
		{"ASA", sup.ASA, f(20)},
		{"AHT", sup.AHT, f(250)},
		{"talk", sup.AvgTalk, f(195)},
		{"FCR", sup.FCRRate, f(0.5)},
		{"CSAT", sup.CSAT, f(4)},
		{"NPS", sup.NPS, f(0)},
		{"sales service level without short abandons", want[0].Figures.ServiceLevelExShort, f(1)},
	} {
		if c.got == nil || *c.got-*c.want > 1e-9 || *c.want-*c.got > 1e-9 {
			t.Errorf("%s = %v, want %v", c.name, ptrStr(c.got), *c.want)
		}
	}
	if sup.Occupancy != nil || sup.Utilisation != nil {
		t.Errorf("a queue has no occupancy: %v %v", ptrStr(sup.Occupancy), ptrStr(sup.Utilisation))
	}

	agents := day(crmcore.ByAgent, time.UTC)
	if len(agents) != 2 {
		t.Fatalf("agent rows = %+v", agents)
	}
	byKey := map[string]crmcore.ReportSums{agents[0].Key: agents[0].Sums, agents[1].Key: agents[1].Sums}
	wantA := crmcore.ReportSums{Offered: 2, Missed: 1, Answered: 2, AnsweredWithinSL: 1, SumWaitMS: 40000,
		SumTalkMS: 390000, SumHoldMS: 30000, SumWrapMS: 80000, Handled: 2, Transfers: 1, FCRResolved: 1, CSATSum: 4,
		CSATN: 1, NPSPromoters: 1, NPSDetractors: 1, NPSN: 2, LoginMS: 7200_000, ReadyMS: 5940_000, BusyMS: 360_000,
		NotReadyMS: map[string]int64{"break": 900_000}}
	if d := cmp.Diff(wantA, byKey[a]); d != "" {
		t.Errorf("agent A (-want +got):\n%s", d)
	}
	wantB := crmcore.ReportSums{Answered: 1, AnsweredWithinSL: 1, SumWaitMS: 25000, SumTalkMS: 600000, Handled: 1,
		CSATSum: 5, CSATN: 1, LoginMS: 3600_000, ReadyMS: 3000_000, NotReadyMS: map[string]int64{"login": 600_000}}
	if d := cmp.Diff(wantB, byKey[b]); d != "" {
		t.Errorf("agent B (-want +got):\n%s", d)
	}
	fa := wantA.Figures()
	if *fa.Utilisation != 0.05 || *fa.Occupancy != 360.0/6300 {
		t.Errorf("A utilisation %v occupancy %v", *fa.Utilisation, *fa.Occupancy)
	}

	// In Asia/Kolkata (UTC+5:30) the day starts at 18:30 UTC the day
	// before: B's evening login falls into it.
	ist, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range day(crmcore.ByAgent, ist) {
		if r.Key != b {
			continue
		}
		if !r.Period.Equal(time.Date(2025, 3, 3, 0, 0, 0, 0, ist)) || r.Sums.LoginMS != 4200_000 ||
			r.Sums.NotReadyMS["login"] != 1200_000 {
			t.Errorf("B in IST: period %v login %d not ready %v", r.Period, r.Sums.LoginMS, r.Sums.NotReadyMS)
		}
	}

	// One agent's day, from the hour rows and from the intervals: the
	// not-ready times are that agent's only.
	for _, tz := range []*time.Location{time.UTC, ist} {
		from := time.Date(2025, 3, 3, 0, 0, 0, 0, tz)
		rows, err := s.IntervalReport(ctx, crmcore.ReportQuery{From: from, To: from.AddDate(0, 0, 1), TZ: tz,
			Group: crmcore.GroupDay, By: crmcore.ByAgent, Agents: []string{a}})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0].Key != a || !cmp.Equal(rows[0].Sums.NotReadyMS, map[string]int64{"break": 900_000}) {
			t.Errorf("A's day in %v = %+v", tz, rows)
		}
	}

	// Queues seen through one agent: their contacts and offers, not
	// their times.
	rows, err := s.IntervalReport(ctx, crmcore.ReportQuery{From: reportDay, To: reportDay.AddDate(0, 0, 1),
		Group: crmcore.GroupDay, By: crmcore.ByQueue, Agents: []string{a}})
	if err != nil || len(rows) != 1 || rows[0].Key != "support" || rows[0].Sums.Offered != 2 || rows[0].Sums.Answered != 2 ||
		rows[0].Sums.LoginMS != 0 {
		t.Errorf("A's queues = %+v, %v", rows, err)
	}

	// A zone the database does not know is the caller's mistake.
	_, err = s.IntervalReport(ctx, crmcore.ReportQuery{From: reportDay, To: reportDay.AddDate(0, 0, 1),
		TZ: time.FixedZone("Nowhere/Land", 3600), Group: crmcore.GroupDay, By: crmcore.ByQueue})
	if !errors.Is(err, crmcore.ErrInvalid) {
		t.Errorf("unknown zone: %v", err)
	}

	// The 15-minute intervals of A's morning: 10:00 holds the first call.
	rows, err = s.IntervalReport(ctx, crmcore.ReportQuery{From: at(10, 0, 0), To: at(10, 15, 0),
		Group: crmcore.GroupInterval, By: crmcore.ByAgent, Agents: []string{a}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Sums.LoginMS != 900_000 || rows[0].Sums.BusyMS != 360_000 || rows[0].Sums.ReadyMS != 540_000 {
		t.Errorf("A at 10:00 = %+v", rows)
	}
}

func ptrStr(p *float64) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

// TestRollUpRecomputes writes a random day of events and contacts and
// checks that rolling it up again, rolling it up hour by hour after
// deleting the rows, and grouping its intervals by day all give the same
// figures.
func TestRollUpRecomputes(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	s := New(pool)
	agents := reportAgents(t, s, 12)
	w, err := NewWriter(pool, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 9))
	var evs []crmcore.AgentEvent
	for _, a := range agents {
		ts := reportDay.Add(time.Duration(rng.IntN(4*3600)) * time.Second)
		e := presence(a, ts, crmcore.AgentPresenceReady, "")
		e.Kind = crmcore.AgentEventLogin
		evs = append(evs, e)
		for ts.Before(reportDay.Add(22 * time.Hour)) {
			ts = ts.Add(time.Duration(30+rng.IntN(900)) * time.Second)
			switch rng.IntN(5) {
			case 0:
				evs = append(evs, presence(a, ts, crmcore.AgentPresenceNotReady, []string{"break", "lunch", "training"}[rng.IntN(3)]))
			case 1:
				evs = append(evs, presence(a, ts, crmcore.AgentPresenceReady, ""))
			default:
				evs = append(evs, offer(crmcore.AgentEventOffered, a, ts), state(a, ts, crmcore.AgentStateOnCall))
				ts = ts.Add(time.Duration(60+rng.IntN(600)) * time.Second)
				evs = append(evs, state(a, ts, crmcore.AgentStateWrapUp))
				ts = ts.Add(time.Duration(rng.IntN(120)) * time.Second)
				evs = append(evs, state(a, ts, crmcore.AgentStateIdle))
			}
		}
		evs = append(evs, ev(crmcore.AgentEventLogout, a, ts.Add(time.Minute)))
	}
	if err := w.WriteEvents(ctx, evs...); err != nil {
		t.Fatal(err)
	}
	for i := range 600 {
		q := reportDay.Add(time.Duration(rng.IntN(86000)) * time.Second)
		wait := time.Duration(rng.IntN(90)) * time.Second
		queue := []string{"support", "sales", "billing"}[i%3]
		var in crmcore.Interaction
		if rng.IntN(5) == 0 {
			in = contact(queue, crmcore.ChannelPhone, "", q, 0, false, q.Add(wait), crmcore.OutcomeAbandoned)
		} else {
			in = contact(queue, crmcore.ChannelPhone, agents[rng.IntN(len(agents))], q, wait, true,
				q.Add(wait+time.Duration(30+rng.IntN(900))*time.Second), crmcore.OutcomeAnswered)
			in.Hold, in.WrapUp = time.Duration(rng.IntN(20))*time.Second, time.Duration(rng.IntN(60))*time.Second
			in.Survey = map[string]int{"csat": 1 + rng.IntN(5), "nps": rng.IntN(11)}
		}
		if err := w.Write(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}

	report := func(group, by string) []crmcore.ReportRow {
		t.Helper()
		rows, err := s.IntervalReport(ctx, crmcore.ReportQuery{From: reportDay, To: reportDay.Add(24 * time.Hour),
			Group: group, By: by})
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	all := func() [][]crmcore.ReportRow {
		var out [][]crmcore.ReportRow
		for _, by := range []string{crmcore.ByQueue, crmcore.ByAgent, crmcore.ByChannel} {
			for _, g := range []string{crmcore.GroupInterval, crmcore.GroupDay} {
				out = append(out, report(g, by))
			}
		}
		return out
	}
	if err := s.RollUp(ctx, reportDay, reportDay.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	first := all()
	if len(first[1]) != 3 || len(first[3]) != len(agents) || len(first[2]) < 24*len(agents) {
		t.Fatalf("rows: %d queue days, %d agent days, %d agent intervals", len(first[1]), len(first[3]), len(first[2]))
	}
	if err := s.RollUp(ctx, reportDay, reportDay.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(first, all()); d != "" {
		t.Errorf("second roll-up differs:\n%s", d)
	}
	if _, err := pool.Exec(ctx, "delete from report_intervals"); err != nil {
		t.Fatal(err)
	}
	for h := range 24 {
		if err := s.RollUp(ctx, reportDay.Add(time.Duration(h)*time.Hour), reportDay.Add(time.Duration(h+1)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if d := cmp.Diff(first, all()); d != "" {
		t.Errorf("hour-by-hour roll-up differs:\n%s", d)
	}
	// The day is the sum of its intervals.
	for i := 0; i < len(first); i += 2 {
		sums := map[string]*crmcore.ReportSums{}
		for _, r := range first[i] {
			if sums[r.Key] == nil {
				sums[r.Key] = &crmcore.ReportSums{NotReadyMS: map[string]int64{}}
			}
			sums[r.Key].Add(r.Sums)
		}
		for _, r := range first[i+1] {
			if d := cmp.Diff(r.Sums, *sums[r.Key], cmpopts.EquateEmpty()); d != "" {
				t.Errorf("day of %s differs from its intervals:\n%s", r.Key, d)
			}
		}
	}
}

// TestWholeHours: hour rows serve a zone only while its offset is a whole
// number of hours.
func TestWholeHours(t *testing.T) {
	from, to := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		zone string
		want bool
	}{{"UTC", true}, {"Europe/Paris", true}, {"America/New_York", true}, {"Asia/Kolkata", false},
		{"Asia/Kathmandu", false}, {"Australia/Lord_Howe", false}, {"Australia/Adelaide", false}} {
		loc, err := time.LoadLocation(c.zone)
		if err != nil {
			t.Fatal(err)
		}
		if got := wholeHours(loc, from, to); got != c.want {
			t.Errorf("%s: %v, want %v", c.zone, got, c.want)
		}
	}
}

// TestRollUpStopsAtNow: rolling up a range that reaches into the future
// counts a logged-in agent's time up to now, not to the range's end.
func TestRollUpStopsAtNow(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	s := New(pool)
	agent := reportAgents(t, s, 1)[0]
	w, err := NewWriter(pool, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	login := presence(agent, time.Now().Add(-time.Hour), crmcore.AgentPresenceReady, "")
	login.Kind = crmcore.AgentEventLogin
	if err := w.WriteEvents(ctx, login); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	from, to := time.Now().Add(-3*time.Hour), time.Now().Add(3*time.Hour)
	if err := s.RollUp(ctx, from, to); err != nil {
		t.Fatal(err)
	}
	rows, err := s.IntervalReport(ctx, crmcore.ReportQuery{From: from, To: to, Group: crmcore.GroupDay, By: crmcore.ByAgent})
	if err != nil {
		t.Fatal(err)
	}
	var loginMS int64
	for _, r := range rows {
		loginMS += r.Sums.LoginMS
	}
	if loginMS < 3600_000 || loginMS > 3600_000+5*60_000 {
		t.Errorf("login = %v, want about an hour", time.Duration(loginMS)*time.Millisecond)
	}
}

// TestInt8Value: report sums decode from either wire format, and a value
// of the wrong shape is an error.
func TestInt8Value(t *testing.T) {
	for _, c := range []struct {
		name   string
		format int16
		src    []byte
		want   int64
		ok     bool
	}{
		{"binary", 1, []byte{0, 0, 0, 0, 0, 0, 1, 2}, 258, true},
		{"binary negative", 1, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe}, -2, true},
		{"binary short", 1, []byte{1, 2}, 0, false},
		{"binary null", 1, nil, 0, false},
		{"text", 0, []byte("-1234567890123"), -1234567890123, true},
		{"text null", 0, nil, 0, false},
		{"text garbage", 0, []byte("12x"), 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := int8Value(c.format, c.src)
			if (err == nil) != c.ok || got != c.want {
				t.Errorf("int8Value = %d, %v; want %d, ok %v", got, err, c.want, c.ok)
			}
		})
	}
}
