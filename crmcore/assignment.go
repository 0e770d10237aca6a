package crmcore

import (
	"fmt"
	"time"
)

// RouteCause says why a ticket waits for an agent.
type RouteCause string

// Route causes.
const (
	// RouteNew is a new ticket nobody is assigned to.
	RouteNew RouteCause = "new"
	// RouteReopened is a solved ticket reopened by someone other than its
	// assignee (the customer).
	RouteReopened RouteCause = "reopened"
)

// PendingTicket is a help-desk ticket waiting to be routed to an agent,
// with what routing needs to know of its requester.
type PendingTicket struct {
	Ticket Ticket     `json:"ticket"`
	Cause  RouteCause `json:"cause"`
	// Since is when the ticket started waiting: its place in the queue.
	Since time.Time `json:"since"`
	// ReopenedAssigneeID is the assignee of a reopened ticket: the ticket
	// is theirs, so it is always offered to them first.
	ReopenedAssigneeID string `json:"reopened_assignee_id,omitempty"`
	// AccountOwnerID is the owner of the requester's account and
	// LastAgentID the agent of the requester's latest interaction; the
	// assignment rule's Prefer order picks which of them, if any, is
	// offered a new ticket first.
	AccountOwnerID string `json:"account_owner_id,omitempty"`
	LastAgentID    string `json:"last_agent_id,omitempty"`
	// The requester's segment, language and geography ("" when unknown).
	Segment  string `json:"segment,omitempty"`
	Language string `json:"language,omitempty"`
	Country  string `json:"country,omitempty"`
	Region   string `json:"region,omitempty"`
}

// TicketAssignment is a routed ticket's assignment to the agent who
// accepted it, with the routing decision's reasons.
type TicketAssignment struct {
	TicketID   string     `json:"ticket_id"`
	AgentID    string     `json:"agent_id"`
	Queue      string     `json:"queue"`
	Cause      RouteCause `json:"cause"`
	Reasons    []string   `json:"reasons"`
	QueuedAt   time.Time  `json:"queued_at"`
	AssignedAt time.Time  `json:"assigned_at"`
}

// Validate checks an assignment before it is stored.
func (a TicketAssignment) Validate() error {
	if a.Cause != RouteNew && a.Cause != RouteReopened {
		return invalid("cause", fmt.Sprintf("want %s or %s", RouteNew, RouteReopened))
	}
	return validateAssignment("ticket_id", a.TicketID, a.AgentID, a.Queue, a.Reasons)
}

// validateAssignment checks what every routed assignment holds: the
// item's id (named field), the agent, the queue and the reasons.
func validateAssignment(field, itemID, agentID, queue string, reasons []string) error {
	switch {
	case !ValidID(itemID):
		return invalid(field, "not a UUID")
	case !ValidID(agentID):
		return invalid("agent_id", "not a UUID")
	case queue == "" || len(queue) > MaxNameLen || !validLine(queue):
		return invalid("queue", "empty, too long or invalid characters")
	case len(reasons) > MaxReasons:
		return invalid("reasons", fmt.Sprintf("at most %d", MaxReasons))
	}
	for i, r := range reasons {
		if len(r) > MaxNameLen || !validLine(r) {
			return invalid(fmt.Sprintf("reasons[%d]", i), "too long or invalid characters")
		}
	}
	return nil
}

// HeldTicket is a ticket routing gave an agent that is still theirs: new
// or open, not waiting for routing, and assigned to the agent of its
// latest routed assignment.
type HeldTicket struct {
	Ticket     Ticket           `json:"ticket"`
	Assignment TicketAssignment `json:"assignment"`
}
