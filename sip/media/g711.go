package media

// G.711 μ-law and A-law, following the reference algorithm of ITU-T G.711
// as published in Sun's g711.c (the one sox and most softswitches use) with
// sox's rounding of 16-bit input, so that encoding is bit-exact with
// `sox -D -e u-law` / `sox -D -e a-law`.

const (
	ulawBias = 0x84
	ulawClip = 8159
)

var (
	segUEnd = [8]int{0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF}
	segAEnd = [8]int{0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF}
)

// Lookup tables built at first use (pure functions of the algorithm).
var (
	ulawDecodeTab [256]int16
	alawDecodeTab [256]int16
	ulawEncodeTab [1 << 14]byte // indexed by (sample>>2)+8192
	alawEncodeTab [1 << 13]byte // indexed by (sample>>3)+4096
	ulawToAlawTab [256]byte
	alawToUlawTab [256]byte
)

func init() { //nolint:gochecknoinits // pure table construction, no side effects
	for i := range 256 {
		ulawDecodeTab[i] = ulawDecodeRef(byte(i))
		alawDecodeTab[i] = alawDecodeRef(byte(i))
	}
	for i := range ulawEncodeTab {
		ulawEncodeTab[i] = ulawEncode14(i - 8192)
	}
	for i := range alawEncodeTab {
		alawEncodeTab[i] = alawEncode13(i - 4096)
	}
	for i := range 256 {
		ulawToAlawTab[i] = EncodeALaw(ulawDecodeTab[i])
		alawToUlawTab[i] = EncodeULaw(alawDecodeTab[i])
	}
}

func segSearch(v int, tab *[8]int) int {
	for i, e := range tab {
		if v <= e {
			return i
		}
	}
	return 8
}

// ulawEncode14 encodes a 14-bit signed linear sample.
func ulawEncode14(pcm int) byte {
	mask := 0xFF
	if pcm < 0 {
		pcm = -pcm
		mask = 0x7F
	}
	if pcm > ulawClip {
		pcm = ulawClip
	}
	pcm += ulawBias >> 2
	seg := segSearch(pcm, &segUEnd)
	if seg >= 8 {
		return byte(0x7F ^ mask)
	}
	u := (seg << 4) | ((pcm >> (seg + 1)) & 0xF)
	return byte(u ^ mask)
}

// alawEncode13 encodes a 13-bit signed linear sample.
func alawEncode13(pcm int) byte {
	mask := 0xD5
	if pcm < 0 {
		mask = 0x55
		pcm = -pcm - 1
	}
	seg := segSearch(pcm, &segAEnd)
	if seg >= 8 {
		return byte(0x7F ^ mask)
	}
	a := seg << 4
	if seg < 2 {
		a |= (pcm >> 1) & 0xF
	} else {
		a |= (pcm >> seg) & 0xF
	}
	return byte(a ^ mask)
}

func ulawDecodeRef(u byte) int16 {
	u = ^u
	t := (int(u&0x0F) << 3) + ulawBias
	t <<= (u & 0x70) >> 4
	if u&0x80 != 0 {
		return int16(ulawBias - t)
	}
	return int16(t - ulawBias)
}

func alawDecodeRef(a byte) int16 {
	a ^= 0x55
	t := int(a&0x0F) << 4
	seg := int(a&0x70) >> 4
	switch seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if a&0x80 != 0 {
		return int16(t)
	}
	return int16(-t)
}

// EncodeULaw encodes one 16-bit linear sample to μ-law. The sample is
// rounded to 14 bits (ties upward, clipped at the top) before the table
// look-up, exactly as sox's SOX_SAMPLE_TO_SIGNED does.
func EncodeULaw(s int16) byte { return ulawEncodeTab[min((int(s)+2)>>2, 8191)+8192] }

// DecodeULaw decodes one μ-law byte to a 16-bit linear sample.
func DecodeULaw(u byte) int16 { return ulawDecodeTab[u] }

// EncodeALaw encodes one 16-bit linear sample to A-law, rounding to 13
// bits like sox.
func EncodeALaw(s int16) byte { return alawEncodeTab[min((int(s)+4)>>3, 4095)+4096] }

// DecodeALaw decodes one A-law byte to a 16-bit linear sample.
func DecodeALaw(a byte) int16 { return alawDecodeTab[a] }

// ULawToALaw transcodes one μ-law byte to A-law through linear PCM.
func ULawToALaw(u byte) byte { return ulawToAlawTab[u] }

// ALawToULaw transcodes one A-law byte to μ-law through linear PCM.
func ALawToULaw(a byte) byte { return alawToUlawTab[a] }

// Codec identifies a G.711 variant carried in RTP.
type Codec uint8

// The codecs the media engine speaks. The values are their static RTP
// payload types (RFC 3551).
const (
	PCMU Codec = 0
	PCMA Codec = 8
)

// String returns the SDP encoding name.
func (c Codec) String() string {
	switch c {
	case PCMU:
		return "PCMU"
	case PCMA:
		return "PCMA"
	}
	return "unknown"
}

// Encode encodes linear samples into dst (len(dst) must be ≥ len(src)) and
// returns the number of bytes written.
func (c Codec) Encode(dst []byte, src []int16) int {
	n := min(len(dst), len(src))
	if c == PCMA {
		for i := range n {
			dst[i] = EncodeALaw(src[i])
		}
		return n
	}
	for i := range n {
		dst[i] = EncodeULaw(src[i])
	}
	return n
}

// Decode decodes G.711 bytes into dst and returns the number of samples.
func (c Codec) Decode(dst []int16, src []byte) int {
	n := min(len(dst), len(src))
	if c == PCMA {
		for i := range n {
			dst[i] = DecodeALaw(src[i])
		}
		return n
	}
	for i := range n {
		dst[i] = DecodeULaw(src[i])
	}
	return n
}

// Transcode converts payload bytes in place from codec from to codec to.
func Transcode(p []byte, from, to Codec) {
	if from == to {
		return
	}
	if from == PCMU {
		for i, b := range p {
			p[i] = ulawToAlawTab[b]
		}
		return
	}
	for i, b := range p {
		p[i] = alawToUlawTab[b]
	}
}
