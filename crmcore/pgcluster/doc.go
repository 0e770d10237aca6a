// Package pgcluster runs a private PostgreSQL server from the system's
// binaries: `make run` uses it when DATABASE_URL is unset, and the tests use
// it (through pgtest) so that they exercise a real database.
//
// The cluster listens on 127.0.0.1 only, on a port chosen at first start and
// remembered in the data directory, with trust authentication for local
// connections. PostgreSQL refuses to run as root, so when the current user is
// root the binaries run as the system's postgres user and the data directory
// is handed to that user.
//
// A cluster is durable by default, because the one `switchboard serve`
// starts is the CRM's system of record: fsync, synchronous commit and
// full-page writes stay on, tuned for a write-heavy load on a small machine
// (few checkpoints, compressed full-page images, a WAL writer that flushes
// every 10 ms). WithoutDurability turns the three off for throwaway
// clusters: pgtest's test clusters, whose data is deleted after the run.
package pgcluster
