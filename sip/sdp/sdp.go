// Package sdp negotiates the audio of a SIP call (RFC 3264 offer/answer)
// on top of pion/sdp: G.711 PCMU/PCMA, telephone-event/8000, ptime and the
// stream direction. It never trusts the offer: sizes are capped and every
// value is checked before use.
package sdp

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	psdp "github.com/pion/sdp/v3"

	"switchboard/sip/media"
)

// Sentinel errors.
var (
	ErrParse         = errors.New("sdp: malformed session description")
	ErrNoAudio       = errors.New("sdp: no usable audio stream")
	ErrNoCommonCodec = errors.New("sdp: no common codec")
)

// MaxSize caps the size of a description we parse.
const MaxSize = 16 << 10

// Direction is an a=sendrecv/sendonly/recvonly/inactive attribute.
type Direction uint8

// Directions, as seen from the side that wrote the description.
const (
	SendRecv Direction = iota
	SendOnly
	RecvOnly
	Inactive
)

// String returns the attribute name.
func (d Direction) String() string {
	switch d {
	case SendOnly:
		return "sendonly"
	case RecvOnly:
		return "recvonly"
	case Inactive:
		return "inactive"
	}
	return "sendrecv"
}

// Reverse returns the direction the answerer uses for an offered direction.
func (d Direction) Reverse() Direction {
	switch d {
	case SendOnly:
		return RecvOnly
	case RecvOnly:
		return SendOnly
	}
	return d
}

// Sends reports whether the writer of the description sends media.
func (d Direction) Sends() bool { return d == SendRecv || d == SendOnly }

// Receives reports whether the writer of the description accepts media.
func (d Direction) Receives() bool { return d == SendRecv || d == RecvOnly }

// Media is the negotiated audio stream of one side.
type Media struct {
	Addr      netip.Addr  // c= address (unspecified: hold in RFC 2543 style)
	Port      int         // 0: stream rejected
	Codec     media.Codec // chosen codec
	DTMF      int         // telephone-event payload type or media.NoDTMF
	Ptime     int         // ms, 20 when absent
	Direction Direction
	Codecs    []media.Codec // every G.711 codec the side offered, in its order
}

// RTPAddr returns the address RTP goes to.
func (m Media) RTPAddr() netip.AddrPort { return netip.AddrPortFrom(m.Addr, uint16(m.Port)) }

