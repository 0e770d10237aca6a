package chat

// ResolveTexts returns the texts a service configured with configured
// gives a conversation in language lang.
func ResolveTexts(configured map[string]Texts, lang string) Texts {
	s := &Service{texts: resolveTexts(configured)}
	return s.textsFor(lang)
}
