package ivr

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrUnspeakable is wrapped by Say when a value cannot be spoken as the requested kind.
var ErrUnspeakable = errors.New("ivr: value cannot be spoken")

// maxSayNumber is the largest number SayNumber speaks; larger numbers are spoken digit by
// digit.
const maxSayNumber = 999_999

// parseSayKind maps a YAML say: value to a SayKind.
func parseSayKind(s string) SayKind {
	for k, name := range sayNames {
		if name == s && k != int(SayNone) {
			return SayKind(k)
		}
	}
	return SayNone
}

// Say spells value as a list of prompt names in lang, built from the word prompts of the
// prompt set (num_0 … num_19, num_20 … num_90, hundred, thousand, day_0 … day_6, month_1 …
// month_12, …). Spanish ("es") has its own grammar; every other language uses English's.
// Values: digits "1042#"; number "1042"; date "2026-11-23" or RFC 3339; time "15:04" or
// RFC 3339; currency "12.50" or "12.50 EUR" (USD when no code).
func Say(lang string, kind SayKind, value string) ([]string, error) {
	g := grammarFor(lang)
	value = strings.TrimSpace(value)
	switch kind {
	case SayDigits:
		out := sayDigits(value)
		if len(out) == 0 {
			return nil, fmt.Errorf("%w: no digits in %q", ErrUnspeakable, value)
		}
		return out, nil
	case SayNumber:
		n, err := strconv.Atoi(value)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%w: %q is not a whole number", ErrUnspeakable, value)
		}
		if n > maxSayNumber {
			return sayDigits(value), nil
		}
		return g.number(n), nil
	case SayDate:
		t, err := parseSayTime(value, "2006-01-02")
		if err != nil {
			return nil, err
		}
		return g.date(t), nil
	case SayTime:
		t, err := parseSayTime(value, "15:04")
		if err != nil {
			return nil, err
		}
		return g.clock(t.Hour(), t.Minute()), nil
	case SayCurrency:
		return sayCurrency(g, value)
	}
	return nil, fmt.Errorf("%w: unknown say kind %d", ErrUnspeakable, kind)
}

func parseSayTime(value, layout string) (time.Time, error) {
	if t, err := time.Parse(layout, value); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, value); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%w: %q is not %s or RFC 3339", ErrUnspeakable, value, layout)
}

func sayDigits(value string) []string {
	out := make([]string, 0, len(value))
	for i := 0; i < len(value); i++ {
		switch c := value[i]; {
		case c >= '0' && c <= '9':
			out = append(out, numName(int(c-'0')))
		case c == '*':
			out = append(out, "star")
		case c == '#':
			out = append(out, "pound")
		}
	}
	return out
}

