package crmcore

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func fp(v float64) *float64 { return &v }

// TestReportFigures checks each formula on sums chosen so that every
// figure is a round number.
func TestReportFigures(t *testing.T) {
	s := ReportSums{Offered: 100, Answered: 80, AbandonedShort: 4, AbandonedLong: 16, AnsweredWithinSL: 60,
		SumWaitMS: 1_600_000, SumTalkMS: 12_000_000, SumHoldMS: 1_000_000, SumWrapMS: 3_000_000, Handled: 80,
		FCRResolved: 60, CSATSum: 320, CSATN: 80, NPSPromoters: 50, NPSDetractors: 10, NPSN: 80,
		LoginMS: 36_000_000, ReadyMS: 6_000_000, BusyMS: 24_000_000, NotReadyMS: map[string]int64{"break": 6_000_000}}
	want := ReportFigures{
		ServiceLevel: fp(0.6), ServiceLevelExShort: fp(0.625), ServiceLevelAnswered: fp(0.625), AbandonRate: fp(0.2),
		ASA: fp(20), AHT: fp(200), AvgTalk: fp(150), AvgHold: fp(12.5), AvgWrap: fp(37.5), Occupancy: fp(0.8),
		Utilisation: fp(24.0 / 36), FCRRate: fp(0.75), CSAT: fp(4), NPS: fp(50), LoginSeconds: 36000,
		NotReadySeconds: map[string]float64{"break": 6000},
	}
	if d := cmp.Diff(want, s.Figures()); d != "" {
		t.Errorf("figures (-want +got):\n%s", d)
	}
	empty := ReportSums{}.Figures()
	if empty.ServiceLevel != nil || empty.ASA != nil || empty.NPS != nil || empty.Occupancy != nil {
		t.Errorf("figures of nothing = %+v, want nil", empty)
	}
	var sum ReportSums
	sum.Add(s)
	sum.Add(s)
	if sum.Offered != 200 || sum.NotReadyMS["break"] != 12_000_000 || *sum.Figures().ServiceLevel != 0.6 {
		t.Errorf("sum of two = %+v", sum)
	}
}

func TestReportQueryValidate(t *testing.T) {
	from := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	ok := ReportQuery{From: from, To: from.AddDate(0, 1, 0), Group: GroupDay, By: ByQueue}
	for _, tc := range []struct {
		name   string
		change func(*ReportQuery)
		valid  bool
	}{
		{"valid", func(*ReportQuery) {}, true},
		{"no from", func(q *ReportQuery) { q.From = time.Time{} }, false},
		{"reversed", func(q *ReportQuery) { q.To = q.From.Add(-time.Hour) }, false},
		{"empty", func(q *ReportQuery) { q.To = q.From }, false},
		{"too long", func(q *ReportQuery) { q.To = q.From.AddDate(1, 2, 0) }, false},
		{"bad group", func(q *ReportQuery) { q.Group = "week" }, false},
		{"bad by", func(q *ReportQuery) { q.By = "skill" }, false},
		{"bad agent", func(q *ReportQuery) { q.Agents = []string{"bob"} }, false},
		{"bad channel", func(q *ReportQuery) { q.Channels = []string{"Phone!"} }, false},
		{"too many queues", func(q *ReportQuery) { q.Queues = make([]string, MaxReportFilter+1) }, false},
		{"filters", func(q *ReportQuery) {
			q.Queues, q.Agents, q.Channels = []string{"a b"}, []string{NewID()}, []string{"chat"}
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := ok
			tc.change(&q)
			if err := q.Validate(); (err == nil) != tc.valid {
				t.Fatalf("Validate = %v, want valid %v", err, tc.valid)
			}
		})
	}
}
