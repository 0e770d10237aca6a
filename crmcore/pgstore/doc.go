// Package pgstore is the PostgreSQL persistence of the CRM core (pgx/v5,
// pgxpool): contacts, accounts, agents, sessions, tickets with comments and
// audit trail, interactions, the caller lookup, the demo seed, and the
// durable interaction writer.
//
// # Schema
//
// Migrations are embedded SQL files (migrations/NNN_name.sql) run by
// [Migrate] with jackc/tern/v2, which serialises concurrent runners with a
// PostgreSQL advisory lock and records the version in public.schema_version;
// running it again is a no-op. Keys are UUIDs, timestamps timestamptz (UTC),
// and CHECK, UNIQUE and FOREIGN KEY constraints make invalid states
// unrepresentable (a ticket status outside the machine, a phone number on two
// contacts, a ticket requested by a missing contact). The ticket audit table
// is append-only, enforced by a trigger. The interactions fact table is the
// one deliberate exception: its contact, agent and ticket references carry
// no FOREIGN KEY constraint, because per-row FK checks halved the COPY rate;
// the writer enforces them per batch instead (the distinct referenced rows
// are locked FOR KEY SHARE and dangling references cleared) and delete
// triggers clear references to deleted rows, which is what the constraint
// would have done.
//
// # Durable interaction writer
//
// [Writer] is the only write path for interactions and wrap-ups:
//
//	Write ──► bounded channel ──► run loop (one goroutine) ──► batch ──► COPY (two halves on
//	   │          (full?)                                          two connections, one
//	   └──────► journal file (append-only gob stream)              transaction each)
//	                 ▲   replayed at start and after every
//	                 └── successful flush; deleted once in the DB
//
// A batch that fails on a connection error is retried with capped
// exponential backoff for as long as PostgreSQL is down; new writes keep
// filling the channel and, once it is full, are appended to the journal,
// so Write never blocks on the database and never drops a record it
// accepted. Rows are keyed by their UUID: when a COPY hits a duplicate key
// (a batch retried after a commit whose acknowledgement was lost, or the
// same interaction written twice) the batch is redone through a temporary
// staging table with INSERT … ON CONFLICT DO NOTHING, so nothing is
// duplicated. A batch the server
// rejects for its content (which validation should make impossible) is
// moved to a dead-letter file next to the journal, never discarded.
// Wrap-ups are stored as their own rows and folded into the interaction's
// summary columns in the same transaction, whatever order they arrive in.
// Close(ctx) stops intake, drains the channel and the journal to the
// database, and returns when everything is written or ctx ends (whatever is
// left then stays in the journal for the next start).
package pgstore
