package crmapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"switchboard/crmcore"
)

// CampaignRunner runs outbound campaigns (acd/outbound.Manager).
type CampaignRunner interface {
	// CreateCampaign checks config (a campaign configuration as JSON, the
	// acd/campaign Config fields), keeps it and returns the campaign, paused.
	// Errors: *crmcore.FieldError / crmcore.ErrInvalid (bad config), crmcore.ErrConflict (id taken).
	CreateCampaign(ctx context.Context, config json.RawMessage, by string) (crmcore.CampaignInfo, error)
	// AddCampaignContacts appends contacts to the list; it returns how many are callable.
	AddCampaignContacts(ctx context.Context, id string, contacts []crmcore.CampaignContact) (int, error)
	// ImportCampaignCSV appends the contacts of a CSV list (header number,name,contact_id,timezone);
	// it returns how many were callable and the rows it skipped ("line 7: …").
	ImportCampaignCSV(ctx context.Context, id string, csv io.Reader) (added int, skipped []string, err error)
	// Campaigns returns every campaign, stopped ones included.
	Campaigns(ctx context.Context) ([]crmcore.CampaignInfo, error)
	// Campaign returns one campaign, or crmcore.ErrNotFound.
	Campaign(ctx context.Context, id string) (crmcore.CampaignInfo, error)
	// SetCampaignState runs, pauses or stops it (stopped is final: ErrInvalid after).
	SetCampaignState(ctx context.Context, id string, st crmcore.CampaignState) (crmcore.CampaignInfo, error)
}

// WithCampaigns serves outbound campaigns through r (without it, or with
// a nil runner, those endpoints answer 404).
func WithCampaigns(r CampaignRunner) Option {
	return func(h *Handler) {
		if r != nil {
			h.campaigns = r
		}
	}
}

// Caps on campaign requests. A configuration is small; a JSON list is
// capped by its count, a CSV list only by its size.
const (
	maxCampaignConfig   = 64 << 10
	maxCampaignJSONList = 8 << 20
	maxCampaignCSV      = 64 << 20
	// MaxCampaignContacts is the most contacts one JSON request may add.
	MaxCampaignContacts = 10000
	// maxSkippedShown is how many skipped rows a response lists; the
	// count covers them all.
	maxSkippedShown = 100
	// segmentBatch is how many contacts of a segment are handed to the
	// runner at once, so that a large segment is never held whole.
	segmentBatch = 1000
)

func (h *Handler) routeCampaigns() {
	perm := crmcore.PermManageCampaigns
	h.mux.HandleFunc("GET /api/v1/campaigns", h.authed(perm, h.withCampaigns(h.listCampaigns)))
	h.mux.HandleFunc("POST /api/v1/campaigns", h.authed(perm, h.withCampaigns(h.createCampaign)))
	h.mux.HandleFunc("GET /api/v1/campaigns/{id}", h.authed(perm, h.withCampaigns(h.getCampaign)))
	h.mux.HandleFunc("POST /api/v1/campaigns/{id}/contacts", h.authed(perm, h.withCampaigns(h.addCampaignContacts)))
	h.mux.HandleFunc("POST /api/v1/campaigns/{id}/start", h.authed(perm, h.withCampaigns(h.setCampaignState(crmcore.CampaignRunning))))
	h.mux.HandleFunc("POST /api/v1/campaigns/{id}/pause", h.authed(perm, h.withCampaigns(h.setCampaignState(crmcore.CampaignPaused))))
	h.mux.HandleFunc("POST /api/v1/campaigns/{id}/stop", h.authed(perm, h.withCampaigns(h.setCampaignState(crmcore.CampaignStopped))))
}

// withCampaigns answers 404 when the handler has no campaign runner, and
// for an id no campaign can have.
func (h *Handler) withCampaigns(fn func(http.ResponseWriter, *http.Request, crmcore.Principal)) func(http.ResponseWriter, *http.Request, crmcore.Principal) {
	return func(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
		if h.campaigns == nil || len(r.PathValue("id")) > 64 {
			h.fail(w, r, crmcore.ErrNotFound)
			return
		}
		fn(w, r, p)
	}
}

