// Package pgcluster runs a private PostgreSQL server from the system's
// binaries: `make run` uses it when DATABASE_URL is unset, and the tests use
// it (through pgtest) so that they exercise a real database.
//
// The cluster listens on 127.0.0.1 only, on a port chosen at first start and
// remembered in the data directory, with trust authentication for local
// connections. PostgreSQL refuses to run as root, so when the current user is
// root the binaries run as the system's postgres user and the data directory
// is handed to that user.
package pgcluster
