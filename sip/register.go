package sip

import (
	"context"
	"errors"
	"net/netip"
	"strconv"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// Register binds user's contact at this gateway (its UDP address) at
// the registrar, as a SIP phone registering, answering a digest
// challenge with password; it returns the final response. The REGISTER
// leaves from the gateway's own UDP socket, as a phone's does, so an
// edge that rings a phone through the source address of its REGISTER
// (RFC 3327 Path) reaches this gateway. Load generators register their
// simulated agents' phones with it.
func (g *Gateway) Register(ctx context.Context, registrar netip.AddrPort, user, password string, expires int) (*sipmsg.Response, error) {
	if g.client == nil {
		return nil, errors.New("sip: register before Serve")
	}
	local := g.UDPAddr()
	req := sipmsg.NewRequest(sipmsg.REGISTER, sipmsg.Uri{Scheme: "sip", Host: registrar.Addr().String(), Port: int(registrar.Port())})
	to := &sipmsg.ToHeader{Address: sipmsg.Uri{Scheme: "sip", User: user, Host: registrar.Addr().String()}}
	from := &sipmsg.FromHeader{Address: to.Address, Params: sipmsg.NewParams()}
	from.Params.Add("tag", sipmsg.GenerateTagN(8))
	req.AppendHeader(to)
	req.AppendHeader(from)
	req.AppendHeader(&sipmsg.ContactHeader{Address: sipmsg.Uri{Scheme: "sip", User: user, Host: local.Addr().String(), Port: int(local.Port())}})
	req.AppendHeader(sipmsg.NewHeader("Expires", strconv.Itoa(expires)))
	req.SetTransport("UDP")
	req.Laddr = sipmsg.Addr{IP: local.Addr().AsSlice(), Port: int(local.Port())}
	res, err := g.client.Do(ctx, req)
	if err == nil && res.StatusCode == 401 {
		res, err = g.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: user, Password: password})
	}
	return res, err
}
