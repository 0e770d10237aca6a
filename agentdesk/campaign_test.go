package agentdesk_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"switchboard/acd"
	"switchboard/agentdesk"
	"switchboard/crmcore"
)

// campaignCall is one call the hub made to a CampaignDesk.
type campaignCall struct {
	Method, Agent, Arg string
}

// fakeCampaigns is a CampaignDesk that records its calls. It hands out
// contact (nothing to call when nil) and dials with dial: the tests set
// them before the desk sends the command they answer.
type fakeCampaigns struct {
	mu      sync.Mutex
	calls   []campaignCall
	contact *agentdesk.PreviewContact
	dial    func(ctx context.Context, agent, dialID string) (string, error)
}

func (f *fakeCampaigns) Preview(_ context.Context, agent, campaign string) (agentdesk.PreviewContact, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, campaignCall{"Preview", agent, campaign})
	if f.contact == nil {
		return agentdesk.PreviewContact{}, fmt.Errorf("outbound: no contact to preview: %w", crmcore.ErrNotFound)
	}
	return *f.contact, nil
}

func (f *fakeCampaigns) DialPreview(ctx context.Context, agent, dialID string) (string, error) {
	f.mu.Lock()
	f.calls = append(f.calls, campaignCall{"DialPreview", agent, dialID})
	dial := f.dial
	f.mu.Unlock()
	return dial(ctx, agent, dialID)
}

func (f *fakeCampaigns) set(contact *agentdesk.PreviewContact, dial func(ctx context.Context, agent, dialID string) (string, error)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.contact, f.dial = contact, dial
}

// took returns the calls so far and forgets them.
func (f *fakeCampaigns) took() []campaignCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

// dialReturns is a DialPreview answer.
func dialReturns(callID string, err error) func(context.Context, string, string) (string, error) {
	return func(context.Context, string, string) (string, error) { return callID, err }
}

var previewVera = agentdesk.PreviewContact{DialID: "dl-1", CampaignID: "spring", CampaignName: "Spring renewals",
	Number: "+14155550123", Name: "Vera Important", ContactID: "ct-42", Attempt: 2,
	CRM: map[string]any{"contact": map[string]any{"id": "ct-42", "name": "Vera Important"}}}

