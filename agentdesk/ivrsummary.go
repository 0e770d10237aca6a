package agentdesk

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// ivrSummary says in words what the caller did in the IVR, for the screen
// pop: the menu choices they made and what the IVR looked up. path is the
// IVR path as the engine carries it ("node" visits, "dtmf:1" digits,
// `speech:"billing"@0.87` what the caller said, "node:event" events); vars
// are the IVR variables. Identifiers (contact
// ids and the like) are left out: the agent cannot use them.
func ivrSummary(path []string, vars map[string]string) []string {
	var out, choices []string
	noChoice := false
	for i, p := range path {
		switch {
		case isDigitStep(p):
		case strings.Contains(p, ":"):
			if strings.HasSuffix(p, ":max_retries") {
				noChoice = true
			}
		case i >= 2 && isDigitStep(path[i-1]) && !isDigitStep(path[i-2]):
			// A node reached by one key press: a menu choice.
			choices = append(choices, nodeLabel(p))
		case i >= 1 && strings.HasPrefix(path[i-1], "speech:"):
			// A node reached by what the caller said.
			heard := strings.TrimPrefix(path[i-1], "speech:")
			if at := strings.LastIndexByte(heard, '@'); at > 0 {
				heard = heard[:at]
			}
			choices = append(choices, nodeLabel(p)+" (said "+heard+")")
		}
	}
	if len(choices) > 0 {
		out = append(out, "Chose: "+strings.Join(choices, " → "))
	}
	if noChoice {
		out = append(out, "No valid choice (sent on by default)")
	}
	if name := vars["contact.name"]; name != "" {
		out = append(out, "Caller identified: "+name)
	}
	switch num := vars["ticket.number"]; {
	case num != "":
		s := "Ticket " + num
		if st := vars["ticket.status"]; st != "" {
			s += " (" + st + ")"
		}
		if sub := vars["ticket.subject"]; sub != "" {
			s += ": " + sub
		}
		out = append(out, s)
	case vars["input.ticket"] != "":
		out = append(out, "Ticket "+vars["input.ticket"]+" not found")
	}
	if out == nil {
		out = []string{}
	}
	return out
}

func isDigitStep(p string) bool { return strings.HasPrefix(p, "dtmf:") }

// nodeLabel turns a flow node's name into words: "billing_queue" →
// "Billing", "speak_to_agent" → "Speak to agent".
func nodeLabel(name string) string {
	words := strings.FieldsFunc(name, func(r rune) bool { return r == '_' || r == '-' || r == '.' || unicode.IsSpace(r) })
	for len(words) > 1 {
		switch strings.ToLower(words[len(words)-1]) {
		case "queue", "menu", "node", "q":
			words = words[:len(words)-1]
			continue
		}
		break
	}
	s := strings.Join(words, " ")
	if s == "" {
		return name
	}
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}
