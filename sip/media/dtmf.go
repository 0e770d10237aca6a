package media

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrDTMFPayload is returned for a telephone-event payload that is not 4
// bytes or carries an event outside 0–16.
var ErrDTMFPayload = errors.New("media: bad RFC 4733 telephone-event payload")

// DTMFEvent is one RFC 4733 telephone-event payload.
type DTMFEvent struct {
	Event    uint8  // 0–9, 10 '*', 11 '#', 12–15 A–D, 16 flash
	End      bool   // E bit
	Volume   uint8  // 0–63, in -dBm0
	Duration uint16 // in timestamp units (8 kHz)
}

// ParseDTMF decodes a telephone-event payload. Trailing bytes (redundant
// events of RFC 2198 are not negotiated) are ignored.
func ParseDTMF(p []byte) (DTMFEvent, error) {
	if len(p) < 4 {
		return DTMFEvent{}, fmt.Errorf("%w: %d bytes", ErrDTMFPayload, len(p))
	}
	e := DTMFEvent{
		Event:    p[0],
		End:      p[1]&0x80 != 0,
		Volume:   p[1] & 0x3F,
		Duration: binary.BigEndian.Uint16(p[2:4]),
	}
	if e.Event > 16 {
		return DTMFEvent{}, fmt.Errorf("%w: event %d", ErrDTMFPayload, e.Event)
	}
	return e, nil
}

// AppendTo appends the 4-byte wire form of e to b.
func (e DTMFEvent) AppendTo(b []byte) []byte {
	f := e.Volume & 0x3F
	if e.End {
		f |= 0x80
	}
	return append(b, e.Event, f, byte(e.Duration>>8), byte(e.Duration))
}

const dtmfDigits = "0123456789*#ABCD"

// DigitForEvent maps an event code to its digit character.
func DigitForEvent(ev uint8) (byte, bool) {
	if int(ev) < len(dtmfDigits) {
		return dtmfDigits[ev], true
	}
	return 0, false
}

// EventForDigit maps a digit character (0-9 * # A-D, case-insensitive) to
// its event code.
func EventForDigit(d byte) (uint8, bool) {
	if d >= 'a' && d <= 'd' {
		d -= 'a' - 'A'
	}
	for i := range len(dtmfDigits) {
		if dtmfDigits[i] == d {
			return uint8(i), true
		}
	}
	return 0, false
}

// DTMFDetector turns a stream of telephone-event packets into digits,
// reporting each key press exactly once. RFC 4733 identifies an event by
// its RTP timestamp: every packet of one press (the updates and the three
// redundant end packets) carries the same timestamp, so a digit is emitted
// for the first packet of a new (timestamp, event) pair, whether that is
// the start or — if the start was lost — an end packet. A press ends with
// its end packets, so a non-end packet with the same (timestamp, event)
// after them is a new press from a sender that reuses timestamps (a replayed
// capture, as SIPp's play_pcap_audio sends). It is not safe for concurrent
// use; the receive goroutine of a session owns it.
type DTMFDetector struct {
	seen    bool
	lastTS  uint32
	lastEv  uint8
	lastEnd bool
}

// Feed processes one packet and returns the digit to report, if any.
func (d *DTMFDetector) Feed(ts uint32, payload []byte) (byte, bool) {
	e, err := ParseDTMF(payload)
	if err != nil {
		return 0, false
	}
	if d.seen && ts == d.lastTS && e.Event == d.lastEv && (e.End || !d.lastEnd) {
		d.lastEnd = d.lastEnd || e.End
		return 0, false
	}
	d.seen, d.lastTS, d.lastEv, d.lastEnd = true, ts, e.Event, e.End
	return DigitForEvent(e.Event)
}
