package pgstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"switchboard/crmcore"
)

const ticketCols = `t.id::text, t.number, t.subject, t.description, t.status, t.priority, t.channel,
	coalesce(t.requester_id::text, ''), coalesce(t.assignee_id::text, ''), t.group_name, t.tags,
	t.first_response_due, t.resolution_due, t.first_responded_at, t.solved_at, t.closed_at, t.created_at, t.updated_at`

func scanTicket(row pgx.Row) (crmcore.Ticket, error) {
	var t crmcore.Ticket
	var num int64
	var status, prio, ch string
	var frDue, resDue *time.Time
	err := row.Scan(&t.ID, &num, &t.Subject, &t.Description, &status, &prio, &ch, &t.RequesterID, &t.AssigneeID,
		&t.Group, &t.Tags, &frDue, &resDue, &t.FirstRespondedAt, &t.SolvedAt, &t.ClosedAt, &t.CreatedAt, &t.UpdatedAt)
	if err != nil {
		return t, err
	}
	t.Number = crmcore.FormatTicketNumber(num)
	t.Status, _ = crmcore.ParseTicketStatus(status)
	t.Priority, _ = crmcore.ParsePriority(prio)
	t.Channel = crmcore.Channel(ch)
	if frDue != nil {
		t.FirstResponseDue = *frDue
	}
	if resDue != nil {
		t.ResolutionDue = *resDue
	}
	return t, nil
}

// CreateTicket stores a ticket built by crmcore.NewTicket, assigning its ID
// and number (T-1001, T-1002, …), and records the "created" audit entry.
func (s *Store) CreateTicket(ctx context.Context, actorID string, t crmcore.Ticket) (crmcore.Ticket, error) {
	return s.createTicket(ctx, actorID, t, 0)
}

func (s *Store) createTicket(ctx context.Context, actorID string, t crmcore.Ticket, number int64) (crmcore.Ticket, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return insertTicket(ctx, tx, actorID, &t, number) })
	if err != nil {
		return crmcore.Ticket{}, mapErr("create ticket", err)
	}
	t.Evaluate(s.now())
	return t, nil
}

// insertTicket stores new ticket t in tx with a fresh ID and its number
// (number, or the next one when 0), queues it for routing when nobody is
// assigned, and records the "created" audit entry.
func insertTicket(ctx context.Context, tx pgx.Tx, actorID string, t *crmcore.Ticket, number int64) error {
	t.ID = crmcore.NewID()
	var num int64
	err := tx.QueryRow(ctx, `insert into tickets (id, number, subject, description, status, priority, channel,
		requester_id, assignee_id, group_name, tags, first_response_due, resolution_due, first_responded_at,
		solved_at, closed_at, created_at, updated_at)
		values ($1, coalesce($2, nextval('ticket_number_seq')), $3, $4, $5, $6, $7, nullif($8::text,'')::uuid,
		nullif($9::text,'')::uuid, $10, $11, $12, $13, $14, $15, $16, $17, $18) returning number`,
		t.ID, nullInt(number), t.Subject, t.Description, t.Status.String(), t.Priority.String(), string(t.Channel),
		t.RequesterID, t.AssigneeID, t.Group, t.Tags, nullTime(t.FirstResponseDue), nullTime(t.ResolutionDue),
		utcPtr(t.FirstRespondedAt), utcPtr(t.SolvedAt), utcPtr(t.ClosedAt), t.CreatedAt.UTC(), t.UpdatedAt.UTC()).Scan(&num)
	if err != nil {
		return err
	}
	t.Number = crmcore.FormatTicketNumber(num)
	evs := []outboxEvent{{typ: crmcore.EventTicketCreated, payload: t}}
	if t.Status == crmcore.StatusNew && t.AssigneeID == "" {
		if err := queueForRouting(ctx, tx, t.ID, crmcore.RouteNew, t.CreatedAt, ""); err != nil {
			return err
		}
		evs = append(evs, outboxEvent{typ: crmcore.EventTaskQueued, payload: crmcore.TaskEvent{Channel: crmcore.TaskChannelTicket,
			TicketID: t.ID, Number: t.Number, Cause: string(crmcore.RouteNew), Since: t.CreatedAt.UTC()}})
	}
	if err := enqueueEvents(ctx, tx, evs); err != nil {
		return err
	}
	return audit(ctx, tx, t.ID, actorID, t.CreatedAt, []crmcore.AuditEntry{{Action: "created", Field: "status", New: t.Status.String()}})
}

func nullInt(n int64) *int64 {
	if n == 0 {
		return nil
	}
	return &n
}

func audit(ctx context.Context, tx pgx.Tx, ticketID, actorID string, at time.Time, es []crmcore.AuditEntry) error {
	for _, e := range es {
		_, err := tx.Exec(ctx, `insert into ticket_audit (ticket_id, actor_id, at, action, field, old_value, new_value)
			values ($1, nullif($2::text,'')::uuid, $3, $4, $5, $6, $7)`, ticketID, actorID, at.UTC(), e.Action, e.Field, e.Old, e.New)
		if err != nil {
			return err
		}
	}
	return nil
}

