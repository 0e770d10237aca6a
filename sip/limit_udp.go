package sip

import (
	"bytes"
	"net"
	"net/netip"
)

// limitConn wraps the SIP UDP socket and drops, before they are parsed or
// reach sipgo (whose transactions would keep state for each), requests
// from a source over its rate of unauthenticated requests (sourceGuard).
// Exempt are responses, ACKs (they open no transaction, and dropping one
// would tear down an answered call), trusted sources, and requests whose
// Authorization carries a fresh nonce issued to their source. A flood
// therefore costs a few comparisons per datagram and no memory. Datagrams
// from an edge proxy pass too: which client behind the edge sent one is
// known only from its Vias, so they are limited per client after parsing
// (Gateway.admitRequest).
type limitConn struct {
	net.PacketConn
	g *Gateway
}

func (c *limitConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(b)
		if err != nil || c.admit(b[:n], addr) {
			return n, addr, err
		}
		c.g.m.Refused.WithLabelValues("rate_limit").Inc()
	}
}

// admit reports whether a datagram from addr may go on.
func (c *limitConn) admit(data []byte, addr net.Addr) bool {
	if len(data) < 4 || bytes.HasPrefix(data, []byte("SIP/")) || bytes.HasPrefix(data, []byte("ACK ")) {
		return true
	}
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return true
	}
	ip := ua.AddrPort().Addr().Unmap()
	if c.g.isTrusted(ip) || c.g.edges.contains(ip) {
		return true
	}
	src := limitKey(ip)
	if v, ok := rawHeader(data, "authorization", "proxy-authorization"); ok && c.g.auth.hasFreshNonce(v, src) {
		return true
	}
	return c.g.guard.allow(src, c.g.auth.now())
}

// rawHeader returns the value of the first header of the message head in
// data named one of names (lower case), without parsing the message.
func rawHeader(data []byte, names ...string) (string, bool) {
	if i := bytes.Index(data, []byte("\r\n\r\n")); i >= 0 {
		data = data[:i]
	}
	// Skip the start line.
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		data = data[i+1:]
	} else {
		return "", false
	}
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		name, val, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		name = bytes.TrimSpace(name)
		for _, n := range names {
			if len(name) == len(n) && bytes.EqualFold(name, []byte(n)) {
				return string(bytes.TrimSpace(val)), true
			}
		}
	}
	return "", false
}

// isTrusted reports whether ip is one of Config.TrustedSources.
func (g *Gateway) isTrusted(ip netip.Addr) bool {
	return g.trusted[ip.Unmap().String()]
}
