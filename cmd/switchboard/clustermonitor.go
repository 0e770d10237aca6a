package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"switchboard/acd"
	"switchboard/acd/acdnats"
	"switchboard/agentdesk"
	"switchboard/sip"
)

// clusterListener puts a cluster leader's supervisors on calls: a call
// bridged on the leader's own node directly, one held by another node
// through a relay leg that node places to the supervisor's softphone
// here.
type clusterListener struct {
	local  deskMedia
	leader *acdnats.Leader
	node   *acdnats.Node
	agents *sip.Agents

	mu sync.Mutex
	// remote is the call each supervisor monitors on another node.
	remote map[string]acd.CallID
}

var _ agentdesk.Listener = (*clusterListener)(nil)

// Listen implements agentdesk.Listener.
func (c *clusterListener) Listen(ctx context.Context, supervisorID, callID, mode string) error {
	id := acd.CallID(callID)
	c.mu.Lock()
	prev, watching := c.remote[supervisorID]
	c.mu.Unlock()
	if watching && prev != id {
		_ = c.StopListening(ctx, supervisorID, string(prev))
		watching = false
	}
	if watching { // a new mode on the same call
		return deskMediaErr(c.leader.Monitor(ctx, id, supervisorID, mode, ""))
	}
	leg, ok := c.agents.SoftphoneLeg(acd.AgentID(supervisorID))
	if !ok {
		// Not on a softphone here: only a call on this node can be heard.
		return c.local.Listen(ctx, supervisorID, callID, mode)
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	c.node.ExpectMonitor(token, leg)
	err := c.leader.Monitor(ctx, id, supervisorID, mode, token)
	if err != nil {
		c.node.ForgetMonitor(token)
	}
	switch {
	case errors.Is(err, acdnats.ErrNotHeldElsewhere):
		return c.local.Listen(ctx, supervisorID, callID, mode)
	case err != nil:
		return fmt.Errorf("%w: %w", agentdesk.ErrInvalidState, err)
	}
	c.mu.Lock()
	c.remote[supervisorID] = id
	c.mu.Unlock()
	return nil
}

// StopListening implements agentdesk.Listener.
func (c *clusterListener) StopListening(ctx context.Context, supervisorID, callID string) error {
	c.mu.Lock()
	remote := c.remote[supervisorID] == acd.CallID(callID)
	if remote {
		delete(c.remote, supervisorID)
	}
	c.mu.Unlock()
	if !remote {
		return c.local.StopListening(ctx, supervisorID, callID)
	}
	if err := c.leader.Unmonitor(ctx, acd.CallID(callID), supervisorID); err != nil && !errors.Is(err, acdnats.ErrNotHeldElsewhere) {
		return err
	}
	return nil
}
