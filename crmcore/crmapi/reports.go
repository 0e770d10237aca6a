package crmapi

import (
	"context"
	"encoding/csv"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"switchboard/crmcore"
)

// ReportStore serves historical reports: the rolled-up intervals and the
// raw event log. pgstore.Store implements it.
type ReportStore interface {
	IntervalReport(ctx context.Context, q crmcore.ReportQuery) ([]crmcore.ReportRow, error)
	AgentEvents(ctx context.Context, q crmcore.AgentEventQuery) ([]crmcore.AgentEvent, error)
}

// WithReports serves the reports (without it those endpoints answer 404).
func WithReports(store ReportStore) Option { return func(h *Handler) { h.reports = store } }

func (h *Handler) routeReports() {
	h.mux.HandleFunc("GET /api/v1/reports/intervals", h.authed(crmcore.PermReadAllInteractions, h.intervalReport))
	h.mux.HandleFunc("GET /api/v1/reports/agent-events", h.authed(crmcore.PermReadAllInteractions, h.agentEvents))
}

// intervalReportResponse is the JSON of an interval report.
type intervalReportResponse struct {
	From  time.Time           `json:"from"`
	To    time.Time           `json:"to"`
	TZ    string              `json:"tz"`
	Group string              `json:"group"`
	By    string              `json:"by"`
	Items []crmcore.ReportRow `json:"items"`
	Count int                 `json:"count"`
}

// intervalReport answers an interval report as JSON, or as CSV when asked
// by ?format=csv or Accept: text/csv.
func (h *Handler) intervalReport(w http.ResponseWriter, r *http.Request, _ crmcore.Principal) {
	if h.reports == nil {
		h.fail(w, r, crmcore.ErrNotFound)
		return
	}
	q, err := ParseReportQuery(r.URL.Query())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rows, err := h.reports.IntervalReport(r.Context(), q)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if wantsCSV(r) {
		writeReportCSV(w, rows)
		return
	}
	if rows == nil {
		rows = []crmcore.ReportRow{}
	}
	writeJSON(w, http.StatusOK, intervalReportResponse{From: q.From, To: q.To, TZ: q.TZ.String(), Group: q.Group,
		By: q.By, Items: rows, Count: len(rows)})
}

// wantsCSV reports whether the request asks for CSV.
func wantsCSV(r *http.Request) bool {
	if f := r.URL.Query().Get("format"); f != "" {
		return f == "csv"
	}
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/csv" {
			return true
		}
	}
	return false
}

// maxTZName bounds a time zone name (the longest IANA name has 32 bytes).
const maxTZName = 64

// ParseReportQuery reads an interval report's query string: from and to
// (a date, YYYY-MM-DD, meaning midnight in tz, or an RFC 3339 time), tz
// (an IANA zone, default UTC), group (interval, hour, day or month,
// default day), by (queue, agent or channel, default queue) and the
// filters queue, agent and channel (repeated or comma-separated). Errors
// are 400s naming the parameter.
func ParseReportQuery(v url.Values) (crmcore.ReportQuery, error) {
	q := crmcore.ReportQuery{Group: v.Get("group"), By: v.Get("by"), TZ: time.UTC}
	if q.Group == "" {
		q.Group = crmcore.GroupDay
	}
	if q.By == "" {
		q.By = crmcore.ByQueue
	}
	if name := v.Get("tz"); name != "" {
		loc, err := loadZone(name)
		if err != nil {
			return q, bad("tz", "unknown time zone")
		}
		q.TZ = loc
	}
	var err error
	if q.From, err = parseReportTime(v.Get("from"), q.TZ); err != nil {
		return q, bad("from", "want a date (YYYY-MM-DD) or an RFC 3339 time")
	}
	if q.To, err = parseReportTime(v.Get("to"), q.TZ); err != nil {
		return q, bad("to", "want a date (YYYY-MM-DD) or an RFC 3339 time")
	}
	q.Queues, q.Agents, q.Channels = splitList(v["queue"]), splitList(v["agent"]), splitList(v["channel"])
	return q, q.Validate()
}

// loadZone loads an IANA time zone by name; "Local" and names that are
// not plain zone names are refused.
func loadZone(name string) (*time.Location, error) {
	if len(name) > maxTZName || name == "Local" || strings.Contains(name, "..") ||
		strings.IndexFunc(name, func(c rune) bool {
			return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("/_+-", c))
		}) >= 0 {
		return nil, bad("tz", "unknown time zone")
	}
	return time.LoadLocation(name)
}

// parseReportTime reads a date (midnight in loc) or an RFC 3339 time.
func parseReportTime(s string, loc *time.Location) (time.Time, error) {
	if len(s) > 64 {
		return time.Time{}, bad("", "too long")
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, s)
}

