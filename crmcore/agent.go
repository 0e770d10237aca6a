package crmcore

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Role is what an agent may do in the system.
type Role string

// Roles, least to most privileged.
const (
	RoleAgent      Role = "agent"
	RoleSupervisor Role = "supervisor"
	RoleAdmin      Role = "admin"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAgent || r == RoleSupervisor || r == RoleAdmin }

// Permission is one capability checked at the API boundary.
type Permission int

// Permissions.
const (
	PermReadContacts        Permission = iota + 1 // search, get and export contacts
	PermWriteContacts                             // create, update and import contacts
	PermDeleteContacts                            // delete contacts
	PermManageTickets                             // create, update, transition and comment on tickets
	PermReadOwnInteractions                       // read interactions the agent handled
	PermReadAllInteractions                       // read every interaction
	PermManageAgents                              // create, update, delete agents
	PermReadAgents                                // list agents (without secrets)
	PermManageLeads                               // create, read and transition sales leads
	PermManageKnowledge                           // write knowledge-base articles and call scripts
	PermManageQAForms                             // define and edit quality evaluation forms
	PermManageCampaigns                           // run outbound campaigns and keep the do-not-call list
)

var permNames = map[Permission]string{
	PermReadContacts: "read_contacts", PermWriteContacts: "write_contacts", PermDeleteContacts: "delete_contacts",
	PermManageTickets: "manage_tickets", PermReadOwnInteractions: "read_own_interactions",
	PermReadAllInteractions: "read_all_interactions", PermManageAgents: "manage_agents", PermReadAgents: "read_agents",
	PermManageLeads: "manage_leads", PermManageKnowledge: "manage_knowledge", PermManageQAForms: "manage_qa_forms",
	PermManageCampaigns: "manage_campaigns",
}

// String returns the permission's snake_case name.
func (p Permission) String() string {
	if n, ok := permNames[p]; ok {
		return n
	}
	return fmt.Sprintf("Permission(%d)", int(p))
}

// rolePerms is the role model: agents read contacts and manage tickets
// and leads; supervisors also edit/import contacts and read all
// interactions, write the knowledge base and run outbound campaigns;
// admins also manage agents, delete contacts and define quality
// evaluation forms.
var rolePerms = map[Role][]Permission{
	RoleAgent: {PermReadContacts, PermManageTickets, PermReadOwnInteractions, PermReadAgents, PermManageLeads},
	RoleSupervisor: {PermReadContacts, PermWriteContacts, PermManageTickets, PermReadOwnInteractions,
		PermReadAllInteractions, PermReadAgents, PermManageLeads, PermManageKnowledge, PermManageCampaigns},
	RoleAdmin: {PermReadContacts, PermWriteContacts, PermDeleteContacts, PermManageTickets,
		PermReadOwnInteractions, PermReadAllInteractions, PermManageAgents, PermReadAgents, PermManageLeads, PermManageKnowledge,
		PermManageQAForms, PermManageCampaigns},
}

// Can reports whether role r grants p.
func (r Role) Can(p Permission) bool { return slices.Contains(rolePerms[r], p) }

// Check returns nil when r grants p, else an error wrapping ErrForbidden.
func (r Role) Check(p Permission) error {
	if r.Can(p) {
		return nil
	}
	return fmt.Errorf("%w: role %s lacks %s", ErrForbidden, r, p)
}

// Skill is a named competence with a level from 1 (novice) to 5 (expert).
type Skill struct {
	Name  string `json:"name"`
	Level int    `json:"level"`
}

// Agent is a person who logs in: an agent, supervisor or admin. The password
// hash and SIP credentials never leave the server in API responses.
type Agent struct {
	ID           string   `json:"id"`
	Login        string   `json:"login"`
	Name         string   `json:"name"`
	Role         Role     `json:"role"`
	PasswordHash string   `json:"-"`
	Skills       []Skill  `json:"skills"`
	Languages    []string `json:"languages"`
	Country      string   `json:"country,omitempty"` // ISO alpha-2
	Region       string   `json:"region,omitempty"`  // state / area
	TimeZone     string   `json:"time_zone,omitempty"`
	SIPUsername  string   `json:"sip_username,omitempty"`
	// SIPSecret is the SIP password as submitted, write-only: the store
	// keeps only its digests (SIPHA1) and never reads it back.
	SIPSecret string `json:"-"`
	// SIPHA1 is what the store keeps of the SIP password.
	SIPHA1 SIPHA1 `json:"-"`
	// Capacity overrides the configured per-channel capacity for this
	// agent; a channel it does not name takes the configured default.
	Capacity  Capacity  `json:"capacity"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Principal is the authenticated identity attached to a request or CTI session.
type Principal struct {
	AgentID string `json:"id"`
	Login   string `json:"login"`
	Name    string `json:"name"`
	Role    Role   `json:"role"`
}

// Principal returns the identity part of a.
func (a Agent) Principal() Principal {
	return Principal{AgentID: a.ID, Login: a.Login, Name: a.Name, Role: a.Role}
}

// SkillLevel returns the agent's level in skill (0 when absent).
func (a Agent) SkillLevel(skill string) int {
	for _, s := range a.Skills {
		if s.Name == skill {
			return s.Level
		}
	}
	return 0
}

// AgentInput is an agent as submitted by an admin. Password is plain text and
// is hashed by the caller with HashPassword; it is required on create.
type AgentInput struct {
	Login       string   `json:"login"`
	Name        string   `json:"name"`
	Role        Role     `json:"role"`
	Password    string   `json:"password,omitempty"`
	Skills      []Skill  `json:"skills"`
	Languages   []string `json:"languages"`
	Country     string   `json:"country"`
	Region      string   `json:"region"`
	TimeZone    string   `json:"time_zone"`
	SIPUsername string   `json:"sip_username"`
	SIPSecret   string   `json:"sip_secret,omitempty"`
	Capacity    Capacity `json:"capacity"`
	Active      *bool    `json:"active"`
}

var loginRE = regexp.MustCompile(`^[a-z][a-z0-9._-]{1,31}$`)
var skillRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,31}$`)

