package pgstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"switchboard/crmcore"
)

const contactCols = `c.id::text, c.name, c.emails, coalesce(c.account_id::text, ''), c.segment, c.language,
	c.country, c.region, c.time_zone, c.tags, c.custom, c.created_at, c.updated_at`

func scanContact(row pgx.Row) (crmcore.Contact, error) {
	var c crmcore.Contact
	var seg string
	err := row.Scan(&c.ID, &c.Name, &c.Emails, &c.AccountID, &seg, &c.Language, &c.Country, &c.Region,
		&c.TimeZone, &c.Tags, &c.Custom, &c.CreatedAt, &c.UpdatedAt)
	c.Segment = crmcore.Segment(seg)
	if c.Custom == nil {
		c.Custom = map[string]string{}
	}
	c.Phones = []crmcore.ContactPhone{}
	return c, err
}

// CreateContact inserts c (already validated by crmcore.NewContact) with a
// fresh ID and returns it as stored. A phone number that already belongs to
// another contact is an ErrConflict.
func (s *Store) CreateContact(ctx context.Context, c crmcore.Contact) (crmcore.Contact, error) {
	c.ID = crmcore.NewID()
	now := s.now().UTC()
	c.CreatedAt, c.UpdatedAt = now, now
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `insert into contacts (id, name, emails, account_id, segment, language, country, region,
			time_zone, tags, custom, created_at, updated_at)
			values ($1, $2, $3, nullif($4::text, '')::uuid, $5, $6, $7, $8, $9, $10, $11, $12, $12)`,
			c.ID, c.Name, c.Emails, c.AccountID, string(c.Segment), c.Language, c.Country, c.Region, c.TimeZone,
			c.Tags, c.Custom, now)
		if err != nil {
			return err
		}
		return insertPhones(ctx, tx, c.ID, c.Phones)
	})
	if err != nil {
		return crmcore.Contact{}, mapErr("create contact", err)
	}
	return c, nil
}

func insertPhones(ctx context.Context, tx pgx.Tx, id string, phones []crmcore.ContactPhone) error {
	for i, p := range phones {
		_, err := tx.Exec(ctx, `insert into contact_phones (e164, contact_id, position, label, country, region, time_zone, type)
			values ($1, $2, $3, $4, $5, $6, $7, $8)`, p.E164, id, i, p.Label, p.Country, p.Region, p.TimeZone, p.Type)
		if err != nil {
			return err
		}
	}
	return nil
}

// UpdateContact replaces the contact with id by c (validated), keeping its
// ID and creation time.
func (s *Store) UpdateContact(ctx context.Context, id string, c crmcore.Contact) (crmcore.Contact, error) {
	if !crmcore.ValidID(id) {
		return crmcore.Contact{}, fmt.Errorf("pgstore: update contact: %w", crmcore.ErrNotFound)
	}
	now := s.now().UTC()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `update contacts set name=$2, emails=$3, account_id=nullif($4::text, '')::uuid, segment=$5,
			language=$6, country=$7, region=$8, time_zone=$9, tags=$10, custom=$11, updated_at=$12
			where id=$1 returning created_at`,
			id, c.Name, c.Emails, c.AccountID, string(c.Segment), c.Language, c.Country, c.Region, c.TimeZone,
			c.Tags, c.Custom, now).Scan(&c.CreatedAt)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `delete from contact_phones where contact_id=$1`, id); err != nil {
			return err
		}
		return insertPhones(ctx, tx, id, c.Phones)
	})
	if err != nil {
		return crmcore.Contact{}, mapErr("update contact", err)
	}
	c.ID, c.UpdatedAt = id, now
	return c, nil
}