// GetTicket returns the ticket with number n (e.g. 1042 for T-1042).
func (s *Store) GetTicket(ctx context.Context, n int64) (crmcore.Ticket, error) {
	t, err := scanTicket(s.pool.QueryRow(ctx, `select `+ticketCols+` from tickets t where t.number=$1`, n))
	if err != nil {
		return crmcore.Ticket{}, mapErr("get ticket", err)
	}
	t.Evaluate(s.now())
	return t, nil
}

// ListTickets returns tickets matching f, newest first.
func (s *Store) ListTickets(ctx context.Context, f crmcore.TicketFilter) ([]crmcore.Ticket, error) {
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if len(f.Status) > 0 {
		names := make([]string, len(f.Status))
		for i, st := range f.Status {
			names[i] = st.String()
		}
		where = append(where, "t.status = any("+arg(names)+")")
	}
	if len(f.Priority) > 0 {
		names := make([]string, len(f.Priority))
		for i, p := range f.Priority {
			names[i] = p.String()
		}
		where = append(where, "t.priority = any("+arg(names)+")")
	}
	if f.AssigneeID != "" {
		where = append(where, "t.assignee_id = "+arg(f.AssigneeID)+"::uuid")
	}
	if f.RequesterID != "" {
		where = append(where, "t.requester_id = "+arg(f.RequesterID)+"::uuid")
	}
	if f.Breached != nil {
		now := arg(s.now().UTC())
		cond := `((t.first_response_due < coalesce(t.first_responded_at, ` + now + `))
			or (t.resolution_due < coalesce(t.solved_at, ` + now + `)))`
		if !*f.Breached {
			cond = "not coalesce(" + cond + ", false)"
		}
		where = append(where, cond)
	}
	sql := `select ` + ticketCols + ` from tickets t`
	if len(where) > 0 {
		sql += " where " + strings.Join(where, " and ")
	}
	limit, offset := clampPage(f.Limit, f.Offset, 50, 500)
	sql += " order by t.number desc limit " + arg(limit) + " offset " + arg(offset)
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, mapErr("list tickets", err)
	}
	now := s.now()
	ts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crmcore.Ticket, error) {
		t, err := scanTicket(r)
		t.Evaluate(now)
		return t, err
	})
	return ts, mapErr("list tickets", err)
}

// UpdateTicket applies patch to ticket n under a row lock and records one
// audit entry per changed field.
func (s *Store) UpdateTicket(ctx context.Context, actorID string, n int64, patch crmcore.TicketPatch) (crmcore.Ticket, error) {
	return s.mutateTicket(ctx, "update ticket", actorID, n, func(_ pgx.Tx, t *crmcore.Ticket) ([]crmcore.AuditEntry, error) {
		return patch.Apply(t, s.sla)
	})
}

// TransitionTicket moves ticket n to status next if the transition table
// allows it (else a *crmcore.TransitionError), and audits the change.
func (s *Store) TransitionTicket(ctx context.Context, actorID string, n int64, next crmcore.TicketStatus) (crmcore.Ticket, error) {
	return s.mutateTicket(ctx, "transition ticket", actorID, n, func(_ pgx.Tx, t *crmcore.Ticket) ([]crmcore.AuditEntry, error) {
		old := t.Status
		if err := t.ApplyTransition(next, s.now().UTC()); err != nil {
			return nil, err
		}
		return []crmcore.AuditEntry{{Action: "transition", Field: "status", Old: old.String(), New: next.String()}}, nil
	})
}

// mutateTicket applies fn to ticket n under a row lock in one transaction,
// stores the result with fn's audit entries, and keeps the ticket's place
// in the routing queue (see updateRouting).
func (s *Store) mutateTicket(ctx context.Context, op, actorID string, n int64, fn func(pgx.Tx, *crmcore.Ticket) ([]crmcore.AuditEntry, error)) (crmcore.Ticket, error) {
	var t crmcore.Ticket
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		t, err = scanTicket(tx.QueryRow(ctx, `select `+ticketCols+` from tickets t where t.number=$1 for no key update`, n))
		if err != nil {
			return err
		}
		old := t
		changes, err := fn(tx, &t)
		if err != nil {
			return err
		}
		if len(changes) == 0 {
			return nil
		}
		return saveTicket(ctx, tx, actorID, old, &t, changes, s.now().UTC())
	})
	if err != nil {
		if isDomainErr(err) {
			return crmcore.Ticket{}, err
		}
		return crmcore.Ticket{}, mapErr(op, err)
	}
	t.Evaluate(s.now())
	return t, nil
}

