package pgstore

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"switchboard/crmcore"
)

const emailCols = `e.id::text, e.ticket_id::text, e.direction, e.message_id, e.in_reply_to, e.refs, e.from_addr,
	e.from_name, e.to_addrs, e.cc_addrs, e.subject, e.body, e.attachments, coalesce(e.author_id::text, ''), e.created_at`

func scanEmail(row pgx.Row) (crmcore.EmailMessage, error) {
	var m crmcore.EmailMessage
	var dir string
	err := row.Scan(&m.ID, &m.TicketID, &dir, &m.MessageID, &m.InReplyTo, &m.References, &m.From, &m.FromName,
		&m.To, &m.Cc, &m.Subject, &m.Text, &m.Attachments, &m.AuthorID, &m.CreatedAt)
	m.Direction = crmcore.EmailDirection(dir)
	return m, err
}

// insertEmail stores thread message m of ticket ticketID in tx under a
// fresh id, with the content of its kept attachments, each under a fresh
// id too.
func insertEmail(ctx context.Context, tx pgx.Tx, ticketID string, m *crmcore.EmailMessage) error {
	m.ID, m.TicketID = crmcore.NewID(), ticketID
	// A copy: the ids given here are the stored message's, not the caller's.
	m.Attachments = slices.Clone(m.Attachments)
	if m.Attachments == nil {
		m.Attachments = []crmcore.EmailAttachment{}
	}
	for i := range m.Attachments {
		if a := &m.Attachments[i]; a.Kept() && a.Content != nil {
			a.ID = crmcore.NewID()
		}
	}
	_, err := tx.Exec(ctx, `insert into ticket_emails (id, ticket_id, direction, message_id, in_reply_to, refs,
		from_addr, from_name, to_addrs, cc_addrs, subject, body, attachments, author_id, created_at)
		values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, nullif($14::text,'')::uuid, $15)`,
		m.ID, ticketID, string(m.Direction), m.MessageID, m.InReplyTo, nonNil(m.References), m.From, m.FromName,
		nonNil(m.To), nonNil(m.Cc), m.Subject, m.Text, m.Attachments, m.AuthorID, m.CreatedAt.UTC())
	if err != nil {
		return err
	}
	return insertAttachments(ctx, tx, m)
}

