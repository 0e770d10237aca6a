package crmapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"golang.org/x/crypto/bcrypt"

	"switchboard/agentdesk"
	"switchboard/crmcore"
	"switchboard/crmcore/crmapi"
	"switchboard/crmcore/pgcluster/pgtest"
	"switchboard/crmcore/pgstore"
)

// pagesServer serves, on one test server, the web pages (agentdesk.Pages)
// and the API over a fresh, migrated and seeded database, with the options
// opts gives for the store (it may write fixtures first).
func pagesServer(t *testing.T, opts func(*pgstore.Store) []crmapi.Option) (*httptest.Server, *pgstore.Store) {
	t.Helper()
	ctx := context.Background()
	pool, err := pgstore.Connect(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := pgstore.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if _, err := pgstore.Seed(ctx, pool, pgstore.WithPasswordCost(bcrypt.MinCost)); err != nil {
		t.Fatal(err)
	}
	s := pgstore.New(pool)
	h, err := crmapi.New(crmapi.Deps{Auth: crmcore.NewAuth(s, s), Contacts: s, Tickets: s, Interactions: s, Agents: s, Leads: s, Lookup: s},
		opts(s)...)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", agentdesk.Pages())
	mux.Handle("/api/v1/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, s
}

// screenshot saves what tab shows as <name>.png in the directory
// SWITCHBOARD_SCREENSHOTS names (the README's pictures of the pages come
// from there); without it, it does nothing.
func screenshot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	dir := os.Getenv("SWITCHBOARD_SCREENSHOTS")
	if dir == "" {
		return
	}
	if _, err := chromedp.Run(tab, chromedp.EmulateViewport(1280, 860)); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	png, err := chromedp.Run(tab, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
