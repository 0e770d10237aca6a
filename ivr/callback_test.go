package ivr_test

import (
	"errors"
	"strings"
	"testing"

	"switchboard/ivr"
	"switchboard/ivr/ivrtest"
)

// noPremium is a callback policy in the dial plan's manner: US numbers in
// E.164, nothing in the +1900 premium-rate range.
type noPremium struct{}

var errPremium = errors.New("premium rate")

func (noPremium) CheckCallback(number string) (string, error) {
	if !strings.HasPrefix(number, "+") {
		number = "+1" + number
	}
	if strings.HasPrefix(number, "+1900") {
		return "", errPremium
	}
	return number, nil
}

// TestCallbackPolicy: a caller whose number is premium rate (From:
// +19005551234) who asks for a callback is told the number cannot be
// called back; the premium number typed in is refused the same way, and a
// permitted one is accepted in the form the policy returns.
func TestCallbackPolicy(t *testing.T) {
	set := loadDemo(t)
	const premium = "+19005551234"
	en1 := []ivr.Skill{{Name: "en", MinLevel: 1}}
	for _, tc := range []demoCase{
		{
			name: "premium caller enters another number", ani: premium, callbacks: noPremium{},
			script: ev(ivrtest.Keys("9"), ivrtest.Keys("4155550101#"), ivrtest.Keys("1")),
			kind:   ivr.OutcomeCallback, queue: "sales", callback: "+14155550101",
			path: openPrefix + "dtmf:9 callback_channel callback callback:refused " +
				"dtmf:4 dtmf:1 dtmf:5 dtmf:5 dtmf:5 dtmf:5 dtmf:0 dtmf:1 dtmf:0 dtmf:1 dtmf:# dtmf:1 callback:confirmed",
			played: []string{"en/main_menu", "en/callback_refused", "en/callback_enter", "en/callback_offer", "en/num_4", "en/callback_confirm", "en/callback_thanks"},
		},
		{
			name: "premium numbers typed in are refused until the retries run out", ani: premium, callbacks: noPremium{},
			script: ev(ivrtest.Keys("9"), ivrtest.Keys("9005551234#"), ivrtest.Keys("9005551234#"), ivrtest.Keys("9005551234#"), ivrtest.Keys("0")),
			kind:   ivr.OutcomeQueue, queue: "operator", priority: 40, skills: en1,
			path: openPrefix + "dtmf:9 callback_channel callback callback:refused " +
				strings.Repeat("dtmf:9 dtmf:0 dtmf:0 dtmf:5 dtmf:5 dtmf:5 dtmf:1 dtmf:2 dtmf:3 dtmf:4 dtmf:# callback:refused ", 3) +
				"callback:max_retries main_menu dtmf:0 operator_queue",
			played: []string{"en/callback_refused", "en/callback_enter", "en/callback_refused", "en/callback_enter", "en/callback_refused",
				"en/callback_enter", "en/callback_refused", "en/main_menu"},
		},
		{
			name: "permitted caller number", callbacks: noPremium{},
			script: ev(ivrtest.Keys("9"), ivrtest.Keys("1")),
			kind:   ivr.OutcomeCallback, queue: "sales", callback: anyANI,
			path: openPrefix + "dtmf:9 callback_channel callback dtmf:1 callback:confirmed",
		},
	} {
		t.Run(tc.name, func(t *testing.T) { runDemoCase(t, set, tc) })
	}
}
