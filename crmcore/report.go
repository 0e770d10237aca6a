package crmcore

import (
	"fmt"
	"slices"
	"time"
)

// Report groupings: the length of a report row's period. Hours, days and
// months start at the report's time zone's boundaries; intervals are the
// stored 15-minute UTC buckets, which line up with every zone's hours
// because 15 minutes divide every UTC offset in use.
const (
	GroupInterval = "interval"
	GroupHour     = "hour"
	GroupDay      = "day"
	GroupMonth    = "month"
)

// Report dimensions: what a report row is about.
const (
	ByQueue   = "queue"
	ByAgent   = "agent"
	ByChannel = "channel"
)

// Limits of a report query.
const (
	// MaxReportRange is the longest period one report covers.
	MaxReportRange = 400 * 24 * time.Hour
	// MaxReportFilter bounds the queues, agents or channels one report
	// names.
	MaxReportFilter = 100
	// MaxReportRows bounds the rows of one report.
	MaxReportRows = 100_000
	// MaxEventPage bounds one page of the raw event log.
	MaxEventPage = 1000
)

// ReportQuery selects an interval report: [From, To) cut into periods of
// Group in time zone TZ, one row per period and value of By, restricted to
// the named queues, agents and channels (none named: all).
type ReportQuery struct {
	From, To time.Time
	TZ       *time.Location // nil: UTC
	Group    string
	By       string
	Queues   []string
	Agents   []string
	Channels []string
}

// Validate checks a query: a range of at most MaxReportRange that starts
// before it ends, a known grouping and dimension, at most MaxReportFilter
// values per filter, agent ids that are UUIDs and channel names of the
// right shape.
func (q *ReportQuery) Validate() error {
	switch {
	case q.From.IsZero() || q.To.IsZero():
		return invalid("from", "from and to are required")
	case !q.To.After(q.From):
		return invalid("to", "must be after from")
	case q.To.Sub(q.From) > MaxReportRange:
		return invalid("to", fmt.Sprintf("at most %d days", int(MaxReportRange/(24*time.Hour))))
	case !slices.Contains([]string{GroupInterval, GroupHour, GroupDay, GroupMonth}, q.Group):
		return invalid("group", "want interval, hour, day or month")
	case !slices.Contains([]string{ByQueue, ByAgent, ByChannel}, q.By):
		return invalid("by", "want queue, agent or channel")
	case len(q.Queues) > MaxReportFilter || len(q.Agents) > MaxReportFilter || len(q.Channels) > MaxReportFilter:
		return invalid("filter", fmt.Sprintf("at most %d values each", MaxReportFilter))
	}
	for _, s := range q.Queues {
		if len(s) > MaxShortField || !validLine(s) {
			return invalid("queue", "too long or invalid characters")
		}
	}
	for _, s := range q.Agents {
		if !ValidID(s) {
			return invalid("agent", "not a UUID")
		}
	}
	for _, s := range q.Channels {
		if !ValidChannelName(s) {
			return invalid("channel", "not a channel name")
		}
	}
	return nil
}

// ReportSums are the counts and sums of a set of intervals: they add up,
// so any period's figures are computed from its intervals' sums, never by
// averaging averages. Durations are in milliseconds.
//
// Contacts count where they entered the queue: offered in the interval
// they were queued in, with their outcome. On an agent's rows Offered
// counts offers to that agent (a contact offered to three agents counts
// three times) and Missed the offers they rejected or let ring out; the
// other contact measures count the contacts the agent answered.
type ReportSums struct {
	Offered          int64 `json:"offered"`
	Answered         int64 `json:"answered"`
	AbandonedShort   int64 `json:"abandoned_short"` // abandoned within the queue's short-abandon threshold
	AbandonedLong    int64 `json:"abandoned_long"`
	AnsweredWithinSL int64 `json:"answered_within_sl"` // answered within the queue's service-level threshold
	Missed           int64 `json:"missed"`
	SumWaitMS        int64 `json:"sum_wait_ms"` // waits of answered contacts
	SumTalkMS        int64 `json:"sum_talk_ms"`
	SumHoldMS        int64 `json:"sum_hold_ms"`
	SumWrapMS        int64 `json:"sum_wrap_ms"`
	Handled          int64 `json:"handled"` // answered and ended
	Transfers        int64 `json:"transfers"`
	FCRResolved      int64 `json:"fcr_resolved"` // handled with the disposition "resolved"
	CSATSum          int64 `json:"csat_sum"`
	CSATN            int64 `json:"csat_n"`
	NPSPromoters     int64 `json:"nps_promoters"`  // NPS answers of 9 or 10
	NPSDetractors    int64 `json:"nps_detractors"` // NPS answers of 0 to 6
	NPSN             int64 `json:"nps_n"`
	// LoginMS is the time the agent was logged in, split into ReadyMS
	// (available, no task), BusyMS (on a call, on hold or in wrap-up) and
	// NotReadyMS by reason code.
	LoginMS    int64            `json:"login_ms"`
	ReadyMS    int64            `json:"ready_ms"`
	BusyMS     int64            `json:"busy_ms"`
	NotReadyMS map[string]int64 `json:"not_ready_ms"`
}

