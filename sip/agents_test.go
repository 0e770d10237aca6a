package sip

import (
	"context"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"switchboard/acd"
	"switchboard/sip/media"
)

// TestAgentsFailedRingIsNilLeg: a failed ring or dial returns a nil
// acd.Leg, not an interface holding a nil *Call (which the engine would
// try to hang up when the offer was withdrawn meanwhile).
func TestAgentsFailedRingIsNilLeg(t *testing.T) {
	g := startGateway(t, Config{})
	a := NewAgents(g, AgentsOptions{RingTimeout: 3 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	phone := newPhone(t, "alice") // refuses every call (486)
	register(t, phone, g, "s3cret", 300)

	leg, err := a.Ring(ctx, acd.Offer{Agent: "a1", Endpoint: "alice"})
	if err == nil || leg != nil {
		t.Errorf("Ring to a refusing phone = (%#v, %v), want (nil, error)", leg, err)
	}
	leg, err = a.Ring(ctx, acd.Offer{Agent: "a2", Endpoint: "nobody"})
	if err == nil || leg != nil {
		t.Errorf("Ring to an unregistered agent = (%#v, %v), want (nil, error)", leg, err)
	}
	leg, err = a.Dial(ctx, "+15551234567", acd.CallInfo{})
	if err == nil || leg != nil {
		t.Errorf("Dial without a trunk = (%#v, %v), want (nil, error)", leg, err)
	}
}

type transferCall struct {
	agent acd.AgentID
	to    acd.TransferTarget
}

type fakeTransferer chan transferCall

func (f fakeTransferer) Transfer(_ context.Context, id acd.AgentID, to acd.TransferTarget) error {
	f <- transferCall{id, to}
	return nil
}

// TestPhoneReferTransfersAgentCall: an agent's desk phone sends REFER; the
// agent's call is transferred by the engine to the queue, agent or number
// the Refer-To names.
func TestPhoneReferTransfersAgentCall(t *testing.T) {
	var handler func(Event)
	g := startGateway(t, Config{}, WithEventHandler(func(e Event) { handler(e) }))
	a := NewAgents(g, AgentsOptions{RingTimeout: 5 * time.Second})
	engine := make(fakeTransferer, 4)
	handler = a.Transfers(engine, TransferTargets{
		IsQueue: func(n string) bool { return n == "billing" },
		AgentBySIP: func(_ context.Context, u string) (acd.AgentID, bool) {
			return "agent-bob", u == "bob"
		},
	}, quiet)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	pcmu := media.PCMU
	phone := newPhone(t, "alice")
	phone.AnswerWith(&pcmu)
	register(t, phone, g, "s3cret", 300)
	if _, err := a.Ring(ctx, acd.Offer{Agent: "agent-alice", Endpoint: "alice"}); err != nil {
		t.Fatal(err)
	}
	call := <-phone.Inbound
	for _, tt := range []struct {
		refer string
		want  acd.TransferTarget
	}{
		{"billing", acd.TransferTarget{Queue: "billing"}},
		{"bob", acd.TransferTarget{Agent: "agent-bob"}},
		{"+15551234567", acd.TransferTarget{Number: "+15551234567"}},
	} {
		d := call.ServerDialog()
		req := sipmsg.NewRequest(sipmsg.REFER, d.InviteRequest.Contact().Address)
		req.AppendHeader(sipmsg.NewHeader("Refer-To", "<sip:"+tt.refer+"@127.0.0.1>"))
		res, err := d.Do(ctx, req)
		if err != nil || res.StatusCode != 202 {
			t.Fatalf("REFER %s: %v %v", tt.refer, res, err)
		}
		select {
		case got := <-engine:
			if got.agent != "agent-alice" || got.to != tt.want {
				t.Errorf("REFER %s → Transfer(%s, %+v), want Transfer(agent-alice, %+v)", tt.refer, got.agent, got.to, tt.want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("REFER %s: no transfer", tt.refer)
		}
	}
}
