package crmcore

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestInteractionCampaignFields(t *testing.T) {
	base := Interaction{ID: NewID(), Direction: Outbound, Channel: ChannelPhone, ArrivedAt: time.Now(),
		Outcome: OutcomeAnswered}
	for _, tc := range []struct {
		name             string
		dir              Direction
		campaign, result string
		bad              string // the field refused, "" when valid
	}{
		{"none", Inbound, "", "", ""},
		{"dial", Outbound, "spring-2026", "connected", ""},
		{"opened", Outbound, "c.1_a", "", ""},
		{"every result", Outbound, "c", "out-of-window-later", ""},
		{"inbound", Inbound, "c", "connected", "campaign"},
		{"result alone", Outbound, "", "busy", "campaign"},
		{"unknown result", Outbound, "c", "exploded", "campaign_result"},
		{"id too long", Outbound, strings.Repeat("a", MaxCampaignID+1), "", "campaign"},
		{"id longest", Outbound, strings.Repeat("a", MaxCampaignID), "", ""},
		{"id with space", Outbound, "a b", "", "campaign"},
		{"id with newline", Outbound, "a\n", "", "campaign"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := base
			in.Direction, in.Campaign, in.CampaignResult = tc.dir, tc.campaign, tc.result
			err := in.Validate()
			var fe *FieldError
			switch {
			case tc.bad == "" && err != nil:
				t.Fatalf("Validate = %v, want nil", err)
			case tc.bad != "" && (!errors.As(err, &fe) || fe.Field != tc.bad):
				t.Fatalf("Validate = %v, want a FieldError on %s", err, tc.bad)
			}
		})
	}
}

func TestCampaignContactValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    CampaignContact
		bad  string
	}{
		{"plain", CampaignContact{Number: "+14155550123", Name: "Ann", TimeZone: "America/Los_Angeles", ContactID: NewID()}, ""},
		{"not a phone number is kept", CampaignContact{Number: "call me"}, ""},
		{"no number", CampaignContact{Name: "Ann"}, "number"},
		{"long number", CampaignContact{Number: strings.Repeat("1", MaxCampaignNumber+1)}, "number"},
		{"newline", CampaignContact{Number: "+1\n"}, "number"},
		{"bad contact", CampaignContact{Number: "+1", ContactID: "x"}, "contact_id"},
		{"long name", CampaignContact{Number: "+1", Name: strings.Repeat("n", MaxShortField+1)}, "name"},
		{"NUL zone", CampaignContact{Number: "+1", TimeZone: "a\x00"}, "time_zone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Validate()
			var fe *FieldError
			switch {
			case tc.bad == "" && err != nil:
				t.Fatalf("Validate = %v, want nil", err)
			case tc.bad != "" && (!errors.As(err, &fe) || fe.Field != tc.bad):
				t.Fatalf("Validate = %v, want a FieldError on %s", err, tc.bad)
			}
		})
	}
}

func TestDNCEntryNormalize(t *testing.T) {
	for _, tc := range []struct {
		name, number, reason, want string
		bad                        string
	}{
		{"e164", "+14155550123", "asked", "+14155550123", ""},
		{"spaced", " +44 20 7946 0018 ", "", "+442079460018", ""},
		{"national", "(415) 555-0123", "", "", "number"},
		{"words", "nobody", "", "", "number"},
		{"long reason", "+14155550123", strings.Repeat("r", MaxDNCReason+1), "", "reason"},
		{"reason with newline", "+14155550123", "a\nb", "", "reason"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := DNCEntry{Number: tc.number, Reason: tc.reason}
			err := e.Normalize()
			var fe *FieldError
			switch {
			case tc.bad == "" && (err != nil || e.Number != tc.want):
				t.Fatalf("Normalize = %q, %v; want %q", e.Number, err, tc.want)
			case tc.bad != "" && (!errors.As(err, &fe) || fe.Field != tc.bad):
				t.Fatalf("Normalize = %v, want a FieldError on %s", err, tc.bad)
			case tc.bad == "number" && !errors.Is(err, ErrInvalidPhone):
				t.Fatalf("Normalize = %v, want ErrInvalidPhone", err)
			}
		})
	}
}