// TestCampaignCommands: campaign.preview hands the agent's desk the
// backend's contact (reply and event), asking again is the backend's to
// answer, nothing to call is no_contact; campaign.dial passes the agent
// and the dial id and replies with the call id, mapping the backend's
// errors as call.dial does; bad fields never reach the backend; hello
// says whether campaigns are served.
func TestCampaignCommands(t *testing.T) {
	camp := &fakeCampaigns{}
	r := newFakeRig(t, func(c *agentdesk.Config) { c.Campaigns = camp })
	desk := dialToken(t, r.srv, "", "tok-a1")
	hello := decode[map[string]any](t, desk.waitType(agentdesk.EvHello))
	if hello["campaigns"] != true {
		t.Errorf("hello.campaigns = %v, want true", hello["campaigns"])
	}

	camp.set(&previewVera, nil)
	id := desk.send(agentdesk.CmdPreview, agentdesk.CampaignPreview{CampaignID: "spring"})
	ev := desk.waitType(agentdesk.EvPreview)
	if ev.ID != id {
		t.Errorf("campaign.preview event id = %q, want the command's %q", ev.ID, id)
	}
	if diff := cmp.Diff(previewVera, decode[agentdesk.PreviewContact](t, ev)); diff != "" {
		t.Errorf("campaign.preview event (-want +got):\n%s", diff)
	}
	ok := desk.reply(id)
	if ok.Type != agentdesk.EvOK {
		t.Fatalf("campaign.preview reply = %s %s, want ok", ok.Type, ok.Data)
	}
	if diff := cmp.Diff(previewVera, decode[agentdesk.PreviewContact](t, ok)); diff != "" {
		t.Errorf("campaign.preview ok (-want +got):\n%s", diff)
	}
	desk.mustOK(agentdesk.CmdPreview, nil)
	if diff := cmp.Diff([]campaignCall{{"Preview", "id-a1", "spring"}, {"Preview", "id-a1", ""}}, camp.took()); diff != "" {
		t.Errorf("backend calls (-want +got):\n%s", diff)
	}

	camp.set(nil, dialReturns("out-7", nil))
	if e := desk.errorData(desk.reply(desk.send(agentdesk.CmdPreview, map[string]any{}))); e.Code != agentdesk.CodeNoContact || e.Field != "" {
		t.Errorf("preview with nothing to call = %+v, want no_contact", e)
	}
	got := decode[map[string]string](t, desk.mustOK(agentdesk.CmdPreviewDial, agentdesk.CampaignDial{DialID: "dl-1"}))
	if got["call_id"] != "out-7" {
		t.Errorf("campaign.dial reply = %v, want call_id out-7", got)
	}
	if diff := cmp.Diff([]campaignCall{{"Preview", "id-a1", ""}, {"DialPreview", "id-a1", "dl-1"}}, camp.took()); diff != "" {
		t.Errorf("backend calls (-want +got):\n%s", diff)
	}

	dialErrs := []struct {
		name      string
		err       error
		wantCode  string
		wantField string
	}{
		{"not held", fmt.Errorf("outbound: dial dl-9: %w", crmcore.ErrNotFound), agentdesk.CodeNotFound, "data.dial_id"},
		{"agent busy", fmt.Errorf("outbound: %w", acd.ErrAgentBusy), agentdesk.CodeInvalidState, ""},
		{"dial plan", fmt.Errorf("outbound: %w", acd.ErrNotPermitted), agentdesk.CodeForbidden, ""},
		{"no route", fmt.Errorf("outbound: %w", acd.ErrUnreachable), agentdesk.CodeUnreachable, "data.dial_id"},
		{"engine stopped", acd.ErrClosed, agentdesk.CodeUnavailable, ""},
	}
	for _, tt := range dialErrs {
		t.Run(tt.name, func(t *testing.T) {
			camp.set(nil, dialReturns("", tt.err))
			e := desk.errorData(desk.reply(desk.send(agentdesk.CmdPreviewDial, agentdesk.CampaignDial{DialID: "dl-9"})))
			if e.Code != tt.wantCode || e.Field != tt.wantField {
				t.Errorf("campaign.dial failing with %v = %+v, want %s on %q", tt.err, e, tt.wantCode, tt.wantField)
			}
		})
	}
	camp.took()

	for _, tt := range []struct {
		typ       string
		data      any
		wantCode  string
		wantField string
	}{
		{agentdesk.CmdPreview, map[string]any{"campaign_id": "spring; drop"}, agentdesk.CodeInvalidField, "data.campaign_id"},
		{agentdesk.CmdPreview, map[string]any{"campaign_id": true}, agentdesk.CodeInvalidField, "data.campaign_id"},
		{agentdesk.CmdPreviewDial, map[string]any{}, agentdesk.CodeMissingField, "data.dial_id"},
		{agentdesk.CmdPreviewDial, map[string]any{"dial_id": "a\nb"}, agentdesk.CodeInvalidField, "data.dial_id"},
		{agentdesk.CmdPreviewDial, nil, agentdesk.CodeMissingField, "data"},
	} {
		if e := desk.errorData(desk.reply(desk.send(tt.typ, tt.data))); e.Code != tt.wantCode || e.Field != tt.wantField {
			t.Errorf("%s %v = %+v, want %s on %s", tt.typ, tt.data, e, tt.wantCode, tt.wantField)
		}
	}
	if c := camp.took(); len(c) != 0 {
		t.Errorf("refused commands reached the backend: %+v", c)
	}
}

// TestCampaignCommandsUnsupported: without a CampaignDesk hello says so
// and both commands are unsupported.
func TestCampaignCommandsUnsupported(t *testing.T) {
	r := newFakeRig(t, nil)
	desk := dialToken(t, r.srv, "", "tok-a1")
	if hello := decode[map[string]any](t, desk.waitType(agentdesk.EvHello)); hello["campaigns"] != false {
		t.Errorf("hello.campaigns = %v, want false", hello["campaigns"])
	}
	for typ, data := range map[string]any{agentdesk.CmdPreview: nil, agentdesk.CmdPreviewDial: agentdesk.CampaignDial{DialID: "dl-1"}} {
		if e := desk.errorData(desk.reply(desk.send(typ, data))); e.Code != agentdesk.CodeUnsupported || e.Field != "type" {
			t.Errorf("%s without campaigns = %+v, want unsupported on type", typ, e)
		}
	}
}