// Parse reads the first audio stream of a description and picks the first
// codec in the writer's preference order that we support (PCMU or PCMA).
func Parse(b []byte) (Media, error) {
	if len(b) == 0 || len(b) > MaxSize {
		return Media{}, fmt.Errorf("%w: %d bytes", ErrParse, len(b))
	}
	var sd psdp.SessionDescription
	if err := sd.Unmarshal(b); err != nil {
		return Media{}, fmt.Errorf("%w: %v", ErrParse, err)
	}
	var md *psdp.MediaDescription
	for _, m := range sd.MediaDescriptions {
		if m.MediaName.Media == "audio" {
			md = m
			break
		}
	}
	if md == nil {
		return Media{}, ErrNoAudio
	}
	out := Media{Port: md.MediaName.Port.Value, DTMF: media.NoDTMF, Ptime: 20, Direction: SendRecv}
	if out.Port < 0 || out.Port > 65535 {
		return Media{}, fmt.Errorf("%w: port %d", ErrParse, out.Port)
	}
	if out.Port == 0 {
		return out, fmt.Errorf("%w: stream rejected (port 0)", ErrNoAudio)
	}
	proto := strings.Join(md.MediaName.Protos, "/")
	if proto != "RTP/AVP" && proto != "RTP/AVPF" {
		return Media{}, fmt.Errorf("%w: transport %q", ErrNoAudio, proto)
	}
	ci := md.ConnectionInformation
	if ci == nil {
		ci = sd.ConnectionInformation
	}
	if ci == nil || ci.Address == nil {
		return Media{}, fmt.Errorf("%w: no c= line", ErrParse)
	}
	addr, err := netip.ParseAddr(ci.Address.Address)
	if err != nil {
		return Media{}, fmt.Errorf("%w: c= address %q", ErrParse, ci.Address.Address)
	}
	out.Addr = addr.Unmap()

	// Session-level direction, overridden by the media level.
	for _, attrs := range [][]psdp.Attribute{sd.Attributes, md.Attributes} {
		for _, a := range attrs {
			switch a.Key {
			case "sendrecv":
				out.Direction = SendRecv
			case "sendonly":
				out.Direction = SendOnly
			case "recvonly":
				out.Direction = RecvOnly
			case "inactive":
				out.Direction = Inactive
			}
		}
	}
	rtpmap := map[int]string{}
	for _, a := range md.Attributes {
		switch a.Key {
		case "rtpmap":
			pt, enc, ok := strings.Cut(a.Value, " ")
			if n, err := strconv.Atoi(pt); ok && err == nil {
				rtpmap[n] = strings.ToLower(enc)
			}
		case "ptime":
			if n, err := strconv.Atoi(strings.TrimSpace(a.Value)); err == nil && n > 0 && n <= 200 {
				out.Ptime = n
			}
		}
	}
	chosen := false
	for _, f := range md.MediaName.Formats {
		pt, err := strconv.Atoi(f)
		if err != nil || pt < 0 || pt > 127 {
			continue
		}
		enc, mapped := rtpmap[pt]
		var c media.Codec
		switch {
		case enc == "pcmu/8000" || (!mapped && pt == 0):
			c = media.PCMU
		case enc == "pcma/8000" || (!mapped && pt == 8):
			c = media.PCMA
		case strings.HasPrefix(enc, "telephone-event/8000"):
			if out.DTMF == media.NoDTMF {
				out.DTMF = pt
			}
			continue
		default:
			continue
		}
		// Only static payload types: our RTP path keys codecs by PT.
		if int(c) != pt {
			continue
		}
		out.Codecs = append(out.Codecs, c)
		if !chosen {
			out.Codec, chosen = c, true
		}
	}
	if !chosen {
		return out, ErrNoCommonCodec
	}
	return out, nil
}

// Local describes what we put in an offer or answer.
type Local struct {
	Addr      netip.Addr
	Port      int
	Codecs    []media.Codec // in preference order
	DTMF      int           // payload type for telephone-event, or media.NoDTMF
	Direction Direction
	SessionID uint64
	Version   uint64
}

// Build writes a description for l.
func Build(l Local) []byte {
	ipv := "IP4"
	if l.Addr.Is6() && !l.Addr.Is4In6() {
		ipv = "IP6"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\no=switchboard %d %d IN %s %s\r\ns=switchboard\r\nc=IN %s %s\r\nt=0 0\r\n",
		l.SessionID, l.Version, ipv, l.Addr, ipv, l.Addr)
	fmt.Fprintf(&b, "m=audio %d RTP/AVP", l.Port)
	for _, c := range l.Codecs {
		fmt.Fprintf(&b, " %d", c)
	}
	if l.DTMF >= 0 {
		fmt.Fprintf(&b, " %d", l.DTMF)
	}
	b.WriteString("\r\n")
	for _, c := range l.Codecs {
		fmt.Fprintf(&b, "a=rtpmap:%d %s/8000\r\n", c, c)
	}
	if l.DTMF >= 0 {
		fmt.Fprintf(&b, "a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-16\r\n", l.DTMF, l.DTMF)
	}
	fmt.Fprintf(&b, "a=ptime:20\r\na=%s\r\n", l.Direction)
	return []byte(b.String())
}

// Answer builds our answer to a parsed offer: the chosen codec only, the
// offerer's telephone-event payload type, and the reverse direction.
func Answer(offer Media, addr netip.Addr, port int, sessID, version uint64) []byte {
	dir := offer.Direction.Reverse()
	if offer.Addr.IsUnspecified() {
		dir = Inactive
	}
	return Build(Local{Addr: addr, Port: port, Codecs: []media.Codec{offer.Codec}, DTMF: offer.DTMF,
		Direction: dir, SessionID: sessID, Version: version})
}
