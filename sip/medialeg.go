package sip

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	sipmsg "github.com/emiago/sipgo/sip"

	"switchboard/sip/media"
	"switchboard/sip/sdp"
)

// Where a leg's RTP is carried (see sip/media/doc.go, "Shared sockets and
// NAT"). A shared socket tells its legs apart by the remote address the
// SDP gives, so it cannot learn a source: it carries only legs whose SDP
// address is believable — an inbound caller whose SDP address is the
// address its INVITE came from, an outbound leg to the trunk. Every other
// leg gets a dedicated port pair with strict, symmetric RTP: it learns the
// peer's source from its first packet, sends there, and drops everything
// else. A peer whose SDP address is doubtful (its signalling came from
// elsewhere, as behind NAT) is not sent anything until that first packet.

// ErrMediaAddr is returned (and an INVITE answered 488) for an SDP
// connection address the gateway will not send RTP to.
var ErrMediaAddr = errors.New("sip: unusable media address")

// rtpTransport is the RTP transport of a SIP leg: a leg of a shared
// socket (media.MuxLeg) or a dedicated port pair (media.UDPTransport).
type rtpTransport interface {
	media.Transport
	LocalPort() int
	SetRemote(netip.AddrPort) error
}

// checkMediaAddr reports whether RTP may be exchanged with a peer at a:
// a unicast address the media socket can send to, of the family of the
// address our own SDP carries (so that the peer can send to us).
func (g *Gateway) checkMediaAddr(a netip.Addr) error {
	if err := media.CanSend(g.pool.IP(), a); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrMediaAddr, a, err)
	}
	if a.Unmap().Is4() != g.publicIP.Unmap().Is4() {
		return fmt.Errorf("%w: %s: %w", ErrMediaAddr, a, media.ErrAddrFamily)
	}
	return nil
}

// believable reports whether a peer's SDP address a can be sent to before
// its first packet, given the source address of its SIP message: the
// addresses match, or the peer will not send (recvonly or inactive: it
// cannot be learnt from), and the media socket can reach a at all (a
// loopback socket reaches only loopback).
func (g *Gateway) believable(a netip.Addr, dir sdp.Direction, source string) bool {
	a = a.Unmap()
	if g.pool.IP().IsLoopback() && !a.IsLoopback() {
		return false
	}
	return !dir.Sends() || sourceAddr(source) == a
}

// allocRTP gives a SIP leg its RTP transport for remote (invalid while
// unknown: an outbound offer): a shared socket when shared is set and one
// is free for that remote, else a dedicated port pair, which sends to
// remote before the peer's first packet only when send is set.
func (g *Gateway) allocRTP(remote netip.AddrPort, shared, send bool) (rtpTransport, error) {
	if shared && g.mux != nil {
		if l, err := g.mux.NewLeg(remote); err == nil {
			return l, nil
		}
	}
	tr, err := g.pool.Allocate()
	if err != nil {
		return nil, err
	}
	if err := setRemote(tr, remote, send); err != nil {
		_ = tr.Close()
		return nil, err
	}
	return tr, nil
}

// setRemote points tr at the peer's SDP address ap (an answer, a
// re-INVITE); a dedicated port pair sends there before the peer's first
// packet only when send is set.
func setRemote(tr rtpTransport, ap netip.AddrPort, send bool) error {
	if d, ok := tr.(*media.UDPTransport); ok && !send {
		return d.ExpectRemote(ap)
	}
	return tr.SetRemote(ap)
}

// errNoMediaPorts wraps the failure to give a leg an RTP transport for
// want of ports (503).
var errNoMediaPorts = errors.New("sip: no rtp port")

// acceptOffer is the gateway's answer path for the SDP offer of an INVITE
// received from source: it parses the offer, checks its media address and
// gives the leg its RTP transport (see above). It fails with sdp.ErrParse
// (400), with ErrMediaAddr or an sdp negotiation error (488), or with
// errNoMediaPorts (503).
func (g *Gateway) acceptOffer(body []byte, source string) (sdp.Media, rtpTransport, error) {
	offer, err := sdp.Parse(body)
	if err != nil {
		return offer, nil, err
	}
	if err := g.checkMediaAddr(offer.Addr); err != nil {
		return offer, nil, err
	}
	same := sourceAddr(source) == offer.Addr.Unmap()
	tr, err := g.allocRTP(offer.RTPAddr(), same, g.believable(offer.Addr, offer.Direction, source))
	switch {
	case errors.Is(err, media.ErrAddrFamily) || errors.Is(err, media.ErrNotUnicast):
		return offer, nil, fmt.Errorf("%w: %w", ErrMediaAddr, err)
	case err != nil:
		return offer, nil, fmt.Errorf("%w: %w", errNoMediaPorts, err)
	}
	return offer, tr, nil
}

// toTrunk reports whether u is the trunk's address: the only outbound
// legs whose media a shared socket carries.
func (g *Gateway) toTrunk(u sipmsg.Uri) bool {
	if g.cfg.Trunk == "" {
		return false
	}
	host, port, err := net.SplitHostPort(g.cfg.Trunk)
	if err != nil {
		return u.Host == g.cfg.Trunk
	}
	return u.Host == host && fmt.Sprint(u.Port) == port
}
