package pgstore

import (
	"context"
	"crypto/rand"
	"errors"

	"github.com/jackc/pgx/v5"
)

// Secret returns the installation's key called name, making a random one
// of 32 bytes the first time it is asked for: every node sharing the
// database gets the same key.
func (s *Store) Secret(ctx context.Context, name string) ([]byte, error) {
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	var key []byte
	var err error
	// A key another node made while this statement ran is not in its
	// snapshot: the second attempt reads it.
	for range 2 {
		err = s.pool.QueryRow(ctx, `with made as (insert into app_secrets (name, secret) values ($1, $2)
			on conflict (name) do nothing returning secret)
			select secret from made union all select secret from app_secrets where name=$1 limit 1`, name, fresh).Scan(&key)
		if !errors.Is(err, pgx.ErrNoRows) {
			break
		}
	}
	if err != nil {
		return nil, mapErr("secret", err)
	}
	return key, nil
}