// saveTicket writes ticket t, changed from old by actorID at now, in tx:
// its fields, its place in the routing queue and the audit entries.
func saveTicket(ctx context.Context, tx pgx.Tx, actorID string, old crmcore.Ticket, t *crmcore.Ticket, changes []crmcore.AuditEntry, now time.Time) error {
	t.UpdatedAt = now
	_, err := tx.Exec(ctx, `update tickets set subject=$2, description=$3, status=$4, priority=$5,
		assignee_id=nullif($6::text,'')::uuid, group_name=$7, tags=$8, first_response_due=$9, resolution_due=$10,
		first_responded_at=$11, solved_at=$12, closed_at=$13, updated_at=$14 where id=$1`,
		t.ID, t.Subject, t.Description, t.Status.String(), t.Priority.String(), t.AssigneeID, t.Group, t.Tags,
		nullTime(t.FirstResponseDue), nullTime(t.ResolutionDue), utcPtr(t.FirstRespondedAt), utcPtr(t.SolvedAt),
		utcPtr(t.ClosedAt), now)
	if err != nil {
		return err
	}
	if err := updateRouting(ctx, tx, actorID, old, *t, now); err != nil {
		return err
	}
	if err := enqueueEvent(ctx, tx, crmcore.EventTicketUpdated, crmcore.TicketUpdate{Ticket: *t, Changes: changes}); err != nil {
		return err
	}
	return audit(ctx, tx, t.ID, actorID, now, changes)
}

func isDomainErr(err error) bool {
	_, ok := err.(*crmcore.TransitionError)
	if ok {
		return true
	}
	_, ok = err.(*crmcore.FieldError)
	return ok
}

// AddComment adds a comment to ticket n. The first public comment by an
// agent counts as the first response.
func (s *Store) AddComment(ctx context.Context, n int64, c crmcore.Comment) (crmcore.Comment, error) {
	if err := c.Validate(); err != nil {
		return crmcore.Comment{}, err
	}
	c.ID = crmcore.NewID()
	c.CreatedAt = s.now().UTC()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `select id::text from tickets where number=$1 for no key update`, n).Scan(&c.TicketID)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `insert into ticket_comments (id, ticket_id, author_id, body, public, created_at)
			values ($1, $2, nullif($3::text,'')::uuid, $4, $5, $6)`, c.ID, c.TicketID, c.AuthorID, c.Body, c.Public, c.CreatedAt)
		if err != nil {
			return err
		}
		if c.Public && c.AuthorID != "" {
			if _, err := tx.Exec(ctx, `update tickets set first_responded_at = $2, updated_at = $2
				where id = $1 and first_responded_at is null`, c.TicketID, c.CreatedAt); err != nil {
				return err
			}
		}
		vis := "internal"
		if c.Public {
			vis = "public"
		}
		return audit(ctx, tx, c.TicketID, c.AuthorID, c.CreatedAt, []crmcore.AuditEntry{{Action: "comment", Field: vis, New: c.ID}})
	})
	if err != nil {
		return crmcore.Comment{}, mapErr("add comment", err)
	}
	return c, nil
}

// Comments returns the comments of ticket n, oldest first.
func (s *Store) Comments(ctx context.Context, n int64) ([]crmcore.Comment, error) {
	if _, err := s.ticketID(ctx, n); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `select c.id::text, c.ticket_id::text, coalesce(c.author_id::text,''), c.body, c.public, c.created_at
		from ticket_comments c join tickets t on t.id = c.ticket_id where t.number=$1 order by c.created_at, c.id`, n)
	if err != nil {
		return nil, mapErr("comments", err)
	}
	cs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crmcore.Comment, error) {
		var c crmcore.Comment
		err := r.Scan(&c.ID, &c.TicketID, &c.AuthorID, &c.Body, &c.Public, &c.CreatedAt)
		return c, err
	})
	return cs, mapErr("comments", err)
}

// Audit returns the audit trail of ticket n, oldest first.
func (s *Store) Audit(ctx context.Context, n int64) ([]crmcore.AuditEntry, error) {
	if _, err := s.ticketID(ctx, n); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `select a.id, a.ticket_id::text, coalesce(a.actor_id::text,''), a.at, a.action, a.field,
		a.old_value, a.new_value from ticket_audit a join tickets t on t.id = a.ticket_id where t.number=$1 order by a.id`, n)
	if err != nil {
		return nil, mapErr("audit", err)
	}
	es, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crmcore.AuditEntry, error) {
		var e crmcore.AuditEntry
		err := r.Scan(&e.ID, &e.TicketID, &e.ActorID, &e.At, &e.Action, &e.Field, &e.Old, &e.New)
		return e, err
	})
	return es, mapErr("audit", err)
}

func (s *Store) ticketID(ctx context.Context, n int64) (string, error) {
	var id string
	err := s.pool.QueryRow(ctx, `select id::text from tickets where number=$1`, n).Scan(&id)
	return id, mapErr("ticket", err)
}
