package crmapi

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// The OpenAPI document and its router, loaded once for the test binary.
var (
	contractOnce   sync.Once
	contractDoc    *openapi3.T
	contractRouter routers.Router
	contractErr    error
)

func loadContract() (*openapi3.T, routers.Router, error) {
	contractOnce.Do(func() {
		l := openapi3.NewLoader()
		contractDoc, contractErr = l.LoadFromData(openapiJSON)
		if contractErr != nil {
			return
		}
		if contractErr = contractDoc.Validate(l.Context); contractErr != nil {
			return
		}
		// The one server is "/": route on the path alone.
		routed := *contractDoc
		routed.Servers = nil
		contractRouter, contractErr = legacy.NewRouter(&routed)
		// A CSV import reports its bad rows one by one rather than
		// refusing the file: its body is text to the contract.
		openapi3filter.RegisterBodyDecoder("text/csv", func(r io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
			b, err := io.ReadAll(r)
			return string(b), err
		})
	})
	return contractDoc, contractRouter, contractErr
}

// contract wraps the API handler under test so that every request a test
// makes and every response it gets are checked against openapi.json:
//
//   - a request the document calls invalid must be refused with a 4xx;
//   - every response's status must be documented for its operation, and
//     its body must match the documented schema for its content type.
//
// Requests to paths the document does not have must get a 404 or 405.
// So the document cannot drift from the code while the tests pass.
func contract(t *testing.T, h http.Handler) http.Handler {
	t.Helper()
	_, router, err := loadContract()
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
		if msg := checkContract(router, r, body, rec); msg != "" {
			t.Errorf("contract: %s %s → %d: %s", r.Method, r.URL.RequestURI(), rec.Code, msg)
		}
	})
}

// checkContract returns why the exchange breaks the document, or "".
func checkContract(router routers.Router, r *http.Request, body []byte, rec *httptest.ResponseRecorder) string {
	vr := r.Clone(context.Background())
	// The document says an empty query parameter is an absent one.
	q := vr.URL.Query()
	for k, v := range q {
		if len(v) == 1 && v[0] == "" {
			q.Del(k)
		}
	}
	u := *vr.URL
	u.RawQuery = q.Encode()
	vr.URL = &u
	vr.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := router.FindRoute(vr)
	if err != nil {
		if rec.Code == http.StatusNotFound || rec.Code == http.StatusMethodNotAllowed {
			return ""
		}
		return "not in openapi.json: " + err.Error()
	}
	in := &openapi3filter.RequestValidationInput{Request: vr, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
	redirect := rec.Code >= 300 && rec.Code < 400 // the mux cleaning a path: nothing accepted
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil && rec.Code < 400 && !redirect {
		return "accepted a request the document calls invalid: " + err.Error()
	}
	if rec.Code >= 500 {
		return "" // the test itself fails 5xx; its body is the error
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: rec.Code, Header: rec.Header(),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	out.SetBodyBytes(rec.Body.Bytes())
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return "response: " + err.Error()
	}
	return ""
}

// TestOpenAPIDocumentsEveryRoute: every route the package registers is in
// the document, with its method, and the document is valid OpenAPI.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	doc, _, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	route := regexp.MustCompile(`HandleFunc\("(\w+) (/api/v1/[^"]+)"`)
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range route.FindAllStringSubmatch(string(src), -1) {
			n++
			if p := doc.Paths.Find(m[2]); p == nil || p.GetOperation(m[1]) == nil {
				t.Errorf("%s %s (%s) is not in openapi.json", m[1], m[2], f)
			}
		}
	}
	if n == 0 {
		t.Error("found no routes in the package's files; the pattern no longer matches how routes are registered")
	}
}
