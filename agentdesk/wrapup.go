package agentdesk

import "context"

// wrapUp runs wrapup.submit: it checks that the agent is on the named call
// or in its wrap-up, then links or creates the ticket, then records the
// disposition (ending the wrap-up). Nothing is written for a call the
// agent does not hold.
func (h *Hub) wrapUp(ctx context.Context, agentID string, d *WrapUp) (any, error) {
	if !knownCode(h.cfg.Dispositions, d.Disposition, false) {
		return nil, &ProtocolError{ErrorData: ErrorData{Code: CodeInvalidField, Field: "data.disposition", Message: "not a configured disposition code"}}
	}
	if err := h.checkWrapUp(agentID, d.CallID); err != nil {
		return nil, err
	}
	var ticket string
	if d.LinkTicket != "" || d.CreateTicket != nil {
		if h.cfg.Tickets == nil {
			return nil, &ProtocolError{ErrorData: ErrorData{Code: CodeUnsupported, Field: "data.create_ticket", Message: "ticketing is not wired"}}
		}
		var err error
		if ticket, err = h.cfg.Tickets.WrapUpTicket(ctx, agentID, d.CallID, *d); err != nil {
			return nil, err
		}
	}
	if err := h.cfg.Engine.CallControl(ctx, agentID, CallAction{Action: ActWrapUp, CallID: d.CallID, WrapUp: d}); err != nil {
		return nil, err
	}
	return map[string]string{"ticket_id": ticket}, nil
}

// checkWrapUp verifies, on the hub goroutine, that callID is the agent's
// current call or the call it is wrapping up.
func (h *Hub) checkWrapUp(agentID, callID string) error {
	var ok bool
	if err := h.do(func() {
		w, wrapping := h.floor.wraps[agentID]
		c, onCall := h.floor.calls[agentID]
		ok = (wrapping && w.CallID == callID) || (onCall && c.CallID == callID)
	}); err != nil {
		return err
	}
	if !ok {
		return &ProtocolError{ErrorData: ErrorData{Code: CodeNotFound, Field: "data.call_id", Message: "no such call on this agent"}}
	}
	return nil
}
