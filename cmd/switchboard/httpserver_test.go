package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// startHTTP serves handler with cfg (listening on a kernel-chosen loopback
// port) until the test ends.
func startHTTP(t *testing.T, cfg HTTPConfig, handler http.Handler) (*httpServer, *prometheus.Registry) {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	reg := prometheus.NewRegistry()
	s, err := newHTTPServer(cfg, handler, reg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve() }()
	t.Cleanup(func() {
		s.srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return s, reg
}

// shortTimeouts is an http section whose timeouts end within a test.
func shortTimeouts() HTTPConfig {
	c := defaultHTTPConfig()
	c.ReadHeaderTimeout, c.ReadTimeout = Duration(300*time.Millisecond), Duration(300*time.Millisecond)
	c.WriteTimeout, c.IdleTimeout = Duration(time.Second), Duration(300*time.Millisecond)
	return c
}

var readBody = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if _, err := io.ReadAll(r.Body); err != nil {
		http.Error(w, "body: "+err.Error(), http.StatusBadRequest)
		return
	}
	w.Write([]byte("ok\n"))
})

// closedByServer reads c until the server closes it; it fails the test if
// that does not happen within 10 s.
func closedByServer(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server kept the connection open")
	}
}

func TestHTTPHalfSentBodyClosed(t *testing.T) {
	s, _ := startHTTP(t, shortTimeouts(), readBody)
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "POST /api/v1/contacts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"name\":"); err != nil {
		t.Fatal(err)
	}
	closedByServer(t, c)
}

func TestHTTPHalfSentHeadersClosed(t *testing.T) {
	s, _ := startHTTP(t, shortTimeouts(), readBody)
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	closedByServer(t, c)
}

func TestHTTPIdleKeepAliveClosed(t *testing.T) {
	s, _ := startHTTP(t, shortTimeouts(), readBody)
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("response %v, %v", res, err)
	}
	io.Copy(io.Discard, res.Body) // the connection is now idle, kept alive
	closedByServer(t, c)
}

