package chat

import (
	"strings"

	"switchboard/ivr"
)

// Texts are what the service itself writes into a chat, in one language:
// its system messages and the labels of a confirmation's buttons.
type Texts struct {
	// OfferEmail ends a chat the bot ended: how to reach us instead.
	OfferEmail string `yaml:"offer_email"`
	// NoAgents tells a waiting customer nobody is logged in for the queue.
	NoAgents string `yaml:"no_agents"`
	// Transfer tells the customer the agent transferred the chat.
	Transfer string `yaml:"transfer"`
	// Joined tells the customer an agent joined; %s is the agent's name.
	Joined string `yaml:"joined"`
	// Ended tells the customer the chat ended.
	Ended string `yaml:"ended"`
	// Error tells the customer the chat could not reach an agent.
	Error string `yaml:"error"`
	// Confirm and Change label a confirmation's buttons (the flow's "press
	// 1 if correct, 2 to change it", as a callback's number read back).
	Confirm string `yaml:"confirm"`
	Change  string `yaml:"change"`
}

// DefaultLanguage is the language of a chat whose conversation names none
// the service has texts for.
const DefaultLanguage = "en"

// DefaultTexts returns the texts in the languages the IVR's prompts ship
// in (ivr/prompts/en and es).
func DefaultTexts() map[string]Texts {
	return map[string]Texts{
		"en": {
			OfferEmail: "You can also write to us by email, and we will answer as soon as we can.",
			NoAgents:   "No agent is available right now. You can leave your question here and we will answer by email, or ask us to call you back.",
			Transfer:   "You are being transferred to another agent. Please stay in the chat.",
			Joined:     "%s joined the chat.",
			Ended:      "The chat has ended. Thank you!",
			Error:      "Sorry, we cannot connect you to an agent right now.",
			Confirm:    "Yes, that is right",
			Change:     "No, change it",
		},
		"es": {
			OfferEmail: "También puede escribirnos por correo electrónico y le responderemos lo antes posible.",
			NoAgents:   "No hay ningún agente disponible en este momento. Puede dejar su pregunta aquí y le responderemos por correo electrónico, o pedirnos que le llamemos.",
			Transfer:   "Le estamos transfiriendo a otro agente. Por favor, permanezca en el chat.",
			Joined:     "%s se unió al chat.",
			Ended:      "El chat ha terminado. ¡Gracias!",
			Error:      "Lo sentimos, no podemos conectarle con un agente en este momento.",
			Confirm:    "Sí, es correcto",
			Change:     "No, cambiarlo",
		},
	}
}

// resolveTexts merges the configured texts over the defaults: a language
// takes each text from its configured set, else its default set, else the
// default language's (configured, then default).
func resolveTexts(configured map[string]Texts) map[string]Texts {
	defaults := DefaultTexts()
	langs := map[string]bool{}
	for l := range defaults {
		langs[l] = true
	}
	for l := range configured {
		langs[baseLanguage(l)] = true
	}
	byBase := map[string]Texts{}
	for l, t := range configured {
		byBase[baseLanguage(l)] = t
	}
	out := make(map[string]Texts, len(langs))
	for l := range langs {
		out[l] = mergeTexts(byBase[l], defaults[l], byBase[DefaultLanguage], defaults[DefaultLanguage])
	}
	return out
}

// mergeTexts takes each text from the first set that has it.
func mergeTexts(sets ...Texts) Texts {
	var t Texts
	for _, f := range []func(*Texts) *string{
		func(t *Texts) *string { return &t.OfferEmail }, func(t *Texts) *string { return &t.NoAgents },
		func(t *Texts) *string { return &t.Transfer }, func(t *Texts) *string { return &t.Joined },
		func(t *Texts) *string { return &t.Ended }, func(t *Texts) *string { return &t.Error },
		func(t *Texts) *string { return &t.Confirm }, func(t *Texts) *string { return &t.Change },
	} {
		for i := range sets {
			if v := *f(&sets[i]); v != "" {
				*f(&t) = v
				break
			}
		}
	}
	return t
}

// baseLanguage is the language of a tag, as the prompts' folders name it:
// "es-MX" and "ES_es" are "es".
func baseLanguage(tag string) string {
	l, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
	l, _, _ = strings.Cut(l, "_")
	return l
}

// textsFor returns the texts of language tag, or the default language's.
func (s *Service) textsFor(tag string) Texts {
	if t, ok := s.texts[baseLanguage(tag)]; ok {
		return t
	}
	return s.texts[DefaultLanguage]
}

// textsLocked returns the texts of cv's language.
func (s *Service) textsLocked(cv *conv) Texts { return s.textsFor(cv.c.Language) }

// joined is the Joined text naming the agent; the name is inserted as
// text, so a configured text with other verbs shows them as they are.
func (t Texts) joined(name string) string { return strings.Replace(t.Joined, "%s", name, 1) }

// confirmButtons labels a confirmation's buttons: the IVR shows "1" and
// "2", the digits a caller presses, where a chat needs words. A menu whose
// options 1 and 2 have no labels looks the same and gets them too: chat
// menus name their options (ivr's labels).
func (t Texts) confirmButtons(bs []ivr.TextButton) []ivr.TextButton {
	if len(bs) != 2 || bs[0].Value != "1" || bs[0].Label != "1" || bs[1].Value != "2" || bs[1].Label != "2" ||
		bs[0].Phrases != nil || bs[1].Phrases != nil {
		return bs
	}
	return []ivr.TextButton{{Label: t.Confirm, Value: "1"}, {Label: t.Change, Value: "2"}}
}
