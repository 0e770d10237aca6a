package pgstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"switchboard/crmcore"
)

const interactionCols = `i.id::text, i.call_id, i.direction, i.channel, i.ani, i.dnis, coalesce(i.contact_id::text,''),
	i.ivr_path, i.queue, coalesce(i.agent_id::text,''), i.arrived_at, i.queued_at, i.offered_at, i.answered_at,
	i.ended_at, i.hold_ms, i.wrapup_ms, i.outcome, i.routing_reasons, i.recording, i.disposition, concat_ws(E'\n', nullif(i.notes, ''), nullif(i.wrapup_notes, '')),
	coalesce(i.ticket_id::text,''), i.survey_score, i.survey, i.parties, i.holds, coalesce(i.campaign,''),
	coalesce(i.campaign_result,'')`

func scanInteraction(row pgx.Row) (crmcore.Interaction, error) {
	var in crmcore.Interaction
	var dir, ch, out string
	var holdMS, wrapMS int64
	err := row.Scan(&in.ID, &in.CallID, &dir, &ch, &in.ANI, &in.DNIS, &in.ContactID, &in.IVRPath, &in.Queue,
		&in.AgentID, &in.ArrivedAt, &in.QueuedAt, &in.OfferedAt, &in.AnsweredAt, &in.EndedAt, &holdMS, &wrapMS,
		&out, &in.RoutingReasons, &in.Recording, &in.Disposition, &in.Notes, &in.TicketID, &in.SurveyScore, &in.Survey,
		&in.Parties, &in.Holds, &in.Campaign, &in.CampaignResult)
	in.Direction, in.Channel, in.Outcome = crmcore.Direction(dir), crmcore.Channel(ch), crmcore.Outcome(out)
	in.Hold, in.WrapUp = time.Duration(holdMS)*time.Millisecond, time.Duration(wrapMS)*time.Millisecond
	if in.IVRPath == nil {
		in.IVRPath = []crmcore.IVRStep{}
	}
	return in, err
}

// GetInteraction returns one interaction with its wrap-ups folded in.
func (s *Store) GetInteraction(ctx context.Context, id string) (crmcore.Interaction, error) {
	if !crmcore.ValidID(id) {
		return crmcore.Interaction{}, fmt.Errorf("pgstore: get interaction: %w", crmcore.ErrNotFound)
	}
	in, err := scanInteraction(s.pool.QueryRow(ctx, `select `+interactionCols+` from interactions i where i.id=$1`, id))
	return in, mapErr("get interaction", err)
}

// ListInteractions returns interactions matching f, newest first. Limit
// defaults to 100 and is capped at 1000 unless f.Limit is negative (export:
// no limit).
func (s *Store) ListInteractions(ctx context.Context, f crmcore.InteractionFilter) ([]crmcore.Interaction, error) {
	var out []crmcore.Interaction
	err := s.EachInteraction(ctx, f, func(in crmcore.Interaction) error {
		out = append(out, in)
		return nil
	})
	if out == nil {
		out = []crmcore.Interaction{}
	}
	return out, err
}

// EachInteraction streams the interactions matching f to fn (newest first).
func (s *Store) EachInteraction(ctx context.Context, f crmcore.InteractionFilter, fn func(crmcore.Interaction) error) error {
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if !f.From.IsZero() {
		where = append(where, "i.arrived_at >= "+arg(f.From.UTC()))
	}
	if !f.To.IsZero() {
		where = append(where, "i.arrived_at < "+arg(f.To.UTC()))
	}
	if f.Queue != "" {
		where = append(where, "i.queue = "+arg(f.Queue))
	}
	if f.AgentID != "" {
		where = append(where, "i.agent_id = "+arg(f.AgentID)+"::uuid")
	}
	if f.ContactID != "" {
		where = append(where, "i.contact_id = "+arg(f.ContactID)+"::uuid")
	}
	if f.Outcome != "" {
		where = append(where, "i.outcome = "+arg(string(f.Outcome)))
	}
	if f.Campaign != "" {
		where = append(where, "i.campaign = "+arg(f.Campaign))
	}
	sql := `select ` + interactionCols + ` from interactions i`
	if len(where) > 0 {
		sql += " where " + strings.Join(where, " and ")
	}
	sql += " order by i.arrived_at desc, i.id desc"
	switch {
	case f.Limit < 0:
	case f.Limit == 0:
		sql += " limit 100"
	default:
		sql += " limit " + arg(min(f.Limit, 1000))
	}
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return mapErr("list interactions", err)
	}
	defer rows.Close()
	for rows.Next() {
		in, err := scanInteraction(rows)
		if err != nil {
			return mapErr("list interactions", err)
		}
		if err := fn(in); err != nil {
			return err
		}
	}
	return mapErr("list interactions", rows.Err())
}

// CountInteractions returns the number of stored interactions.
func (s *Store) CountInteractions(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `select count(*) from interactions`).Scan(&n)
	return n, mapErr("count interactions", err)
}

// callerCols are the screen pop's columns of the caller: the contact, their
// account, and the phone the lookup went by (the contact's first when it
// went by the contact).
const callerCols = contactCols + `, coalesce(a.id::text,''), coalesce(a.name,''), coalesce(a.domain,''),
	coalesce(a.segment,''), coalesce(a.owner_id::text,''), coalesce(a.created_at, 'epoch'), coalesce(p.e164,''), coalesce(p.label,''),
	coalesce(p.country,''), coalesce(p.region,''), coalesce(p.time_zone,''), coalesce(p.type,'')`

