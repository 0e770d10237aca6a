// Package pgstore is the PostgreSQL persistence of the CRM core (pgx/v5,
// pgxpool): contacts, accounts, agents, sessions, tickets with comments and
// audit trail, interactions, the caller lookup, the demo seed, the
// durable interaction writer, and cluster membership and leadership.
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
// Agents carry per-channel capacity overrides (agent_capacity, one row per
// channel). Tickets waiting for an agent are in ticket_routing, kept by
// the ticket writes themselves in the ticket's transaction: a ticket
// enters it when created new and unassigned or reopened by someone other
// than its assignee, and leaves it when assigned, solved or closed, or
// accepted from the ACD ([Store.AssignRouted]), which also keeps the
// assignment with its routing reasons (ticket_assignments). An account
// may have an owner (accounts.owner_id); a waiting item carries its
// account owner and last agent as candidates for its preferred agent
// ([Store.PendingTickets], [Store.PendingLeads]), and the items routing
// gave agents that are still theirs are read back after a restart
// ([Store.HeldTickets], [Store.HeldLeads]).
//
// Tables beside the CRM's: the knowledge base (knowledge_articles, with
// a tsvector of title and body under each article's language's text
// search configuration), quality forms and evaluations (qa_forms keeps
// every version; [Store.AssignSample] draws a seeded weekly sample per
// agent), call scripts (every change a version) and the answers given
// along them, the webhook outbox (webhook_events, written by the
// transaction that changes the data, and only for event types an active
// subscription wants; crmcore/webhook delivers them), outbound campaigns
// (campaigns, their lists in campaign_contacts, and the do-not-call list
// dnc_numbers; acd/outbound dials them), and the event log
// (agent_events) with its roll-ups (report_intervals, 15 minutes, and
// report_hours, with not-ready time by reason in report_not_ready and
// report_not_ready_hours), recomputed from the log and the interactions by
// [Store.RollUp] and read by [Store.IntervalReport].
//
// # Durable interaction writer
//
// [Writer] is the only write path for interactions, wrap-ups and the
// event log ([Writer.WriteEvents]; journal format 6). It is a
// write-ahead log in front of PostgreSQL:
//
//	Write ──► journal (group commit) ──► collector ──► chunk ──► 2 flushers, each one
//	 waits     one syncer goroutine      tails the      │         transaction on its own
//	 for its   writes and fsyncs all     segments up    │         connection: lock + refs +
//	 fsync     appended since its last   to the durable │         check in one round trip,
//	           fsync; numbered segment   position       │         then COPY (and upsert),
//	           files                                    │         then commit
//	                 ▲ a segment is deleted once it is complete and every chunk
//	                 └ drawn from it is committed
//
// A record is acknowledged — Write returns nil — only after the fsync that
// covers it: concurrent writers share one fsync (group commit), so one
// caller waits about one fsync and many callers cost little more. From then
// on the record survives the process dying and PostgreSQL being down for
// as long as the disk holds; nothing waits in memory for the database.
// The collector reads each segment as it becomes durable (the journal
// publishes how far it has synced), encodes the records for binary COPY,
// and hands chunks of at most 8,192 records to one of two flushers (two
// transactions at once keep both of the server's cores busy; a third only
// adds contention). While they write, the next chunk fills; a partial
// chunk goes out as soon as a flusher can take it, so under light load a
// record waits for nothing and under heavy load chunks grow to full size.
// When PostgreSQL is down the flushers retry with capped exponential
// backoff and the collector stops reading: the backlog stays on disk. The
// journal starts a new segment past 64 MiB or 10 s, so that committed
// records do not linger in a segment that cannot be deleted yet.
// Interactions are sent in COPY's binary format, encoded by hand
// (copyrow.go): pgx's generic encoder cost as much CPU as the server spent
// storing the rows. The journal has its own compact, checksummed format
// (journalcodec.go; files of earlier versions are still read).
//
// A call's record is written twice under one id: opened when the call
// arrives (outcome in-progress) and completed when it ends. A completion
// of a record the collector saw opened is upserted through a temporary
// staging table (COPY cannot update); everything else goes straight in
// with COPY. When a COPY hits a duplicate key (a chunk retried after a
// commit whose acknowledgement was lost, a segment replayed after a crash,
// a completion that overtook its opening) the chunk is redone through the
// staging table with INSERT … ON CONFLICT (id) DO UPDATE … WHERE the row
// is in progress: a completed record wins over an opened one in either
// order and is never replaced, so replay is exactly-once by id. The one
// exception is a callback requested: the record of the callback's call
// later completes it (see crmcore/callbacks). Every
// record is stored with the writer's node id (WithNodeID). At start the
// writer first writes every segment earlier runs left, then closes the
// records still in progress under its node id as failed, with the routing
// reason interrupted (only a process of this node that is gone can have
// left them), and only then follows the journal of this run.
//
// A chunk the server rejects for its content (which validation should
// make impossible) is bisected down to the offending records, which are
// moved to a dead-letter file next to the journal, never discarded.
// Wrap-ups are stored as their own rows and folded into the interaction's
// summary columns in the same transaction, whatever order they arrive in;
// an advisory lock (shared for interactions, exclusive for wrap-ups) keeps
// two concurrent transactions from missing each other's rows. Close(ctx)
// stops intake and returns when everything journaled is committed, or when
// ctx ends: then what is not committed stays in the journal for the next
// start.
//
// # Cluster
//
// Nodes sharing the database are members of one cluster ([Join]). A
// member holds a dedicated connection (not a pool's), whose session holds
// its locks, so they last exactly as long as the process's connection:
// PostgreSQL releases them when the connection ends, at once when the
// process dies, within about 8 s when its machine falls silent (the
// session gets short server-side TCP keepalives and user timeout; the
// member's side has short keepalives too). Locks are session-level
// advisory locks in the one-bigint form, keyed by a fixed FNV-1a 64-bit
// hash of a name: "switchboard/cluster/node/<id>" stands for a node id,
// "switchboard/cluster/leader" for the leadership.
//
// A node id is held by one live process: Join refuses a second one with
// [ErrNodeIDInUse], after a short wait that lets an earlier session of the
// same node end. Joining records the node in cluster_nodes; Leave records
// it left. A node that joined, did not leave and whose lock is free is
// lost ([Member.LostNodes], which probes each lock and releases it at
// once); the leader closes what it left in progress as failed with the
// reason node lost ([Store.CloseNodeRecords], which holds the node's lock
// shared while it does, and refuses while the node is alive), under the
// node id its interaction writer stores (WithNodeID).
//
// [Member.Campaign] waits for the leader lock, then increments the
// fencing epoch in the one-row cluster_leader table and records itself
// there; the returned [Term] carries the epoch, larger than every earlier
// leader's, which commands and events carry so that an old leader's are
// ignored ([Store.Leader] reads it from any node). A member is a standby,
// then the leader, then gone; leadership ends only with the connection.
//
// One goroutine owns a member's connection: it runs the methods'
// statements (each bounded by a short timeout; a caller's context is never
// handed to the connection, because pgx breaks a connection whose
// statement's context ends) and checks the connection every second. The
// first failure, a Leave or a Close closes the connection and the channel
// [Member.Lost]: from then on the member holds no lock, and a leader must
// stop acting as one. A member notices a silent connection within 3 s,
// before the server releases its locks, so an old leader stops before a
// new one can win; the epoch fences whatever it still sends.
package pgstore
