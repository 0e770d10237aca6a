package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"

	"switchboard/crmcore"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// VersionTable is where tern records the schema version.
const VersionTable = "public.schema_version"

// DefaultMaxConns is the pool size Connect uses when the DSN does not set
// pool_max_conns. pgx's own default (4 on a small machine) is too few for
// a call center: the writer's flushers hold two connections for their
// transactions and every call's screen-pop lookups queue behind them.
const DefaultMaxConns = 16

// Connect opens a pool to dsn and checks it with a ping. The DSN's pool_*
// parameters (pool_max_conns, …) configure the pool; pool_max_conns
// defaults to DefaultMaxConns.
func Connect(ctx context.Context, dsn string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pgstore: parse DSN: %w", err)
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgstore: ping: %w", err)
	}
	return pool, nil
}

// DefaultSIPRealm is the SIP digest realm the SIP password hashes are
// computed for when none is configured (the SIP gateway's default).
const DefaultSIPRealm = "switchboard"

// MigrateOption configures Migrate.
type MigrateOption func(*migrateConfig)

type migrateConfig struct{ sipRealm string }

// WithMigrateSIPRealm sets the SIP realm that SIP secrets stored in plain
// text by an older schema are hashed for (default DefaultSIPRealm).
func WithMigrateSIPRealm(realm string) MigrateOption {
	return func(c *migrateConfig) { c.sipRealm = realm }
}

// Migrate brings the schema up to date with the embedded migrations. It is
// idempotent and safe to run from several processes at once (tern holds an
// advisory lock while migrating).
func Migrate(ctx context.Context, pool *pgxpool.Pool, opts ...MigrateOption) error {
	cfg := migrateConfig{sipRealm: DefaultSIPRealm}
	for _, o := range opts {
		o(&cfg)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	defer conn.Release()
	m, err := migrate.NewMigrator(ctx, conn.Conn(), VersionTable)
	if err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	m.Data["sip_realm"] = cfg.sipRealm
	sub, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	if err := m.LoadMigrations(sub); err != nil {
		return fmt.Errorf("pgstore: load migrations: %w", err)
	}
	if err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	return nil
}

// SchemaVersion returns the version recorded by Migrate (0 before the first run).
func SchemaVersion(ctx context.Context, pool *pgxpool.Pool) (int32, error) {
	var v int32
	err := pool.QueryRow(ctx, "select version from "+VersionTable).Scan(&v)
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42P01" {
			return 0, nil
		}
		return 0, fmt.Errorf("pgstore: schema version: %w", err)
	}
	return v, nil
}

// Store is the CRM repository over a pgx pool. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	log  *slog.Logger
	now  func() time.Time
	sla  crmcore.SLAPolicy
	// sipRealm is the realm the SIP secrets are hashed for (SIPHA1).
	sipRealm string
}

// Option configures a Store.
type Option func(*Store)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.log = l } }

// WithClock sets the clock used for SLA and breach evaluation (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithSLAPolicy sets the SLA policy (default crmcore.DefaultSLAPolicy(UTC)).
func WithSLAPolicy(p crmcore.SLAPolicy) Option { return func(s *Store) { s.sla = p } }

// WithSIPRealm sets the SIP digest realm the agents' SIP secrets are
// hashed for (default DefaultSIPRealm); it must be the SIP gateway's.
func WithSIPRealm(realm string) Option { return func(s *Store) { s.sipRealm = realm } }

// New returns a Store over pool. The schema must have been migrated.
func New(pool *pgxpool.Pool, opts ...Option) *Store {
	s := &Store{pool: pool, log: slog.Default(), now: time.Now, sla: crmcore.DefaultSLAPolicy(time.UTC), sipRealm: DefaultSIPRealm}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Pool returns the underlying pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// SLAPolicy returns the policy the store computes due times with.
func (s *Store) SLAPolicy() crmcore.SLAPolicy { return s.sla }

// Ping checks the database (for /readyz).
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// mapErr turns driver errors into the crmcore sentinels.
func mapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("pgstore: %s: %w", op, crmcore.ErrNotFound)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "23505":
			return fmt.Errorf("pgstore: %s: %w (%s)", op, crmcore.ErrConflict, conflictWhat(pgErr))
		case pgErr.Code == "23503":
			field, reason := fkField(pgErr)
			return &crmcore.FieldError{Field: field, Reason: reason}
		case len(pgErr.Code) == 5 && (pgErr.Code[:2] == "22" || pgErr.Code[:2] == "23"):
			return fmt.Errorf("pgstore: %s: %w: %s", op, crmcore.ErrInvalid, pgErr.Message)
		}
	}
	return fmt.Errorf("pgstore: %s: %w", op, err)
}

func conflictWhat(e *pgconn.PgError) string {
	switch e.ConstraintName {
	case "contact_phones_pkey":
		return "phone number already belongs to another contact"
	case "agents_login_key":
		return "login already taken"
	case "agents_sip_username_key":
		return "SIP username already taken"
	case "accounts_name_key":
		return "account name already taken"
	}
	return e.ConstraintName
}

// fkField names the input field of a foreign key violation and says why.
func fkField(e *pgconn.PgError) (field, reason string) {
	const missing = "refers to a record that does not exist or is still in use"
	switch e.ConstraintName {
	case "tickets_requester_id_fkey":
		return "requester_id", missing
	case "tickets_assignee_id_fkey":
		return "assignee_id", missing
	case "contacts_account_id_fkey":
		return "account_id", missing
	case "accounts_owner_id_fkey", "leads_owner_id_fkey":
		return "owner_id", "no agent with this id"
	}
	return e.ConstraintName, missing
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