// queueEmail stores outbound email o (its message first) in tx, due now.
func queueEmail(ctx context.Context, tx pgx.Tx, o *crmcore.OutboundEmail, now time.Time) error {
	if err := o.Message.Validate(); err != nil {
		return err
	}
	if err := insertEmail(ctx, tx, o.TicketID, &o.Message); err != nil {
		return err
	}
	o.ID, o.Status = crmcore.NewID(), crmcore.OutboxQueued
	_, err := tx.Exec(ctx, `insert into email_outbox (id, email_id, kind, next_attempt_at, created_at)
		values ($1, $2, $3, $4, $4)`, o.ID, o.Message.ID, o.Kind, now.UTC())
	return err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// IngestEmail threads an inbound email into a ticket, or opens one, in
// one transaction: the sender is matched to a contact by address (or
// becomes one); a message id already stored is a duplicate (the sending
// MTA retried) and changes nothing. The ticket is the one holding a
// message the email answers (in.ThreadIDs), else the one numbered in its
// subject when the sender is its requester; a closed ticket is not
// reopened (the email opens a new one). A solved or pending ticket the
// customer answers opens again (a solved one waits for routing again, its
// assignee preferred). A new ticket has the email's subject and text, on
// channel email, in.Group and in.Priority; its acknowledgement, if in.Ack
// builds one, is queued in the same transaction.
func (s *Store) IngestEmail(ctx context.Context, in crmcore.InboundEmail) (crmcore.EmailResult, error) {
	var res crmcore.EmailResult
	m := in.Message
	m.Direction = crmcore.EmailInbound
	if err := m.Validate(); err != nil {
		return res, err
	}
	from, err := crmcore.NormalizeEmail(m.From)
	if err != nil {
		return res, &crmcore.FieldError{Field: "from", Reason: err.Error()}
	}
	m.From = from
	now := s.now().UTC()
	if m.CreatedAt.IsZero() {
		m.CreatedAt = now
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		res = crmcore.EmailResult{}
		var known string
		err := tx.QueryRow(ctx, `select ticket_id::text from ticket_emails where message_id=$1`, m.MessageID).Scan(&known)
		switch {
		case err == nil:
			res.Duplicate = true
			res.Ticket, err = scanTicket(tx.QueryRow(ctx, `select `+ticketCols+` from tickets t where t.id=$1`, known))
			return err
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		if res.Requester, res.ContactCreated, err = s.senderContact(ctx, tx, from, m.FromName, now); err != nil {
			return err
		}
		t, found, err := threadTicket(ctx, tx, in, res.Requester.ID)
		if err != nil {
			return err
		}
		if found {
			old := t
			var changes []crmcore.AuditEntry
			if t.Status == crmcore.StatusSolved || t.Status == crmcore.StatusPending {
				res.Reopened = t.Status == crmcore.StatusSolved
				if err := t.ApplyTransition(crmcore.StatusOpen, now); err != nil {
					return err
				}
				changes = append(changes, crmcore.AuditEntry{Action: "email", Field: "status", Old: old.Status.String(), New: t.Status.String()})
			} else {
				changes = append(changes, crmcore.AuditEntry{Action: "email", Field: "thread", New: m.MessageID})
			}
			if err := saveTicket(ctx, tx, "", old, &t, changes, now); err != nil {
				return err
			}
		} else {
			subject := strings.TrimSpace(m.Subject)
			if subject == "" {
				subject = "(no subject)"
			}
			t, err = crmcore.NewTicket(crmcore.TicketInput{Subject: crmcore.CutText(subject, crmcore.MaxSubjectLen),
				Description: crmcore.CutText(m.Text, crmcore.MaxTextLen), Priority: in.Priority, Channel: crmcore.ChannelEmail,
				RequesterID: res.Requester.ID, Group: in.Group}, s.SLAPolicy(), now)
			if err != nil {
				return err
			}
			if in.SLA != nil {
				policy := s.SLAPolicy()
				policy.Targets = map[crmcore.Priority]crmcore.SLATarget{t.Priority: *in.SLA}
				t.FirstResponseDue, t.ResolutionDue = policy.Due(t.Priority, t.CreatedAt)
			}
			if err := insertTicket(ctx, tx, "", &t, 0); err != nil {
				return err
			}
			res.Created = true
		}
		if err := insertEmail(ctx, tx, t.ID, &m); err != nil {
			return err
		}
		res.Ticket = t
		if res.Created && in.Ack != nil {
			if ack := in.Ack(t, res.Requester); ack != nil {
				ack.TicketID, ack.Kind = t.ID, "ack"
				if err := queueEmail(ctx, tx, ack, now); err != nil {
					return err
				}
				res.Ack = ack
			}
		}
		return nil
	})
	if err != nil {
		if isDomainErr(err) {
			return crmcore.EmailResult{}, err
		}
		return crmcore.EmailResult{}, mapErr("ingest email", err)
	}
	res.Ticket.Evaluate(now)
	return res, nil
}

// senderContact returns the contact with address from, creating one
// named name (or the address's local part) when none has it.
func (s *Store) senderContact(ctx context.Context, tx pgx.Tx, from, name string, now time.Time) (crmcore.Contact, bool, error) {
	c, err := scanContact(tx.QueryRow(ctx, `select `+contactCols+` from contacts c where c.emails @> array[$1]
		order by c.created_at limit 1`, from))
	if err == nil {
		return c, false, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return c, false, err
	}
	name = strings.TrimSpace(name)
	if name == "" {
		name, _, _ = strings.Cut(from, "@")
	}
	c = crmcore.Contact{ID: crmcore.NewID(), Name: crmcore.CutText(name, 200), Emails: []string{from}, Segment: crmcore.SegmentStandard,
		Tags: []string{}, Custom: map[string]string{}, Phones: []crmcore.ContactPhone{}, CreatedAt: now, UpdatedAt: now}
	_, err = tx.Exec(ctx, `insert into contacts (id, name, emails, segment, created_at, updated_at) values ($1, $2, $3, $4, $5, $5)`,
		c.ID, c.Name, c.Emails, string(c.Segment), now)
	return c, err == nil, err
}

// threadTicket finds the ticket an inbound email belongs to (IngestEmail),
// locked for the update.
func threadTicket(ctx context.Context, tx pgx.Tx, in crmcore.InboundEmail, requester string) (crmcore.Ticket, bool, error) {
	for _, q := range []struct {
		sql  string
		args []any
		ok   bool
	}{
		{`select ` + ticketCols + ` from tickets t join ticket_emails e on e.ticket_id = t.id
			where e.message_id = any($1) and t.status <> 'closed' order by e.created_at desc limit 1 for no key update of t`,
			[]any{in.ThreadIDs}, len(in.ThreadIDs) > 0},
		{`select ` + ticketCols + ` from tickets t where t.number=$1 and t.requester_id=$2 and t.status <> 'closed'
			for no key update`, []any{in.TicketNumber, requester}, in.TicketNumber > 0},
	} {
		if !q.ok {
			continue
		}
		t, err := scanTicket(tx.QueryRow(ctx, q.sql, q.args...))
		if err == nil {
			return t, true, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return t, false, err
		}
	}
	return crmcore.Ticket{}, false, nil
}

// TicketEmails returns the email thread of ticket n, oldest first.
func (s *Store) TicketEmails(ctx context.Context, n int64) ([]crmcore.EmailMessage, error) {
	rows, _ := s.pool.Query(ctx, `select `+emailCols+` from ticket_emails e join tickets t on t.id = e.ticket_id
		where t.number=$1 order by e.created_at, e.id`, n)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crmcore.EmailMessage, error) { return scanEmail(r) })
	if err != nil {
		return nil, mapErr("ticket emails", err)
	}
	return out, nil
}

