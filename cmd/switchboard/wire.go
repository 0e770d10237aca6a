package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"switchboard/acd"
	"switchboard/acd/voice"
	"switchboard/agentdesk"
	"switchboard/crmcore"
	"switchboard/crmcore/crmapi"
	"switchboard/crmcore/pgstore"
	"switchboard/ivr"
	"switchboard/sip"
)

// sipCredentials gives the registrar the digest hashes (HA1) of the
// agents' SIP passwords from the CRM.
type sipCredentials struct{ store *pgstore.Store }

func (c sipCredentials) SIPHA1(ctx context.Context, username string) (sip.HA1, bool, error) {
	a, err := c.store.AgentBySIPUsername(ctx, username)
	if errors.Is(err, crmcore.ErrNotFound) {
		return sip.HA1{}, false, nil
	}
	if err != nil {
		return sip.HA1{}, false, err
	}
	if !a.Active || a.SIPHA1.MD5 == "" {
		return sip.HA1{}, false, nil
	}
	return sip.HA1{MD5: a.SIPHA1.MD5, SHA256: a.SIPHA1.SHA256}, true, nil
}

// sipBindings keeps the registrar's bindings in PostgreSQL.
type sipBindings struct{ store *pgstore.Store }

func (b sipBindings) Bindings(ctx context.Context, user string, now time.Time) ([]sip.StoredBinding, error) {
	rs, err := b.store.Registrations(ctx, user, now)
	if err != nil {
		return nil, err
	}
	out := make([]sip.StoredBinding, len(rs))
	for i, r := range rs {
		out[i] = sip.StoredBinding{User: r.User, Contact: r.Contact, Source: r.Source, Expires: r.Expires, Path: r.Path}
	}
	return out, nil
}

func (b sipBindings) SetBindings(ctx context.Context, user string, bs []sip.StoredBinding) error {
	rs := make([]pgstore.Registration, len(bs))
	for i, s := range bs {
		rs[i] = pgstore.Registration{User: s.User, Contact: s.Contact, Source: s.Source, Expires: s.Expires, Path: s.Path}
	}
	return b.store.SetRegistrations(ctx, user, rs)
}

func (b sipBindings) PurgeBindings(ctx context.Context, now time.Time) (int, error) {
	return b.store.PurgeRegistrations(ctx, now)
}

var (
	_ sip.Credentials  = sipCredentials{}
	_ sip.BindingStore = sipBindings{}
)

// agentSpecs maps a CRM agent to the ACD's routing profile: skills with
// levels, plus each spoken language as a level-5 skill (IVR flows require
// the caller's language as a skill), geography, the SIP endpoint, the
// agent's per-channel capacity overrides, and whether they dial under the
// dial plan's supervisor role (supervisors and admins).
func agentSpecs(store *pgstore.Store) func(ctx context.Context, agentID string) (acd.AgentSpec, error) {
	return func(ctx context.Context, agentID string) (acd.AgentSpec, error) {
		a, err := store.GetAgent(ctx, agentID)
		if err != nil {
			return acd.AgentSpec{}, err
		}
		return agentSpec(a), nil
	}
}

