package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"switchboard/acd"
	"switchboard/acd/acdnats"
	"switchboard/acd/dialplan"
	"switchboard/acd/outbound"
	"switchboard/acd/voice"
	"switchboard/agentdesk"
	"switchboard/agentdesk/chat"
	"switchboard/agentdesk/webcall"
	"switchboard/crmcore"
	"switchboard/crmcore/callbacks"
	"switchboard/crmcore/crmapi"
	"switchboard/crmcore/dispatch"
	"switchboard/crmcore/jobs"
	"switchboard/crmcore/mail"
	"switchboard/crmcore/pgstore"
	"switchboard/crmcore/webhook"
	"switchboard/ivr"
	"switchboard/sip"
)

// telephony is what the routing engine drives calls through: the
// gateway's agents in one process, the cluster bus's leader otherwise.
type telephony interface {
	acd.Ringer
	acd.Bridger
	acd.Dialer
	acd.VoicemailTaker
}

// routingDeps is what the routing services are built from.
type routingDeps struct {
	cfg     *Config
	log     *slog.Logger
	reg     *prometheus.Registry
	db      *database
	store   *pgstore.Store
	auth    *crmcore.Auth
	hub     *atomic.Pointer[agentdesk.Hub]
	agents  *sip.Agents
	metrics *acd.Metrics
	acdCfg  *atomic.Pointer[acd.Config]
	plan    *dialplan.Plan

	tel       telephony
	afterCall func(acd.CallID, acd.Leg) bool
	// attach links a ticket to a call's record, wherever the call is.
	attach func(ctx context.Context, callID, ticketID string) error
	// held starts the engine with its offers held (acd.WithRoutingHeld).
	held bool
	// mailMetrics count the email channel's work (the outbox's here).
	mailMetrics *mail.Metrics
	// flows and ivrMetrics serve the web chat's flows.
	flows      *ivr.Registry
	ivrMetrics *ivr.Metrics
	// web places web callers' calls on this process's gateway.
	web webcall.Dialer
	// hooks keeps the webhook subscriptions and their deliveries.
	hooks *webhook.Service
	// writer is the durable writer the event log goes through.
	writer *pgstore.Writer
	// traces is the process's call-trace export (nil: off).
	traces *traces
	// callbacks keeps the callbacks owed to customers; while routing, the
	// node works their due jobs on jobs and queues them through
	// queueCallback (the process's voice journey).
	callbacks     *callbacks.Service
	jobs          *jobs.Runner
	queueCallback callbacks.Router
	// journey is the process's voice journey, which queues the people
	// who answer a campaign's dial; nil where campaigns are not dialled.
	journey func() *voice.Journey
	// listener puts supervisors on calls; nil: this process's gateway.
	listener agentdesk.Listener
}

// deskListener is how the desks' supervisors monitor calls.
func (d routingDeps) deskListener() agentdesk.Listener {
	if d.listener != nil {
		return d.listener
	}
	return deskMedia{d.agents}
}

// routing is the services that run where the routing engine does: the
// engine, the help-desk dispatch, the CTI hub with the desks, wallboards
// and REST API behind the HTTP listener.
type routing struct {
	log     *slog.Logger
	engine  *acd.Engine
	crmWork *dispatch.Router
	hub     *agentdesk.Hub
	srv     *httpServer
	outbox  *mail.Outbox // nil: no email channel
	chats   *chat.Service
	web     *webcall.Handler
	// leader and term are set on a cluster's leader.
	leader *acdnats.Leader
	term   *leadership
	// The event log runs where the engine does.
	writer *pgstore.Writer
	node   string
	// traces exports each completed call's journey (nil: off).
	traces      *traces
	stopTracing func(context.Context) error
	// callbacks, jobs and queueCallback: see routingDeps. routes is
	// closed once the engine routes (a cluster's leader holds its offers
	// until the nodes re-announced their calls); the owed callbacks are
	// queued again then.
	callbacks     *callbacks.Service
	jobs          *jobs.Runner
	queueCallback callbacks.Router
	routes        chan struct{}
	// campaigns is the dialer (nil: campaigns are not dialled here).
	campaigns *outbound.Manager
	// store and started seed the engine's live statistics (seedStats).
	store   *pgstore.Store
	started time.Time

	crmWorkDone chan struct{}
}

