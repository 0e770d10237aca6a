package sdp

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"switchboard/sip/media"
)

const linphone = "v=0\r\no=alice 123 456 IN IP4 192.0.2.10\r\ns=Talk\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n" +
	"m=audio 7078 RTP/AVP 96 0 8 101\r\na=rtpmap:96 opus/48000/2\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\n"

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Media
		err  error
	}{
		{"linphone", linphone, Media{Addr: netip.MustParseAddr("192.0.2.10"), Port: 7078, Codec: media.PCMU, DTMF: 101, Ptime: 20, Codecs: []media.Codec{media.PCMU, media.PCMA}}, nil},
		{"pcma-first-sendonly", "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 8 0\r\nc=IN IP4 10.0.0.2\r\na=sendonly\r\na=ptime:30\r\n",
			Media{Addr: netip.MustParseAddr("10.0.0.2"), Port: 4000, Codec: media.PCMA, DTMF: media.NoDTMF, Ptime: 30, Direction: SendOnly, Codecs: []media.Codec{media.PCMA, media.PCMU}}, nil},
		{"session-inactive", "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\na=inactive\r\nm=audio 4000 RTP/AVP 0\r\n",
			Media{Addr: netip.MustParseAddr("10.0.0.1"), Port: 4000, Codec: media.PCMU, DTMF: media.NoDTMF, Ptime: 20, Direction: Inactive, Codecs: []media.Codec{media.PCMU}}, nil},
		{"opus-only", "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n", Media{}, ErrNoCommonCodec},
		{"port0", "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n", Media{}, ErrNoAudio},
		{"video-only", "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=video 4000 RTP/AVP 96\r\n", Media{}, ErrNoAudio},
		{"no-c", "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n", Media{}, ErrParse},
		{"garbage", "hello", Media{}, ErrParse},
		{"srtp", "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/SAVP 0\r\n", Media{}, ErrNoAudio},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.in))
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestAnswerRoundTrip(t *testing.T) {
	for _, dir := range []Direction{SendRecv, SendOnly, RecvOnly, Inactive} {
		offer := Media{Addr: netip.MustParseAddr("127.0.0.1"), Port: 5000, Codec: media.PCMA, DTMF: 96, Direction: dir}
		ans := Answer(offer, netip.MustParseAddr("127.0.0.2"), 6000, 1, 2)
		got, err := Parse(ans)
		if err != nil {
			t.Fatalf("%s: %v\n%s", dir, err, ans)
		}
		if got.Direction != dir.Reverse() || got.Codec != media.PCMA || got.DTMF != 96 || got.Port != 6000 {
			t.Errorf("%s: answer parsed as %+v", dir, got)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(linphone))
	seeds, _ := filepath.Glob("testdata/*.sdp")
	for _, p := range seeds {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		if m.Port <= 0 || m.Port > 65535 || (m.Codec != media.PCMU && m.Codec != media.PCMA) {
			t.Fatalf("accepted %+v", m)
		}
		// Our answer to anything we accept must parse back.
		if _, err := Parse(Answer(m, netip.MustParseAddr("127.0.0.1"), 4000, 1, 1)); err != nil {
			t.Fatalf("answer does not parse: %v", err)
		}
	})
}