// ReportFigures are the figures derived from ReportSums. A figure whose
// denominator is zero is nil (JSON null): there is nothing to measure.
// Ratios are fractions between 0 and 1; times are seconds.
type ReportFigures struct {
	// ServiceLevel is AnsweredWithinSL / Offered: every offered contact
	// counts, abandoned ones against the service level.
	ServiceLevel *float64 `json:"service_level"`
	// ServiceLevelExShort is AnsweredWithinSL / (Offered −
	// AbandonedShort): short abandons (callers who hung up within the
	// short-abandon threshold) are left out.
	ServiceLevelExShort *float64 `json:"service_level_ex_short"`
	// ServiceLevelAnswered is AnsweredWithinSL / (Answered +
	// AbandonedLong): only answered contacts and the abandons past the
	// short-abandon threshold count.
	ServiceLevelAnswered *float64 `json:"service_level_answered"`
	// AbandonRate is (AbandonedShort + AbandonedLong) / Offered.
	AbandonRate *float64 `json:"abandon_rate"`
	// ASA, the average speed of answer, is SumWaitMS / Answered.
	ASA *float64 `json:"asa"`
	// AHT, the average handle time, is (SumTalkMS + SumHoldMS +
	// SumWrapMS) / Handled; AvgTalk, AvgHold and AvgWrap are its parts,
	// each sum over Handled.
	AHT     *float64 `json:"aht"`
	AvgTalk *float64 `json:"avg_talk"`
	AvgHold *float64 `json:"avg_hold"`
	AvgWrap *float64 `json:"avg_wrap"`
	// Occupancy is BusyMS / (ReadyMS + BusyMS): the share of available
	// time spent on tasks.
	Occupancy *float64 `json:"occupancy"`
	// Utilisation is BusyMS / LoginMS: the share of logged-in time spent
	// on tasks.
	Utilisation *float64 `json:"utilisation"`
	// FCRRate is FCRResolved / Handled.
	FCRRate *float64 `json:"fcr_rate"`
	// CSAT is CSATSum / CSATN, the average satisfaction score.
	CSAT *float64 `json:"csat"`
	// NPS is 100 × (NPSPromoters − NPSDetractors) / NPSN, from −100 to 100.
	NPS *float64 `json:"nps"`
	// LoginSeconds is LoginMS in seconds; NotReadySeconds is NotReadyMS
	// by reason in seconds.
	LoginSeconds    float64            `json:"login_seconds"`
	NotReadySeconds map[string]float64 `json:"not_ready_seconds"`
}

// ReportRow is one period of a report for one queue, agent or channel
// (Key), with its sums and the figures derived from them.
type ReportRow struct {
	Period  time.Time     `json:"period"`
	Key     string        `json:"key"`
	Sums    ReportSums    `json:"sums"`
	Figures ReportFigures `json:"figures"`
}

