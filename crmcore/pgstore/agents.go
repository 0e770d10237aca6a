package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"switchboard/crmcore"
)

const agentCols = `a.id::text, a.login, a.name, a.role, a.password_hash, a.languages, a.country, a.region,
	a.time_zone, coalesce(a.sip_username, ''), a.sip_ha1_md5, a.sip_ha1_sha256, a.active, a.created_at, a.updated_at,
	coalesce((select jsonb_agg(jsonb_build_object('name', s.skill, 'level', s.level) order by s.skill)
	          from agent_skills s where s.agent_id = a.id), '[]'),
	coalesce((select jsonb_object_agg(c.channel, c.capacity) from agent_capacity c where c.agent_id = a.id), '{}')`

func scanAgent(row pgx.Row) (crmcore.Agent, error) {
	var a crmcore.Agent
	var role string
	err := row.Scan(&a.ID, &a.Login, &a.Name, &role, &a.PasswordHash, &a.Languages, &a.Country, &a.Region,
		&a.TimeZone, &a.SIPUsername, &a.SIPHA1.MD5, &a.SIPHA1.SHA256, &a.Active, &a.CreatedAt, &a.UpdatedAt, &a.Skills, &a.Capacity)
	a.Role = crmcore.Role(role)
	return a, err
}

// sipHA1 returns the digest hashes the store keeps of a's SIP secret for
// the store's realm (empty without a secret or a SIP username).
func (s *Store) sipHA1(a crmcore.Agent) crmcore.SIPHA1 {
	if a.SIPSecret == "" || a.SIPUsername == "" {
		return crmcore.SIPHA1{}
	}
	return crmcore.ComputeSIPHA1(a.SIPUsername, s.sipRealm, a.SIPSecret)
}

// CreateAgent inserts a (validated by crmcore.NewAgent, password hashed)
// with a fresh ID. Of the SIP secret only its digest hashes (SIPHA1) are
// stored.
func (s *Store) CreateAgent(ctx context.Context, a crmcore.Agent) (crmcore.Agent, error) {
	a.ID = crmcore.NewID()
	a.SIPHA1, a.SIPSecret = s.sipHA1(a), ""
	if a.Capacity == nil {
		a.Capacity = crmcore.Capacity{}
	}
	now := s.now().UTC()
	a.CreatedAt, a.UpdatedAt = now, now
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `insert into agents (id, login, name, role, password_hash, languages, country, region,
			time_zone, sip_username, sip_ha1_md5, sip_ha1_sha256, active, created_at, updated_at)
			values ($1,$2,$3,$4,$5,$6,$7,$8,$9,nullif($10,''),$11,$12,$13,$14,$14)`,
			a.ID, a.Login, a.Name, string(a.Role), a.PasswordHash, a.Languages, a.Country, a.Region, a.TimeZone,
			a.SIPUsername, a.SIPHA1.MD5, a.SIPHA1.SHA256, a.Active, now)
		if err != nil {
			return err
		}
		if err := insertSkills(ctx, tx, a.ID, a.Skills); err != nil {
			return err
		}
		return insertCapacity(ctx, tx, a.ID, a.Capacity)
	})
	if err != nil {
		return crmcore.Agent{}, mapErr("create agent", err)
	}
	return a, nil
}

func insertSkills(ctx context.Context, tx pgx.Tx, id string, skills []crmcore.Skill) error {
	for _, sk := range skills {
		if _, err := tx.Exec(ctx, `insert into agent_skills (agent_id, skill, level) values ($1,$2,$3)`, id, sk.Name, sk.Level); err != nil {
			return err
		}
	}
	return nil
}

// insertCapacity stores an agent's capacity overrides, one row per channel.
func insertCapacity(ctx context.Context, tx pgx.Tx, id string, c crmcore.Capacity) error {
	for ch, n := range c {
		if _, err := tx.Exec(ctx, `insert into agent_capacity (agent_id, channel, capacity) values ($1,$2,$3)`, id, ch, n); err != nil {
			return err
		}
	}
	return nil
}

// UpdateAgent replaces the agent with id by a (skills and capacity
// overrides included). An empty PasswordHash keeps
// the stored one; so does an empty SIPSecret, unless the SIP username
// changes: the stored hashes are then cleared, as they name the old one.
func (s *Store) UpdateAgent(ctx context.Context, id string, a crmcore.Agent) (crmcore.Agent, error) {
	if !crmcore.ValidID(id) {
		return crmcore.Agent{}, fmt.Errorf("pgstore: update agent: %w", crmcore.ErrNotFound)
	}
	now := s.now().UTC()
	ha1 := s.sipHA1(a)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `update agents set login=$2, name=$3, role=$4,
			password_hash=coalesce(nullif($5,''), password_hash), languages=$6, country=$7, region=$8, time_zone=$9,
			sip_username=nullif($10,''),
			sip_ha1_md5=case when $11 <> '' then $11 when sip_username is distinct from nullif($10,'') then '' else sip_ha1_md5 end,
			sip_ha1_sha256=case when $12 <> '' then $12 when sip_username is distinct from nullif($10,'') then '' else sip_ha1_sha256 end,
			active=$13, updated_at=$14
			where id=$1`,
			id, a.Login, a.Name, string(a.Role), a.PasswordHash, a.Languages, a.Country, a.Region, a.TimeZone,
			a.SIPUsername, ha1.MD5, ha1.SHA256, a.Active, now)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return pgx.ErrNoRows
		}
		if _, err := tx.Exec(ctx, `delete from agent_skills where agent_id=$1`, id); err != nil {
			return err
		}
		if err := insertSkills(ctx, tx, id, a.Skills); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `delete from agent_capacity where agent_id=$1`, id); err != nil {
			return err
		}
		if err := insertCapacity(ctx, tx, id, a.Capacity); err != nil {
			return err
		}
		if !a.Active {
			_, err = tx.Exec(ctx, `delete from sessions where agent_id=$1`, id)
		}
		return err
	})
	if err != nil {
		return crmcore.Agent{}, mapErr("update agent", err)
	}
	return s.GetAgent(ctx, id)
}