func TestHTTPConnectionsPerSourceCapped(t *testing.T) {
	cfg := defaultHTTPConfig()
	cfg.MaxConnsPerSource, cfg.ConnLimitExempt = 2, nil
	s, reg := startHTTP(t, cfg, readBody)
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	extra, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	closedByServer(t, extra)
	if got := counterValue(t, reg, "switchboard_http_connections_refused_total"); got != 1 {
		t.Errorf("refused = %v", got)
	}
	// A place freed is a place taken.
	held[0].Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Get("http://" + s.Addr() + "/")
		if err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no place after one was freed: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestHTTPConnectionCapExemptsProxy(t *testing.T) {
	cfg := defaultHTTPConfig()
	cfg.MaxConnsPerSource = 1 // loopback is exempt by default
	s, _ := startHTTP(t, cfg, readBody)
	for range 3 {
		c, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	res, err := http.Get("http://" + s.Addr() + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
}

// counterValue is the value of the counter registered as name.
func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// selfSigned writes a certificate for 127.0.0.1 and its key as PEM files.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "switchboard test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestHTTPS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	cfg := defaultHTTPConfig()
	cfg.TLSCert, cfg.TLSKey = certFile, keyFile
	s, _ := startHTTP(t, cfg, readBody)
	if s.Scheme() != "https" {
		t.Errorf("scheme %q", s.Scheme())
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	res, err := client.Get("https://" + s.Addr() + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(b) != "ok\n" || res.TLS == nil {
		t.Fatalf("HTTPS GET: %d %q", res.StatusCode, b)
	}
	// Plain HTTP on the TLS listener gets no page.
	if res, err := http.Get("http://" + s.Addr() + "/"); err == nil {
		res.Body.Close()
		if res.StatusCode == 200 {
			t.Error("plain HTTP served on the HTTPS listener")
		}
	}

	cfg.TLSKey = filepath.Join(t.TempDir(), "missing.pem")
	cfg.Listen = "127.0.0.1:0"
	if _, err := newHTTPServer(cfg, readBody, nil, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "tls_key") {
		t.Errorf("missing key file: %v", err)
	}
}

func TestMetricsAccess(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("m 1\n")) })
	get := func(h http.Handler, remote string, hdr map[string]string) int {
		req := httptest.NewRequest("GET", "/metrics", nil)
		req.RemoteAddr = remote
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	cfg := defaultHTTPConfig()
	loop := metricsGuard(cfg, metrics)
	tok := cfg
	tok.Metrics, tok.MetricsToken = metricsToken, "0123456789abcdef-scrape"
	token := metricsGuard(tok, metrics)
	openCfg := cfg
	openCfg.Metrics = metricsOpen
	open := metricsGuard(openCfg, metrics)
	tests := []struct {
		name   string
		h      http.Handler
		remote string
		hdr    map[string]string
		want   int
	}{
		{"loopback client", loop, "127.0.0.1:4000", nil, 200},
		{"loopback IPv6", loop, "[::1]:4000", nil, 200},
		{"remote client", loop, "192.0.2.7:4000", nil, 404},
		{"through a local proxy", loop, "127.0.0.1:4000", map[string]string{"X-Forwarded-For": "192.0.2.7"}, 404},
		{"token missing", token, "192.0.2.7:4000", nil, 401},
		{"token wrong", token, "192.0.2.7:4000", map[string]string{"Authorization": "Bearer nope"}, 401},
		{"token right", token, "192.0.2.7:4000", map[string]string{"Authorization": "Bearer 0123456789abcdef-scrape"}, 200},
		{"open", open, "192.0.2.7:4000", nil, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := get(tt.h, tt.remote, tt.hdr); got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
	// And through a real listener from this machine.
	s, _ := startHTTP(t, cfg, loop)
	res, err := http.Get("http://" + s.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("loopback scrape: %d", res.StatusCode)
	}
}

func TestLoopbackListen(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "localhost:8080": true, "[::1]:8080": true, "127.1.2.3:80": true,
		"0.0.0.0:8080": false, ":8080": false, "[::]:8080": false, "192.0.2.1:8080": false, "example.com:80": false, "bad": false,
	} {
		if got := loopbackListen(addr); got != want {
			t.Errorf("loopbackListen(%q) = %v, want %v", addr, got, want)
		}
	}
	if err := refuseSeededAdmin("0.0.0.0:8080", true); err == nil || !strings.Contains(err.Error(), "switchboard passwd admin") {
		t.Errorf("public listener with the seeded admin: %v", err)
	}
	for _, c := range []struct {
		listen string
		seeded bool
	}{{"127.0.0.1:8080", true}, {"0.0.0.0:8080", false}} {
		if err := refuseSeededAdmin(c.listen, c.seeded); err != nil {
			t.Errorf("%s seeded=%v: %v", c.listen, c.seeded, err)
		}
	}
}

func TestWelcomeShowsAdminPasswordOnlyWhileSeeded(t *testing.T) {
	cfg := defaultConfig()
	if w := welcomeWeb(&cfg, "http://127.0.0.1:8080", true); !strings.Contains(w, "admin / admin") {
		t.Errorf("seeded: %s", w)
	}
	if w := welcomeWeb(&cfg, "https://192.0.2.1:8443", false); strings.Contains(w, "admin / admin") || !strings.Contains(w, "https://192.0.2.1:8443/wallboard") {
		t.Errorf("changed: %s", w)
	}
}

func TestHTTPConfigValidated(t *testing.T) {
	for _, tt := range []struct{ yaml, want string }{
		{"http:\n  metrics: everyone\n", "http.metrics"},
		{"http:\n  metrics: token\n  metrics_token: short\n", "metrics_token"},
		{"http:\n  tls_cert: cert.pem\n", "tls_key"},
		{"http:\n  read_timeout: 0s\n", "read_timeout"},
		{"http:\n  max_conns_per_source: -1\n", "max_conns_per_source"},
		{"http:\n  conn_limit_exempt: [nope]\n", "conn_limit_exempt"},
		{"cti:\n  max_unauthenticated: 0\n", "max_unauthenticated"},
	} {
		_, err := parseConfig("test.yaml", []byte(tt.yaml))
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "test.yaml:") {
			t.Errorf("%q: %v, want an error about %s", tt.yaml, err, tt.want)
		}
	}
	cfg, err := parseConfig("test.yaml", []byte("http:\n  metrics: token\n  metrics_token: 0123456789abcdef\n  max_conns_per_source: 0\n"))
	if err != nil || cfg.HTTP.Metrics != metricsToken || cfg.HTTP.ReadTimeout != Duration(time.Minute) {
		t.Errorf("valid config: %+v, %v", cfg, err)
	}
}

// TestClientBehindEdge: a request from a trusted edge names its client by
// the entry the edge appended to X-Forwarded-For (not what the client
// claimed before it); other requests keep their connection's address.
func TestClientBehindEdge(t *testing.T) {
	edges, err := parsePrefixes([]string{"10.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	var got string
	h := clientBehindEdge(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r.RemoteAddr }), edges)
	for _, tt := range []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"from the edge", "10.1.2.3:5555", []string{"203.0.113.9"}, "203.0.113.9:5555"},
		{"a spoofed entry before the edge's", "10.1.2.3:5555", []string{"1.1.1.1, 203.0.113.9"}, "203.0.113.9:5555"},
		{"several headers", "10.1.2.3:5555", []string{"1.1.1.1", "198.51.100.4"}, "198.51.100.4:5555"},
		{"not from the edge", "192.0.2.7:4444", []string{"203.0.113.9"}, "192.0.2.7:4444"},
		{"garbage", "10.1.2.3:5555", []string{"not an address"}, "10.1.2.3:5555"},
		{"none", "10.1.2.3:5555", nil, "10.1.2.3:5555"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/chat/ws", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if got != tt.want {
				t.Errorf("client = %s, want %s", got, tt.want)
			}
		})
	}
}