func (h *Handler) listCampaigns(w http.ResponseWriter, r *http.Request, _ crmcore.Principal) {
	cs, err := h.campaigns.Campaigns(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if cs == nil {
		cs = []crmcore.CampaignInfo{}
	}
	writeJSON(w, http.StatusOK, listResponse[crmcore.CampaignInfo]{Items: cs, Count: len(cs)})
}

func (h *Handler) getCampaign(w http.ResponseWriter, r *http.Request, _ crmcore.Principal) {
	c, err := h.campaigns.Campaign(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// createCampaign hands the configuration to the runner, which checks it,
// after giving it an id when it has none.
func (h *Handler) createCampaign(w http.ResponseWriter, r *http.Request, p crmcore.Principal) {
	var raw json.RawMessage
	if err := decodeJSONMax(w, r, &raw, maxCampaignConfig); err != nil {
		h.fail(w, r, err)
		return
	}
	config, err := withCampaignID(raw)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	c, err := h.campaigns.CreateCampaign(r.Context(), config, p.AgentID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/campaigns/"+c.ID)
	writeJSON(w, http.StatusCreated, c)
}

// withCampaignID returns the configuration object raw with an "id": its
// own when it has one, else a new one. A key that differs from "id" only
// in case counts as the id, since JSON decoding into a struct would read
// it as one.
func withCampaignID(raw json.RawMessage) (json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil, bad("", "the body must be a JSON object: the campaign's configuration")
	}
	id, key := "", ""
	for k, v := range obj {
		if !strings.EqualFold(k, "id") {
			continue
		}
		if key != "" {
			return nil, bad("id", "id is given twice")
		}
		key = k
		if string(v) != "null" {
			if err := json.Unmarshal(v, &id); err != nil {
				return nil, bad("id", "id must be a string")
			}
		}
	}
	if id == "" {
		id = crmcore.NewID()
	}
	if key != "" {
		delete(obj, key)
	}
	obj["id"], _ = json.Marshal(id)
	return json.Marshal(obj)
}

// setCampaignState returns the handler of one state change.
func (h *Handler) setCampaignState(st crmcore.CampaignState) func(http.ResponseWriter, *http.Request, crmcore.Principal) {
	return func(w http.ResponseWriter, r *http.Request, _ crmcore.Principal) {
		c, err := h.campaigns.SetCampaignState(r.Context(), r.PathValue("id"), st)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, c)
	}
}

// campaignListResult is the answer to adding contacts: how many callable
// contacts were appended, and the entries left out with why (the first
// maxSkippedShown of them; SkippedCount counts them all).
type campaignListResult struct {
	Added        int      `json:"added"`
	Skipped      []string `json:"skipped"`
	SkippedCount int      `json:"skipped_count"`
}

func newListResult(added int, skipped []string) campaignListResult {
	res := campaignListResult{Added: added, Skipped: skipped[:min(len(skipped), maxSkippedShown)], SkippedCount: len(skipped)}
	if res.Skipped == nil {
		res.Skipped = []string{}
	}
	return res
}

// campaignContactInput is one contact of a JSON list.
type campaignContactInput struct {
	Number    string `json:"number"`
	Name      string `json:"name"`
	ContactID string `json:"contact_id"`
	TimeZone  string `json:"time_zone"`
}

// campaignContactsInput is the JSON body of POST …/contacts: a list, or
// the name of a CRM segment whose contacts make the list.
type campaignContactsInput struct {
	Contacts []campaignContactInput `json:"contacts"`
	Segment  *string                `json:"segment"`
}

// addCampaignContacts appends to a campaign's list a CSV file (text/csv),
// or a JSON list of contacts or CRM segment (application/json).
func (h *Handler) addCampaignContacts(w http.ResponseWriter, r *http.Request, _ crmcore.Principal) {
	id := r.PathValue("id")
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case err == nil && (mt == "text/csv" || mt == "application/csv"):
		added, skipped, err := h.campaigns.ImportCampaignCSV(r.Context(), id, http.MaxBytesReader(w, r.Body, maxCampaignCSV))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, newListResult(added, skipped))
		return
	case err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json")):
	default:
		h.fail(w, r, &badRequest{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type",
			msg: "want Content-Type: text/csv (a list) or application/json (contacts or a segment)"})
		return
	}
	var in campaignContactsInput
	if err := decodeJSONMax(w, r, &in, maxCampaignJSONList); err != nil {
		h.fail(w, r, err)
		return
	}
	var res campaignListResult
	switch {
	case in.Segment != nil && in.Contacts != nil:
		err = bad("segment", "give either contacts or segment, not both")
	case in.Segment != nil:
		res, err = h.addSegment(r.Context(), id, crmcore.Segment(*in.Segment))
	default:
		var list []crmcore.CampaignContact
		if list, err = campaignContacts(in.Contacts); err == nil {
			var added int
			added, err = h.campaigns.AddCampaignContacts(r.Context(), id, list)
			res = newListResult(added, nil)
		}
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// campaignContacts checks a JSON list at the boundary; the runner places
// the contacts in its list and checks the numbers against the dial plan
// and the do-not-call list.
func campaignContacts(in []campaignContactInput) ([]crmcore.CampaignContact, error) {
	if len(in) == 0 || len(in) > MaxCampaignContacts {
		return nil, bad("contacts", fmt.Sprintf("contacts must list 1–%d contacts", MaxCampaignContacts))
	}
	zones := map[string]bool{}
	out := make([]crmcore.CampaignContact, len(in))
	for i, c := range in {
		field := func(name string) string { return fmt.Sprintf("contacts[%d].%s", i, name) }
		switch {
		case c.Number == "" || len(c.Number) > 32 || hasControl(c.Number):
			return nil, bad(field("number"), field("number")+" must be a phone number of at most 32 bytes")
		case len(c.Name) > crmcore.MaxNameLen || hasControl(c.Name):
			return nil, bad(field("name"), fmt.Sprintf("%s must be one line of at most %d bytes", field("name"), crmcore.MaxNameLen))
		case len(c.ContactID) > 64 || hasControl(c.ContactID):
			return nil, bad(field("contact_id"), field("contact_id")+" must be an id of at most 64 bytes")
		}
		if c.TimeZone != "" && !zones[c.TimeZone] {
			if _, err := time.LoadLocation(c.TimeZone); err != nil || len(c.TimeZone) > 64 || strings.ContainsAny(c.TimeZone, "\\.") {
				return nil, bad(field("time_zone"), field("time_zone")+" must be an IANA time zone, e.g. Europe/London")
			}
			zones[c.TimeZone] = true
		}
		out[i] = crmcore.CampaignContact{ContactID: c.ContactID, Number: c.Number, Name: c.Name, TimeZone: c.TimeZone}
	}
	return out, nil
}

// hasControl reports whether s holds a control character (a line break
// in a name would forge a CSV row or a log line downstream).
func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// addSegment appends every contact of a CRM segment, each by its first
// phone number; contacts without one are skipped.
func (h *Handler) addSegment(ctx context.Context, id string, seg crmcore.Segment) (campaignListResult, error) {
	if !seg.Valid() {
		return campaignListResult{}, bad("segment", fmt.Sprintf("segment must be %s or %s", crmcore.SegmentStandard, crmcore.SegmentVIP))
	}
	if _, err := h.campaigns.Campaign(ctx, id); err != nil {
		return campaignListResult{}, err
	}
	var (
		added   int
		skipped []string
		batch   []crmcore.CampaignContact
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		n, err := h.campaigns.AddCampaignContacts(ctx, id, batch)
		added += n
		batch = batch[:0]
		return err
	}
	err := h.d.Contacts.EachContact(ctx, func(c crmcore.Contact) error {
		if c.Segment != seg {
			return nil
		}
		if len(c.Phones) == 0 {
			skipped = append(skipped, "contact "+c.ID+": no phone number")
			return nil
		}
		batch = append(batch, crmcore.CampaignContact{ContactID: c.ID, Number: c.Phones[0].E164, Name: c.Name, TimeZone: c.TimeZone})
		if len(batch) == segmentBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return campaignListResult{}, err
	}
	return newListResult(added, skipped), nil
}