// newRouting builds the routing services over d.tel.
func newRouting(d routingDeps) (*routing, error) {
	cfg, logger := d.cfg, d.log
	crmAgents := &liveAgents{Store: d.store, log: logger}
	outbox, err := newOutbox(&cfg.Mail, d.store, d.mailMetrics, logger)
	if err != nil {
		return nil, err
	}
	apiOpts := []crmapi.Option{crmapi.WithLogger(logger), crmapi.WithMetrics(crmapi.NewMetrics(d.reg)), crmapi.WithChannels(capacityChannels(&cfg.ACD)...)}
	if outbox != nil {
		apiOpts = append(apiOpts, crmapi.WithEmail(d.store, emailSettings(&cfg.Mail, outbox)))
	}
	apiOpts = append(apiOpts, crmapi.WithChats(d.store), crmapi.WithRecordings(crmapi.DirRecordings{Dir: cfg.SIP.RecordingDir}, d.store),
		crmapi.WithScripts(d.store), crmapi.WithQuality(d.store), crmapi.WithWebhooks(d.hooks), crmapi.WithKnowledge(d.store), crmapi.WithReports(d.store),
		crmapi.WithCallbacks(d.callbacks))
	chats, err := newChat(context.Background(), cfg, d.store, d.flows, d.hub.Load, d.reg, d.ivrMetrics, logger)
	if err != nil {
		return nil, err
	}
	crmWork, err := dispatch.New(d.store, dispatch.Options{Logger: logger,
		Assign: func(w acd.WorkItem) (acd.AssignmentRule, bool) { return d.acdCfg.Load().Assign(w) }})
	if err != nil {
		return nil, err
	}
	opts := []acd.Option{acd.WithDialer(d.tel), acd.WithVoicemail(d.tel), acd.WithDialPlan(d.plan),
		acd.WithChannel(acd.ChannelTicket, crmWork), acd.WithChannel(acd.ChannelEmail, crmWork), acd.WithChannel(acd.ChannelLead, crmWork),
		acd.WithChannel(acd.ChannelChat, chats),
		acd.WithAfterCall(d.afterCall), acd.WithLogger(logger), acd.WithMetrics(d.metrics)}
	if d.held {
		opts = append(opts, acd.WithRoutingHeld())
	}
	if c, ok := d.tel.(acd.Conferencer); ok {
		// The gateway's mixer; a cluster's leader asks the node that
		// holds the call to mix on its gateway.
		opts = append(opts, acd.WithConferencer(c))
	}
	engine, err := acd.New(&cfg.ACD, d.tel, d.tel, opts...)
	if err != nil {
		return nil, err
	}
	crmWork.Attach(engine)
	chats.Attach(engine)
	crmAgents.engine = engine
	campaigns, err := newCampaigns(d, engine)
	if err != nil {
		engine.Close()
		_ = chats.Close()
		return nil, err
	}
	if campaigns != nil {
		apiOpts = append(apiOpts, crmapi.WithCampaigns(campaigns), crmapi.WithDNC(d.store))
	}
	api, err := crmapi.New(crmapi.Deps{
		Auth: d.auth, Contacts: d.store, Tickets: d.store, Interactions: d.store, Agents: crmAgents, Leads: d.store, Lookup: d.store,
	}, apiOpts...)
	if err != nil {
		engine.Close()
		_ = chats.Close()
		return nil, err
	}

	dispositions := make([]agentdesk.Code, 0, len(cfg.CTI.Dispositions))
	for _, c := range cfg.CTI.Dispositions {
		dispositions = append(dispositions, agentdesk.Code{Code: c, Label: c})
	}
	reasons := make([]agentdesk.Code, 0, len(cfg.CTI.ReasonCodes))
	for _, c := range cfg.CTI.ReasonCodes {
		reasons = append(reasons, agentdesk.Code{Code: c, Label: c})
	}
	desk := agentdesk.NewACD(engine, agentdesk.ACDOptions{AgentSpec: agentSpecs(d.store), Pop: crmPop})
	hub, err := agentdesk.New(agentdesk.Config{
		Engine: desk, Events: desk, Auth: agentdesk.CRMAuth(d.auth), Softphones: d.agents, Listener: d.deskListener(), Recorder: deskMedia{d.agents},
		Tickets: wrapUpTickets{store: d.store, engine: engine, attach: d.attach}, Chats: chats, Campaigns: deskCampaigns(campaigns),
		Dispositions: dispositions, ReasonCodes: reasons,
		AllowedOrigins: cfg.CTI.AllowedOrigins, AuthTimeout: cfg.CTI.AuthTimeout.D(), MaxUnauthenticated: cfg.CTI.MaxUnauthenticated,
		Logger: logger, Metrics: agentdesk.NewMetrics(d.reg),
	})
	if err != nil {
		engine.Close()
		_ = chats.Close()
		return nil, err
	}
	d.hub.Store(hub)
	web, err := newWebCall(&cfg.WebCall, d.web, d.reg, logger)
	if err != nil {
		engine.Close()
		_ = chats.Close()
		return nil, err
	}

	mux := http.NewServeMux()
	mux.Handle("/api/v1/", api)
	mux.Handle("/chat", chats.Handler())
	mux.Handle("/chat/", chats.Handler())
	mux.Handle("/call", web)
	mux.Handle("/call/", web)
	mux.Handle("/", hub.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		pctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := d.db.pool.Ping(pctx); err != nil {
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", metricsGuard(cfg.HTTP, promhttp.HandlerFor(d.reg, promhttp.HandlerOpts{Registry: d.reg})))
	srv, err := newHTTPServer(cfg.HTTP, mux, d.reg, logger)
	if err != nil {
		engine.Close()
		_ = chats.Close()
		_ = web.Close()
		return nil, err
	}
	return &routing{log: logger, engine: engine, crmWork: crmWork, hub: hub, srv: srv, outbox: outbox, chats: chats, web: web,
		crmWorkDone: make(chan struct{}), writer: d.writer, node: cfg.Cluster.node(), traces: d.traces,
		callbacks: d.callbacks, jobs: d.jobs, queueCallback: d.queueCallback, routes: make(chan struct{}), campaigns: campaigns,
		store: d.store, started: time.Now()}, nil
}

// start serves HTTP and runs the hub and the dispatch until ctx ends;
// their errors go to errc.
func (r *routing) start(ctx context.Context, errc chan<- error) {
	go func() { errc <- fmt.Errorf("http: %w", r.srv.Serve()) }()
	go func() { errc <- r.hub.Run(ctx) }()
	go func() { defer close(r.crmWorkDone); r.crmWork.Run(ctx) }()
	go followChatRecords(ctx, r.engine, r.chats, r.log)
	go followEventLog(ctx, r.engine, r.writer, r.node, r.log)
	stopTracing, err := r.traces.followEngine(ctx, r.engine)
	if err != nil {
		r.log.Error("tracing: not started", "err", err)
		stopTracing = func(context.Context) error { return nil }
	}
	r.stopTracing = stopTracing
	if r.leader == nil {
		close(r.routes)
	}
	r.startCallbacks(ctx)
	go seedStats(ctx, r.engine, r.store, r.started, r.log)
	if r.campaigns != nil {
		go func() {
			if err := r.campaigns.Run(ctx); err != nil && ctx.Err() == nil {
				r.log.Error("outbound: dialer stopped", "err", err)
			}
		}()
	}
	if r.outbox != nil {
		go func() {
			if err := r.outbox.Run(ctx); err != nil && ctx.Err() == nil {
				r.log.Error("mail: outbox stopped", "err", err)
			}
		}()
	}
}

// stop ends the routing services once the gateway has stopped. In one
// process the engine completes every call and wrap-up left, so the
// journey records them. A cluster's leader only closes its engine: the
// calls it routed are the nodes', and the next leader adopts them.
func (r *routing) stop(ctx context.Context) error {
	<-r.crmWorkDone
	r.stopCallbacks(ctx)
	if r.leader == nil {
		if err := r.engine.Shutdown(ctx); err != nil {
			r.log.Error("acd shutdown", "err", err)
		}
	} else {
		r.engine.Close()
	}
	if r.stopTracing != nil {
		if err := r.stopTracing(ctx); err != nil {
			r.log.Warn("tracing: flush failed", "err", err)
		}
	}
	_ = r.chats.Close()
	err := r.srv.srv.Shutdown(ctx)
	_ = r.web.Close()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http shutdown: %w", err)
	}
	return nil
}