func sayCurrency(g grammar, value string) ([]string, error) {
	amount, code, _ := strings.Cut(value, " ")
	code = strings.ToUpper(strings.TrimSpace(code))
	var one, many string
	switch code {
	case "", "USD":
		one, many = "dollar", "dollars"
	case "EUR":
		one, many = "euro", "euros"
	default:
		return nil, fmt.Errorf("%w: currency %q (want USD or EUR)", ErrUnspeakable, code)
	}
	units, frac, hasFrac := strings.Cut(amount, ".")
	u, err := strconv.Atoi(units)
	if err != nil || u < 0 || u > maxSayNumber {
		return nil, fmt.Errorf("%w: %q is not an amount", ErrUnspeakable, value)
	}
	cents := 0
	if hasFrac {
		if len(frac) == 1 {
			frac += "0"
		}
		c, err := strconv.Atoi(frac)
		if err != nil || len(frac) != 2 || c < 0 {
			return nil, fmt.Errorf("%w: %q is not an amount", ErrUnspeakable, value)
		}
		cents = c
	}
	var out []string
	if u > 0 || cents == 0 {
		out = append(out, g.number(u)...)
		out = append(out, plural(u, one, many))
	}
	if cents > 0 {
		if len(out) > 0 {
			out = append(out, "and")
		}
		out = append(out, g.number(cents)...)
		out = append(out, plural(cents, "cent", "cents"))
	}
	return out, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func numName(n int) string { return "num_" + strconv.Itoa(n) }

// grammar spells numbers, dates and times for one language.
type grammar interface {
	number(n int) []string
	date(t time.Time) []string
	clock(h, m int) []string
	// vocabulary lists every prompt the grammar may use for a say kind.
	vocabulary(k SayKind) []string
}

func grammarFor(lang string) grammar {
	if lang == "es" || strings.HasPrefix(lang, "es-") {
		return spanish{}
	}
	return english{}
}

// sayVocabulary lists every prompt Say may produce for a kind in a language; the validator
// checks that each exists.
func sayVocabulary(lang string, k SayKind) []string {
	return grammarFor(lang).vocabulary(k)
}

type english struct{}

func (english) number(n int) []string {
	if n == 0 {
		return []string{numName(0)}
	}
	var out []string
	if th := n / 1000; th > 0 {
		out = append(english{}.below1000(th), "thousand")
	}
	return append(out, english{}.below1000(n%1000)...)
}

func (english) below1000(n int) []string {
	var out []string
	if h := n / 100; h > 0 {
		out = append(out, numName(h), "hundred")
	}
	switch r := n % 100; {
	case r == 0:
	case r < 20:
		out = append(out, numName(r))
	default:
		out = append(out, numName(r/10*10))
		if r%10 > 0 {
			out = append(out, numName(r%10))
		}
	}
	return out
}

func (english) date(t time.Time) []string {
	out := []string{"day_" + strconv.Itoa(int(t.Weekday())), "month_" + strconv.Itoa(int(t.Month()))}
	return append(out, english{}.number(t.Day())...)
}

func (english) clock(h, m int) []string {
	h12 := h % 12
	if h12 == 0 {
		h12 = 12
	}
	out := english{}.number(h12)
	switch {
	case m == 0:
		out = append(out, "oclock")
	case m < 10:
		out = append(out, "oh", numName(m))
	default:
		out = append(out, english{}.number(m)...)
	}
	if h < 12 {
		return append(out, "am")
	}
	return append(out, "pm")
}

func (english) vocabulary(k SayKind) []string {
	var nums []string
	for i := 0; i < 20; i++ {
		nums = append(nums, numName(i))
	}
	for i := 20; i < 100; i += 10 {
		nums = append(nums, numName(i))
	}
	nums = append(nums, "hundred", "thousand")
	return vocabulary(k, nums, []string{"oh", "oclock", "am", "pm"}, nil)
}

type spanish struct{}

func (spanish) number(n int) []string {
	if n == 0 {
		return []string{numName(0)}
	}
	var out []string
	switch th := n / 1000; {
	case th == 1:
		out = append(out, "thousand")
	case th > 1:
		out = append(spanish{}.below1000(th), "thousand")
	}
	return append(out, spanish{}.below1000(n%1000)...)
}

func (spanish) below1000(n int) []string {
	var out []string
	h, r := n/100, n%100
	switch {
	case h == 1 && r == 0:
		return []string{"num_100"}
	case h == 1:
		out = append(out, "num_100p")
	case h > 1:
		out = append(out, numName(h*100))
	}
	switch {
	case r == 0:
	case r < 30:
		out = append(out, numName(r))
	default:
		out = append(out, numName(r/10*10))
		if r%10 > 0 {
			out = append(out, "and", numName(r%10))
		}
	}
	return out
}

func (spanish) date(t time.Time) []string {
	out := []string{"day_" + strconv.Itoa(int(t.Weekday()))}
	out = append(out, spanish{}.number(t.Day())...)
	return append(out, "of", "month_"+strconv.Itoa(int(t.Month())))
}

func (spanish) clock(h, m int) []string {
	out := append(spanish{}.number(h), "hours")
	if m > 0 {
		out = append(out, "and")
		out = append(out, spanish{}.number(m)...)
	}
	return out
}

func (spanish) vocabulary(k SayKind) []string {
	var nums []string
	for i := 0; i < 30; i++ {
		nums = append(nums, numName(i))
	}
	for i := 30; i < 100; i += 10 {
		nums = append(nums, numName(i))
	}
	nums = append(nums, "and", "num_100", "num_100p")
	for i := 200; i < 1000; i += 100 {
		nums = append(nums, numName(i))
	}
	nums = append(nums, "thousand")
	return vocabulary(k, nums, []string{"hours"}, []string{"of"})
}

// vocabulary assembles a kind's word list from a language's numbers, clock and date words.
func vocabulary(k SayKind, nums, clock, date []string) []string {
	switch k {
	case SayDigits:
		out := []string{"star", "pound"}
		for i := 0; i < 10; i++ {
			out = append(out, numName(i))
		}
		return out
	case SayNumber:
		return nums
	case SayDate:
		out := append([]string(nil), nums...)
		for i := 0; i < 7; i++ {
			out = append(out, "day_"+strconv.Itoa(i))
		}
		for i := 1; i <= 12; i++ {
			out = append(out, "month_"+strconv.Itoa(i))
		}
		return append(out, date...)
	case SayTime:
		return append(append([]string(nil), nums...), clock...)
	case SayCurrency:
		return append(append([]string(nil), nums...), "and", "dollar", "dollars", "euro", "euros", "cent", "cents")
	}
	return nil
}