// agentSpec is the ACD's routing profile of a CRM agent (see agentSpecs).
func agentSpec(a crmcore.Agent) acd.AgentSpec {
	spec := acd.AgentSpec{
		ID: acd.AgentID(a.ID), Name: a.Name, Endpoint: a.SIPUsername, Languages: a.Languages,
		Country: a.Country, Region: a.Region, TimeZone: a.TimeZone,
		Supervisor: a.Role == crmcore.RoleSupervisor || a.Role == crmcore.RoleAdmin,
	}
	if len(a.Capacity) > 0 {
		spec.Capacity = make(map[acd.Channel]int, len(a.Capacity))
		for ch, n := range a.Capacity {
			spec.Capacity[acd.Channel(ch)] = n
		}
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
	return spec
}

// crmPop maps a task's data to the screen pop's "crm" object: the voice
// journey's pop to the CTI's wire type; other channels' data (the CRM's
// pending tickets and leads) is sent as it is.
func crmPop(data any) any {
	p, ok := data.(*voice.Pop)
	if !ok {
		return data
	}
	pop := agentdesk.CRMPop{Known: p.Known, Contact: p.Contact, Account: p.Account, Segment: p.Segment,
		OpenTickets: p.OpenTickets, LastInteractions: p.LastInteractions, LastAgent: p.LastAgent,
		IVR: p.IVR, InteractionID: p.InteractionID, DNIS: p.DNIS}
	if w := p.Web; w != nil {
		pop.Web = &agentdesk.WebCaller{Name: w.Name, Email: w.Email, Phone: w.Phone, Verified: w.Verified}
	}
	if c := p.Campaign; c != nil {
		pop.Campaign = &agentdesk.CampaignCall{ID: c.ID, Name: c.Name, Detection: c.Detection}
	}
	return pop
}

// liveAgents is the CRM's agent store as the REST API uses it: capacity
// overrides saved for an agent who is logged in reach the engine at once
// (one who is not logs in later with the saved profile).
type liveAgents struct {
	*pgstore.Store
	log    *slog.Logger
	engine *acd.Engine
}

var _ crmapi.AgentStore = (*liveAgents)(nil)

// UpdateAgent saves a, then gives the engine its capacity overrides. The
// CRM record is the source of truth: an engine that refuses them (it is
// stopping) is logged, and the agent's next login applies them.
func (l *liveAgents) UpdateAgent(ctx context.Context, id string, a crmcore.Agent) (crmcore.Agent, error) {
	a, err := l.Store.UpdateAgent(ctx, id, a)
	if err != nil || l.engine == nil {
		return a, err
	}
	spec := agentSpec(a)
	if err := l.engine.SetCapacity(ctx, spec.ID, spec.Capacity); err != nil && !errors.Is(err, acd.ErrUnknownAgent) {
		l.log.Warn("agent capacity not applied to the router", "agent_id", id, "err", err)
	}
	return a, nil
}

// capacityChannels are the channel names an agent's capacity overrides
// may name over REST: the channels Switchboard ships and those acd.capacity
// configures.
func capacityChannels(c *acd.Config) []string {
	names := []string{}
	for _, ch := range []acd.Channel{acd.ChannelVoice, acd.ChannelCallback, acd.ChannelChat, acd.ChannelEmail, acd.ChannelTicket, acd.ChannelLead} {
		names = append(names, string(ch))
	}
	for ch := range c.Capacity.Channels {
		if !slices.Contains(names, string(ch)) {
			names = append(names, string(ch))
		}
	}
	return names
}

// wrapUpTickets links or creates the ticket an agent names at wrap-up and
// attaches it to the call's interaction record. A new ticket is requested
// by the caller's contact, as the call's CRM lookup found it.
type wrapUpTickets struct {
	store  *pgstore.Store
	engine *acd.Engine
	// attach links the ticket to the call's record, kept by the node that
	// holds the call.
	attach func(ctx context.Context, callID, ticketID string) error
}

var _ agentdesk.Tickets = wrapUpTickets{}

// WrapUpTicket implements agentdesk.Tickets for a call or a web chat (callID
// is then the conversation's id): it returns the ticket's number.
func (t wrapUpTickets) WrapUpTicket(ctx context.Context, agentID, callID string, w agentdesk.WrapUp) (string, error) {
	conv, err := t.store.Conversation(ctx, callID)
	chat := err == nil
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
			Channel: crmcore.ChannelPhone, RequesterID: t.callerContact(ctx, callID), AssigneeID: agentID, Tags: []string{"call"},
		}
		if chat {
			in.Channel, in.RequesterID, in.Tags = crmcore.ChannelChat, conv.ContactID, []string{"chat"}
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
	link := t.attach
	if chat {
		link = t.store.LinkChatTicket
	}
	if err := link(ctx, callID, ticket.ID); err != nil {
		return "", fmt.Errorf("ticket %s not linked to the record: %w", ticket.Number, err)
	}
	return ticket.Number, nil
}

// callerContact is the CRM contact of the call's caller ("" when the
// lookup found none).
func (t wrapUpTickets) callerContact(ctx context.Context, callID string) string {
	info, err := t.engine.Call(ctx, acd.CallID(callID))
	if err != nil {
		return ""
	}
	if pop, ok := info.Data.(*voice.Pop); ok && pop.Contact != nil {
		return pop.Contact.ID
	}
	return ""
}

// dialledNumbers tells the gateway which numbers exist: those with an IVR
// entry point in the current flow set (reloads included). An INVITE to any
// other number is refused with 404 and recorded, not answered.
func dialledNumbers(flows voice.FlowSource) func(dnis string) bool {
	return func(dnis string) bool {
		_, ok, err := flows.ForDNIS(dnis)
		return ok && err == nil
	}
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

// printWelcome tells a newcomer where to look; base is the HTTP
// listener's URL ("http://127.0.0.1:8080").
func printWelcome(cfg *Config, base string, adminSeeded bool, gw *sip.Gateway, flows *ivr.Registry) {
	var b strings.Builder
	b.WriteString(welcomeWeb(cfg, base, adminSeeded))
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

// welcomeWeb is the web part of the welcome. The admin's password is shown
// only while it is still the demo seed's, which start-up allows on a
// loopback listener only.
func welcomeWeb(cfg *Config, base string, adminSeeded bool) string {
	var b strings.Builder
	admin := "admin: the password you set"
	if adminSeeded {
		admin = `admin: admin / admin; change it: switchboard passwd admin`
	}
	metrics := map[string]string{metricsLoopback: "(from this machine only)", metricsToken: "(bearer token: http.metrics_token)", metricsOpen: ""}[cfg.HTTP.Metrics]
	fmt.Fprintf(&b, "\n  Switchboard is running.\n\n")
	fmt.Fprintf(&b, "  Agent desktop   %s/            (agents: alice, bob, carol, dave, erin … password \"demo\")\n", base)
	fmt.Fprintf(&b, "  Wallboard       %s/wallboard   (supervisor: sam / demo)\n", base)
	fmt.Fprintf(&b, "  REST API        %s/api/v1/openapi.json   (%s)\n", base, admin)
	fmt.Fprintf(&b, "  Metrics         %s/metrics   %s\n", base, metrics)
	return b.String()
}

// deskMedia is the gateway's call media as the CTI hub asks for it
// (monitoring, pausing a recording), with the gateway's errors mapped to
// the hub's error codes.
type deskMedia struct{ a *sip.Agents }

// Listen implements agentdesk.Listener.
func (m deskMedia) Listen(ctx context.Context, supervisorID, callID, mode string) error {
	return deskMediaErr(m.a.Listen(ctx, supervisorID, callID, mode))
}

// StopListening implements agentdesk.Listener.
func (m deskMedia) StopListening(ctx context.Context, supervisorID, callID string) error {
	return deskMediaErr(m.a.StopListening(ctx, supervisorID, callID))
}

// PauseRecording implements agentdesk.Recorder.
func (m deskMedia) PauseRecording(ctx context.Context, callID string, on bool) error {
	return deskMediaErr(m.a.PauseRecording(ctx, callID, on))
}

func deskMediaErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sip.ErrNotConnected):
		return fmt.Errorf("%w: %w", agentdesk.ErrNotFound, err)
	case errors.Is(err, sip.ErrListenMode), errors.Is(err, sip.ErrNoEndpoint), errors.Is(err, sip.ErrNotRecorded):
		return fmt.Errorf("%w: %w", agentdesk.ErrInvalidState, err)
	}
	return err
}
