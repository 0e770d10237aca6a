package pgstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Registration is one registered SIP contact of a user (a row of
// sip_registrations).
type Registration struct {
	User    string
	Contact string // contact URI as registered
	Source  string // transport source address of the REGISTER
	Expires time.Time
	// Path holds the URIs of the REGISTER's Path headers (RFC 3327), in
	// order: requests to the contact are routed through them. Nil when
	// the REGISTER had none.
	Path []string
}

// Registrations returns user's registrations that expire after now.
func (s *Store) Registrations(ctx context.Context, user string, now time.Time) ([]Registration, error) {
	rows, err := s.pool.Query(ctx, `select user_name, contact, source, expires_at, path from sip_registrations
		where user_name=$1 and expires_at > $2 order by contact`, user, now.UTC())
	if err != nil {
		return nil, mapErr("registrations", err)
	}
	rs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Registration, error) {
		var g Registration
		err := r.Scan(&g.User, &g.Contact, &g.Source, &g.Expires, &g.Path)
		if len(g.Path) == 0 {
			g.Path = nil
		}
		return g, err
	})
	return rs, mapErr("registrations", err)
}

// SetRegistrations replaces every registration of user by rs (none:
// removes them) in one transaction.
func (s *Store) SetRegistrations(ctx context.Context, user string, rs []Registration) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `delete from sip_registrations where user_name=$1`, user); err != nil {
			return err
		}
		for _, r := range rs {
			path := r.Path
			if path == nil {
				path = []string{}
			}
			if _, err := tx.Exec(ctx, `insert into sip_registrations (user_name, contact, source, expires_at, path)
				values ($1,$2,$3,$4,$5) on conflict (user_name, contact)
				do update set source=excluded.source, expires_at=excluded.expires_at, path=excluded.path`,
				user, r.Contact, r.Source, r.Expires.UTC(), path); err != nil {
				return err
			}
		}
		return nil
	})
	return mapErr("set registrations", err)
}

// PurgeRegistrations deletes the registrations expired at now and returns
// how many remain.
func (s *Store) PurgeRegistrations(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `with gone as (delete from sip_registrations where expires_at <= $1)
		select count(*) from sip_registrations where expires_at > $1`, now.UTC()).Scan(&n)
	return n, mapErr("purge registrations", err)
}
