package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"switchboard/crmcore"
)

// queueForRouting puts a ticket in the routing queue (ticket_routing);
// a ticket already waiting keeps its place.
func queueForRouting(ctx context.Context, tx pgx.Tx, ticketID string, cause crmcore.RouteCause, since time.Time, preferred string) error {
	_, err := tx.Exec(ctx, `insert into ticket_routing (ticket_id, cause, since, preferred_agent)
		values ($1, $2, $3, nullif($4::text,'')::uuid) on conflict (ticket_id) do nothing`,
		ticketID, string(cause), since.UTC(), preferred)
	return err
}

// updateRouting keeps a changed ticket's place in the routing queue: a
// ticket assigned to someone else, or no longer open, stops waiting; a
// solved ticket reopened by anyone but its assignee (the customer) starts
// waiting, its assignee preferred.
func updateRouting(ctx context.Context, tx pgx.Tx, actorID string, old, cur crmcore.Ticket, now time.Time) error {
	switch {
	case !cur.Status.Open() || (cur.AssigneeID != "" && cur.AssigneeID != old.AssigneeID):
		_, err := tx.Exec(ctx, `delete from ticket_routing where ticket_id=$1`, cur.ID)
		return err
	case old.Status == crmcore.StatusSolved && cur.Status == crmcore.StatusOpen && (cur.AssigneeID == "" || actorID != cur.AssigneeID):
		return queueForRouting(ctx, tx, cur.ID, crmcore.RouteReopened, now, cur.AssigneeID)
	}
	return nil
}

// PendingTickets returns up to limit tickets waiting for an agent, longest
// waiting first, with their requester's segment, language and geography,
// and the candidates for the agent offered the ticket first: the agent it
// was queued with (the assignee of a reopened ticket), the owner of the
// requester's account and the agent of the requester's latest
// interaction.
func (s *Store) PendingTickets(ctx context.Context, limit int) ([]crmcore.PendingTicket, error) {
	rows, err := s.pool.Query(ctx, `select `+ticketCols+`, r.cause, r.since, coalesce(r.preferred_agent::text, ''),
		coalesce(a.owner_id::text, ''), coalesce((select i.agent_id::text from interactions i
			where i.contact_id = t.requester_id and i.agent_id is not null order by i.arrived_at desc limit 1), ''),
		coalesce(c.segment, ''), coalesce(c.language, ''), coalesce(c.country, ''), coalesce(c.region, '')
		from ticket_routing r join tickets t on t.id = r.ticket_id left join contacts c on c.id = t.requester_id
		left join accounts a on a.id = c.account_id
		order by r.since, t.number limit $1`, limit)
	if err != nil {
		return nil, mapErr("pending tickets", err)
	}
	now := s.now()
	ps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crmcore.PendingTicket, error) {
		var p crmcore.PendingTicket
		var cause string
		t, err := scanTicket(rowTail{r, []any{&cause, &p.Since, &p.ReopenedAssigneeID, &p.AccountOwnerID, &p.LastAgentID,
			&p.Segment, &p.Language, &p.Country, &p.Region}})
		t.Evaluate(now)
		p.Ticket, p.Cause = t, crmcore.RouteCause(cause)
		return p, err
	})
	return ps, mapErr("pending tickets", err)
}

// rowTail scans a row into the destinations scanTicket passes followed by
// tail: a ticket with more columns after it.
type rowTail struct {
	row  pgx.Row
	tail []any
}

func (r rowTail) Scan(dest ...any) error { return r.row.Scan(append(dest, r.tail...)...) }