// Add adds o's counts and sums to s.
func (s *ReportSums) Add(o ReportSums) {
	s.Offered += o.Offered
	s.Answered += o.Answered
	s.AbandonedShort += o.AbandonedShort
	s.AbandonedLong += o.AbandonedLong
	s.AnsweredWithinSL += o.AnsweredWithinSL
	s.Missed += o.Missed
	s.SumWaitMS += o.SumWaitMS
	s.SumTalkMS += o.SumTalkMS
	s.SumHoldMS += o.SumHoldMS
	s.SumWrapMS += o.SumWrapMS
	s.Handled += o.Handled
	s.Transfers += o.Transfers
	s.FCRResolved += o.FCRResolved
	s.CSATSum += o.CSATSum
	s.CSATN += o.CSATN
	s.NPSPromoters += o.NPSPromoters
	s.NPSDetractors += o.NPSDetractors
	s.NPSN += o.NPSN
	s.LoginMS += o.LoginMS
	s.ReadyMS += o.ReadyMS
	s.BusyMS += o.BusyMS
	for k, v := range o.NotReadyMS {
		if s.NotReadyMS == nil {
			s.NotReadyMS = map[string]int64{}
		}
		s.NotReadyMS[k] += v
	}
}

// Figures derives the report figures from s (see ReportFigures for each
// formula).
func (s ReportSums) Figures() ReportFigures {
	// The figures point into one array with room for all of them (it is
	// never reallocated): a report derives figures for every row, and one
	// allocation per row is cheaper than one per figure.
	vals := make([]float64, 0, 14)
	keep := func(v float64) *float64 {
		vals = append(vals, v)
		return &vals[len(vals)-1]
	}
	ratio := func(num, den int64) *float64 {
		if den <= 0 {
			return nil
		}
		return keep(float64(num) / float64(den))
	}
	secs := func(ms, n int64) *float64 {
		if n <= 0 {
			return nil
		}
		return keep(float64(ms) / 1000 / float64(n))
	}
	f := ReportFigures{
		ServiceLevel:         ratio(s.AnsweredWithinSL, s.Offered),
		ServiceLevelExShort:  ratio(s.AnsweredWithinSL, s.Offered-s.AbandonedShort),
		ServiceLevelAnswered: ratio(s.AnsweredWithinSL, s.Answered+s.AbandonedLong),
		AbandonRate:          ratio(s.AbandonedShort+s.AbandonedLong, s.Offered),
		ASA:                  secs(s.SumWaitMS, s.Answered),
		AHT:                  secs(s.SumTalkMS+s.SumHoldMS+s.SumWrapMS, s.Handled),
		AvgTalk:              secs(s.SumTalkMS, s.Handled),
		AvgHold:              secs(s.SumHoldMS, s.Handled),
		AvgWrap:              secs(s.SumWrapMS, s.Handled),
		Occupancy:            ratio(s.BusyMS, s.ReadyMS+s.BusyMS),
		Utilisation:          ratio(s.BusyMS, s.LoginMS),
		FCRRate:              ratio(s.FCRResolved, s.Handled),
		CSAT:                 ratio(s.CSATSum, s.CSATN),
		LoginSeconds:         float64(s.LoginMS) / 1000,
		NotReadySeconds:      make(map[string]float64, len(s.NotReadyMS)),
	}
	if s.NPSN > 0 {
		f.NPS = keep(100 * float64(s.NPSPromoters-s.NPSDetractors) / float64(s.NPSN))
	}
	for k, v := range s.NotReadyMS {
		f.NotReadySeconds[k] = float64(v) / 1000
	}
	return f
}

// AgentEventQuery selects a page of the raw event log: events of AgentID
// (empty: every agent) with At in [From, To), in time order, after the
// event whose id is After (the last of the previous page), at most Limit
// (default and maximum MaxEventPage).
type AgentEventQuery struct {
	AgentID  string
	From, To time.Time
	After    string
	Limit    int
}

// Validate checks a query: a range of at most MaxReportRange that starts
// before it ends, UUIDs where ids are given, a limit in range.
func (q *AgentEventQuery) Validate() error {
	switch {
	case q.From.IsZero() || q.To.IsZero():
		return invalid("from", "from and to are required")
	case !q.To.After(q.From):
		return invalid("to", "must be after from")
	case q.To.Sub(q.From) > MaxReportRange:
		return invalid("to", fmt.Sprintf("at most %d days", int(MaxReportRange/(24*time.Hour))))
	case q.AgentID != "" && !ValidID(q.AgentID):
		return invalid("agent", "not a UUID")
	case q.After != "" && !ValidID(q.After):
		return invalid("after", "not a UUID")
	case q.Limit < 0 || q.Limit > MaxEventPage:
		return invalid("limit", fmt.Sprintf("want 1–%d", MaxEventPage))
	}
	return nil
}
