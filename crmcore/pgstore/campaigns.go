package pgstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"switchboard/crmcore"
)

// Outbound campaigns: their definitions and lists (campaigns,
// campaign_contacts) and the do-not-call list (dnc_numbers). The dialer
// (acd/campaign behind the outbound manager) keeps the live state; the
// store keeps what must survive a restart.

// campaignCols reads a campaigns row as a crmcore.CampaignInfo (scanCampaign).
const campaignCols = `id, name, queue, mode, config, state, coalesce(created_by::text, ''), created_at`

func scanCampaign(r pgx.Row) (crmcore.CampaignInfo, error) {
	var c crmcore.CampaignInfo
	var cfg []byte
	if err := r.Scan(&c.ID, &c.Name, &c.Queue, &c.Mode, &cfg, &c.State, &c.CreatedBy, &c.CreatedAt); err != nil {
		return c, err
	}
	c.Config, c.CreatedAt = json.RawMessage(cfg), c.CreatedAt.UTC()
	return c, nil
}

// validCampaign checks what CreateCampaign stores; the database checks
// the same, this gives the caller a field to blame.
func validCampaign(c *crmcore.CampaignInfo) error {
	bad := func(field, reason string) error { return &crmcore.FieldError{Field: field, Reason: reason} }
	var cfg map[string]json.RawMessage
	switch {
	case !crmcore.ValidCampaignID(c.ID):
		return bad("id", fmt.Sprintf("want 1–%d letters, digits, '.', '_' or '-'", crmcore.MaxCampaignID))
	case len(c.Name) > crmcore.MaxShortField:
		return bad("name", "too long")
	case len(c.Queue) > crmcore.MaxShortField:
		return bad("queue", "too long")
	case c.Mode != "preview" && c.Mode != "progressive" && c.Mode != "predictive":
		return bad("mode", "want preview, progressive or predictive")
	case !c.State.Valid():
		return bad("state", "want running, paused or stopped")
	case json.Unmarshal(c.Config, &cfg) != nil || cfg == nil:
		return bad("config", "want a JSON object")
	case c.CreatedBy != "" && !crmcore.ValidID(c.CreatedBy):
		return bad("created_by", "not a UUID")
	}
	return nil
}

// CreateCampaign inserts c (state, config, name, queue, mode; ID
// required; a campaign without a state is created paused);
// crmcore.ErrConflict when the id exists. A creator who is not an agent
// (any more) is not recorded.
func (s *Store) CreateCampaign(ctx context.Context, c crmcore.CampaignInfo) (crmcore.CampaignInfo, error) {
	if c.State == "" {
		c.State = crmcore.CampaignPaused
	}
	if err := validCampaign(&c); err != nil {
		return crmcore.CampaignInfo{}, err
	}
	saved, err := scanCampaign(s.pool.QueryRow(ctx, `insert into campaigns (id, name, queue, mode, config, state, created_by, created_at)
		values ($1, $2, $3, $4, $5, $6, (select id from agents where id = nullif($7, '')::uuid), $8)
		returning `+campaignCols,
		c.ID, c.Name, c.Queue, c.Mode, []byte(c.Config), string(c.State), c.CreatedBy, s.now().UTC()))
	if err != nil {
		return crmcore.CampaignInfo{}, mapErr("create campaign", err)
	}
	return saved, nil
}

// SetCampaignState records a campaign's state: crmcore.ErrNotFound when
// there is no such campaign, a *crmcore.FieldError when it is stopped
// (stopped is final) and st is not.
func (s *Store) SetCampaignState(ctx context.Context, id string, st crmcore.CampaignState) error {
	if !st.Valid() {
		return &crmcore.FieldError{Field: "state", Reason: "want running, paused or stopped"}
	}
	tag, err := s.pool.Exec(ctx, `update campaigns set state = $2 where id = $1 and (state <> 'stopped' or $2 = 'stopped')`,
		id, string(st))
	if err == nil && tag.RowsAffected() == 0 {
		// No such campaign (ErrNotFound), or a stopped one.
		if err = s.pool.QueryRow(ctx, `select id from campaigns where id = $1`, id).Scan(new(string)); err == nil {
			return &crmcore.FieldError{Field: "state", Reason: "the campaign is stopped; stopped is final"}
		}
	}
	return mapErr("set campaign state", err)
}

