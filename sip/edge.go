package sip

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	sipmsg "github.com/emiago/sipgo/sip"
)

// errClientVia is why a request from an edge proxy has no client address:
// the Via below the edge's own is missing or unusable.
var errClientVia = errors.New("sip: no usable client Via below the edge proxy's")

// edgeProxies are the SIP edge proxies in front of the gateway
// (Config.EdgeProxies). Every request through an edge reaches the gateway
// from the edge's address; the edge stamps the address it received the
// request from on the Via it received it with (RFC 3581 received and
// rport), which becomes the Via just below its own. Requests from an edge
// are judged by that client address, and only requests from an edge: from
// anyone else the Vias are ignored, since anyone can write them.
type edgeProxies []netip.Prefix

// parseEdgeProxies parses Config.EdgeProxies: IP addresses or CIDR
// prefixes, without zones.
func parseEdgeProxies(ss []string) (edgeProxies, error) {
	e := make(edgeProxies, 0, len(ss))
	for _, s := range ss {
		var p netip.Prefix
		if strings.Contains(s, "/") {
			q, err := netip.ParsePrefix(s)
			if err != nil || q.Addr().Is4In6() {
				return nil, fmt.Errorf("%w: edge proxy %q (want an IP address or CIDR prefix)", ErrBadConfig, s)
			}
			p = q.Masked()
		} else {
			a, err := netip.ParseAddr(s)
			if err != nil || a.Zone() != "" {
				return nil, fmt.Errorf("%w: edge proxy %q (want an IP address or CIDR prefix)", ErrBadConfig, s)
			}
			a = a.Unmap()
			p = netip.PrefixFrom(a, a.BitLen())
		}
		e = append(e, p)
	}
	return e, nil
}

// contains reports whether ip is an edge proxy.
func (e edgeProxies) contains(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range e {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// edgeOwn reports whether an edge proxy sends requests of method m on its
// own, with its Via alone: the dispatcher's OPTIONS probes, and the
// hop-by-hop CANCEL and ACK (of a failed INVITE) of a transaction it
// forwarded.
func edgeOwn(m sipmsg.RequestMethod) bool {
	return m == sipmsg.OPTIONS || m == sipmsg.CANCEL || m == sipmsg.ACK
}

// clientAddr returns the address of the client that sent req: its
// transport source, or, when the source is an edge proxy, the address the
// edge stamped on the Via below its own (clientVia). A request the edge
// sent on its own (edgeOwn) with its Via alone comes from the edge itself.
// It fails with errClientVia for a request from an edge without a usable
// client Via; the address returned is then the transport source.
func (e edgeProxies) clientAddr(req *sipmsg.Request) (netip.AddrPort, error) {
	src, _ := netip.ParseAddrPort(req.Source())
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	if !e.contains(src.Addr()) {
		return src, nil
	}
	vias := req.GetHeaders("Via")
	switch {
	case len(vias) == 1 && edgeOwn(req.Method):
		return src, nil
	case len(vias) < 2:
		return src, fmt.Errorf("%w: no Via below the edge's", errClientVia)
	}
	v, ok := vias[1].(*sipmsg.ViaHeader)
	if !ok {
		return src, fmt.Errorf("%w: unparsed Via", errClientVia)
	}
	client, err := clientVia(v)
	if err != nil {
		return src, err
	}
	return client, nil
}

// clientVia reads the client address an edge proxy stamped on v: its
// received parameter (else its host) and its rport parameter (else its
// port, else the transport's default). Both must name an IP address and a
// port. A client may write these parameters itself: the edge rewrites the
// last of each (names compared without case) and adds them where they are
// missing, so the last is the edge's. The parser keeps the last value of
// each spelling of a name; one named in two spellings is refused, since
// which of the two came last is lost.
func clientVia(v *sipmsg.ViaHeader) (netip.AddrPort, error) {
	host, port := v.Host, strconv.Itoa(v.Port)
	if v.Port == 0 {
		port = strconv.Itoa(sipmsg.DefaultPort(v.Transport))
	}
	var received, rport int
	for _, kv := range v.Params {
		switch {
		case strings.EqualFold(kv.K, "received"):
			received++
			host = kv.V
		case strings.EqualFold(kv.K, "rport") && kv.V != "":
			rport++
			port = kv.V
		case strings.EqualFold(kv.K, "rport"):
			rport++
		}
	}
	if received > 1 || rport > 1 {
		return netip.AddrPort{}, fmt.Errorf("%w: received or rport named in two spellings", errClientVia)
	}
	host = strings.TrimSpace(host)
	if len(host) > 2 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.Zone() != "" {
		return netip.AddrPort{}, fmt.Errorf("%w: client host %q is not an IP address", errClientVia, host)
	}
	p, err := strconv.ParseUint(strings.TrimSpace(port), 10, 16)
	if err != nil || p == 0 {
		return netip.AddrPort{}, fmt.Errorf("%w: client port %q", errClientVia, port)
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(p)), nil
}

// checkClient answers 400 to a request from an edge proxy without a usable
// client Via, counted in Refused (reason edge_via), and reports whether
// req may go on. ACKs pass unchecked: they are never answered, and no
// decision rests on them.
func (g *Gateway) checkClient(req *sipmsg.Request, tx sipmsg.ServerTransaction) bool {
	if req.IsAck() {
		return true
	}
	if _, err := g.edges.clientAddr(req); err != nil {
		g.m.Refused.WithLabelValues("edge_via").Inc()
		g.log.Info("sip: request from an edge proxy without a client address refused", "src", req.Source(),
			"method", req.Method.String(), "err", err)
		g.respond(req, tx, sipmsg.StatusBadRequest, "Bad Client Via")
		return false
	}
	return true
}
