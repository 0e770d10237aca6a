package ivr

import (
	"context"
	"strings"
	"unicode"
)

// channelVar is the variable Run sets to the session's channel: "voice" for a call, "chat"
// for a TextSession. Branches on it let one flow serve both, and the validator follows
// them when it checks what a chat can reach.
const channelVar = "call.channel"

// The values of call.channel.
const (
	ChannelVoice = "voice"
	ChannelChat  = "chat"
)

// TextInvalid is the digit a TextSession's ReadDigit returns for a typed character that is
// no key of a phone keypad, or for a reply to a menu that names none of its options. It
// matches no menu option and no gather accepts it.
const TextInvalid byte = '?'

// TextSession is a Session that shows prompts as text instead of playing them: a web chat.
// Run shows each prompt list it would play as one TextPrompt and reads replies with
// ReadDigit; the session feeds it from what the customer sent: for a prompt with buttons,
// the value of the button chosen or named (TextInvalid for anything else); for one
// without, each typed character (TextInvalid for one not on a keypad) and then the end of
// the input, reported as ReadDigit's ok false at once, so that a gather needs no
// terminator. Run never calls Play on a TextSession, nor Record (the validator keeps
// voicemail out of chat flows).
type TextSession interface {
	Session
	// Show shows one prompt list as text. It returns an error when the customer is gone.
	Show(ctx context.Context, p TextPrompt) error
}

// TextPrompt is the text form of a prompt list.
type TextPrompt struct {
	// Text is the prompts' texts joined by spaces; a say item shows its value.
	Text string
	// Buttons are the quick replies of a menu (its options, in keypad order) or of a
	// confirmation; nil when the reply, if any, is typed.
	Buttons []TextButton
}

// TextButton is a quick reply: its label and the digit it stands for.
type TextButton struct {
	Label string
	Value string
	// Phrases are what a speech node listens for to choose this button; a chat visitor
	// who types one of them (ignoring case, spacing and punctuation) chooses it too.
	Phrases []string
}

// keypadOrder is the order of a menu's buttons: as the keys sit on a phone.
const keypadOrder = "123456789*0#ABCD"

// confirmButtons answer "press 1 if correct, 2 to change it".
var confirmButtons = []TextButton{{Label: "1", Value: "1"}, {Label: "2", Value: "2"}}

// menuButtons returns a menu's options as buttons, labelled by labels: (else the digit).
func menuButtons(n *node) []TextButton {
	out := make([]TextButton, 0, len(n.options))
	for i := 0; i < len(keypadOrder); i++ {
		d := keypadOrder[i]
		if _, ok := n.options[d]; !ok {
			continue
		}
		label := n.labels[d]
		if label == "" {
			label = string(d)
		}
		out = append(out, TextButton{Label: label, Value: string(d), Phrases: phrasesOf(n.grammar, string(d))})
	}
	return out
}

// promptText renders a prompt list as text in the run's language: a named prompt by its
// text (skipped, and logged, when it has none), a say item by its value.
func (r *run) promptText(n *node, ps []prompt) string {
	parts := make([]string, 0, len(ps))
	for _, p := range ps {
		if p.say != SayNone {
			v := r.expand(p.value)
			if p.currency != "" {
				v += " " + p.currency
			}
			parts = append(parts, v)
			continue
		}
		t, ok := r.set.prompts.Text(r.lang, p.name)
		if !ok {
			r.log.Warn("ivr: prompt has no text", "flow", r.flow.name, "node", nodeName(n), "prompt", p.name, "language", r.lang)
			continue
		}
		parts = append(parts, t)
	}
	return strings.Join(parts, " ")
}

// show shows a text prompt on the run's TextSession.
func (r *run) show(ctx context.Context, text string, buttons []TextButton) error {
	if err := r.text.Show(ctx, TextPrompt{Text: text, Buttons: buttons}); err != nil {
		return errHangup{err}
	}
	return nil
}

