package sip

import (
	"net/netip"
	"strings"

	sipmsg "github.com/emiago/sipgo/sip"
)

// sendFromListener makes the UDP requests the gateway sends to u (an
// INVITE to a phone, and the BYE, INFO or NOTIFY of a dialog whose remote
// target u is) leave from the SIP listener's socket, as a phone behind NAT
// and a registrar's clients expect. sipgo reuses the listener for a
// destination its pool maps to it — one the listener has heard from —
// and otherwise opens a socket of its own for the request; such a socket
// lives until the user agent closes, and closing it releases it once more
// than it was taken ("UDP ref went negative on try close" at every
// shutdown). So the destination is mapped to the listener first. The
// mapping is an entry per remote address, as sipgo keeps for every source
// the listener hears from. Hosts that are names (resolved by sipgo), other
// transports and another address family are left to sipgo.
func (g *Gateway) sendFromListener(u sipmsg.Uri) {
	if g.udp == nil || g.ua == nil || strings.EqualFold(u.Scheme, "sips") {
		return
	}
	if t, ok := u.UriParams.Get("transport"); ok && !strings.EqualFold(t, "udp") {
		return
	}
	ip, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(u.Host, "["), "]"))
	local := g.UDPAddr()
	if err != nil || ip.Unmap().Is4() != local.Addr().Unmap().Is4() {
		return
	}
	port := u.Port
	if port == 0 {
		port = 5060
	}
	pool := g.ua.TransportLayer().Pool("udp")
	if pool == nil {
		return
	}
	// Get takes a reference on the listener, which never closes by
	// reference count (sipgo closes listeners only with the socket).
	l := pool.Get(g.udp.LocalAddr().String())
	if l == nil {
		return // not serving yet
	}
	pool.Add(netip.AddrPortFrom(ip.Unmap(), uint16(port)).String(), l)
}
