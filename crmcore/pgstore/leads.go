package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"switchboard/crmcore"
)

const leadCols = `l.id::text, l.name, l.company, l.email, l.phone, l.source, l.status, l.priority,
	coalesce(l.owner_id::text, ''), l.language, l.country, l.region, l.created_at, l.updated_at`

func scanLead(row pgx.Row) (crmcore.Lead, error) {
	var l crmcore.Lead
	var status, prio string
	err := row.Scan(&l.ID, &l.Name, &l.Company, &l.Email, &l.Phone, &l.Source, &status, &prio, &l.OwnerID,
		&l.Language, &l.Country, &l.Region, &l.CreatedAt, &l.UpdatedAt)
	l.Status = crmcore.LeadStatus(status)
	l.Priority, _ = crmcore.ParsePriority(prio)
	return l, err
}

// CreateLead stores a lead built by crmcore.NewLead with a fresh ID; a
// lead without an owner waits for routing.
func (s *Store) CreateLead(ctx context.Context, l crmcore.Lead) (crmcore.Lead, error) {
	l.ID = crmcore.NewID()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `insert into leads (id, name, company, email, phone, source, status, priority, owner_id,
			language, country, region, created_at, updated_at)
			values ($1,$2,$3,$4,$5,$6,$7,$8,nullif($9::text,'')::uuid,$10,$11,$12,$13,$14)`,
			l.ID, l.Name, l.Company, l.Email, l.Phone, l.Source, string(l.Status), l.Priority.String(), l.OwnerID,
			l.Language, l.Country, l.Region, l.CreatedAt.UTC(), l.UpdatedAt.UTC())
		if err != nil || l.OwnerID != "" {
			return err
		}
		_, err = tx.Exec(ctx, `insert into lead_routing (lead_id, since) values ($1, $2)`, l.ID, l.CreatedAt.UTC())
		return err
	})
	if err != nil {
		return crmcore.Lead{}, mapErr("create lead", err)
	}
	return l, nil
}

// GetLead returns one lead.
func (s *Store) GetLead(ctx context.Context, id string) (crmcore.Lead, error) {
	if !crmcore.ValidID(id) {
		return crmcore.Lead{}, fmt.Errorf("pgstore: get lead: %w", crmcore.ErrNotFound)
	}
	l, err := scanLead(s.pool.QueryRow(ctx, `select `+leadCols+` from leads l where l.id=$1`, id))
	return l, mapErr("get lead", err)
}

// ListLeads returns the newest leads, at most limit (1–500, default 50).
func (s *Store) ListLeads(ctx context.Context, limit int) ([]crmcore.Lead, error) {
	limit, _ = clampPage(limit, 0, 50, 500)
	rows, err := s.pool.Query(ctx, `select `+leadCols+` from leads l order by l.created_at desc, l.id limit $1`, limit)
	if err != nil {
		return nil, mapErr("list leads", err)
	}
	ls, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crmcore.Lead, error) { return scanLead(r) })
	return ls, mapErr("list leads", err)
}

// TransitionLead moves lead id to status next if the machine allows it; a
// lead no longer open stops waiting for routing.
func (s *Store) TransitionLead(ctx context.Context, id string, next crmcore.LeadStatus) (crmcore.Lead, error) {
	return s.mutateLead(ctx, "transition lead", id, func(_ pgx.Tx, l *crmcore.Lead) error {
		if err := l.Status.To(next); err != nil {
			return err
		}
		l.Status = next
		return nil
	})
}

// mutateLead applies fn to lead id under a row lock and stores it.
func (s *Store) mutateLead(ctx context.Context, op, id string, fn func(pgx.Tx, *crmcore.Lead) error) (crmcore.Lead, error) {
	if !crmcore.ValidID(id) {
		return crmcore.Lead{}, fmt.Errorf("pgstore: %s: %w", op, crmcore.ErrNotFound)
	}
	var l crmcore.Lead
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		if l, err = scanLead(tx.QueryRow(ctx, `select `+leadCols+` from leads l where l.id=$1 for no key update`, id)); err != nil {
			return err
		}
		if err := fn(tx, &l); err != nil {
			return err
		}
		l.UpdatedAt = s.now().UTC()
		if _, err := tx.Exec(ctx, `update leads set status=$2, owner_id=nullif($3::text,'')::uuid, updated_at=$4 where id=$1`,
			l.ID, string(l.Status), l.OwnerID, l.UpdatedAt); err != nil {
			return err
		}
		if !l.Status.Open() {
			_, err = tx.Exec(ctx, `delete from lead_routing where lead_id=$1`, l.ID)
		}
		return err
	})
	if err != nil {
		return crmcore.Lead{}, mapErr(op, err)
	}
	return l, nil
}

