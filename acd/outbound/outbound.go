package outbound

import (
	"context"
	"errors"
	"time"

	"switchboard/acd"
	"switchboard/crmcore"
)

// Errors a Phone's Dial wraps for a dial nobody answered; any other
// error is a failed dial.
var (
	ErrBusy     = errors.New("outbound: busy")
	ErrNoAnswer = errors.New("outbound: no answer")
)

// Engine is what the dialer needs of the routing engine (*acd.Engine).
type Engine interface {
	QueueStaff(ctx context.Context, queue string) (acd.Staff, error)
	// DialWith is click-to-dial with the call's screen pop and record
	// attachment: a preview dial.
	DialWith(ctx context.Context, agent acd.AgentID, number string, data any) (acd.CallID, error)
	Release(ctx context.Context, id acd.CallID, reason string) error
	Subscribe(ctx context.Context, opts acd.SubscribeOptions) (*acd.Subscription, acd.Snapshot, error)
}

var _ Engine = (*acd.Engine)(nil)

// Phone places the campaigns' calls (the SIP gateway).
type Phone interface {
	// Dial dials number (the dial plan's campaign role) and returns once
	// it is answered and answering-machine detection has given its
	// verdict, or the dial failed: errors wrap ErrBusy or ErrNoAnswer
	// when nobody answered; any other error is a failure.
	Dial(ctx context.Context, number string, call acd.CallInfo) (Answer, error)
	// Play plays the named prompt to leg and returns once it was played
	// or the leg ended.
	Play(ctx context.Context, leg acd.Leg, prompt string) error
}

// Answer is an answered dial: the leg, and who answered.
type Answer struct {
	Leg acd.Leg
	// Machine is answering-machine detection's verdict; an undecided
	// detection is a person (nobody is dropped).
	Machine bool
	// Detection describes the verdict for the record
	// ("MACHINE/LONGGREETING").
	Detection string
}

// Connect is a person who answered a campaign's dial, as the Connector
// queues them.
type Connect struct {
	// InteractionID is the record opened before the dial; the engine's
	// record of the call completes it.
	InteractionID string
	Campaign      string
	Queue         string
	// Number is the number dialled (E.164), Name the list's name for it.
	Number, Name string
	// Dialed is when the dial started, Answered when the person answered.
	Dialed, Answered time.Time
	Detection        string
}

// Connector hands a person who answered to the campaign's queue
// (voice.Journey.Dialed).
type Connector interface {
	// Connect enqueues leg, ahead of every inbound call, with a screen
	// pop of the contact the number belongs to.
	Connect(ctx context.Context, leg acd.Leg, c Connect) error
	// Pop is the screen pop (and record attachment) of preview dial c,
	// which an agent places with the engine's click-to-dial.
	Pop(ctx context.Context, c Connect) any
}

// Store keeps the campaigns, their lists and the do-not-call list
// (*pgstore.Store).
type Store interface {
	CreateCampaign(ctx context.Context, c crmcore.CampaignInfo) (crmcore.CampaignInfo, error)
	SetCampaignState(ctx context.Context, id string, st crmcore.CampaignState) error
	Campaigns(ctx context.Context) ([]crmcore.CampaignInfo, error)
	AddCampaignContacts(ctx context.Context, id string, cs []crmcore.CampaignContact) ([]crmcore.CampaignContact, error)
	CampaignContacts(ctx context.Context, id string) ([]crmcore.CampaignContact, error)
	FinishCampaignContacts(ctx context.Context, id string, positions []int) error
	// Blocked reports whether number is on the do-not-call list.
	Blocked(ctx context.Context, number string) (bool, error)
}
