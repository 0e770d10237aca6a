package acdtest

import (
	"context"
	"errors"
	"sync"

	"switchboard/acd"
)

// ErrOfferFailed is returned by Channel.Offer while FailOffers is set.
var ErrOfferFailed = errors.New("acdtest: offer failed")

// Channel is a fake acd.ChannelAdapter (a chat, an email queue): offers
// arrive on Offers; what the engine told it about accepted and ended
// tasks is recorded.
type Channel struct {
	// Offers receives every offer presented.
	Offers chan acd.Offer

	mu         sync.Mutex
	failOffers bool
	accepted   map[acd.TaskID]acd.AgentID
	ended      map[acd.TaskID]acd.Outcome
}

var _ acd.ChannelAdapter = (*Channel)(nil)

// NewChannel returns a Channel with an Offers buffer of 256.
func NewChannel() *Channel {
	return &Channel{Offers: make(chan acd.Offer, 256), accepted: map[acd.TaskID]acd.AgentID{}, ended: map[acd.TaskID]acd.Outcome{}}
}

// FailOffers makes Offer fail (on) or present offers again.
func (c *Channel) FailOffers(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failOffers = on
}

// Offer implements acd.ChannelAdapter.
func (c *Channel) Offer(ctx context.Context, o acd.Offer) error {
	c.mu.Lock()
	fail := c.failOffers
	c.mu.Unlock()
	if fail {
		return ErrOfferFailed
	}
	select {
	case c.Offers <- o:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Accept implements acd.ChannelAdapter.
func (c *Channel) Accept(_ context.Context, task acd.CallInfo, agent acd.AgentID) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.accepted[task.ID] = agent
	return nil
}

// End implements acd.ChannelAdapter.
func (c *Channel) End(_ context.Context, task acd.CallInfo, outcome acd.Outcome) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ended[task.ID] = outcome
	return nil
}

// Accepted returns the agent the channel was told took task id.
func (c *Channel) Accepted(id acd.TaskID) (acd.AgentID, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.accepted[id]
	return a, ok
}

// Ended returns the outcome the channel was told task id ended with.
func (c *Channel) Ended(id acd.TaskID) (acd.Outcome, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	o, ok := c.ended[id]
	return o, ok
}
