package acd

import (
	"fmt"
	"slices"

	"switchboard/acd/routing"
)

// AssignmentRule sends the work items a channel routes by rules (help-desk
// tickets, CRM leads) to a queue: the first rule of Config.Assignment
// whose Match fits an item decides its queue, extra skills and priority.
// The queue's strategy then ranks the agents (skills, language, region,
// the item's sticky agent, round robin among equals).
type AssignmentRule struct {
	Match AssignmentMatch `yaml:"match"`
	// Queue is the target queue's name.
	Queue string `yaml:"queue"`
	// Skills are required on top of the queue's.
	Skills []SkillLevel `yaml:"skills"`
	// Priority is added to the queue's priority.
	Priority int `yaml:"priority"`
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
	}
	return nil
}