// AssignRouted assigns ticket n to the agent who accepted it from the
// routing queue: a new ticket opens, the assignment is stored with its
// routing reasons and audited as the agent's, and the ticket leaves the
// queue. A ticket that no longer waits (assigned, solved or closed
// meanwhile) is refused with an error wrapping crmcore.ErrConflict.
func (s *Store) AssignRouted(ctx context.Context, n int64, a crmcore.TicketAssignment) (crmcore.Ticket, error) {
	return s.mutateTicket(ctx, "assign routed ticket", a.AgentID, n, func(tx pgx.Tx, t *crmcore.Ticket) ([]crmcore.AuditEntry, error) {
		var cause string
		var since time.Time
		err := tx.QueryRow(ctx, `select cause, since from ticket_routing where ticket_id=$1 for update`, t.ID).Scan(&cause, &since)
		if err == pgx.ErrNoRows {
			return nil, fmt.Errorf("pgstore: ticket %s no longer waits for an agent: %w", t.Number, crmcore.ErrConflict)
		}
		if err != nil {
			return nil, err
		}
		a.TicketID, a.Cause, a.QueuedAt = t.ID, crmcore.RouteCause(cause), since
		a.AssignedAt = s.now().UTC()
		if err := a.Validate(); err != nil {
			return nil, err
		}
		var changes []crmcore.AuditEntry
		if t.AssigneeID != a.AgentID {
			changes = append(changes, crmcore.AuditEntry{Action: "updated", Field: "assignee_id", Old: t.AssigneeID, New: a.AgentID})
			t.AssigneeID = a.AgentID
		}
		if t.Status == crmcore.StatusNew {
			if err := t.ApplyTransition(crmcore.StatusOpen, a.AssignedAt); err != nil {
				return nil, err
			}
			changes = append(changes, crmcore.AuditEntry{Action: "transition", Field: "status", Old: crmcore.StatusNew.String(), New: crmcore.StatusOpen.String()})
		}
		if _, err := tx.Exec(ctx, `insert into ticket_assignments (ticket_id, agent_id, queue, cause, reasons, queued_at, assigned_at)
			values ($1, $2, $3, $4, $5, $6, $7)`, a.TicketID, a.AgentID, a.Queue, cause, reasonsOrEmpty(a.Reasons), a.QueuedAt, a.AssignedAt); err != nil {
			return nil, err
		}
		_, err = tx.Exec(ctx, `delete from ticket_routing where ticket_id=$1`, t.ID)
		return changes, err
	})
}

func reasonsOrEmpty(rs []string) []string {
	if rs == nil {
		return []string{}
	}
	return rs
}

// TicketAssignments returns the routed assignments of ticket n, oldest
// first.
func (s *Store) TicketAssignments(ctx context.Context, n int64) ([]crmcore.TicketAssignment, error) {
	if _, err := s.ticketID(ctx, n); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `select a.ticket_id::text, coalesce(a.agent_id::text, ''), a.queue, a.cause, a.reasons,
		a.queued_at, a.assigned_at from ticket_assignments a join tickets t on t.id = a.ticket_id where t.number=$1 order by a.id`, n)
	if err != nil {
		return nil, mapErr("ticket assignments", err)
	}
	as, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crmcore.TicketAssignment, error) {
		var a crmcore.TicketAssignment
		var cause string
		err := r.Scan(&a.TicketID, &a.AgentID, &a.Queue, &cause, &a.Reasons, &a.QueuedAt, &a.AssignedAt)
		a.Cause = crmcore.RouteCause(cause)
		return a, err
	})
	return as, mapErr("ticket assignments", err)
}

// OpenTicketAssignees returns, of the tickets with ids, those still new
// or open, each with its assignee ("" for none).
func (s *Store) OpenTicketAssignees(ctx context.Context, ids []string) (map[string]string, error) {
	valid := make([]string, 0, len(ids))
	for _, id := range ids {
		if crmcore.ValidID(id) {
			valid = append(valid, id)
		}
	}
	rows, err := s.pool.Query(ctx, `select id::text, coalesce(assignee_id::text, '') from tickets
		where id = any($1::uuid[]) and status in ('new', 'open')`, valid)
	if err != nil {
		return nil, mapErr("open ticket assignees", err)
	}
	out := map[string]string{}
	var id, assignee string
	_, err = pgx.ForEachRow(rows, []any{&id, &assignee}, func() error {
		out[id] = assignee
		return nil
	})
	return out, mapErr("open ticket assignees", err)
}

// HeldTickets returns the tickets routing gave an agent that are still
// theirs: new or open, not waiting for routing, and assigned to the agent
// of their latest routed assignment, oldest assignment first.
func (s *Store) HeldTickets(ctx context.Context) ([]crmcore.HeldTicket, error) {
	rows, err := s.pool.Query(ctx, `select `+ticketCols+`, a.ticket_id::text, a.agent_id::text, a.queue, a.cause, a.reasons,
		a.queued_at, a.assigned_at
		from (select distinct on (ticket_id) * from ticket_assignments order by ticket_id, id desc) a
		join tickets t on t.id = a.ticket_id
		where t.status in ('new', 'open') and t.assignee_id = a.agent_id
		and not exists (select 1 from ticket_routing r where r.ticket_id = t.id)
		order by a.assigned_at, a.id`)
	if err != nil {
		return nil, mapErr("held tickets", err)
	}
	now := s.now()
	hs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crmcore.HeldTicket, error) {
		var h crmcore.HeldTicket
		var cause string
		a := &h.Assignment
		t, err := scanTicket(rowTail{r, []any{&a.TicketID, &a.AgentID, &a.Queue, &cause, &a.Reasons, &a.QueuedAt, &a.AssignedAt}})
		t.Evaluate(now)
		h.Ticket, a.Cause = t, crmcore.RouteCause(cause)
		return h, err
	})
	return hs, mapErr("held tickets", err)
}
