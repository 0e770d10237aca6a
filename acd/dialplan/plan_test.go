package dialplan_test

import (
	"errors"
	"strings"
	"testing"

	"switchboard/acd/dialplan"
)

func mustPlan(t testing.TB, cfg dialplan.Config) *dialplan.Plan {
	t.Helper()
	p, err := dialplan.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheck(t *testing.T) {
	p := mustPlan(t, dialplan.Config{
		HomeCountry:  "US",
		Allow:        []string{"+1555XXXX", "+4420*"},
		DenyPrefixes: []string{"+1809"},
		Roles:        map[dialplan.Role][]dialplan.Class{dialplan.RoleAgent: {dialplan.ClassNational, dialplan.ClassTollFree, dialplan.ClassEmergency}},
	})
	tests := []struct {
		name   string
		role   dialplan.Role
		number string
		want   string // dialled number; "" when refused
		class  dialplan.Class
		err    error
	}{
		{"national callback", dialplan.RoleCallback, "+14155550101", "+14155550101", dialplan.ClassNational, nil},
		{"national written nationally", dialplan.RoleCallback, "(415) 555-0101", "+14155550101", dialplan.ClassNational, nil},
		{"tel uri", dialplan.RoleAgent, "tel:+1-415-555-0101", "+14155550101", dialplan.ClassNational, nil},
		{"premium 900 callback", dialplan.RoleCallback, "+19005551234", "", dialplan.ClassPremium, dialplan.ErrDenied},
		{"premium 900 national form", dialplan.RoleCallback, "9005551234", "", dialplan.ClassPremium, dialplan.ErrDenied},
		{"premium 900 supervisor", dialplan.RoleSupervisor, "+19005551234", "", dialplan.ClassPremium, dialplan.ErrDenied},
		{"976 range", dialplan.RoleSupervisor, "+19765551234", "", dialplan.ClassInvalid, dialplan.ErrDenied},
		{"UK 090x for a supervisor", dialplan.RoleSupervisor, "+449098790000", "", dialplan.ClassPremium, dialplan.ErrDenied},
		{"UK 091x prefix", dialplan.RoleSupervisor, "+449112345678", "", "", dialplan.ErrDenied},
		{"configured deny beats the class", dialplan.RoleSupervisor, "+18095551234", "", dialplan.ClassInternational, dialplan.ErrDenied},
		{"Jamaica is international, not national", dialplan.RoleCallback, "+18765551234", "", dialplan.ClassInternational, dialplan.ErrDenied},
		{"international for an agent", dialplan.RoleAgent, "+442079460000", "+442079460000", dialplan.ClassInternational, nil}, // allow +4420*
		{"international outside the allow list", dialplan.RoleAgent, "+33142685300", "", dialplan.ClassInternational, dialplan.ErrDenied},
		{"international for a supervisor", dialplan.RoleSupervisor, "+33142685300", "+33142685300", dialplan.ClassInternational, nil},
		{"IDD prefix is international", dialplan.RoleCallback, "011 33 1 42 68 53 00", "", dialplan.ClassInternational, dialplan.ErrDenied},
		{"toll-free for an agent", dialplan.RoleAgent, "+18005551234", "+18005551234", dialplan.ClassTollFree, nil},
		{"toll-free callback", dialplan.RoleCallback, "+18005551234", "", dialplan.ClassTollFree, dialplan.ErrDenied},
		{"emergency callback", dialplan.RoleCallback, "911", "", dialplan.ClassEmergency, dialplan.ErrDenied},
		{"emergency for an agent who may", dialplan.RoleAgent, "911", "911", dialplan.ClassEmergency, nil},
		{"allow pattern admits an invalid test number", dialplan.RoleCallback, "+15550100", "+15550100", dialplan.ClassInvalid, nil},
		{"invalid number outside the allow list", dialplan.RoleAgent, "+15550", "", dialplan.ClassInvalid, dialplan.ErrDenied},
		{"letters", dialplan.RoleAgent, "call mom", "", "", dialplan.ErrInvalidNumber},
		{"sip uri", dialplan.RoleAgent, "sip:+19005551234@trunk", "", "", dialplan.ErrInvalidNumber},
		{"empty", dialplan.RoleAgent, "", "", "", dialplan.ErrInvalidNumber},
		{"plus only", dialplan.RoleAgent, "+", "", "", dialplan.ErrInvalidNumber},
		{"too long", dialplan.RoleAgent, strings.Repeat("1", 40), "", "", dialplan.ErrInvalidNumber},
		{"header injection", dialplan.RoleAgent, "+14155550101\r\nVia: x", "", "", dialplan.ErrInvalidNumber},
		{"unknown role", dialplan.Role("robot"), "+14155550101", "", "", dialplan.ErrUnknownRole},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := p.Check(tt.role, tt.number)
			if tt.err == nil {
				if err != nil {
					t.Fatalf("Check(%s, %q) = %v, want allowed", tt.role, tt.number, err)
				}
				if d.Number != tt.want {
					t.Errorf("number = %q, want %q", d.Number, tt.want)
				}
			} else {
				if !errors.Is(err, tt.err) {
					t.Fatalf("Check(%s, %q) = %+v, %v; want %v", tt.role, tt.number, d, err, tt.err)
				}
			}
			if tt.class != "" && d.Class != tt.class {
				t.Errorf("class = %q, want %q", d.Class, tt.class)
			}
		})
	}
}