// checkChat checks what every chat entry point can reach: nodes that need a phone call are
// errors. A branch on call.channel is followed for a chat only, as Run will take it.
func (c *compiler) checkChat(set *Set) {
	type at struct{ flow, node string }
	reported := map[at]bool{}
	for _, ep := range set.entries {
		if ep.Chat == "" || ep.Flow == nil {
			continue
		}
		seen := map[at]bool{}
		stack := []at{{ep.Flow.name, ep.Flow.start}}
		for len(stack) > 0 {
			cur := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			f := set.flows[cur.flow]
			if f == nil || seen[cur] {
				continue
			}
			n := f.nodes[cur.node]
			if n == nil {
				continue
			}
			seen[cur] = true
			if why := needsCall(n.kind); why != "" && !reported[cur] {
				reported[cur] = true
				c.problem(SeverityError, n.line, f.name, n.name, "reachable from chat entry point %s: %s", ep.Chat, why)
			}
			if n.kind == KindGoto && n.flow != "" {
				if g := set.flows[n.flow]; g != nil {
					stack = append(stack, at{g.name, g.start})
				}
				continue
			}
			for _, t := range chatTargets(n) {
				stack = append(stack, at{f.name, t})
			}
		}
	}
}

// needsCall says why a node of kind k cannot run in a chat ("" when it can).
func needsCall(k NodeKind) string {
	switch k {
	case KindVoicemail:
		return "voicemail needs a phone call (it records the caller's voice)"
	case KindCallback:
		return "callback needs a phone call (it asks for a number keyed on the phone)"
	case KindTransfer:
		return "transfer needs a phone call (it transfers to a phone number)"
	}
	return ""
}

// chatTargets returns the nodes n can go to in a chat: its targets, except that a branch's
// conditions on call.channel are decided for a chat.
func chatTargets(n *node) []string {
	if n.kind != KindBranch {
		return n.targets()
	}
	var out []string
	for _, cd := range n.conds {
		if cd.varName != channelVar {
			out = append(out, cd.next)
			continue
		}
		if cd.holds(ChannelChat, true) {
			return append(out, cd.next)
		}
	}
	return append(out, n.def)
}

// Reply turns what a customer sent in answer to p into the digits a TextSession feeds
// ReadDigit before the end of the input. With buttons: the value of the button whose value
// or label (ignoring case) is the text, or one of whose phrases it is (ignoring case,
// spacing and punctuation), else TextInvalid. Without: digits spelled as words ("four two
// seven one") as those digits, else the text's characters, spaces dropped, each one off
// the keypad as TextInvalid; longer than any gather takes, it is cut one past that length,
// which no gather accepts.
func (p TextPrompt) Reply(text string) string {
	text = strings.TrimSpace(text)
	if p.Buttons != nil {
		for _, b := range p.Buttons {
			if text == b.Value || strings.EqualFold(text, b.Label) {
				return b.Value
			}
		}
		norm := normalizeText(text)
		for _, b := range p.Buttons {
			for _, ph := range b.Phrases {
				if norm == normalizeText(ph) {
					return b.Value
				}
			}
		}
		return string(TextInvalid)
	}
	if d, ok := spokenDigits(normalizeText(text)); ok && strings.IndexFunc(text, unicode.IsLetter) >= 0 {
		return d
	}
	out := make([]byte, 0, min(len(text), maxDigitsLimit+1))
	for _, c := range text {
		if len(out) > maxDigitsLimit {
			break
		}
		switch {
		case c == ' ' || c == '-' || c == '\t':
		case c < 0x80 && isDTMF(byte(c)):
			out = append(out, byte(c))
		default:
			out = append(out, TextInvalid)
		}
	}
	return string(out)
}

// phraseValues returns the values of a phrase grammar in order: a chat's buttons for a
// gather that listens for phrases.
func phraseValues(g *Grammar) []string {
	var out []string
	for _, p := range g.phrases {
		if len(out) == 0 || out[len(out)-1] != p.Value {
			out = append(out, p.Value)
		}
	}
	return out
}

// valueButtons returns a phrase gather's values as buttons, in keypad order, each with
// its phrases.
func valueButtons(g *Grammar, values []string) []TextButton {
	out := make([]TextButton, len(values))
	for i, v := range values {
		out[i] = TextButton{Label: v, Value: string(keypadOrder[i]), Phrases: phrasesOf(g, v)}
	}
	return out
}

// phrasesOf returns the phrases of g that stand for value.
func phrasesOf(g *Grammar, value string) []string {
	if g == nil {
		return nil
	}
	var out []string
	for _, p := range g.phrases {
		if p.Value == value {
			out = append(out, p.Text)
		}
	}
	return out
}
