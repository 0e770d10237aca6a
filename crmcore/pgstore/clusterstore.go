package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"switchboard/crmcore"
)

// Leader returns the node that last won the leadership and the epoch it
// won ("" and 0 before any node has). Any node may ask. That node may have
// lost its connection since and no other have won yet; a new leader's
// epoch is always larger.
func (s *Store) Leader(ctx context.Context) (node string, epoch int64, err error) {
	err = s.pool.QueryRow(ctx, `select node, epoch from cluster_leader`).Scan(&node, &epoch)
	if err != nil {
		return "", 0, fmt.Errorf("pgstore: leader: %w", err)
	}
	return node, epoch, nil
}

// CloseNodeRecords closes as failed, with the routing reason
// crmcore.ReasonNodeLost, the interaction records node left in progress,
// records the node as left, and returns how many records it closed. Each
// record is closed once, however many callers race: a closed record no
// longer matches. It refuses with an error wrapping ErrNodeIDInUse while a
// live process holds the node's id, and holds the node's lock (shared)
// until it commits, so that the node cannot rejoin in between.
func (s *Store) CloseNodeRecords(ctx context.Context, node string) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var free bool
		if err := tx.QueryRow(ctx, `select pg_try_advisory_xact_lock_shared($1)`, nodeLockKey(node)).Scan(&free); err != nil {
			return err
		}
		if !free {
			return ErrNodeIDInUse
		}
		tag, err := tx.Exec(ctx, closeInProgressSQL, node, crmcore.ReasonNodeLost)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		_, err = tx.Exec(ctx, `update cluster_nodes set left_at = now() where id = $1 and left_at is null`, node)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("pgstore: close records of node %q: %w", node, err)
	}
	return n, nil
}