// Password limits (bcrypt uses at most 72 bytes).
const (
	MinPasswordLen = 4
	MaxPasswordLen = 72
)

// NewAgent validates in and builds an agent; the password, when present, is
// hashed with bcrypt. requirePassword is true on create.
func NewAgent(in AgentInput, requirePassword bool) (Agent, error) {
	a := Agent{
		Login: strings.ToLower(strings.TrimSpace(in.Login)), Name: strings.TrimSpace(in.Name), Role: in.Role,
		Country: strings.ToUpper(strings.TrimSpace(in.Country)), Region: strings.TrimSpace(in.Region),
		TimeZone: strings.TrimSpace(in.TimeZone), SIPUsername: strings.TrimSpace(in.SIPUsername),
		SIPSecret: in.SIPSecret, Active: true,
	}
	if in.Active != nil {
		a.Active = *in.Active
	}
	if a.Role == "" {
		a.Role = RoleAgent
	}
	if a.Name == "" {
		a.Name = a.Login
	}
	switch {
	case !loginRE.MatchString(a.Login):
		return Agent{}, invalid("login", "2–32 characters: a lower-case letter, then letters, digits, '.', '_' or '-'")
	case len(a.Name) > MaxNameLen || !validLine(a.Name):
		return Agent{}, invalid("name", "too long or invalid characters")
	case !a.Role.Valid():
		return Agent{}, invalid("role", "want agent, supervisor or admin")
	case a.Country != "" && !isSupportedRegion(a.Country):
		return Agent{}, invalid("country", "unknown country")
	case len(a.Region) > MaxNameLen || !validLine(a.Region):
		return Agent{}, invalid("region", "too long or invalid characters")
	case a.SIPUsername != "" && !loginRE.MatchString(a.SIPUsername):
		return Agent{}, invalid("sip_username", "same rules as login")
	case len(a.SIPSecret) > 128 || !validLine(a.SIPSecret):
		return Agent{}, invalid("sip_secret", "too long or invalid characters")
	case a.SIPUsername != "" && a.SIPSecret == "" && requirePassword:
		return Agent{}, invalid("sip_secret", "required with sip_username")
	}
	if a.TimeZone != "" {
		if _, err := time.LoadLocation(a.TimeZone); err != nil || strings.ContainsAny(a.TimeZone, "\\.") || len(a.TimeZone) > 64 {
			return Agent{}, invalid("time_zone", "unknown time zone")
		}
	}
	seen := map[string]bool{}
	for i, s := range in.Skills {
		s.Name = strings.ToLower(strings.TrimSpace(s.Name))
		if !skillRE.MatchString(s.Name) || seen[s.Name] {
			return Agent{}, invalid(fmt.Sprintf("skills[%d].name", i), "bad or duplicate skill name")
		}
		if s.Level < 1 || s.Level > 5 {
			return Agent{}, invalid(fmt.Sprintf("skills[%d].level", i), "want 1–5")
		}
		seen[s.Name] = true
		a.Skills = append(a.Skills, s)
	}
	if a.Skills == nil {
		a.Skills = []Skill{}
	}
	a.Languages = []string{}
	for i, l := range in.Languages {
		l = strings.ToLower(strings.TrimSpace(l))
		if l == "" || len(l) > MaxLanguageLen || !validLine(l) {
			return Agent{}, invalid(fmt.Sprintf("languages[%d]", i), "bad language tag")
		}
		if !slices.Contains(a.Languages, l) {
			a.Languages = append(a.Languages, l)
		}
	}
	capacity, err := NewCapacity(in.Capacity)
	if err != nil {
		return Agent{}, err
	}
	a.Capacity = capacity
	if in.Password != "" || requirePassword {
		h, err := HashPassword(in.Password)
		if err != nil {
			return Agent{}, err
		}
		a.PasswordHash = h
	}
	return a, nil
}

// SIPHA1 is an agent's SIP password as the SIP digest needs it (RFC 2617,
// RFC 7616): H(sip_username ":" realm ":" password) in lower-case hex, with
// MD5 and with SHA-256. It is tied to the username and the realm: changing
// either needs the password again.
type SIPHA1 struct {
	MD5    string
	SHA256 string
}

// ComputeSIPHA1 returns the SIPHA1 of password for username in realm.
func ComputeSIPHA1(username, realm, password string) SIPHA1 {
	a1 := []byte(username + ":" + realm + ":" + password)
	m := md5.Sum(a1)
	s := sha256.Sum256(a1)
	return SIPHA1{MD5: hex.EncodeToString(m[:]), SHA256: hex.EncodeToString(s[:])}
}
