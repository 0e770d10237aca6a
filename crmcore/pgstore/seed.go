package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"switchboard/crmcore"
)

// seedLock is the advisory lock key that serialises concurrent seeders.
const seedLock = int64(0x5eed5b0a4d)

// SeedOption configures Seed.
type SeedOption func(*seedConfig)

type seedConfig struct {
	cost     int
	sipRealm string
}

// WithPasswordCost sets the bcrypt cost of the demo passwords (default
// crmcore.BcryptCost; tests use bcrypt.MinCost to stay fast).
func WithPasswordCost(cost int) SeedOption { return func(c *seedConfig) { c.cost = cost } }

// WithSeedSIPRealm sets the SIP realm the demo agents' SIP secrets are
// hashed for (default DefaultSIPRealm).
func WithSeedSIPRealm(realm string) SeedOption { return func(c *seedConfig) { c.sipRealm = realm } }

// SeedResult summarises what Seed inserted.
type SeedResult struct {
	Seeded                                    bool // false when the database already had agents
	Accounts, Contacts, Agents, Tickets, Ints int
}

// DemoPassword is the password of every demo agent and supervisor,
// DemoAdminPassword the admin's; DemoSIPSecret is every demo agent's SIP
// secret.
const (
	DemoPassword      = "demo"
	DemoAdminPassword = "admin"
	DemoSIPSecret     = "demo"
)

type demoAgent struct {
	login, name string
	role        crmcore.Role
	skills      []crmcore.Skill
	langs       []string
	country     string
	region      string
	tz          string
}

var demoAgents = []demoAgent{
	{"alice", "Alice Martin", crmcore.RoleAgent, []crmcore.Skill{{Name: "billing", Level: 5}, {Name: "support", Level: 3}}, []string{"en", "fr"}, "US", "CA", "America/Los_Angeles"},
	{"bob", "Bob Jones", crmcore.RoleAgent, []crmcore.Skill{{Name: "support", Level: 4}, {Name: "technical", Level: 5}}, []string{"en"}, "US", "NY", "America/New_York"},
	{"carol", "Carol Sánchez", crmcore.RoleAgent, []crmcore.Skill{{Name: "sales", Level: 4}, {Name: "support", Level: 2}}, []string{"es", "en"}, "MX", "CDMX", "America/Mexico_City"},
	{"dave", "Dave Wilson", crmcore.RoleAgent, []crmcore.Skill{{Name: "technical", Level: 3}, {Name: "billing", Level: 2}}, []string{"en"}, "GB", "London", "Europe/London"},
	{"erin", "Erin Schmidt", crmcore.RoleAgent, []crmcore.Skill{{Name: "support", Level: 5}, {Name: "sales", Level: 3}}, []string{"de", "en"}, "DE", "Berlin", "Europe/Berlin"},
	{"frank", "Frank Dubois", crmcore.RoleAgent, []crmcore.Skill{{Name: "billing", Level: 3}, {Name: "sales", Level: 2}}, []string{"fr", "en"}, "FR", "Paris", "Europe/Paris"},
	{"grace", "Grace Patel", crmcore.RoleAgent, []crmcore.Skill{{Name: "technical", Level: 4}, {Name: "support", Level: 4}}, []string{"en", "hi"}, "IN", "Maharashtra", "Asia/Kolkata"},
	{"heidi", "Heidi Brown", crmcore.RoleAgent, []crmcore.Skill{{Name: "sales", Level: 5}, {Name: "billing", Level: 1}}, []string{"en"}, "AU", "NSW", "Australia/Sydney"},
	{"ivan", "Iván López", crmcore.RoleAgent, []crmcore.Skill{{Name: "support", Level: 3}, {Name: "billing", Level: 4}}, []string{"es"}, "ES", "Madrid", "Europe/Madrid"},
	{"sam", "Sam Supervisor", crmcore.RoleSupervisor, []crmcore.Skill{{Name: "support", Level: 5}, {Name: "billing", Level: 5}, {Name: "sales", Level: 5}, {Name: "technical", Level: 5}}, []string{"en", "es"}, "US", "NY", "America/New_York"},
	{"admin", "Administrator", crmcore.RoleAdmin, nil, []string{"en"}, "US", "", "UTC"},
}