// DeleteAgent removes an agent, its skills and sessions; tickets and
// interactions keep their history with the agent reference cleared.
func (s *Store) DeleteAgent(ctx context.Context, id string) error {
	if !crmcore.ValidID(id) {
		return fmt.Errorf("pgstore: delete agent: %w", crmcore.ErrNotFound)
	}
	tag, err := s.pool.Exec(ctx, `delete from agents where id=$1`, id)
	if err != nil {
		return mapErr("delete agent", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore: delete agent: %w", crmcore.ErrNotFound)
	}
	return nil
}

// GetAgent returns one agent.
func (s *Store) GetAgent(ctx context.Context, id string) (crmcore.Agent, error) {
	if !crmcore.ValidID(id) {
		return crmcore.Agent{}, fmt.Errorf("pgstore: get agent: %w", crmcore.ErrNotFound)
	}
	a, err := scanAgent(s.pool.QueryRow(ctx, `select `+agentCols+` from agents a where a.id=$1`, id))
	return a, mapErr("get agent", err)
}

// AgentByLogin returns the agent with that login (crmcore.AgentStore).
func (s *Store) AgentByLogin(ctx context.Context, login string) (crmcore.Agent, error) {
	a, err := scanAgent(s.pool.QueryRow(ctx, `select `+agentCols+` from agents a where a.login=$1`, login))
	return a, mapErr("agent by login", err)
}

// AgentBySIPUsername returns the agent with that SIP username (for the registrar).
func (s *Store) AgentBySIPUsername(ctx context.Context, user string) (crmcore.Agent, error) {
	a, err := scanAgent(s.pool.QueryRow(ctx, `select `+agentCols+` from agents a where a.sip_username=$1`, user))
	return a, mapErr("agent by SIP username", err)
}

// ListAgents returns every agent with skills, languages, region and SIP
// credentials, ordered by login (crmcore.AgentLister).
func (s *Store) ListAgents(ctx context.Context) ([]crmcore.Agent, error) {
	rows, err := s.pool.Query(ctx, `select `+agentCols+` from agents a order by a.login`)
	if err != nil {
		return nil, mapErr("list agents", err)
	}
	as, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crmcore.Agent, error) { return scanAgent(r) })
	return as, mapErr("list agents", err)
}

// CreateSession stores a session (crmcore.SessionStore).
func (s *Store) CreateSession(ctx context.Context, ss crmcore.Session) error {
	_, err := s.pool.Exec(ctx, `insert into sessions (token_hash, agent_id, created_at, expires_at) values ($1,$2,$3,$4)`,
		ss.TokenHash, ss.AgentID, ss.CreatedAt.UTC(), ss.ExpiresAt.UTC())
	return mapErr("create session", err)
}

// SessionAgent returns the agent behind an unexpired session (crmcore.SessionStore).
func (s *Store) SessionAgent(ctx context.Context, tokenHash []byte, now time.Time) (crmcore.Agent, error) {
	a, err := scanAgent(s.pool.QueryRow(ctx, `select `+agentCols+` from sessions ss join agents a on a.id = ss.agent_id
		where ss.token_hash=$1 and ss.expires_at > $2`, tokenHash, now.UTC()))
	return a, mapErr("session", err)
}

// DeleteSession removes a session (crmcore.SessionStore).
func (s *Store) DeleteSession(ctx context.Context, tokenHash []byte) error {
	_, err := s.pool.Exec(ctx, `delete from sessions where token_hash=$1`, tokenHash)
	return mapErr("delete session", err)
}

// DeleteAgentSessions removes every session of the agent (crmcore.SessionStore).
func (s *Store) DeleteAgentSessions(ctx context.Context, agentID string) error {
	if !crmcore.ValidID(agentID) {
		return nil
	}
	_, err := s.pool.Exec(ctx, `delete from sessions where agent_id=$1`, agentID)
	return mapErr("delete agent sessions", err)
}

// PurgeSessions deletes sessions that expired before now and returns how many.
func (s *Store) PurgeSessions(ctx context.Context, now time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `delete from sessions where expires_at <= $1`, now.UTC())
	return tag.RowsAffected(), mapErr("purge sessions", err)
}

var (
	_ crmcore.AgentStore   = (*Store)(nil)
	_ crmcore.SessionStore = (*Store)(nil)
	_ crmcore.AgentLister  = (*Store)(nil)
)
