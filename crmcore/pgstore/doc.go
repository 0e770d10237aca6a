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
//	Write ──► bounded channel ──► collector (run loop) ──► chunk ──► 2 flushers, each one
//	   │          (full?)          encodes records for       │         transaction on its own
//	   │                           binary COPY as they       │         connection: lock + refs +
//	   └──────► journal file ─────► arrive, fills the next   │         check in one round trip,
//	                 ▲   replayed   chunk while the flushers │         then COPY, then commit
//	                 │   at start, after a full chunk and    │
//	                 └── every tick; deleted once its chunks ┘
//	                     are all in the database
//
// The collector turns the queue and the journal into chunks of at most
// 8,192 records and hands each to one of two flushers (two transactions at
// once keep both of the server's cores busy; a third only adds
// contention). While they write, the next chunk fills; a partial chunk
// goes out as soon as the flushers can take it, so under light load a record
// waits for nothing and under heavy load chunks grow to full size.
// Interactions are sent in COPY's binary format, encoded by hand
// (copyrow.go): pgx's generic encoder cost as much CPU as the server spent
// storing the rows.
//
// A chunk that fails on a connection error is retried with capped
// exponential backoff for as long as PostgreSQL is down; new writes keep
// filling the channel and, once it is full, are appended to the journal,
// so Write never blocks on the database and never drops a record it
// accepted. The journal has its own compact, checksummed format
// (journalcodec.go; files from earlier versions, gob streams, are still
// read). Rows are keyed by their UUID: when a COPY hits a duplicate key (a
// chunk retried after a commit whose acknowledgement was lost, or the same
// interaction written twice) the chunk is redone through a temporary
// staging table with INSERT … ON CONFLICT DO NOTHING, so nothing is
// duplicated. A chunk the server rejects for its content (which validation
// should make impossible) is bisected down to the offending records, which
// are moved to a dead-letter file next to the journal, never discarded.
// Wrap-ups are stored as their own rows and folded into the interaction's
// summary columns in the same transaction, whatever order they arrive in;
// an advisory lock (shared for interactions, exclusive for wrap-ups) keeps
// two concurrent transactions from missing each other's rows. Close(ctx)
// stops intake, drains the channel and the journal to the database, and
// returns when everything is written or ctx ends: then every record not
// yet committed is in the journal for the next start (a chunk taken from
// the queue is appended back to it; a chunk read from a journal file is
// still in that file, which is kept).
package pgstore
