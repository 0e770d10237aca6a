package main

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"switchboard/acd"
	"switchboard/acd/voice"
	"switchboard/agentdesk"
	"switchboard/agentdesk/chat"
	"switchboard/crmcore/pgstore"
	"switchboard/ivr"
)

// ChatConfig is the web chat: the customers' widget and page (/chat), the
// chat flow they go through first, and who may embed the widget.
type ChatConfig struct {
	// Entry is the chat entry point of the IVR flows (default "web").
	Entry string `yaml:"entry"`
	// AllowedOrigins are the sites (https://shop.example.com) whose pages
	// may embed the widget, besides this server's own; "*" allows any.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// MaxCustomers caps the customers connected at once (default 20000).
	MaxCustomers int `yaml:"max_customers"`
}

// chatTokenKey names the installation key of the customers' resume
// tokens: the same on every node, so a customer resumes on any.
const chatTokenKey = "chat.token"

// newChat builds the web chat channel: conversations kept in the CRM,
// the chat flow over the IVR registry with the CRM's data dips, and the
// agents' side through the CTI hub (hub, once it exists).
func newChat(ctx context.Context, cfg *Config, store *pgstore.Store, flows *ivr.Registry, hub func() *agentdesk.Hub,
	reg prometheus.Registerer, ivrMetrics *ivr.Metrics, logger *slog.Logger) (*chat.Service, error) {
	secret, err := store.Secret(ctx, chatTokenKey)
	if err != nil {
		return nil, err
	}
	names := func(agentID string) string {
		if a, err := store.GetAgent(context.WithoutCancel(ctx), agentID); err == nil {
			return a.Name
		}
		return "An agent"
	}
	return chat.New(store, flows, chat.Options{Secret: secret, Entry: cfg.Chat.Entry, Logger: logger, Metrics: chat.NewMetrics(reg),
		Lookup: voice.CRMLookup{CRM: store, Region: cfg.IVR.DefaultRegion}, Hours: ivr.HoursOverride(cfg.IVR.HoursOverride),
		IVRMetrics: ivrMetrics, AllowedOrigins: cfg.Chat.AllowedOrigins, MaxCustomers: cfg.Chat.MaxCustomers, AgentName: names,
		OnAgentEvent: func(agentID string, ev chat.AgentEvent) {
			if h := hub(); h != nil {
				h.NotifyChat(agentID, ev.Type, agentdesk.ChatEvent{TaskID: ev.TaskID, Message: ev.Message, Seq: ev.Seq})
			}
		}})
}

// followChatRecords gives each chat the disposition its agent wrapped it
// up with, from the engine's completed interactions, until ctx ends.
func followChatRecords(ctx context.Context, engine *acd.Engine, chats *chat.Service, logger *slog.Logger) {
	sub, _, err := engine.Subscribe(ctx, acd.SubscribeOptions{Name: "chat records", Buffer: 4096, Records: true})
	if err != nil {
		logger.Error("chat: cannot follow the engine's records", "err", err)
		return
	}
	defer sub.Close()
	var evs []acd.Event
	for {
		select {
		case <-ctx.Done():
			return
		case <-sub.Ready():
		}
		var open bool
		evs, open = sub.Take(evs[:0])
		for _, ev := range evs {
			switch e := ev.(type) {
			case *acd.InteractionCompleted:
				// A transferring agent's part keeps its disposition on its own
				// record; the chat's is its last agent's.
				if it := e.Interaction; it.Channel == acd.ChannelChat && it.Disposition != "" && it.Outcome != acd.OutcomeTransferred {
					if err := chats.SetDisposition(ctx, string(it.CallID), it.Disposition); err != nil {
						logger.Warn("chat: disposition not kept", "conversation_id", it.CallID, "err", err)
					}
				}
			case *acd.ResyncRequired:
				_, _ = sub.Resync(ctx)
			}
		}
		if !open {
			return
		}
	}
}
