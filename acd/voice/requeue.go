package voice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"switchboard/acd"
	"switchboard/crmcore"
)

// CallbackKeeper keeps a callback owed to a customer in the CRM
// (crmcore/callbacks.Service.Keep).
type CallbackKeeper interface {
	Keep(ctx context.Context, cb crmcore.Callback) error
}

// savedRoute is how an IVR callback's routing is kept with it
// (crmcore.Callback.Route): the request the caller was queued with and
// their screen pop.
type savedRoute struct {
	Request acd.CallRequest
	Pop     *Pop
}

// fillPop adds the CRM's answer about the caller to pop and to req (the
// contact's segment, and the last agent as the preferred one).
func fillPop(pop *Pop, req *acd.CallRequest, lookup crmcore.CallerLookup) {
	pop.Known, pop.Contact, pop.Account = lookup.Known, lookup.Contact, lookup.Account
	pop.OpenTickets, pop.LastInteractions, pop.LastAgent = lookup.OpenTickets, lookup.Recent, lookup.LastAgent
	if lookup.Contact != nil {
		pop.Segment = string(lookup.Contact.Segment)
		req.Segment = pop.Segment
	}
	if lookup.LastAgent != nil {
		req.PreferredAgent = acd.AgentID(lookup.LastAgent.ID)
	}
}

// keepCallback keeps the callback a caller asked for before it is queued.
// A failure is logged: the caller was promised the call, and this router
// still makes it unless it stops first.
func (x *Journey) keepCallback(ctx context.Context, req acd.CallRequest, pop *Pop) {
	if x.opts.Callbacks == nil {
		return
	}
	saved := req
	saved.Data = nil
	route, err := json.Marshal(savedRoute{Request: saved, Pop: pop})
	if err != nil {
		x.logger.Error("voice: callback route not encoded", "call_id", req.ID, "err", err)
		return
	}
	cb := crmcore.Callback{ID: crmcore.NewID(), InteractionID: pop.InteractionID, CallID: string(req.ID), Number: req.Callback,
		Queue: req.Queue, AgentID: string(req.PreferredAgent), Source: crmcore.CallbackIVR, Route: route,
		RequestedAt: x.opts.Now().UTC()}
	if pop.Contact != nil {
		cb.ContactID = pop.Contact.ID
	}
	if !crmcore.ValidID(cb.AgentID) {
		cb.AgentID = ""
	}
	if err := x.opts.Callbacks.Keep(context.WithoutCancel(ctx), cb); err != nil {
		x.logger.Error("voice: callback not kept; it is lost if this router stops before calling back", "call_id", req.ID, "err", err)
	}
}

// QueueCallback queues a callback owed to a customer no longer on the
// line as a virtual caller: an IVR callback with the routing it was kept
// with, a scheduled one in its queue with the CRM's screen pop of its
// number. It keeps its place by cb.RequestedAt, is offered to cb.AgentID
// first when set, and completes the interaction cb.InteractionID. A
// callback already queued is not queued twice (nil error).
func (x *Journey) QueueCallback(ctx context.Context, cb crmcore.Callback) error {
	var saved savedRoute
	if len(cb.Route) > 0 {
		if err := json.Unmarshal(cb.Route, &saved); err != nil {
			return fmt.Errorf("voice: callback %s: route: %w", cb.ID, err)
		}
	}
	req, pop := saved.Request, saved.Pop
	if pop == nil {
		pop = &Pop{}
	}
	if req.Queue == "" {
		geo := x.resolve(cb.Number)
		req = acd.CallRequest{Queue: cb.Queue, ANI: cb.Number, Caller: geo, Arrived: cb.RequestedAt}
		if geo.E164 != "" {
			lookup, err := x.crm.LookupByPhone(ctx, geo.E164)
			if err != nil {
				x.logger.Warn("callback lookup failed; routing without CRM data", "callback_id", cb.ID, "err", err)
			}
			fillPop(pop, &req, lookup)
		}
	}
	req.ID, req.Callback, req.Queued = acd.CallID(cb.CallID), cb.Number, cb.RequestedAt
	if cb.AgentID != "" {
		req.PreferredAgent = acd.AgentID(cb.AgentID)
	}
	pop.InteractionID = cb.InteractionID
	req.Data = pop
	_, err := x.engine.Enqueue(ctx, req, nil)
	if errors.Is(err, acd.ErrDuplicate) {
		return nil
	}
	return err
}