func TestCheckDefaults(t *testing.T) {
	p := mustPlan(t, dialplan.Config{HomeCountry: "GB"})
	for _, tt := range []struct {
		role   dialplan.Role
		number string
		ok     bool
	}{
		{dialplan.RoleCallback, "020 7946 0000", true},
		{dialplan.RoleCallback, "+447400123456", true},
		{dialplan.RoleCallback, "09098790000", false},
		{dialplan.RoleCallback, "999", false},
		{dialplan.RoleAgent, "999", false},
		{dialplan.RoleAgent, "+14155550101", false},
		{dialplan.RoleSupervisor, "+14155550101", true},
		{dialplan.RoleCampaign, "+14155550101", false},
		{dialplan.RoleAgent, "0800 123 4567", true},
	} {
		_, err := p.Check(tt.role, tt.number)
		if (err == nil) != tt.ok {
			t.Errorf("Check(%s, %q) = %v, want allowed %v", tt.role, tt.number, err, tt.ok)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  dialplan.Config
		want string
	}{
		{"no home", dialplan.Config{}, "home_country is required"},
		{"bad home", dialplan.Config{HomeCountry: "XX"}, `home_country "XX"`},
		{"bad pattern", dialplan.Config{HomeCountry: "US", Allow: []string{"1415*"}}, `allow pattern "1415*"`},
		{"star inside", dialplan.Config{HomeCountry: "US", Allow: []string{"+14*5"}}, `allow pattern "+14*5"`},
		{"bad prefix", dialplan.Config{HomeCountry: "US", DenyPrefixes: []string{"+1-900"}}, `deny prefix "+1-900"`},
		{"unknown role", dialplan.Config{HomeCountry: "US", Roles: map[dialplan.Role][]dialplan.Class{"robot": nil}}, `unknown role "robot"`},
		{"unknown class", dialplan.Config{HomeCountry: "US", Roles: map[dialplan.Role][]dialplan.Class{dialplan.RoleAgent: {"cheap"}}}, `unknown class "cheap"`},
		{"emergency callbacks", dialplan.Config{HomeCountry: "US", Roles: map[dialplan.Role][]dialplan.Class{dialplan.RoleCallback: {dialplan.ClassEmergency}}}, "role callback may not dial emergency"},
		{"emergency campaigns", dialplan.Config{HomeCountry: "US", Roles: map[dialplan.Role][]dialplan.Class{dialplan.RoleCampaign: {dialplan.ClassEmergency}}}, "role campaign may not dial emergency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if !errors.Is(err, dialplan.ErrConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate = %v, want ErrConfig containing %q", err, tt.want)
			}
			if _, err := dialplan.New(tt.cfg); err == nil {
				t.Error("New accepted the config")
			}
		})
	}
}

func TestUpdate(t *testing.T) {
	p := mustPlan(t, dialplan.Config{HomeCountry: "US"})
	if _, err := p.Check(dialplan.RoleCallback, "+14155550101"); err != nil {
		t.Fatal(err)
	}
	if err := p.Update(dialplan.Config{HomeCountry: "US", DenyPrefixes: []string{"+1415"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Check(dialplan.RoleCallback, "+14155550101"); !errors.Is(err, dialplan.ErrDenied) {
		t.Errorf("after the update: %v, want ErrDenied", err)
	}
	if err := p.Update(dialplan.Config{}); !errors.Is(err, dialplan.ErrConfig) {
		t.Errorf("invalid update: %v, want ErrConfig", err)
	}
	if _, err := p.Check(dialplan.RoleCallback, "+14155550101"); !errors.Is(err, dialplan.ErrDenied) {
		t.Errorf("an invalid update changed the rules: %v", err)
	}
}

// FuzzCheck: no input panics, and whatever is allowed is a number the
// trunk can take and outside every denied prefix.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{"+19005551234", "9005551234", "911", "+14155550101", "tel:+1-415-555-0101", "011 44 909 879 0000", "+", "", "++1", "+1555X"} {
		f.Add("callback", s)
		f.Add("agent", s)
	}
	p := mustPlan(f, dialplan.Config{HomeCountry: "US", Allow: []string{"+1555XXXX"}, Roles: map[dialplan.Role][]dialplan.Class{
		dialplan.RoleSupervisor: {dialplan.ClassNational, dialplan.ClassInternational, dialplan.ClassPremium, dialplan.ClassTollFree, dialplan.ClassInvalid, dialplan.ClassEmergency},
	}})
	f.Fuzz(func(t *testing.T, role, number string) {
		d, err := p.Check(dialplan.Role(role), number)
		if err != nil {
			if !errors.Is(err, dialplan.ErrDenied) && !errors.Is(err, dialplan.ErrInvalidNumber) && !errors.Is(err, dialplan.ErrUnknownRole) {
				t.Fatalf("refusal %v wraps no sentinel", err)
			}
			return
		}
		n := strings.TrimPrefix(d.Number, "+")
		if n == "" || strings.Trim(n, "0123456789") != "" {
			t.Fatalf("allowed %q as %q", number, d.Number)
		}
		for _, pre := range []string{"+1900", "+1976", "+4490", "+4491"} {
			if strings.HasPrefix(d.Number, pre) {
				t.Fatalf("allowed %q (%s) in the denied range %s", number, d.Number, pre)
			}
		}
		if d.Class == dialplan.ClassEmergency && dialplan.Role(role) == dialplan.RoleCallback {
			t.Fatalf("callback to emergency number %q", number)
		}
	})
}
