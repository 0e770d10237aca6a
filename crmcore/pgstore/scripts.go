package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"switchboard/crmcore"
)

// scriptCols reads a call_scripts row as a crmcore.Script (scanScript).
const scriptCols = `id::text, version, name, queues, campaigns, definition, active, updated_at`

func scanScript(r pgx.Row) (crmcore.Script, error) {
	var s crmcore.Script
	var def []byte
	if err := r.Scan(&s.ID, &s.Version, &s.Name, &s.Queues, &s.Campaigns, &def, &s.Active, &s.UpdatedAt); err != nil {
		return s, err
	}
	if err := json.Unmarshal(def, &s.Steps); err != nil {
		return s, fmt.Errorf("script %s version %d: %w", s.ID, s.Version, err)
	}
	s.UpdatedAt = s.UpdatedAt.UTC()
	return s, nil
}

// CreateScript validates and stores a new script as its version 1.
func (s *Store) CreateScript(ctx context.Context, sc crmcore.Script, by string) (crmcore.Script, error) {
	sc.ID = crmcore.NewID()
	return s.saveScript(ctx, "create script", sc, by, `select 1`)
}

// UpdateScript validates and stores sc as the next version of script
// sc.ID (crmcore.ErrNotFound if there is none). Answers already saved keep
// the version they were given along.
func (s *Store) UpdateScript(ctx context.Context, sc crmcore.Script, by string) (crmcore.Script, error) {
	if !crmcore.ValidID(sc.ID) {
		return crmcore.Script{}, mapErr("update script", crmcore.ErrNotFound)
	}
	return s.saveScript(ctx, "update script", sc, by, `select max(version) + 1 from call_scripts where id = $1 having max(version) is not null`)
}

func (s *Store) saveScript(ctx context.Context, op string, sc crmcore.Script, by, version string) (crmcore.Script, error) {
	if err := sc.Validate(); err != nil {
		return crmcore.Script{}, err
	}
	def, err := json.Marshal(sc.Steps)
	if err != nil {
		return crmcore.Script{}, err
	}
	saved, err := scanScript(s.pool.QueryRow(ctx, `insert into call_scripts (id, version, name, queues, campaigns, definition, active, updated_at, updated_by)
		select $1, v, $2, $3, $4, $5, $6, $7, nullif($8, '')::uuid from (`+version+`) as next (v)
		returning `+scriptCols,
		sc.ID, sc.Name, nonNil(sc.Queues), nonNil(sc.Campaigns), def, sc.Active, time.Now().UTC(), by))
	if err != nil {
		return crmcore.Script{}, mapErr(op, err)
	}
	return saved, nil
}

// Script returns the latest version of a script.
func (s *Store) Script(ctx context.Context, id string) (crmcore.Script, error) {
	if !crmcore.ValidID(id) {
		return crmcore.Script{}, mapErr("script", crmcore.ErrNotFound)
	}
	sc, err := scanScript(s.pool.QueryRow(ctx, `select `+scriptCols+` from call_scripts where id = $1 order by version desc limit 1`, id))
	return sc, mapErr("script", err)
}

// Scripts returns the latest version of every script, by name.
func (s *Store) Scripts(ctx context.Context) ([]crmcore.Script, error) {
	rows, _ := s.pool.Query(ctx, `select `+scriptCols+` from (select distinct on (id) * from call_scripts order by id, version desc) as latest
		order by name, id`)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crmcore.Script, error) { return scanScript(r) })
	return out, mapErr("scripts", err)
}

// ScriptFor returns the active script of a campaign, else of a queue (the
// most recently changed when several name it); crmcore.ErrNotFound when
// none does.
func (s *Store) ScriptFor(ctx context.Context, queue, campaign string) (crmcore.Script, error) {
	sc, err := scanScript(s.pool.QueryRow(ctx, `select `+scriptCols+` from (select distinct on (id) * from call_scripts order by id, version desc) as latest
		where active and (($2 <> '' and $2 = any (campaigns)) or ($1 <> '' and $1 = any (queues)))
		order by ($2 <> '' and $2 = any (campaigns)) desc, updated_at desc limit 1`, queue, campaign))
	return sc, mapErr("script for", err)
}

// SaveScriptAnswers checks the answers against the script version they
// name (crmcore.Script.Walk) and stores them on the interaction, replacing
// what the same agent saved before for that script; another agent's
// answers are not replaced (crmcore.ErrConflict). The interaction may not
// be recorded yet (its record is written when it ends).
func (s *Store) SaveScriptAnswers(ctx context.Context, a crmcore.ScriptAnswers) (crmcore.ScriptAnswers, error) {
	if !crmcore.ValidID(a.InteractionID) || !crmcore.ValidID(a.ScriptID) {
		return a, mapErr("save script answers", crmcore.ErrNotFound)
	}
	sc, err := scanScript(s.pool.QueryRow(ctx, `select `+scriptCols+` from call_scripts where id = $1 and version = $2`, a.ScriptID, a.ScriptVersion))
	if err != nil {
		return a, mapErr("save script answers", err)
	}
	if a.Path, err = sc.Walk(a.Answers); err != nil {
		return a, err
	}
	if a.Answers == nil {
		a.Answers = []crmcore.ScriptAnswer{}
	}
	answers, err := json.Marshal(a.Answers)
	if err != nil {
		return a, err
	}
	a.SavedAt = time.Now().UTC()
	tag, err := s.pool.Exec(ctx, `insert into script_answers (interaction_id, script_id, script_version, agent_id, path, answers, saved_at)
		values ($1, $2, $3, nullif($4, '')::uuid, $5, $6, $7)
		on conflict (interaction_id, script_id) do update set script_version = excluded.script_version,
			path = excluded.path, answers = excluded.answers, saved_at = excluded.saved_at
		where script_answers.agent_id is not distinct from excluded.agent_id`,
		a.InteractionID, a.ScriptID, a.ScriptVersion, a.AgentID, a.Path, answers, a.SavedAt)
	if err == nil && tag.RowsAffected() == 0 {
		return a, fmt.Errorf("pgstore: save script answers: %w (another agent's answers)", crmcore.ErrConflict)
	}
	return a, mapErr("save script answers", err)
}

// ScriptAnswersOf returns the answers saved on an interaction, oldest first.
func (s *Store) ScriptAnswersOf(ctx context.Context, interactionID string) ([]crmcore.ScriptAnswers, error) {
	if !crmcore.ValidID(interactionID) {
		return nil, nil
	}
	rows, _ := s.pool.Query(ctx, `select interaction_id::text, script_id::text, script_version, coalesce(agent_id::text, ''), path, answers, saved_at
		from script_answers where interaction_id = $1 order by saved_at, script_id`, interactionID)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crmcore.ScriptAnswers, error) {
		var a crmcore.ScriptAnswers
		var answers []byte
		if err := r.Scan(&a.InteractionID, &a.ScriptID, &a.ScriptVersion, &a.AgentID, &a.Path, &answers, &a.SavedAt); err != nil {
			return a, err
		}
		a.SavedAt = a.SavedAt.UTC()
		return a, json.Unmarshal(answers, &a.Answers)
	})
	return out, mapErr("script answers", err)
}
