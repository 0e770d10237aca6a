package main

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"switchboard/sip/media"
	"switchboard/sip/siptest"
)

// TestCampaignPreviewOverSIP: in a preview campaign the agent asks the
// desk for the next contact, sees it with its CRM record, and dials it:
// their phone rings first, then the customer, and they talk (audio both
// ways). The next contact is busy. Each dial completes its own record
// (connected, busy), and the campaign's figures say so.
func TestCampaignPreviewOverSIP(t *testing.T) {
	const person, busy = "+14155550301", "+14155550302"
	customer := siptest.NewPhone(t, "customer")
	pcmu := media.PCMU
	customer.AnswerWith(&pcmu)
	customer.Refuse(busy, 486)
	began := time.Now()
	s := startSystem(t, openAllDay, func(c *Config) { c.SIP.Trunk = customer.Addr().String() })
	desk, phone, heidiID := s.agent("heidi", true)
	desk.command("presence.set", map[string]string{"presence": "ready"})
	sam, _ := s.login("sam", "demo")

	camp := s.createCampaign(sam, map[string]any{"name": "Win-back", "queue": "sales", "mode": "preview",
		"retry": map[string]any{"busy": map[string]any{"after": "1h", "attempts": 1}}})
	list := []map[string]string{{"number": person, "name": "Pat Preview"}, {"number": busy, "name": "Bea Busy"}}
	if code, body := s.rest("POST", "/api/v1/campaigns/"+camp.ID+"/contacts", sam, map[string]any{"contacts": list}); code != 200 && code != 201 {
		t.Fatalf("contacts: %d %s", code, body)
	}
	if code, body := s.rest("POST", "/api/v1/campaigns/"+camp.ID+"/start", sam, nil); code != 200 {
		t.Fatalf("start: %d %s", code, body)
	}

	type preview struct {
		DialID     string `json:"dial_id"`
		CampaignID string `json:"campaign_id"`
		Number     string `json:"number"`
		Name       string `json:"name"`
	}
	next := func() preview {
		t.Helper()
		var p preview
		// The contact comes as an event and in the reply: the reply's.
		desk.mu.Lock()
		desk.seq++
		id := "p" + strconv.Itoa(desk.seq)
		desk.mu.Unlock()
		b, _ := json.Marshal(map[string]string{"campaign_id": camp.ID})
		if err := desk.conn.WriteJSON(envelope{V: 1, Type: "campaign.preview", ID: id, Data: b}); err != nil {
			t.Fatal(err)
		}
		reply := desk.waitFor(10*time.Second, func(e envelope) bool { return e.ID == id && e.Type != "campaign.preview" })
		if err := json.Unmarshal(reply.Data, &p); reply.Type != "ok" || err != nil {
			t.Fatalf("campaign.preview: %s %s", reply.Type, reply.Data)
		}
		return p
	}
	p := next()
	if p.Number != person || p.Name != "Pat Preview" || p.CampaignID != camp.ID {
		t.Fatalf("preview = %+v, want the first contact", p)
	}
	if again := next(); again.DialID != p.DialID {
		t.Errorf("asking again gave %+v, want the contact heidi holds", again)
	}
	desk.command("campaign.dial", map[string]string{"dial_id": p.DialID})
	var agentLeg, custLeg *siptest.Call
	select {
	case agentLeg = <-phone.Inbound:
	case <-customer.Inbound:
		t.Fatal("the customer was dialled before the agent answered")
	case <-time.After(20 * time.Second):
		t.Fatal("the agent's phone never rang")
	}
	select {
	case custLeg = <-customer.Inbound:
	case <-time.After(20 * time.Second):
		t.Fatal("the customer was never dialled")
	}
	if got := heardWhile(agentLeg, custLeg); got[0] == 0 {
		t.Error("the customer did not hear the agent")
	}
	if got := heardWhile(custLeg, agentLeg); got[0] == 0 {
		t.Error("the agent did not hear the customer")
	}
	endCallback(t, desk, custLeg)

	p = next()
	if p.Number != busy {
		t.Fatalf("second preview = %+v, want the busy contact", p)
	}
	desk.command("campaign.dial", map[string]string{"dial_id": p.DialID})
	select {
	case <-phone.Inbound:
	case <-time.After(20 * time.Second):
		t.Fatal("the agent's phone never rang for the second contact")
	}

	results := waitCampaignRecords(t, s.dsn, camp.ID, began, 2, heidiID)
	if results[person].result != "connected" || results[busy].result != "busy" {
		t.Errorf("results = %v, want the person connected and the busy number busy", results)
	}
	code, body := s.rest("GET", "/api/v1/campaigns/"+camp.ID, sam, nil)
	if err := json.Unmarshal(body, &camp); code != 200 || err != nil {
		t.Fatalf("get: %d %s", code, body)
	}
	if st := camp.Stats; st.Dialed != 2 || st.Connected != 1 || st.Busy != 1 || st.Done != 2 {
		t.Errorf("stats = %+v, want 2 dialled: 1 connected, 1 busy, both done", st)
	}
}
