package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// WAV format tags this package reads.
const (
	wavPCM        = 1
	wavALaw       = 6
	wavULaw       = 7
	wavExtensible = 0xFFFE
)

// MaxWAVSamples caps how many samples ReadWAV accepts (one hour at 8 kHz),
// so a hostile header cannot make us allocate without bound.
const MaxWAVSamples = 8000 * 3600

// Sentinel errors of the WAV reader.
var (
	ErrWAVFormat      = errors.New("media: not a supported WAV file")
	ErrWAVUnsupported = errors.New("media: unsupported WAV encoding (need 8 kHz mono μ-law, A-law or 16-bit PCM)")
)

// Audio is decoded 8 kHz mono linear PCM.
type Audio struct {
	Samples []int16
}

// ReadWAVFile reads a prompt file; see ReadWAV.
func ReadWAVFile(path string) (*Audio, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	defer f.Close()
	a, err := ReadWAV(f)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return a, nil
}

// ReadWAV decodes an 8 kHz mono WAV stream in μ-law, A-law or 16-bit PCM
// (plain or WAVE_FORMAT_EXTENSIBLE) into linear samples.
func ReadWAV(r io.Reader) (*Audio, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("%w: short header", ErrWAVFormat)
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return nil, fmt.Errorf("%w: no RIFF/WAVE", ErrWAVFormat)
	}
	var (
		format, channels, bits uint16
		rate                   uint32
		haveFmt                bool
	)
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			return nil, fmt.Errorf("%w: no data chunk", ErrWAVFormat)
		}
		id := string(ch[0:4])
		size := binary.LittleEndian.Uint32(ch[4:8])
		switch id {
		case "fmt ":
			if size < 16 || size > 1024 {
				return nil, fmt.Errorf("%w: fmt chunk size %d", ErrWAVFormat, size)
			}
			b := make([]byte, size+size&1)
			if _, err := io.ReadFull(r, b); err != nil {
				return nil, fmt.Errorf("%w: short fmt chunk", ErrWAVFormat)
			}
			format = binary.LittleEndian.Uint16(b[0:2])
			channels = binary.LittleEndian.Uint16(b[2:4])
			rate = binary.LittleEndian.Uint32(b[4:8])
			bits = binary.LittleEndian.Uint16(b[14:16])
			if format == wavExtensible {
				if size < 40 {
					return nil, fmt.Errorf("%w: short extensible fmt", ErrWAVFormat)
				}
				format = binary.LittleEndian.Uint16(b[24:26])
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, fmt.Errorf("%w: data before fmt", ErrWAVFormat)
			}
			if channels != 1 || rate != 8000 {
				return nil, fmt.Errorf("%w: %d channels at %d Hz", ErrWAVUnsupported, channels, rate)
			}
			return readWAVData(r, format, bits, size)
		default:
			if _, err := io.CopyN(io.Discard, r, int64(size)+int64(size&1)); err != nil {
				return nil, fmt.Errorf("%w: truncated %q chunk", ErrWAVFormat, id)
			}
		}
	}
}

func readWAVData(r io.Reader, format, bits uint16, size uint32) (*Audio, error) {
	var bytesPerSample uint32
	switch {
	case format == wavPCM && bits == 16:
		bytesPerSample = 2
	case (format == wavULaw || format == wavALaw) && bits == 8:
		bytesPerSample = 1
	default:
		return nil, fmt.Errorf("%w: format %d, %d bits", ErrWAVUnsupported, format, bits)
	}
	// A streaming writer may leave size 0 or 0xFFFFFFFF: read to EOF then.
	n := size / bytesPerSample
	if size == 0 || size == 0xFFFFFFFF || n > MaxWAVSamples {
		n = MaxWAVSamples
	}
	raw, err := io.ReadAll(io.LimitReader(r, int64(n)*int64(bytesPerSample)))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrWAVFormat, err)
	}
	out := &Audio{Samples: make([]int16, len(raw)/int(bytesPerSample))}
	switch format {
	case wavPCM:
		for i := range out.Samples {
			out.Samples[i] = int16(binary.LittleEndian.Uint16(raw[2*i:]))
		}
	case wavULaw:
		PCMU.Decode(out.Samples, raw)
	case wavALaw:
		PCMA.Decode(out.Samples, raw)
	}
	return out, nil
}

