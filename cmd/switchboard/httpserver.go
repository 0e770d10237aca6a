package main

import (
	"crypto/subtle"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Who may read /metrics (http.metrics).
const (
	metricsLoopback = "loopback" // clients on a loopback address, not through a proxy
	metricsToken    = "token"    // clients with "Authorization: Bearer <http.metrics_token>"
	metricsOpen     = "open"     // anyone who reaches the listener
)

// httpServer is the one HTTP listener with its protections: timeouts on
// every phase of a request, a cap on connections per source address, and
// TLS when configured. WebSocket connections (/cti) are hijacked: the
// server's timeouts stop applying and the CTI hub sets a deadline per
// message instead.
type httpServer struct {
	srv *http.Server
	ln  net.Listener
	tls bool
}

// newHTTPServer listens on cfg.Listen and prepares handler; Serve starts it.
func newHTTPServer(cfg HTTPConfig, handler http.Handler, reg prometheus.Registerer, logger *slog.Logger) (*httpServer, error) {
	edges, err := parsePrefixes(cfg.EdgeProxies)
	if err != nil {
		return nil, fmt.Errorf("http.edge_proxies: %w", err)
	}
	if len(edges) > 0 {
		handler = clientBehindEdge(handler, edges)
	}
	s := &httpServer{srv: &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout.D(),
		ReadTimeout:       cfg.ReadTimeout.D(),
		WriteTimeout:      cfg.WriteTimeout.D(),
		IdleTimeout:       cfg.IdleTimeout.D(),
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}}
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("http: tls_cert/tls_key: %w", err)
		}
		s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.tls = true
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("http: %w", err)
	}
	if cfg.MaxConnsPerSource > 0 {
		exempt, err := parsePrefixes(cfg.ConnLimitExempt)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("http.conn_limit_exempt: %w", err)
		}
		refused := prometheus.NewCounter(prometheus.CounterOpts{Namespace: "switchboard", Subsystem: "http",
			Name: "connections_refused_total", Help: "HTTP connections closed at accept: the source address had http.max_conns_per_source open."})
		if reg != nil {
			reg.MustRegister(refused)
		}
		ln = &sourceLimitListener{Listener: ln, max: cfg.MaxConnsPerSource, exempt: exempt,
			open: map[netip.Addr]int{}, refused: refused}
	}
	s.ln = ln
	return s, nil
}

// Addr is the listener's address.
func (s *httpServer) Addr() string { return s.ln.Addr().String() }

// Scheme is "https" with TLS, else "http".
func (s *httpServer) Scheme() string {
	if s.tls {
		return "https"
	}
	return "http"
}

// Serve accepts connections until Shutdown or Close.
func (s *httpServer) Serve() error {
	if s.tls {
		return s.srv.ServeTLS(s.ln, "", "")
	}
	return s.srv.Serve(s.ln)
}

