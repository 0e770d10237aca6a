package sphinx

import (
	"math"
	"math/rand/v2"
)

// halfTaps is half of the symmetric interpolation filter that doubles the sample rate:
// a Blackman-windowed sinc with a cut-off at the old Nyquist frequency, whose even taps
// (but the centre) are zero, so an output sample at an input instant is that input
// sample and one between two is a weighted sum of 2×len(halfTaps) neighbours.
var halfTaps = func() [16]float64 {
	var h [16]float64
	var sum float64
	for k := range h {
		x := float64(k) + 0.5
		t := x / (float64(len(h)) + 0.5)
		window := 0.42 + 0.5*math.Cos(math.Pi*t) + 0.08*math.Cos(2*math.Pi*t)
		h[k] = math.Sin(math.Pi*x) / (math.Pi * x) * window
		sum += 2 * h[k]
	}
	for k := range h {
		h[k] /= sum
	}
	return h
}()

// upsample doubles the sample rate of in (8 kHz to the model's 16 kHz) into out, which it
// grows as needed and returns. The new band above 4 kHz stays empty.
func upsample(in, out []int16) []int16 {
	out = append(out[:0], make([]int16, 2*len(in))...)
	at := func(i int) float64 {
		if i < 0 || i >= len(in) {
			return 0
		}
		return float64(in[i])
	}
	for n := range in {
		out[2*n] = in[n]
		var acc float64
		for k, h := range halfTaps {
			acc += h * (at(n-k) + at(n+1+k))
		}
		out[2*n+1] = int16(max(-32768, min(32767, math.Round(acc))))
	}
	return out
}

// comfortNoise is the level of the noise added before decoding, in dB below the
// utterance's peak.
const comfortNoise = 38

// addComfortNoise adds faint white noise to buf (the upsampled utterance), scaled to the
// peak of the original audio. The model was trained on recordings that always have a
// noise floor: digital silence, and the empty band above 4 kHz of G.711 audio, are far
// outside it, and made the decoder insert words into the pauses. The noise is the same
// on every call, so a recognition is repeatable.
func addComfortNoise(buf, audio []int16) {
	peak := 1.0
	for _, s := range audio {
		peak = max(peak, math.Abs(float64(s)))
	}
	amp := peak * math.Pow(10, -comfortNoise/20.0)
	rng := rand.New(rand.NewPCG(1, 2))
	for i, s := range buf {
		buf[i] = int16(max(-32768, min(32767, math.Round(float64(s)+amp*(2*rng.Float64()-1)))))
	}
}
