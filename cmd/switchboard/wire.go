package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"switchboard/acd"
	"switchboard/agentdesk"
	"switchboard/crmcore"
	"switchboard/crmcore/pgstore"
	"switchboard/ivr"
	"switchboard/sip"
)

// sipCredentials gives the registrar the agents' SIP secrets from the CRM.
type sipCredentials struct{ store *pgstore.Store }

func (c sipCredentials) SIPSecret(ctx context.Context, username string) (string, bool, error) {
	a, err := c.store.AgentBySIPUsername(ctx, username)
	if errors.Is(err, crmcore.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	if !a.Active || a.SIPSecret == "" {
		return "", false, nil
	}
	return a.SIPSecret, true, nil
}

// agentSpecs maps a CRM agent to the ACD's routing profile: skills with
// levels, plus each spoken language as a level-5 skill (IVR flows require
// the caller's language as a skill), geography, and the SIP endpoint.
func agentSpecs(store *pgstore.Store) func(ctx context.Context, agentID string) (acd.AgentSpec, error) {
	return func(ctx context.Context, agentID string) (acd.AgentSpec, error) {
		a, err := store.GetAgent(ctx, agentID)
		if err != nil {
			return acd.AgentSpec{}, err
		}
		spec := acd.AgentSpec{
			ID: acd.AgentID(a.ID), Name: a.Name, Endpoint: a.SIPUsername, Languages: a.Languages,
			Country: a.Country, Region: a.Region, TimeZone: a.TimeZone,
		}
		have := map[string]bool{}
		for _, s := range a.Skills {
			spec.Skills = append(spec.Skills, acd.SkillLevel{Skill: s.Name, Level: s.Level})
			have[s.Name] = true
		}
		for _, l := range a.Languages {
			if !have[l] {
				spec.Skills = append(spec.Skills, acd.SkillLevel{Skill: l, Level: 5})
			}
		}
		return spec, nil
	}
}

// wrapUpTickets links or creates the ticket an agent names at wrap-up and
// attaches it to the call's interaction record.
type wrapUpTickets struct {
	store *pgstore.Store
	entry *acd.Entry
}

func (t wrapUpTickets) WrapUpTicket(ctx context.Context, agentID, callID string, w agentdesk.WrapUp) (string, error) {
	var ticket crmcore.Ticket
	switch {
	case w.LinkTicket != "":
		n, err := crmcore.ParseTicketNumber(w.LinkTicket)
		if err != nil {
			return "", err
		}
		if ticket, err = t.store.GetTicket(ctx, n); err != nil {
			return "", err
		}
	case w.CreateTicket != nil:
		prio := crmcore.PriorityNormal
		if w.CreateTicket.Priority != "" {
			p, err := crmcore.ParsePriority(w.CreateTicket.Priority)
			if err != nil {
				return "", err
			}
			prio = p
		}
		in := crmcore.TicketInput{
			Subject: w.CreateTicket.Subject, Description: strings.TrimSpace(w.Notes), Priority: prio,
			Channel: crmcore.ChannelPhone, AssigneeID: agentID, Tags: []string{"call"},
		}
		nt, err := crmcore.NewTicket(in, t.store.SLAPolicy(), time.Now())
		if err != nil {
			return "", err
		}
		if ticket, err = t.store.CreateTicket(ctx, agentID, nt); err != nil {
			return "", err
		}
	default:
		return "", fmt.Errorf("wrap-up names no ticket")
	}
	t.entry.AttachTicket(callID, ticket.ID)
	return ticket.ID, nil
}

// queueNames lists the ACD's queues, which IVR flows may name.
func queueNames(c *acd.Config) []string {
	names := make([]string, 0, len(c.Queues))
	for _, q := range c.Queues {
		names = append(names, q.Name)
	}
	return names
}

// promptFiles resolves English prompt names to files.
func promptFiles(root string, names ...string) []string {
	files := make([]string, 0, len(names))
	for _, n := range names {
		files = append(files, filepath.Join(root, "en", n+".wav"))
	}
	return files
}

// printWelcome tells a newcomer where to look.
func printWelcome(cfg *Config, httpAddr string, gw *sip.Gateway, flows *ivr.Registry) {
	var b strings.Builder
	fmt.Fprintf(&b, "\n  Switchboard is running.\n\n")
	fmt.Fprintf(&b, "  Agent desktop   http://%s/            (agents: alice, bob, carol, dave, erin … password \"demo\")\n", httpAddr)
	fmt.Fprintf(&b, "  Wallboard       http://%s/wallboard   (supervisor: sam / demo)\n", httpAddr)
	fmt.Fprintf(&b, "  REST API        http://%s/api/v1/openapi.json   (admin: admin / admin)\n", httpAddr)
	fmt.Fprintf(&b, "  Metrics         http://%s/metrics\n", httpAddr)
	if a := gw.UDPAddr(); a.IsValid() {
		fmt.Fprintf(&b, "  SIP             %s (UDP/TCP); register a softphone as alice@%s, password \"demo\"\n", a, cfg.SIP.PublicIP)
	}
	if set := flows.Current(); set != nil {
		for _, ep := range set.EntryPoints() {
			if ep.DNIS != "" {
				fmt.Fprintf(&b, "  Dial            sip:%s@%s  (IVR flow %q)\n", ep.DNIS, cfg.SIP.PublicIP, ep.Flow.Name())
			}
		}
	}
	fmt.Fprintf(&b, "\n  Press Ctrl-C to stop.\n\n")
	fmt.Fprint(os.Stdout, b.String())
}