// PendingLeads returns up to limit leads waiting for an agent, longest
// waiting first, with the candidates for the agent offered the lead
// first: the owner of the account whose domain is the lead's email
// domain (the oldest such account with an owner), and the agent of the
// latest interaction of the contacts with the lead's phone number or
// email.
func (s *Store) PendingLeads(ctx context.Context, limit int) ([]crmcore.PendingLead, error) {
	rows, err := s.pool.Query(ctx, `select `+leadCols+`, r.since,
		coalesce((select a.owner_id::text from accounts a
			where l.email <> '' and a.domain <> '' and lower(a.domain) = lower(substring(l.email from '@([^@]*)$'))
			and a.owner_id is not null order by a.created_at, a.id limit 1), ''),
		coalesce((select i.agent_id::text from interactions i
			where i.contact_id in (select p.contact_id from contact_phones p where l.phone <> '' and p.e164 = l.phone
				union all select c.id from contacts c where l.email <> '' and c.emails @> array[l.email])
			and i.agent_id is not null order by i.arrived_at desc limit 1), '')
		from lead_routing r join leads l on l.id = r.lead_id
		order by r.since, l.id limit $1`, limit)
	if err != nil {
		return nil, mapErr("pending leads", err)
	}
	ps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crmcore.PendingLead, error) {
		var p crmcore.PendingLead
		l, err := scanLead(rowTail{r, []any{&p.Since, &p.AccountOwnerID, &p.LastAgentID}})
		p.Lead = l
		return p, err
	})
	return ps, mapErr("pending leads", err)
}

// AssignRoutedLead makes the agent who accepted lead id from the routing
// queue its owner, stores the assignment with its reasons and takes the
// lead out of the queue. A lead that no longer waits is refused with an
// error wrapping crmcore.ErrConflict.
func (s *Store) AssignRoutedLead(ctx context.Context, id string, a crmcore.LeadAssignment) (crmcore.Lead, error) {
	return s.mutateLead(ctx, "assign routed lead", id, func(tx pgx.Tx, l *crmcore.Lead) error {
		var since time.Time
		err := tx.QueryRow(ctx, `delete from lead_routing where lead_id=$1 returning since`, l.ID).Scan(&since)
		if err == pgx.ErrNoRows {
			return fmt.Errorf("pgstore: lead %s no longer waits for an agent: %w", l.ID, crmcore.ErrConflict)
		}
		if err != nil {
			return err
		}
		a.LeadID, a.QueuedAt, a.AssignedAt = l.ID, since, s.now().UTC()
		if err := a.Validate(); err != nil {
			return err
		}
		l.OwnerID = a.AgentID
		_, err = tx.Exec(ctx, `insert into lead_assignments (lead_id, agent_id, queue, reasons, queued_at, assigned_at)
			values ($1,$2,$3,$4,$5,$6)`, a.LeadID, a.AgentID, a.Queue, reasonsOrEmpty(a.Reasons), a.QueuedAt, a.AssignedAt)
		return err
	})
}

// OpenLeadOwners returns, of the leads with ids, those still open (new or
// working), each with its owner.
func (s *Store) OpenLeadOwners(ctx context.Context, ids []string) (map[string]string, error) {
	valid := make([]string, 0, len(ids))
	for _, id := range ids {
		if crmcore.ValidID(id) {
			valid = append(valid, id)
		}
	}
	rows, err := s.pool.Query(ctx, `select id::text, coalesce(owner_id::text, '') from leads
		where id = any($1::uuid[]) and status in ('new', 'working')`, valid)
	if err != nil {
		return nil, mapErr("open lead owners", err)
	}
	out := map[string]string{}
	var id, owner string
	_, err = pgx.ForEachRow(rows, []any{&id, &owner}, func() error {
		out[id] = owner
		return nil
	})
	return out, mapErr("open lead owners", err)
}

// HeldLeads returns the leads routing gave an agent that are still
// theirs: new or working and owned by the agent of their latest routed
// assignment, oldest assignment first.
func (s *Store) HeldLeads(ctx context.Context) ([]crmcore.HeldLead, error) {
	rows, err := s.pool.Query(ctx, `select `+leadCols+`, a.lead_id::text, a.agent_id::text, a.queue, a.reasons,
		a.queued_at, a.assigned_at
		from (select distinct on (lead_id) * from lead_assignments order by lead_id, id desc) a
		join leads l on l.id = a.lead_id
		where l.status in ('new', 'working') and l.owner_id = a.agent_id
		order by a.assigned_at, a.id`)
	if err != nil {
		return nil, mapErr("held leads", err)
	}
	hs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crmcore.HeldLead, error) {
		var h crmcore.HeldLead
		a := &h.Assignment
		l, err := scanLead(rowTail{r, []any{&a.LeadID, &a.AgentID, &a.Queue, &a.Reasons, &a.QueuedAt, &a.AssignedAt}})
		h.Lead = l
		return h, err
	})
	return hs, mapErr("held leads", err)
}

// LeadAssignments returns the routed assignments of lead id, oldest first.
func (s *Store) LeadAssignments(ctx context.Context, id string) ([]crmcore.LeadAssignment, error) {
	if _, err := s.GetLead(ctx, id); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `select lead_id::text, coalesce(agent_id::text, ''), queue, reasons, queued_at, assigned_at
		from lead_assignments where lead_id=$1 order by id`, id)
	if err != nil {
		return nil, mapErr("lead assignments", err)
	}
	as, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crmcore.LeadAssignment, error) {
		var a crmcore.LeadAssignment
		err := r.Scan(&a.LeadID, &a.AgentID, &a.Queue, &a.Reasons, &a.QueuedAt, &a.AssignedAt)
		return a, err
	})
	return as, mapErr("lead assignments", err)
}