// ReplyEmail stores agentID's email reply on ticket n and queues it, in
// one transaction: build makes the message from the ticket, its requester
// and its thread (crmcore.NewEmailReply). A new ticket opens, and the
// first reply is the ticket's first response.
func (s *Store) ReplyEmail(ctx context.Context, agentID string, n int64,
	build func(t crmcore.Ticket, requester crmcore.Contact, thread []crmcore.EmailMessage) (crmcore.EmailMessage, error)) (crmcore.OutboundEmail, error) {
	var out crmcore.OutboundEmail
	now := s.now().UTC()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		t, err := scanTicket(tx.QueryRow(ctx, `select `+ticketCols+` from tickets t where t.number=$1 for no key update`, n))
		if err != nil {
			return err
		}
		var requester crmcore.Contact
		if t.RequesterID != "" {
			if requester, err = scanContact(tx.QueryRow(ctx, `select `+contactCols+` from contacts c where c.id=$1`, t.RequesterID)); err != nil {
				return err
			}
		}
		rows, _ := tx.Query(ctx, `select `+emailCols+` from ticket_emails e where e.ticket_id=$1 order by e.created_at, e.id`, t.ID)
		thread, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crmcore.EmailMessage, error) { return scanEmail(r) })
		if err != nil {
			return err
		}
		m, err := build(t, requester, thread)
		if err != nil {
			return err
		}
		m.AuthorID = agentID
		out = crmcore.OutboundEmail{TicketID: t.ID, Message: m, Kind: "reply"}
		if err := queueEmail(ctx, tx, &out, now); err != nil {
			return err
		}
		old := t
		changes := []crmcore.AuditEntry{{Action: "email", Field: "reply", New: m.MessageID}}
		if t.FirstRespondedAt == nil {
			t.FirstRespondedAt = &now
		}
		if t.Status == crmcore.StatusNew {
			if err := t.ApplyTransition(crmcore.StatusOpen, now); err != nil {
				return err
			}
			changes = append(changes, crmcore.AuditEntry{Action: "updated", Field: "status", Old: old.Status.String(), New: t.Status.String()})
		}
		return saveTicket(ctx, tx, agentID, old, &t, changes, now)
	})
	if err != nil {
		if isDomainErr(err) {
			return crmcore.OutboundEmail{}, err
		}
		return crmcore.OutboundEmail{}, mapErr("reply email", err)
	}
	return out, nil
}