// callerQueries are the screen pop's four queries about one caller: the
// contact (callerCols), their open tickets, last interactions and last
// agent. Each takes the lookup's key as $1.
type callerQueries struct{ contact, tickets, recent, lastAgent string }

// newCallerQueries builds the screen pop's queries from the contact query
// and who, the SQL expression of the contact's id from $1.
func newCallerQueries(contact, who string) callerQueries {
	return callerQueries{
		contact: contact,
		tickets: `select ` + ticketCols + ` from tickets t
	where t.requester_id = ` + who + `
	and t.status in ('new', 'open', 'pending') order by t.number desc limit 20`,
		recent: `select ` + interactionCols + ` from interactions i
		where i.contact_id = ` + who + `
		order by i.arrived_at desc limit $2`,
		lastAgent: `select a.id::text, a.login, a.name, i.arrived_at from interactions i join agents a on a.id = i.agent_id
		where i.contact_id = ` + who + ` and i.agent_id is not null
		order by i.arrived_at desc limit 1`,
	}
}

// byPhone is the lookup by the caller's number; every query is an index
// lookup, the open tickets' served by the partial index
// tickets_requester_open (migration 003), also when the number belongs to
// no contact.
var byPhone = newCallerQueries(`select `+callerCols+`
		from contact_phones p join contacts c on c.id = p.contact_id left join accounts a on a.id = c.account_id
		where p.e164 = $1`, `(select contact_id from contact_phones where e164 = $1)`)

// openTicketsByPhone is the screen pop's query of the caller's open
// tickets, newest first.
var openTicketsByPhone = byPhone.tickets

// LookupByPhone is the screen-pop query: the contact owning e164 with their
// account, open tickets, last five interactions and last agent. The four
// queries travel in one pgx.Batch (one round trip) and each is an index
// lookup. An unknown number returns Known=false and no error.
func (s *Store) LookupByPhone(ctx context.Context, e164 string) (crmcore.CallerLookup, error) {
	res, err := s.lookupCaller(ctx, byPhone, e164)
	if !res.Known {
		// Unknown caller: report what the number itself says.
		res.Phone.E164 = e164
		if p, perr := crmcore.NormalizePhone(e164, ""); err == nil && perr == nil {
			res.Phone = p
		}
	}
	return res, err
}

// lookupCaller runs the screen pop's queries q about key in one pgx.Batch
// (one round trip). A key that finds no contact returns Known=false and no
// error.
func (s *Store) lookupCaller(ctx context.Context, q callerQueries, key string) (crmcore.CallerLookup, error) {
	res := crmcore.CallerLookup{OpenTickets: []crmcore.Ticket{}, Recent: []crmcore.Interaction{}}
	b := &pgx.Batch{}
	b.Queue(q.contact, key)
	b.Queue(q.tickets, key)
	b.Queue(q.recent, key, crmcore.RecentInteractions)
	b.Queue(q.lastAgent, key)
	br := s.pool.SendBatch(ctx, b)
	defer br.Close()

	var c crmcore.Contact
	var acc crmcore.Account
	var accSeg string
	var ph crmcore.ContactPhone
	err := br.QueryRow().Scan(&c.ID, &c.Name, &c.Emails, &c.AccountID, (*string)(&c.Segment), &c.Language, &c.Country,
		&c.Region, &c.TimeZone, &c.Tags, &c.Custom, &c.CreatedAt, &c.UpdatedAt,
		&acc.ID, &acc.Name, &acc.Domain, &accSeg, &acc.OwnerID, &acc.CreatedAt, &res.Phone.E164, &ph.Label, &res.Phone.Country,
		&res.Phone.Region, &res.Phone.TimeZone, &res.Phone.Type)
	switch {
	case err == pgx.ErrNoRows:
		// Unknown caller: drain the other results (all empty).
		return res, mapErr("lookup", drain(br, 3))
	case err != nil:
		return res, mapErr("lookup", err)
	}
	res.Known = true
	if res.Phone.E164 != "" {
		ph.Phone = res.Phone
		c.Phones = []crmcore.ContactPhone{ph}
	}
	if c.Custom == nil {
		c.Custom = map[string]string{}
	}
	res.Contact = &c
	if acc.ID != "" {
		acc.Segment = crmcore.Segment(accSeg)
		res.Account = &acc
	}
	now := s.now()
	rows, err := br.Query()
	if err != nil {
		return res, mapErr("lookup tickets", err)
	}
	res.OpenTickets, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (crmcore.Ticket, error) {
		t, err := scanTicket(r)
		t.Evaluate(now)
		return t, err
	})
	if err != nil {
		return res, mapErr("lookup tickets", err)
	}
	rows, err = br.Query()
	if err != nil {
		return res, mapErr("lookup interactions", err)
	}
	res.Recent, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (crmcore.Interaction, error) { return scanInteraction(r) })
	if err != nil {
		return res, mapErr("lookup interactions", err)
	}
	var la crmcore.LastAgent
	switch err := br.QueryRow().Scan(&la.ID, &la.Login, &la.Name, &la.At); {
	case err == nil:
		res.LastAgent = &la
	case err != pgx.ErrNoRows:
		return res, mapErr("lookup last agent", err)
	}
	return res, nil
}

func drain(br pgx.BatchResults, n int) error {
	for range n {
		if _, err := br.Exec(); err != nil {
			return err
		}
	}
	return nil
}

var _ crmcore.CallerLookuper = (*Store)(nil)