// demoContacts are ~50 people; numbers are built from per-country patterns
// that libphonenumber accepts as valid.
var demoContacts = []struct {
	name, number, account, segment, lang string
	tags                                 []string
}{
	{"Olivia Smith", "+14155550100", "Acme Corp", "vip", "en", []string{"vip", "west"}},
	{"Liam Johnson", "+14155550101", "Acme Corp", "standard", "en", nil},
	{"Emma Williams", "+12125550102", "Globex", "standard", "en", []string{"newsletter"}},
	{"Noah Brown", "+12125550103", "Globex", "vip", "en", []string{"vip"}},
	{"Ava Davis", "+13125550104", "Initech", "standard", "en", nil},
	{"Elijah Miller", "+13125550105", "", "standard", "en", nil},
	{"Sophia Wilson", "+16175550106", "Initech", "standard", "en", []string{"renewal"}},
	{"James Moore", "+15125550107", "", "standard", "en", nil},
	{"Isabella Taylor", "+13055550108", "Umbrella", "standard", "es", []string{"spanish"}},
	{"Lucas Anderson", "+12065550109", "Acme Corp", "standard", "en", nil},
	{"Oliver Thomas", "+442079460100", "Globex", "standard", "en", nil},
	{"Amelia Jackson", "+442079460101", "Globex", "vip", "en", []string{"vip"}},
	{"George White", "+442079460102", "", "standard", "en", nil},
	{"Charlotte Harris", "+442079460103", "Umbrella", "standard", "en", nil},
	{"Harry Clark", "+442079460104", "", "standard", "en", []string{"complaint"}},
	{"Lena Müller", "+4915123450100", "Initech", "standard", "de", nil},
	{"Jonas Schmidt", "+4915123450101", "Initech", "vip", "de", []string{"vip"}},
	{"Mia Schneider", "+4915123450102", "", "standard", "de", nil},
	{"Felix Fischer", "+4915123450103", "Umbrella", "standard", "de", nil},
	{"Hannah Weber", "+4915123450104", "", "standard", "de", []string{"renewal"}},
	{"Camille Martin", "+33612345600", "Globex", "standard", "fr", nil},
	{"Louis Bernard", "+33612345601", "", "standard", "fr", nil},
	{"Chloé Dubois", "+33612345602", "Acme Corp", "vip", "fr", []string{"vip"}},
	{"Hugo Thomas", "+33612345603", "", "standard", "fr", nil},
	{"Léa Robert", "+33612345604", "Umbrella", "standard", "fr", nil},
	{"Ana García", "+34912345678", "Umbrella", "vip", "es", []string{"vip", "spanish"}},
	{"Pablo Fernández", "+34612345601", "", "standard", "es", []string{"spanish"}},
	{"Lucía González", "+34612345602", "Globex", "standard", "es", []string{"spanish"}},
	{"Javier Rodríguez", "+34612345603", "", "standard", "es", nil},
	{"Carmen López", "+34612345604", "Initech", "standard", "es", nil},
	{"Sofía Hernández", "+525512345600", "Acme Corp", "standard", "es", []string{"spanish"}},
	{"Mateo Martínez", "+525512345601", "", "vip", "es", []string{"vip", "spanish"}},
	{"Valentina Ramírez", "+525512345602", "Umbrella", "standard", "es", nil},
	{"Diego Torres", "+525512345603", "", "standard", "es", nil},
	{"Camila Flores", "+525512345604", "Globex", "standard", "es", nil},
	{"Aarav Sharma", "+919876543200", "Initech", "standard", "en", nil},
	{"Vivaan Gupta", "+919876543201", "", "standard", "hi", nil},
	{"Diya Patel", "+919876543202", "Acme Corp", "vip", "en", []string{"vip"}},
	{"Ananya Singh", "+919876543203", "", "standard", "hi", nil},
	{"Arjun Kumar", "+919876543204", "Umbrella", "standard", "en", nil},
	{"Jack Wilson", "+61412345600", "Globex", "standard", "en", nil},
	{"Charlotte Smith", "+61412345601", "", "standard", "en", nil},
	{"William Jones", "+61412345602", "Initech", "vip", "en", []string{"vip"}},
	{"Ruby Taylor", "+61412345603", "", "standard", "en", nil},
	{"Thomas Brown", "+61412345604", "Acme Corp", "standard", "en", nil},
	{"Ethan Tremblay", "+14165550105", "Umbrella", "standard", "en", nil},
	{"Florence Roy", "+16045550106", "", "standard", "fr", nil},
	{"Gabriel Silva", "+5511912345600", "Globex", "standard", "pt", nil},
	{"Yui Tanaka", "+819012345600", "", "standard", "ja", nil},
	{"Giulia Rossi", "+393471234500", "Initech", "standard", "it", nil},
}