var reportCSVHeader = []string{"period", "key", "offered", "answered", "abandoned_short", "abandoned_long",
	"answered_within_sl", "missed", "handled", "transfers", "service_level", "service_level_ex_short",
	"service_level_answered", "abandon_rate", "asa_s", "aht_s", "talk_s", "hold_s", "wrap_s", "fcr_rate", "csat", "nps",
	"login_s", "ready_s", "busy_s", "occupancy", "utilisation", "not_ready_s"}

// writeReportCSV writes rows as CSV: counts, the derived figures (empty
// where there is nothing to measure) and the not-ready time as
// reason=seconds pairs; every cell is made safe for spreadsheets.
func writeReportCSV(w http.ResponseWriter, rows []crmcore.ReportRow) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="report.csv"`)
	cw := csv.NewWriter(stream(w))
	cw.Write(reportCSVHeader)
	num := func(v int64) string { return strconv.FormatInt(v, 10) }
	fig := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'f', 4, 64)
	}
	secs := func(ms int64) string { return strconv.FormatFloat(float64(ms)/1000, 'f', 1, 64) }
	for _, r := range rows {
		s, f := r.Sums, r.Figures
		reasons := make([]string, 0, len(s.NotReadyMS))
		for k, v := range s.NotReadyMS {
			reasons = append(reasons, k+"="+secs(v))
		}
		slices.Sort(reasons)
		rec := []string{r.Period.Format(time.RFC3339), r.Key, num(s.Offered), num(s.Answered), num(s.AbandonedShort),
			num(s.AbandonedLong), num(s.AnsweredWithinSL), num(s.Missed), num(s.Handled), num(s.Transfers),
			fig(f.ServiceLevel), fig(f.ServiceLevelExShort), fig(f.ServiceLevelAnswered), fig(f.AbandonRate), fig(f.ASA),
			fig(f.AHT), fig(f.AvgTalk), fig(f.AvgHold), fig(f.AvgWrap), fig(f.FCRRate), fig(f.CSAT), fig(f.NPS),
			secs(s.LoginMS), secs(s.ReadyMS), secs(s.BusyMS), fig(f.Occupancy), fig(f.Utilisation), strings.Join(reasons, ";")}
		for i := range rec {
			rec[i] = csvSafe(rec[i])
		}
		cw.Write(rec)
	}
	cw.Flush()
}

// agentEventsResponse is a page of the event log; Next is the cursor of
// the next page (pass it as after), empty on the last page.
type agentEventsResponse struct {
	Items []crmcore.AgentEvent `json:"items"`
	Count int                  `json:"count"`
	Next  string               `json:"next,omitempty"`
}

// agentEvents answers a page of the raw event log: ?agent=&from=&to=
// (dates or RFC 3339 times, in tz) &after=&limit=.
func (h *Handler) agentEvents(w http.ResponseWriter, r *http.Request, _ crmcore.Principal) {
	if h.reports == nil {
		h.fail(w, r, crmcore.ErrNotFound)
		return
	}
	v := r.URL.Query()
	loc := time.UTC
	if name := v.Get("tz"); name != "" {
		l, err := loadZone(name)
		if err != nil {
			h.fail(w, r, bad("tz", "unknown time zone"))
			return
		}
		loc = l
	}
	q := crmcore.AgentEventQuery{AgentID: v.Get("agent"), After: v.Get("after"), Limit: 100}
	var err error
	if q.From, err = parseReportTime(v.Get("from"), loc); err != nil {
		h.fail(w, r, bad("from", "want a date (YYYY-MM-DD) or an RFC 3339 time"))
		return
	}
	if q.To, err = parseReportTime(v.Get("to"), loc); err != nil {
		h.fail(w, r, bad("to", "want a date (YYYY-MM-DD) or an RFC 3339 time"))
		return
	}
	if s := v.Get("limit"); s != "" {
		if q.Limit, err = strconv.Atoi(s); err != nil || q.Limit < 1 {
			h.fail(w, r, bad("limit", "want a number from 1"))
			return
		}
	}
	if err := q.Validate(); err != nil {
		h.fail(w, r, err)
		return
	}
	evs, err := h.reports.AgentEvents(r.Context(), q)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	resp := agentEventsResponse{Items: evs, Count: len(evs)}
	if resp.Items == nil {
		resp.Items = []crmcore.AgentEvent{}
	}
	if len(evs) == q.Limit {
		resp.Next = evs[len(evs)-1].ID
	}
	writeJSON(w, http.StatusOK, resp)
}