const outboxCols = `o.id::text, e.ticket_id::text, o.kind, o.status, o.attempts, o.last_error, o.sent_at, o.relay`

func scanOutbox(r pgx.CollectableRow) (crmcore.OutboundEmail, error) {
	var o crmcore.OutboundEmail
	var m crmcore.EmailMessage
	var dir string
	err := r.Scan(&o.ID, &o.TicketID, &o.Kind, &o.Status, &o.Attempts, &o.LastErr, &o.SentAt, &o.Relay,
		&m.ID, &m.TicketID, &dir, &m.MessageID, &m.InReplyTo, &m.References, &m.From, &m.FromName,
		&m.To, &m.Cc, &m.Subject, &m.Text, &m.Attachments, &m.AuthorID, &m.CreatedAt)
	m.Direction = crmcore.EmailDirection(dir)
	o.Message = m
	return o, err
}

// DueEmails returns up to limit queued outbound emails whose next attempt
// is due at now, oldest first.
func (s *Store) DueEmails(ctx context.Context, now time.Time, limit int) ([]crmcore.OutboundEmail, error) {
	rows, _ := s.pool.Query(ctx, `select `+outboxCols+`, `+emailCols+` from email_outbox o join ticket_emails e on e.id = o.email_id
		where o.status='queued' and o.next_attempt_at <= $1 order by o.next_attempt_at, o.id limit $2`, now.UTC(), limit)
	out, err := pgx.CollectRows(rows, scanOutbox)
	if err != nil {
		return nil, mapErr("due emails", err)
	}
	return out, nil
}

// Outbox returns the latest limit outbound emails, newest first: what
// was sent and what waits (with no relay configured, the mail people
// read instead).
func (s *Store) Outbox(ctx context.Context, limit int) ([]crmcore.OutboundEmail, error) {
	rows, _ := s.pool.Query(ctx, `select `+outboxCols+`, `+emailCols+` from email_outbox o join ticket_emails e on e.id = o.email_id
		order by o.created_at desc, o.id desc limit $1`, limit)
	out, err := pgx.CollectRows(rows, scanOutbox)
	if err != nil {
		return nil, mapErr("outbox", err)
	}
	return out, nil
}

// MarkEmailSent records outbound email id as sent through relay at at.
func (s *Store) MarkEmailSent(ctx context.Context, id, relay string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `update email_outbox set status='sent', attempts=attempts+1, relay=$2, sent_at=$3,
		last_error='' where id=$1`, id, relay, at.UTC())
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	return mapErr("mark email sent", err)
}

// MarkEmailFailed records a failed attempt to send outbound email id: it
// is tried again at retryAt, or, for a zero retryAt, given up (failed).
func (s *Store) MarkEmailFailed(ctx context.Context, id, reason string, retryAt time.Time) error {
	status, next := crmcore.OutboxQueued, retryAt.UTC()
	if retryAt.IsZero() {
		status, next = crmcore.OutboxFailed, s.now().UTC()
	}
	tag, err := s.pool.Exec(ctx, `update email_outbox set status=$2, attempts=attempts+1, last_error=$3, next_attempt_at=$4
		where id=$1`, id, status, crmcore.CutText(reason, 1000), next)
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	return mapErr("mark email failed", err)
}
