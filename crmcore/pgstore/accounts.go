package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"switchboard/crmcore"
)

const accountCols = `a.id::text, a.name, a.domain, a.segment, coalesce(a.owner_id::text, ''), a.created_at`

func scanAccount(row pgx.Row) (crmcore.Account, error) {
	var a crmcore.Account
	var seg string
	err := row.Scan(&a.ID, &a.Name, &a.Domain, &seg, &a.OwnerID, &a.CreatedAt)
	a.Segment = crmcore.Segment(seg)
	return a, err
}

// CreateAccount inserts an account with a fresh ID. An owner who is not an
// agent is refused with a *crmcore.FieldError on owner_id; a name already
// taken is an ErrConflict.
func (s *Store) CreateAccount(ctx context.Context, a crmcore.Account) (crmcore.Account, error) {
	a.ID = crmcore.NewID()
	a.CreatedAt = s.now().UTC()
	if a.Segment == "" {
		a.Segment = crmcore.SegmentStandard
	}
	_, err := s.pool.Exec(ctx, `insert into accounts (id, name, domain, segment, owner_id, created_at)
		values ($1, $2, $3, $4, nullif($5::text, '')::uuid, $6)`,
		a.ID, a.Name, a.Domain, string(a.Segment), a.OwnerID, a.CreatedAt)
	if err != nil {
		return crmcore.Account{}, mapErr("create account", err)
	}
	return a, nil
}

// GetAccount returns one account.
func (s *Store) GetAccount(ctx context.Context, id string) (crmcore.Account, error) {
	if !crmcore.ValidID(id) {
		return crmcore.Account{}, fmt.Errorf("pgstore: get account: %w", crmcore.ErrNotFound)
	}
	a, err := scanAccount(s.pool.QueryRow(ctx, `select `+accountCols+` from accounts a where a.id=$1`, id))
	return a, mapErr("get account", err)
}

// UpdateAccount replaces the account with id by a (validated), keeping its
// ID and creation time; errors as CreateAccount's.
func (s *Store) UpdateAccount(ctx context.Context, id string, a crmcore.Account) (crmcore.Account, error) {
	if !crmcore.ValidID(id) {
		return crmcore.Account{}, fmt.Errorf("pgstore: update account: %w", crmcore.ErrNotFound)
	}
	got, err := scanAccount(s.pool.QueryRow(ctx, `update accounts a set name=$2, domain=$3, segment=$4,
		owner_id=nullif($5::text, '')::uuid where a.id=$1 returning `+accountCols,
		id, a.Name, a.Domain, string(a.Segment), a.OwnerID))
	return got, mapErr("update account", err)
}

// ListAccounts returns every account by name.
func (s *Store) ListAccounts(ctx context.Context) ([]crmcore.Account, error) {
	rows, err := s.pool.Query(ctx, `select `+accountCols+` from accounts a order by a.name`)
	if err != nil {
		return nil, mapErr("list accounts", err)
	}
	as, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crmcore.Account, error) { return scanAccount(r) })
	return as, mapErr("list accounts", err)
}