// Campaigns returns every campaign, oldest first, with zero Stats (the
// dialer has the figures).
func (s *Store) Campaigns(ctx context.Context) ([]crmcore.CampaignInfo, error) {
	rows, _ := s.pool.Query(ctx, `select `+campaignCols+` from campaigns order by created_at, id`)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crmcore.CampaignInfo, error) { return scanCampaign(r) })
	if out == nil {
		out = []crmcore.CampaignInfo{}
	}
	return out, mapErr("campaigns", err)
}

// AddCampaignContacts appends cs at the end of campaign id's list in one
// transaction and returns them with their positions, which continue after
// the last one (crmcore.ErrNotFound when there is no such campaign). The
// campaign's row is locked meanwhile, so concurrent appends queue rather
// than take the same positions. A contact id naming no contact (deleted
// since the list was read) is dropped; appended contacts are not done.
func (s *Store) AddCampaignContacts(ctx context.Context, id string, cs []crmcore.CampaignContact) ([]crmcore.CampaignContact, error) {
	for i := range cs {
		if err := cs[i].Validate(); err != nil {
			return nil, fmt.Errorf("contact %d: %w", i, err)
		}
	}
	out := make([]crmcore.CampaignContact, len(cs))
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// The lock first, the last position after it: a statement that
		// waited for the lock reads with the snapshot it started with.
		if err := tx.QueryRow(ctx, `select id from campaigns where id = $1 for update`, id).Scan(new(string)); err != nil || len(cs) == 0 {
			return err
		}
		var next int
		err := tx.QueryRow(ctx, `select coalesce(max(position) + 1, 0) from campaign_contacts where campaign_id = $1`, id).Scan(&next)
		if err != nil {
			return err
		}
		var ids []string
		for _, c := range cs {
			if c.ContactID != "" {
				ids = append(ids, c.ContactID)
			}
		}
		known := map[string]bool{}
		if len(ids) > 0 {
			rows, _ := tx.Query(ctx, `select id::text from contacts where id = any($1::uuid[]) for key share`, ids)
			found, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return err
			}
			for _, k := range found {
				known[k] = true
			}
		}
		rows := make([][]any, len(cs))
		for i, c := range cs {
			c.Position, c.Done = next+i, false
			if !known[c.ContactID] {
				c.ContactID = ""
			}
			out[i] = c
			rows[i] = []any{id, c.Position, pgUUID(c.ContactID), c.Number, c.Name, c.TimeZone}
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"campaign_contacts"},
			[]string{"campaign_id", "position", "contact_id", "number", "name", "time_zone"}, pgx.CopyFromRows(rows))
		return err
	})
	if err != nil {
		return nil, mapErr("add campaign contacts", err)
	}
	return out, nil
}

// CampaignContacts returns campaign id's list in position order, done
// ones included (crmcore.ErrNotFound when there is no such campaign).
func (s *Store) CampaignContacts(ctx context.Context, id string) ([]crmcore.CampaignContact, error) {
	rows, _ := s.pool.Query(ctx, `select position, coalesce(contact_id::text, ''), number, name, time_zone, done
		from campaign_contacts where campaign_id = $1 order by position`, id)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crmcore.CampaignContact, error) {
		var c crmcore.CampaignContact
		err := r.Scan(&c.Position, &c.ContactID, &c.Number, &c.Name, &c.TimeZone, &c.Done)
		return c, err
	})
	if err == nil && len(out) == 0 {
		err = s.pool.QueryRow(ctx, `select id from campaigns where id = $1`, id).Scan(new(string))
		out = []crmcore.CampaignContact{}
	}
	if err != nil {
		return nil, mapErr("campaign contacts", err)
	}
	return out, nil
}

