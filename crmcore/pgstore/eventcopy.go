package pgstore

import (
	"context"
	"encoding/binary"
	"strings"

	"github.com/jackc/pgx/v5"

	"switchboard/crmcore"
)

// agentEventCopyCols are the columns of appendAgentEventRow, in order.
var agentEventCopyCols = []string{"id", "at", "kind", "agent_id", "queue", "channel", "task_id", "interaction_id",
	"presence", "reason", "state", "node", "wait_ms"}

var (
	copyAgentEventsSQL = "copy agent_events (" + strings.Join(agentEventCopyCols, ", ") + ") from stdin (format binary)"
	copyStageEventsSQL = "copy stage_agent_events (" + strings.Join(agentEventCopyCols, ", ") + ") from stdin (format binary)"
)

// stageEventsSQL and insertStagedEvents write a chunk's events when a
// plain COPY hit a duplicate id (a chunk retried after its commit was in
// fact applied, a segment replayed after a crash): an event is stored
// once by id.
const (
	stageEventsSQL     = `create temp table if not exists stage_agent_events (like agent_events including defaults) on commit delete rows`
	insertStagedEvents = `insert into agent_events select distinct on (id) * from stage_agent_events on conflict (id) do nothing`
)

// appendAgentEventRow appends e as one binary COPY tuple of
// agentEventCopyCols (the layout is described in copyrow.go). e must be
// valid (WriteEvents checks it).
func appendAgentEventRow(b []byte, e *crmcore.AgentEvent) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(agentEventCopyCols)))
	b = appendUUID(b, parseUUID(e.ID))
	b = appendTime(b, &e.At)
	b = appendText(b, string(e.Kind))
	b = appendUUID(b, parseUUID(e.AgentID))
	b = appendText(b, e.Queue)
	b = appendText(b, e.Channel)
	b = appendText(b, e.TaskID)
	b = appendUUID(b, parseUUID(e.InteractionID))
	b = appendText(b, e.Presence)
	b = appendText(b, e.Reason)
	b = appendText(b, e.State)
	b = appendText(b, e.Node)
	b = binary.BigEndian.AppendUint32(b, 8)
	return binary.BigEndian.AppendUint64(b, uint64(e.Wait.Milliseconds()))
}

// copyEvents writes c's agent events in tx: straight in with COPY, or,
// when staged (the chunk is being redone after a duplicate key), through
// the staging table so that events already stored are skipped.
func (c *chunk) copyEvents(ctx context.Context, tx pgx.Tx, staged bool) error {
	if c.nevs == 0 {
		return nil
	}
	pgc := tx.Conn().PgConn()
	if !staged {
		_, err := pgc.CopyFrom(ctx, copyStream(c.evs), copyAgentEventsSQL)
		return err
	}
	if _, err := tx.Exec(ctx, stageEventsSQL); err != nil {
		return err
	}
	if _, err := pgc.CopyFrom(ctx, copyStream(c.evs), copyStageEventsSQL); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, insertStagedEvents)
	return err
}
