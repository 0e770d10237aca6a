package pgstore

import (
	"context"

	"github.com/jackc/pgx/v5"

	"switchboard/crmcore"
)

// LogRecordingAccess stores one access to a recording (before the audio is
// sent: an access that cannot be logged is refused).
func (s *Store) LogRecordingAccess(ctx context.Context, a crmcore.RecordingAccess) error {
	_, err := s.pool.Exec(ctx, `insert into recording_access (id, interaction_id, agent_id, at, range, source)
		values ($1, $2, nullif($3, '')::uuid, $4, $5, $6)`,
		a.ID, a.InteractionID, a.AgentID, a.At.UTC(), crmcore.CutText(a.Range, 200), crmcore.CutText(a.Source, 200))
	return mapErr("log recording access", err)
}

// RecordingAccesses returns who listened to an interaction's recording,
// oldest first (at most limit).
func (s *Store) RecordingAccesses(ctx context.Context, interactionID string, limit int) ([]crmcore.RecordingAccess, error) {
	if !crmcore.ValidID(interactionID) {
		return nil, mapErr("recording accesses", crmcore.ErrNotFound)
	}
	rows, _ := s.pool.Query(ctx, `select id::text, interaction_id::text, coalesce(agent_id::text, ''), at, range, source
		from recording_access where interaction_id = $1 order by at, id limit $2`, interactionID, limit)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crmcore.RecordingAccess, error) {
		var a crmcore.RecordingAccess
		err := r.Scan(&a.ID, &a.InteractionID, &a.AgentID, &a.At, &a.Range, &a.Source)
		return a, err
	})
	if err != nil {
		return nil, mapErr("recording accesses", err)
	}
	return out, nil
}