// WAVWriter writes 16-bit PCM WAV at 8 kHz with one or two channels. The
// header sizes are patched on Close. Samples are converted straight into a
// pooled 16 kB block (half a second of a stereo recording) that reaches
// the file in one write when full: a thousand recorded calls make
// 2,000 writes a second, not 50,000, and allocate no buffer each.
type WAVWriter struct {
	f        *os.File
	block    *[]byte // pending little-endian samples; from wavBlocks, nil once closed
	channels int
	n        int64 // data bytes accepted
}

// wavBlockSize is the size of a WAVWriter's write.
const wavBlockSize = 16 << 10

var wavBlocks = sync.Pool{New: func() any { b := make([]byte, 0, wavBlockSize); return &b }}

// CreateWAV creates (truncating) a 16-bit PCM WAV file at 8 kHz.
func CreateWAV(path string, channels int) (*WAVWriter, error) {
	if channels != 1 && channels != 2 {
		return nil, fmt.Errorf("media: wav: %d channels", channels)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	if _, err := f.Write(wavHeader(channels, 0)); err != nil {
		f.Close()
		return nil, fmt.Errorf("media: %w", err)
	}
	return &WAVWriter{f: f, block: wavBlocks.Get().(*[]byte), channels: channels}, nil
}

func wavHeader(channels int, dataLen uint32) []byte {
	h := make([]byte, 44)
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], 36+dataLen)
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], wavPCM)
	binary.LittleEndian.PutUint16(h[22:], uint16(channels))
	binary.LittleEndian.PutUint32(h[24:], 8000)
	binary.LittleEndian.PutUint32(h[28:], uint32(8000*2*channels))
	binary.LittleEndian.PutUint16(h[32:], uint16(2*channels))
	binary.LittleEndian.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], dataLen)
	return h
}

// WriteFrames appends interleaved samples (len must be a multiple of the
// channel count).
func (w *WAVWriter) WriteFrames(s []int16) error {
	if w.block == nil {
		return fmt.Errorf("media: wav writer closed")
	}
	b := *w.block
	for len(s) > 0 {
		if len(b) == cap(b) {
			*w.block = b
			if err := w.flush(); err != nil {
				return err
			}
			b = *w.block
		}
		k := min((cap(b)-len(b))/2, len(s))
		for _, v := range s[:k] {
			b = binary.LittleEndian.AppendUint16(b, uint16(v))
		}
		w.n += int64(2 * k)
		s = s[k:]
	}
	*w.block = b
	return nil
}

// flush writes the pending block to the file and empties it.
func (w *WAVWriter) flush() error {
	b := *w.block
	*w.block = b[:0]
	if len(b) == 0 {
		return nil
	}
	if _, err := w.f.Write(b); err != nil {
		return fmt.Errorf("media: %w", err)
	}
	return nil
}

// Samples returns the number of frames (per channel) written so far.
func (w *WAVWriter) Samples() int64 { return w.n / int64(2*w.channels) }

// Close writes what is pending, patches the header and closes the file.
// It is idempotent.
func (w *WAVWriter) Close() error {
	if w.block == nil {
		return nil
	}
	err := w.flush()
	wavBlocks.Put(w.block)
	w.block = nil
	if _, herr := w.f.WriteAt(wavHeader(w.channels, uint32(w.n)), 0); err == nil && herr != nil {
		err = fmt.Errorf("media: %w", herr)
	}
	if cerr := w.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("media: %w", cerr)
	}
	return err
}

// WriteWAVFile writes mono 16-bit PCM samples to path.
func WriteWAVFile(path string, samples []int16) error {
	w, err := CreateWAV(path, 1)
	if err != nil {
		return err
	}
	if err := w.WriteFrames(samples); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// ReadWAVStereo reads a 2-channel 16-bit PCM 8 kHz WAV (as written by the
// recorder) into left and right channels.
func ReadWAVStereo(path string) (left, right []int16, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("media: %w", err)
	}
	if len(b) < 44 || string(b[0:4]) != "RIFF" || binary.LittleEndian.Uint16(b[22:]) != 2 {
		return nil, nil, fmt.Errorf("%w: not a stereo recording", ErrWAVFormat)
	}
	data := b[44:]
	for i := 0; i+4 <= len(data); i += 4 {
		left = append(left, int16(binary.LittleEndian.Uint16(data[i:])))
		right = append(right, int16(binary.LittleEndian.Uint16(data[i+2:])))
	}
	return left, right, nil
}
