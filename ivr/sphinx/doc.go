// Package sphinx is the IVR's speech recognizer: an ivr.Recognizer over CMU PocketSphinx
// (Debian's pocketsphinx 0.8+5prealpha and its en-us model, packages pocketsphinx and
// pocketsphinx-en-us).
//
// # In-process, loaded at run time
//
// The decoders run in the server's process, called through cgo: a recognition is a few
// function calls on audio already in memory, with no process to start, no model to load
// and no audio to copy per utterance, and the pool's decoders keep their compiled
// grammars. The library is not linked: it is opened with dlopen when New is called and
// the few functions used are declared in this package, so the server builds (and runs,
// with DTMF only) on a machine without PocketSphinx, its headers or its library. New then
// fails with an error wrapping ErrUnavailable that names the Debian packages, and the
// loader rejects the flows that need speech with that error. A build without cgo has no
// recognizer either, and says so.
//
// Running in process has a price: a fault inside the C library would end the process,
// where a subprocess would only lose one recognition. The library only ever sees what
// this package gives it — grammars built from validated phrases whose every word is in
// the dictionary (Check), and bounded buffers of samples — and a Go panic in a
// recognition (ours, or a misbehaving grammar) is recovered: that decoder is freed and
// replaced, and the caller is asked again.
//
// # Decoders, grammars and concurrency
//
// A PocketSphinx decoder is not safe for concurrent use, so a Recognizer keeps a pool of
// them (WithDecoders, default one per CPU), started as needed; Recognize waits for a free
// one and gives up when its context ends. Each decoder starts with an empty dictionary:
// the words of a grammar are looked up in the model's dictionary (one scan of the file
// per new word, cached) and added when the grammar is first compiled, so the pool does
// not hold the whole dictionary once per decoder. A grammar is compiled once per
// decoder (its JSGF form, ps_set_jsgf_string) and cached by its key; a decoder keeps the
// most recently used few, so reloaded flows do not grow it.
//
// # 8 kHz audio, 16 kHz model
//
// Calls carry 8 kHz G.711 audio and the en-us model is 16 kHz. Decoding at 8 kHz with
// the model's filter bank cut at 4 kHz gave nonsense, since the model's features were
// computed over a band up to 6.8 kHz; the audio is instead upsampled to 16 kHz
// (a windowed-sinc half-band interpolator), leaving the top band empty. A faint noise,
// far under the utterance's peak, is added before decoding: the model never heard
// digital silence nor an empty top band, and without the noise it inserted words into
// the pauses and lost whole phrases. Both choices were made by measuring recognition
// over the speech fixtures (ivr/testdata/speech). Spoken digits remain the weak point:
// "six", "seven" and "zero" begin with fricatives whose energy lies mostly above 4 kHz.
//
// # Confidence
//
// The decoder's own posterior (ps_get_prob) is always certainty with grammar searches in
// this version, so the confidence is computed from its n-best list instead: each
// hypothesis weighs exp(k·Δ), Δ being its score's distance to the best one in nats and k
// a fixed scale, and the confidence is the share of the total weight carried by the
// hypotheses that mean the same value as the one returned (a menu option, a gather value,
// the same digits). Partial paths, which match nothing, count against it. It reads as
// "how much of what the decoder considered agrees with the answer": 1 when nothing else
// was in the running, around 0.5 when an alternative came as close. A node's confidence
// threshold (default 0.5) re-prompts below it.
package sphinx