// FinishCampaignContacts marks the contacts at positions done; marking a
// done contact again changes nothing (crmcore.ErrNotFound when there is
// no such campaign).
func (s *Store) FinishCampaignContacts(ctx context.Context, id string, positions []int) error {
	var exists bool
	err := s.pool.QueryRow(ctx, `with upd as (update campaign_contacts set done = true
			where campaign_id = $1 and position = any($2) and not done)
		select exists (select 1 from campaigns where id = $1)`, id, positions).Scan(&exists)
	if err == nil && !exists {
		err = pgx.ErrNoRows
	}
	return mapErr("finish campaign contacts", err)
}

// dncCols reads a dnc_numbers row as a crmcore.DNCEntry (scanDNC).
const dncCols = `number, reason, coalesce(added_by::text, ''), added_at`

func scanDNC(r pgx.Row) (crmcore.DNCEntry, error) {
	var e crmcore.DNCEntry
	err := r.Scan(&e.Number, &e.Reason, &e.AddedBy, &e.AddedAt)
	e.AddedAt = e.AddedAt.UTC()
	return e, err
}

// AddDNC puts a number on the do-not-call list, or updates its reason and
// who added it when it is there. The number must be in international
// form; it is stored in E.164 (crmcore.DNCEntry.Normalize), which is
// what Blocked compares. An AddedBy who is not an agent is not recorded.
func (s *Store) AddDNC(ctx context.Context, e crmcore.DNCEntry) (crmcore.DNCEntry, error) {
	if err := e.Normalize(); err != nil {
		return crmcore.DNCEntry{}, err
	}
	saved, err := scanDNC(s.pool.QueryRow(ctx, `insert into dnc_numbers (number, reason, added_by, added_at)
		values ($1, $2, (select id from agents where id = nullif($3, '')::uuid), $4)
		on conflict (number) do update set reason = excluded.reason, added_by = excluded.added_by, added_at = excluded.added_at
		returning `+dncCols, e.Number, e.Reason, e.AddedBy, s.now().UTC()))
	return saved, mapErr("add dnc", err)
}

// RemoveDNC takes a number off the do-not-call list; crmcore.ErrNotFound
// when it is not on it. The number is normalised as AddDNC does.
func (s *Store) RemoveDNC(ctx context.Context, number string) error {
	e := crmcore.DNCEntry{Number: number}
	if err := e.Normalize(); err != nil {
		return mapErr("remove dnc", pgx.ErrNoRows)
	}
	tag, err := s.pool.Exec(ctx, `delete from dnc_numbers where number = $1`, e.Number)
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	return mapErr("remove dnc", err)
}

// Limits of ListDNC's page.
const (
	DefaultDNCPage = 100
	MaxDNCPage     = 1000
)

// ListDNC returns the do-not-call list in number order, from the number
// after after ("" for the start): at most limit entries (DefaultDNCPage
// when limit ≤ 0, at most MaxDNCPage).
func (s *Store) ListDNC(ctx context.Context, after string, limit int) ([]crmcore.DNCEntry, error) {
	if limit <= 0 {
		limit = DefaultDNCPage
	}
	rows, _ := s.pool.Query(ctx, `select `+dncCols+` from dnc_numbers where number > $1 order by number limit $2`,
		after, min(limit, MaxDNCPage))
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crmcore.DNCEntry, error) { return scanDNC(r) })
	if out == nil {
		out = []crmcore.DNCEntry{}
	}
	return out, mapErr("list dnc", err)
}

// Blocked reports whether number (E.164) is on the do-not-call list. It
// is asked just before every dial (acd/campaign.DNC), so it is one index
// lookup.
func (s *Store) Blocked(ctx context.Context, number string) (bool, error) {
	var blocked bool
	err := s.pool.QueryRow(ctx, `select exists (select 1 from dnc_numbers where number = $1)`, number).Scan(&blocked)
	return blocked, mapErr("dnc blocked", err)
}