var demoAccounts = []crmcore.Account{
	{Name: "Acme Corp", Domain: "acme.example", Segment: crmcore.SegmentVIP},
	{Name: "Globex", Domain: "globex.example", Segment: crmcore.SegmentStandard},
	{Name: "Initech", Domain: "initech.example", Segment: crmcore.SegmentStandard},
	{Name: "Umbrella", Domain: "umbrella.example", Segment: crmcore.SegmentStandard},
}

// Seed inserts the demo data — accounts, ~50 contacts with valid E.164
// numbers from a dozen countries, agents with skills, languages and regions
// (alice, bob, carol, dave, erin, frank, grace, heidi, ivan with password
// "demo", supervisor sam/demo, admin admin/admin; SIP usernames = logins,
// SIP secret "demo"), a handful of tickets including T-1042 requested by
// Olivia Smith (+1 415-555-0100), and a few past interactions — when the
// database has no agents yet. Concurrent seeders are serialised with an
// advisory lock; a second run is a no-op.
func Seed(ctx context.Context, pool *pgxpool.Pool, opts ...SeedOption) (SeedResult, error) {
	cfg := seedConfig{cost: crmcore.BcryptCost, sipRealm: DefaultSIPRealm}
	for _, o := range opts {
		o(&cfg)
	}
	var res SeedResult
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return res, fmt.Errorf("pgstore: seed: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `select pg_advisory_lock($1)`, seedLock); err != nil {
		return res, fmt.Errorf("pgstore: seed lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `select pg_advisory_unlock($1)`, seedLock)
	var any bool
	if err := conn.QueryRow(ctx, `select exists (select 1 from agents)`).Scan(&any); err != nil {
		return res, fmt.Errorf("pgstore: seed: %w", err)
	}
	if any {
		return res, nil
	}
	s := New(pool, WithSIPRealm(cfg.sipRealm))
	res.Seeded = true

	accounts := map[string]string{}
	for _, a := range demoAccounts {
		got, err := s.CreateAccount(ctx, a)
		if err != nil {
			return res, fmt.Errorf("pgstore: seed account %s: %w", a.Name, err)
		}
		accounts[a.Name] = got.ID
		res.Accounts++
	}

	demoHash, err := crmcore.HashPasswordCost(DemoPassword, cfg.cost)
	if err != nil {
		return res, err
	}
	adminHash, err := crmcore.HashPasswordCost(DemoAdminPassword, cfg.cost)
	if err != nil {
		return res, err
	}
	agents := map[string]crmcore.Agent{}
	for _, d := range demoAgents {
		a, err := crmcore.NewAgent(crmcore.AgentInput{Login: d.login, Name: d.name, Role: d.role, Skills: d.skills,
			Languages: d.langs, Country: d.country, Region: d.region, TimeZone: d.tz,
			SIPUsername: d.login, SIPSecret: DemoSIPSecret}, false)
		if err != nil {
			return res, fmt.Errorf("pgstore: seed agent %s: %w", d.login, err)
		}
		a.PasswordHash = demoHash
		if d.role == crmcore.RoleAdmin {
			a.PasswordHash = adminHash
		}
		if a, err = s.CreateAgent(ctx, a); err != nil {
			return res, fmt.Errorf("pgstore: seed agent %s: %w", d.login, err)
		}
		agents[d.login] = a
		res.Agents++
	}

	var contacts []crmcore.Contact
	for _, d := range demoContacts {
		c, err := crmcore.NewContact(crmcore.ContactInput{Name: d.name, Phones: []crmcore.PhoneInput{{Number: d.number, Label: "mobile"}},
			Emails: []string{emailFor(d.name)}, AccountID: accounts[d.account], Segment: crmcore.Segment(d.segment),
			Language: d.lang, Tags: d.tags, Custom: map[string]string{"source": "demo"}}, "")
		if err != nil {
			return res, fmt.Errorf("pgstore: seed contact %s: %w", d.name, err)
		}
		if c, err = s.CreateContact(ctx, c); err != nil {
			return res, fmt.Errorf("pgstore: seed contact %s: %w", d.name, err)
		}
		contacts = append(contacts, c)
		res.Contacts++
	}

	now := time.Now().UTC()
	tickets := []struct {
		num      int64
		contact  int
		subject  string
		prio     crmcore.Priority
		assignee string
		status   []crmcore.TicketStatus
		age      time.Duration
	}{
		{1038, 3, "Invoice shows the wrong VAT rate", crmcore.PriorityNormal, "alice", []crmcore.TicketStatus{crmcore.StatusOpen}, 50 * time.Hour},
		{1039, 11, "Cannot log in to the portal", crmcore.PriorityHigh, "bob", []crmcore.TicketStatus{crmcore.StatusOpen, crmcore.StatusPending}, 6 * time.Hour},
		{1040, 25, "Cambio de plan de facturación", crmcore.PriorityLow, "ivan", []crmcore.TicketStatus{crmcore.StatusSolved}, 72 * time.Hour},
		{1041, 16, "Router keeps rebooting", crmcore.PriorityUrgent, "erin", nil, 30 * time.Minute},
		{1042, 0, "Refund for double charge", crmcore.PriorityHigh, "alice", []crmcore.TicketStatus{crmcore.StatusOpen}, 3 * time.Hour},
		{1043, 30, "Quiero ampliar mi contrato", crmcore.PriorityNormal, "carol", []crmcore.TicketStatus{crmcore.StatusOpen, crmcore.StatusSolved, crmcore.StatusClosed}, 120 * time.Hour},
	}
	for _, td := range tickets {
		created := now.Add(-td.age)
		t, err := crmcore.NewTicket(crmcore.TicketInput{Subject: td.subject, Priority: td.prio, Channel: crmcore.ChannelPhone,
			RequesterID: contacts[td.contact].ID, AssigneeID: agents[td.assignee].ID, Group: "support"}, s.sla, created)
		if err != nil {
			return res, fmt.Errorf("pgstore: seed ticket: %w", err)
		}
		for i, st := range td.status {
			if err := t.ApplyTransition(st, created.Add(time.Duration(i+1)*time.Minute)); err != nil {
				return res, fmt.Errorf("pgstore: seed ticket: %w", err)
			}
		}
		if _, err := s.createTicket(ctx, agents[td.assignee].ID, t, td.num); err != nil {
			return res, fmt.Errorf("pgstore: seed ticket T-%d: %w", td.num, err)
		}
		res.Tickets++
	}
	if _, err := pool.Exec(ctx, `select setval('ticket_number_seq', greatest((select max(number) from tickets), 1043))`); err != nil {
		return res, fmt.Errorf("pgstore: seed sequence: %w", err)
	}

	// A few past calls so that the screen pop has history and a last agent.
	for i, c := range contacts[:8] {
		ag := agents[demoAgents[i%4].login]
		arrived := now.Add(-time.Duration(24*(i+1)) * time.Hour)
		q, o, a, e := arrived.Add(15*time.Second), arrived.Add(40*time.Second), arrived.Add(46*time.Second), arrived.Add(6*time.Minute)
		in := crmcore.Interaction{ID: crmcore.NewID(), CallID: fmt.Sprintf("demo-%d@switchboard", i), Direction: crmcore.Inbound,
			Channel: crmcore.ChannelPhone, ANI: c.Phones[0].E164, DNIS: "+18005550100", ContactID: c.ID,
			IVRPath: []crmcore.IVRStep{{Node: "main-menu", Digits: "1"}}, Queue: "support", AgentID: ag.ID,
			ArrivedAt: arrived, QueuedAt: &q, OfferedAt: &o, AnsweredAt: &a, EndedAt: &e, Outcome: crmcore.OutcomeAnswered,
			RoutingReasons: []string{"skill support", "longest idle"}, Disposition: "resolved"}
		normalizeInteraction(&in)
		if _, err := pool.Exec(ctx, insertInteractionSQL, interactionRow(&in, "")...); err != nil {
			return res, fmt.Errorf("pgstore: seed interaction: %w", err)
		}
		res.Ints++
	}
	return res, s.SeedKnowledge(ctx)
}

func emailFor(name string) string {
	b := make([]byte, 0, len(name))
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b = append(b, byte(r))
		case r >= 'A' && r <= 'Z':
			b = append(b, byte(r-'A'+'a'))
		case r == ' ':
			b = append(b, '.')
		}
	}
	return string(b) + "@example.com"
}