// DeleteContact removes a contact and its numbers. A contact that still
// requests tickets cannot be deleted (ErrInvalid on requester_id).
func (s *Store) DeleteContact(ctx context.Context, id string) error {
	if !crmcore.ValidID(id) {
		return fmt.Errorf("pgstore: delete contact: %w", crmcore.ErrNotFound)
	}
	tag, err := s.pool.Exec(ctx, `delete from contacts where id=$1`, id)
	if err != nil {
		return mapErr("delete contact", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore: delete contact: %w", crmcore.ErrNotFound)
	}
	return nil
}

// GetContact returns one contact with its phone numbers.
func (s *Store) GetContact(ctx context.Context, id string) (crmcore.Contact, error) {
	if !crmcore.ValidID(id) {
		return crmcore.Contact{}, fmt.Errorf("pgstore: get contact: %w", crmcore.ErrNotFound)
	}
	c, err := scanContact(s.pool.QueryRow(ctx, `select `+contactCols+` from contacts c where c.id=$1`, id))
	if err != nil {
		return crmcore.Contact{}, mapErr("get contact", err)
	}
	cs := []crmcore.Contact{c}
	if err := s.loadPhones(ctx, cs); err != nil {
		return crmcore.Contact{}, err
	}
	return cs[0], nil
}

func (s *Store) loadPhones(ctx context.Context, cs []crmcore.Contact) error {
	if len(cs) == 0 {
		return nil
	}
	ids := make([]string, len(cs))
	idx := make(map[string]int, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
		idx[c.ID] = i
	}
	rows, err := s.pool.Query(ctx, `select contact_id::text, e164, label, country, region, time_zone, type
		from contact_phones where contact_id = any($1::uuid[]) order by contact_id, position`, ids)
	if err != nil {
		return mapErr("load phones", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var p crmcore.ContactPhone
		if err := rows.Scan(&id, &p.E164, &p.Label, &p.Country, &p.Region, &p.TimeZone, &p.Type); err != nil {
			return mapErr("load phones", err)
		}
		cs[idx[id]].Phones = append(cs[idx[id]].Phones, p)
	}
	return mapErr("load phones", rows.Err())
}

// SearchContacts finds contacts by name substring, E.164 number, email or
// tag (ANDed), ordered by name.
func (s *Store) SearchContacts(ctx context.Context, q crmcore.ContactQuery) ([]crmcore.Contact, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "$?", fmt.Sprintf("$%d", len(args))))
	}
	if q.Text != "" {
		add(`c.name ilike '%' || $? || '%'`, escapeLike(q.Text))
	}
	if q.Phone != "" {
		add(`c.id = (select contact_id from contact_phones where e164 = $?)`, q.Phone)
	}
	if q.Email != "" {
		add(`c.emails @> array[lower($?)]`, q.Email)
	}
	if q.Tag != "" {
		add(`c.tags @> array[lower($?)]`, q.Tag)
	}
	sql := `select ` + contactCols + ` from contacts c`
	if len(where) > 0 {
		sql += " where " + strings.Join(where, " and ")
	}
	limit, offset := clampPage(q.Limit, q.Offset, 50, 500)
	args = append(args, limit, offset)
	sql += fmt.Sprintf(" order by c.name, c.id limit $%d offset $%d", len(args)-1, len(args))
	return s.queryContacts(ctx, sql, args...)
}

func (s *Store) queryContacts(ctx context.Context, sql string, args ...any) ([]crmcore.Contact, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, mapErr("search contacts", err)
	}
	cs := []crmcore.Contact{}
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			rows.Close()
			return nil, mapErr("search contacts", err)
		}
		cs = append(cs, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, mapErr("search contacts", err)
	}
	return cs, s.loadPhones(ctx, cs)
}

// FindContactIDs returns the IDs of contacts that own any of the numbers or
// emails (for de-duplication on import).
func (s *Store) FindContactIDs(ctx context.Context, e164s, emails []string) ([]string, error) {
	if len(e164s) == 0 && len(emails) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `select distinct id from (
		select contact_id::text id from contact_phones where e164 = any($1)
		union select id::text from contacts where emails && $2) x order by id`, e164s, emails)
	if err != nil {
		return nil, mapErr("find contacts", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, mapErr("find contacts", err)
}

// EachContact calls fn for every contact in name order, in pages, until fn
// returns an error (for CSV export).
func (s *Store) EachContact(ctx context.Context, fn func(crmcore.Contact) error) error {
	after := ""
	for {
		cs, err := s.queryContacts(ctx, `select `+contactCols+` from contacts c where c.id::text > $1 order by c.id limit 500`, after)
		if err != nil {
			return err
		}
		for _, c := range cs {
			if err := fn(c); err != nil {
				return err
			}
		}
		if len(cs) < 500 {
			return nil
		}
		after = cs[len(cs)-1].ID
	}
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func clampPage(limit, offset, def, maxLimit int) (int, int) {
	if limit <= 0 {
		limit = def
	}
	limit = min(limit, maxLimit)
	return limit, max(offset, 0)
}
