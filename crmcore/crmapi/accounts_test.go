package crmapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"switchboard/crmcore"
)

// TestAccountOwnerOverAPI: supervisors and admins create accounts with an
// owner and change or remove the owner with PATCH; every role reads
// them; an owner who is no agent, a bad domain or a taken name is refused
// naming the field, and nothing is changed.
func TestAccountOwnerOverAPI(t *testing.T) {
	e := newEnv(t)
	agent, sup, admin := e.login("alice", "demo"), e.login("sam", "demo"), e.login("admin", "admin")
	alice, carol := e.agentByLogin("alice").ID, e.agentByLogin("carol").ID

	if r := e.do("POST", "/api/v1/accounts", agent, map[string]any{"name": "Hooli"}); r.Code != http.StatusForbidden {
		t.Errorf("agent creates an account: %d, want 403", r.Code)
	}
	r := e.do("POST", "/api/v1/accounts", sup, map[string]any{"name": "Hooli", "domain": "Hooli.Example", "owner_id": alice})
	if r.Code != http.StatusCreated {
		t.Fatalf("create = %d %s", r.Code, r.Body)
	}
	var created crmcore.Account
	r.json(t, &created)
	want := crmcore.Account{ID: created.ID, Name: "Hooli", Domain: "hooli.example", Segment: crmcore.SegmentStandard, OwnerID: alice}
	ignore := cmpopts.IgnoreFields(crmcore.Account{}, "CreatedAt")
	if diff := cmp.Diff(want, created, ignore); diff != "" || r.Hdr.Get("Location") != "/api/v1/accounts/"+created.ID {
		t.Errorf("created (-want +got):\n%s; Location %q", diff, r.Hdr.Get("Location"))
	}
	path := "/api/v1/accounts/" + created.ID
	get := func() crmcore.Account {
		t.Helper()
		r := e.do("GET", path, agent, nil)
		if r.Code != http.StatusOK {
			t.Fatalf("get = %d %s", r.Code, r.Body)
		}
		var a crmcore.Account
		r.json(t, &a)
		return a
	}

	unknown := "00000000-0000-4000-8000-000000000000"
	steps := []struct {
		name  string
		token string
		body  any
		code  int
		field string
		owner string // the owner afterwards
	}{
		{"agent cannot change the owner", agent, map[string]any{"owner_id": carol}, http.StatusForbidden, "", alice},
		{"admin changes the owner", admin, map[string]any{"owner_id": carol}, http.StatusOK, "", carol},
		{"owner is no agent", sup, map[string]any{"owner_id": unknown}, http.StatusBadRequest, "owner_id", carol},
		{"owner is not an id", sup, map[string]any{"owner_id": "carol"}, http.StatusBadRequest, "owner_id", carol},
		{"bad domain", sup, map[string]any{"domain": "not a domain", "owner_id": alice}, http.StatusBadRequest, "domain", carol},
		{"unknown field", sup, map[string]any{"owner": alice}, http.StatusBadRequest, "owner", carol},
		{"supervisor removes the owner", sup, map[string]any{"owner_id": ""}, http.StatusOK, "", ""},
		{"supervisor sets it again", sup, map[string]any{"owner_id": alice}, http.StatusOK, "", alice},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			r := e.do("PATCH", path, s.token, s.body)
			if r.Code != s.code {
				t.Fatalf("PATCH = %d %s, want %d", r.Code, r.Body, s.code)
			}
			if s.field != "" {
				if got := r.err(t).Error.Field; got != s.field {
					t.Errorf("field = %q, want %q", got, s.field)
				}
			}
			w := want
			w.OwnerID = s.owner
			if diff := cmp.Diff(w, get(), ignore); diff != "" {
				t.Errorf("account after the PATCH (-want +got):\n%s", diff)
			}
		})
	}

	for _, tc := range []struct {
		name, method, path string
		body               any
		code               int
		field              string
	}{
		{"create with an owner who is no agent", "POST", "/api/v1/accounts", map[string]any{"name": "Initrode", "owner_id": unknown}, http.StatusBadRequest, "owner_id"},
		{"create without a name", "POST", "/api/v1/accounts", map[string]any{"owner_id": alice}, http.StatusBadRequest, "name"},
		{"create with a taken name", "POST", "/api/v1/accounts", map[string]any{"name": "Hooli"}, http.StatusConflict, ""},
		{"rename to a taken name", "PATCH", path, map[string]any{"name": "Acme Corp"}, http.StatusConflict, ""},
		{"get a missing account", "GET", "/api/v1/accounts/" + unknown, nil, http.StatusNotFound, ""},
		{"patch a missing account", "PATCH", "/api/v1/accounts/not-a-uuid", map[string]any{"owner_id": alice}, http.StatusNotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.method, tc.path, sup, tc.body)
			if r.Code != tc.code {
				t.Fatalf("%s %s = %d %s, want %d", tc.method, tc.path, r.Code, r.Body, tc.code)
			}
			if tc.field != "" && r.err(t).Error.Field != tc.field {
				t.Errorf("field = %q, want %q", r.err(t).Error.Field, tc.field)
			}
		})
	}

	var list struct {
		Items []crmcore.Account
		Count int
	}
	e.do("GET", "/api/v1/accounts", agent, nil).json(t, &list)
	i := slices.IndexFunc(list.Items, func(a crmcore.Account) bool { return a.ID == created.ID })
	if i < 0 || list.Items[i].OwnerID != alice {
		t.Errorf("listed accounts = %+v, want Hooli owned by alice", list.Items)
	}

	// Hostile values never give a server error (the helper fails on 5xx).
	for _, v := range []string{"", "\x00", "\xff\xfe", "a.b\r\nc", "-a.example", "'; drop table accounts; --", unknown} {
		for _, f := range []string{"name", "domain", "segment", "owner_id"} {
			body, _ := json.Marshal(map[string]any{f: v})
			e.do("POST", "/api/v1/accounts", admin, body)
			e.do("PATCH", path, admin, body)
		}
	}
}
