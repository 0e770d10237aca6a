package acd

import (
	"fmt"
	"slices"

	"switchboard/acd/routing"
)

// AssignmentRule sends the work items a channel routes by rules (help-desk
// tickets, CRM leads) to a queue: the first rule of Config.Assignment
// whose Match fits an item decides its queue, extra skills, priority and
// preferred agent. The queue's strategy then ranks the agents (skills,
// language, region, the item's sticky agent, round robin among equals).
type AssignmentRule struct {
	Match AssignmentMatch `yaml:"match"`
	// Queue is the target queue's name.
	Queue string `yaml:"queue"`
	// Skills are required on top of the queue's.
	Skills []SkillLevel `yaml:"skills"`
	// Priority is added to the queue's priority.
	Priority int `yaml:"priority"`
	// Prefer is the order in which the item's candidates for its
	// preferred (sticky) agent are tried, the first one the item has
	// winning: PreferAccountOwner, PreferLastAgent. Omitted, it is the
	// account owner, then the last agent (Preferences); [PreferNone]
	// alone means no preferred agent, and an explicit empty list is
	// refused. The assignee of a reopened item comes before any of them:
	// the item is theirs.
	Prefer []string `yaml:"prefer"`
}

// Names of an assignment rule's Prefer list.
const (
	// PreferAccountOwner is the agent who owns the customer's account.
	PreferAccountOwner = "account_owner"
	// PreferLastAgent is the agent of the customer's latest interaction.
	PreferLastAgent = "last_agent"
	// PreferNone, alone, turns the preferred agent off.
	PreferNone = "none"
)

// Preferences returns r's preferred-agent candidates in order: Prefer,
// the account owner then the last agent when Prefer is empty, and none
// for [PreferNone].
func (r AssignmentRule) Preferences() []string {
	switch {
	case len(r.Prefer) == 0:
		return []string{PreferAccountOwner, PreferLastAgent}
	case r.Prefer[0] == PreferNone:
		return nil
	}
	return slices.Clone(r.Prefer)
}

// AssignmentMatch is what an assignment rule matches; an empty field
// matches anything, so a rule with an empty match catches every item.
type AssignmentMatch struct {
	Channel Channel `yaml:"channel"`
	// Priority is the item's priority: low, normal, high or urgent.
	Priority string `yaml:"priority"`
	// Group is the item's group (a ticket's group), Tag one of its tags.
	Group string `yaml:"group"`
	Tag   string `yaml:"tag"`
	// Segment, Language and Country are the customer's.
	Segment  string `yaml:"segment"`
	Language string `yaml:"language"`
	Country  string `yaml:"country"`
	// Reopened matches items reopened by the customer (true) or new
	// ones (false).
	Reopened *bool `yaml:"reopened"`
}

// WorkItem is what an assignment rule is matched against: a ticket or a
// lead described by its channel.
type WorkItem struct {
	Channel                    Channel
	Priority, Group            string
	Tags                       []string
	Segment, Language, Country string
	Reopened                   bool
}

// assignmentPriorities are the priorities a rule may match.
var assignmentPriorities = []string{"low", "normal", "high", "urgent"}

// matches reports whether every set field of m fits w.
func (m AssignmentMatch) matches(w WorkItem) bool {
	return (m.Channel == "" || m.Channel == w.Channel) &&
		(m.Priority == "" || m.Priority == w.Priority) &&
		(m.Group == "" || m.Group == w.Group) &&
		(m.Tag == "" || slices.Contains(w.Tags, m.Tag)) &&
		(m.Segment == "" || m.Segment == w.Segment) &&
		(m.Language == "" || m.Language == w.Language) &&
		(m.Country == "" || m.Country == w.Country) &&
		(m.Reopened == nil || *m.Reopened == w.Reopened)
}

// Assign returns the first rule of c.Assignment that matches w; ok is
// false when none does (the item is not routed).
func (c *Config) Assign(w WorkItem) (rule AssignmentRule, ok bool) {
	for _, r := range c.Assignment {
		if r.Match.matches(w) {
			return r, true
		}
	}
	return AssignmentRule{}, false
}

// validateAssignment checks every rule: a known queue, a valid channel,
// priority and skills.
func (c *Config) validateAssignment() error {
	for i, r := range c.Assignment {
		f := fmt.Sprintf("assignment[%d]", i)
		if !slices.ContainsFunc(c.Queues, func(q QueueConfig) bool { return q.Name == r.Queue }) {
			return cfgErr(f+".queue", "unknown queue %q", r.Queue)
		}
		if ch := r.Match.Channel; ch != "" && !ValidChannel(ch) {
			return cfgErr(f+".match.channel", "bad channel name %q", ch)
		}
		if p := r.Match.Priority; p != "" && !slices.Contains(assignmentPriorities, p) {
			return cfgErr(f+".match.priority", "%q is not low, normal, high or urgent", p)
		}
		for j, s := range r.Skills {
			if s.Skill == "" || s.Level < 1 || s.Level > routing.MaxLevel {
				return cfgErr(fmt.Sprintf("%s.skills[%d]", f, j), "skill %q level %d: want a name and 1..%d", s.Skill, s.Level, routing.MaxLevel)
			}
		}
		if err := validatePrefer(f+".prefer", r.Prefer); err != nil {
			return err
		}
	}
	return nil
}

// validatePrefer checks a rule's Prefer list: known names, each once, and
// none only alone. An explicit empty list is refused, as it would read
// as "none" but mean the default.
func validatePrefer(f string, prefer []string) error {
	if prefer != nil && len(prefer) == 0 {
		return cfgErr(f, "empty list: omit prefer for the default order or write [%s] for no preferred agent", PreferNone)
	}
	for j, p := range prefer {
		switch {
		case p == PreferNone && len(prefer) > 1:
			return cfgErr(f, "%s cannot be combined with other names", PreferNone)
		case p != PreferAccountOwner && p != PreferLastAgent && p != PreferNone:
			return cfgErr(fmt.Sprintf("%s[%d]", f, j), "unknown %q: want %s, %s or %s", p, PreferAccountOwner, PreferLastAgent, PreferNone)
		case slices.Contains(prefer[:j], p):
			return cfgErr(fmt.Sprintf("%s[%d]", f, j), "%q named twice", p)
		}
	}
	return nil
}