// parsePrefixes reads addresses and CIDR prefixes.
func parsePrefixes(ss []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range ss {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a prefix", s)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// clientBehindEdge gives a request that came through a trusted edge the
// address of the edge's client: the last X-Forwarded-For entry, the one
// the edge itself appended (earlier entries are whatever the client
// claimed). Other requests keep their connection's address.
func clientBehindEdge(next http.Handler, edges []netip.Prefix) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ap, err := netip.ParseAddrPort(r.RemoteAddr)
		if err == nil && slices.ContainsFunc(edges, func(p netip.Prefix) bool { return p.Contains(ap.Addr().Unmap()) }) {
			if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
				list := strings.Split(xff[len(xff)-1], ",")
				if ip, err := netip.ParseAddr(strings.TrimSpace(list[len(list)-1])); err == nil {
					r = r.Clone(r.Context())
					r.RemoteAddr = netip.AddrPortFrom(ip.Unmap(), ap.Port()).String()
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// sourceLimitListener closes, as soon as it is accepted, a connection from
// an address that already has max open; exempt sources (a reverse proxy on
// the same host, whose connections all carry its address) are not counted.
type sourceLimitListener struct {
	net.Listener
	max     int
	exempt  []netip.Prefix
	refused prometheus.Counter

	mu   sync.Mutex
	open map[netip.Addr]int
}

// Accept returns the next connection within its source's cap.
func (l *sourceLimitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
		if err != nil {
			return c, nil
		}
		a := ap.Addr().Unmap()
		if l.isExempt(a) {
			return c, nil
		}
		l.mu.Lock()
		if l.open[a] >= l.max {
			l.mu.Unlock()
			l.refused.Inc()
			c.Close()
			continue
		}
		l.open[a]++
		l.mu.Unlock()
		return &countedConn{Conn: c, release: func() { l.release(a) }}, nil
	}
}

func (l *sourceLimitListener) isExempt(a netip.Addr) bool {
	for _, p := range l.exempt {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (l *sourceLimitListener) release(a netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[a]--; l.open[a] <= 0 {
		delete(l.open, a)
	}
}

// countedConn gives its place back once, when closed (a hijacked
// WebSocket's close included).
type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

// Close closes the connection and releases its place.
func (c *countedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

// metricsGuard serves /metrics to whom http.metrics allows; others get 404
// (loopback mode) or 401 (token mode).
func metricsGuard(cfg HTTPConfig, h http.Handler) http.Handler {
	switch cfg.Metrics {
	case metricsOpen:
		return h
	case metricsToken:
		want := []byte("Bearer " + cfg.MetricsToken)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
				http.Error(w, "metrics need the bearer token of http.metrics_token", http.StatusUnauthorized)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A request relayed by a proxy on this host comes from loopback
		// too; the forwarding header tells it apart.
		ap, err := netip.ParseAddrPort(r.RemoteAddr)
		if err != nil || !ap.Addr().Unmap().IsLoopback() || r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("Forwarded") != "" {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// loopbackListen reports whether a listen address accepts only local
// clients: a loopback IP or "localhost". An empty host (every interface)
// or another name is not.
func loopbackListen(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// defaultHTTPConfig is the http section's defaults.
func defaultHTTPConfig() HTTPConfig {
	return HTTPConfig{
		Listen: "127.0.0.1:8080", ShutdownTimeout: Duration(10 * time.Second),
		ReadHeaderTimeout: Duration(10 * time.Second), ReadTimeout: Duration(time.Minute),
		WriteTimeout: Duration(time.Minute), IdleTimeout: Duration(time.Minute),
		MaxConnsPerSource: 256, ConnLimitExempt: []string{"127.0.0.0/8", "::1"}, Metrics: metricsLoopback,
	}
}

// validateHTTP checks the http section and the CTI limits; it returns the
// offending key path ("http.metrics") and why, or "" when all is well.
func validateHTTP(h *HTTPConfig, cti *CTIConfig) (key, reason string) {
	for _, t := range []struct {
		key string
		d   Duration
	}{{"read_header_timeout", h.ReadHeaderTimeout}, {"read_timeout", h.ReadTimeout}, {"write_timeout", h.WriteTimeout}, {"idle_timeout", h.IdleTimeout}} {
		if t.d <= 0 {
			return "http." + t.key, fmt.Sprintf("http.%s must be a positive duration", t.key)
		}
	}
	if _, err := parsePrefixes(h.EdgeProxies); err != nil {
		return "http.edge_proxies", "http.edge_proxies: " + err.Error()
	}
	if _, err := parsePrefixes(h.ConnLimitExempt); err != nil {
		return "http.conn_limit_exempt", "http.conn_limit_exempt: " + err.Error()
	}
	switch {
	case (h.TLSCert == "") != (h.TLSKey == ""):
		return "http.tls_cert", "http.tls_cert and http.tls_key go together"
	case h.MaxConnsPerSource < 0:
		return "http.max_conns_per_source", "http.max_conns_per_source must be 0 (no cap) or more"
	case h.Metrics != metricsLoopback && h.Metrics != metricsToken && h.Metrics != metricsOpen:
		return "http.metrics", fmt.Sprintf("http.metrics %q must be loopback, token or open", h.Metrics)
	case h.Metrics == metricsToken && len(h.MetricsToken) < 16:
		return "http.metrics_token", "http.metrics: token needs http.metrics_token of at least 16 characters"
	case cti.AuthTimeout <= 0:
		return "cti.auth_timeout", "cti.auth_timeout must be a positive duration"
	case cti.MaxUnauthenticated <= 0:
		return "cti.max_unauthenticated", "cti.max_unauthenticated must be at least 1"
	}
	return "", ""
}
