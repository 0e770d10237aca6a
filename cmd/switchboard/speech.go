package main

import (
	"log/slog"

	"switchboard/ivr"
	"switchboard/ivr/sphinx"
)

// SpeechConfig is speech input in the IVR (menus and gathers with `input:
// speech` or `both`), recognised in-process by PocketSphinx.
type SpeechConfig struct {
	// Disabled turns speech recognition off: flows that need it fail to
	// load, the others take keys.
	Disabled bool `yaml:"disabled"`
	// Library, Model and Dict override the Debian paths of libpocketsphinx,
	// the English acoustic model and its dictionary.
	Library string `yaml:"library"`
	Model   string `yaml:"model"`
	Dict    string `yaml:"dict"`
	// Decoders is how many recognitions run at once (0: one per CPU).
	Decoders int `yaml:"decoders"`
	// EndSilence is the pause that ends what the caller says; MaxSpeech
	// the longest utterance (defaults 700ms and 10s).
	EndSilence Duration `yaml:"end_silence"`
	MaxSpeech  Duration `yaml:"max_speech"`
}

// speechOptions returns base with the recognizer the config asks for, or,
// when there is none, why (flows that need speech then fail to load with
// that reason). close releases the recognizer.
func speechOptions(cfg *SpeechConfig, base ivr.Options, decoders int, logger *slog.Logger) (opts ivr.Options, close func()) {
	base.Endpointing = ivr.Endpointing{EndSilence: cfg.EndSilence.D(), MaxSpeech: cfg.MaxSpeech.D()}
	if cfg.Disabled {
		base.NoRecognizer = errSpeechDisabled
		return base, func() {}
	}
	so := []sphinx.Option{sphinx.WithLogger(logger)}
	if decoders > 0 {
		so = append(so, sphinx.WithDecoders(decoders))
	}
	if cfg.Library != "" {
		so = append(so, sphinx.WithLibrary(cfg.Library))
	}
	if cfg.Model != "" || cfg.Dict != "" {
		model, dict := cfg.Model, cfg.Dict
		if model == "" {
			model = sphinx.DefaultModel
		}
		if dict == "" {
			dict = sphinx.DefaultDict
		}
		so = append(so, sphinx.WithModel(model, dict))
	}
	rec, err := sphinx.New(so...)
	if err != nil {
		logger.Warn("ivr: no speech recognition; menus and gathers take keys only", "err", err)
		base.NoRecognizer = err
		return base, func() {}
	}
	// Only a working recognizer goes in the interface: a nil *Recognizer
	// there would not be a nil Recognizer.
	base.Recognizer = rec
	return base, func() { _ = rec.Close() }
}

// errSpeechDisabled is why flows needing speech fail with ivr.speech.disabled.
var errSpeechDisabled = speechDisabledError{}

type speechDisabledError struct{}

func (speechDisabledError) Error() string {
	return "speech recognition is disabled (ivr.speech.disabled)"
}
