package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"switchboard/acd"
	"switchboard/acd/acdnats"
	"switchboard/acd/dialplan"
	"switchboard/acd/voice"
	"switchboard/agentdesk"
	"switchboard/crmcore"
	"switchboard/crmcore/callbacks"
	"switchboard/crmcore/jobs"
	"switchboard/crmcore/mail"
	"switchboard/crmcore/pgcluster"
	"switchboard/crmcore/pgstore"
	"switchboard/crmcore/webhook"
	"switchboard/ivr"
	"switchboard/sip"
)

// database is an open pool plus the private cluster behind it, if we started one.
type database struct {
	pool    *pgxpool.Pool
	cluster *pgcluster.Cluster
}

// openDatabase connects to cfg.URL, or starts a private cluster under
// DataDir/pg when no URL is configured.
func openDatabase(ctx context.Context, cfg DatabaseConfig, logger *slog.Logger) (*database, error) {
	db := &database{}
	url := cfg.URL
	if url == "" {
		dir := filepath.Join(cfg.DataDir, "pg")
		logger.Info("starting private PostgreSQL", "dir", dir)
		c, err := pgcluster.Start(ctx, dir)
		if err != nil {
			return nil, err
		}
		db.cluster = c
		if err := c.CreateDatabase(ctx, "switchboard"); err != nil {
			db.close(logger)
			return nil, err
		}
		url = c.DSN("switchboard")
	}
	pool, err := pgstore.Connect(ctx, url)
	if err != nil {
		db.close(logger)
		return nil, fmt.Errorf("database: %w", err)
	}
	db.pool = pool
	return db, nil
}

func (db *database) close(logger *slog.Logger) {
	if db.pool != nil {
		db.pool.Close()
	}
	if db.cluster != nil {
		if err := db.cluster.Close(); err != nil {
			logger.Error("stopping private PostgreSQL", "err", err)
		} else {
			logger.Info("private PostgreSQL stopped")
		}
	}
}

func migrateOnly(ctx context.Context, cfg *Config, logger *slog.Logger) error {
	db, err := openDatabase(ctx, cfg.Database, logger)
	if err != nil {
		return err
	}
	defer db.close(logger)
	return migrate(ctx, cfg, db, logger)
}

func serve(ctx context.Context, cfg *Config, logger *slog.Logger) (err error) {
	if n := raiseOpenFileLimit(logger); n > 0 && n < uint64(cfg.SIP.TCPMaxConnections)+1024 {
		logger.Warn("open-file limit is below sip.tcp_max_connections plus a margin: accepts may fail (they are retried)",
			"limit", n, "tcp_max_connections", cfg.SIP.TCPMaxConnections)
	}
	db, err := openDatabase(ctx, cfg.Database, logger)
	if err != nil {
		return err
	}
	defer db.close(logger)
	if err := migrate(ctx, cfg, db, logger); err != nil {
		return err
	}
	// A listener other machines reach needs the seeded admin password
	// gone; checked before anything else starts.
	adminSeeded, err := seededAdmin(ctx, pgstore.New(db.pool))
	if err != nil {
		return err
	}
	if err := refuseSeededAdmin(cfg.HTTP.Listen, adminSeeded); err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	// The scheduler's latency histogram (go_sched_latencies_seconds: how
	// long runnable goroutines waited for a CPU) shows a starved machine.
	reg.MustRegister(collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(collectors.MetricsScheduler)),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	storeMetrics := pgstore.NewMetrics(reg)
	reg.MustRegister(pgstore.NewPoolCollector(db.pool))
	store := pgstore.New(db.pool, pgstore.WithLogger(logger), pgstore.WithSIPRealm(cfg.SIP.Realm))
	// The writer starts first, leader or not: it writes what this
	// node's journal holds from before a restart.
	writer, err := pgstore.NewWriter(db.pool, filepath.Join(cfg.Database.DataDir, "journal"),
		pgstore.WithWriterLogger(logger), pgstore.WithWriterMetrics(storeMetrics), pgstore.WithNodeID(cfg.Cluster.node()))
	if err != nil {
		return err
	}
	// The job queue runs on every node: webhook deliveries and report
	// roll-ups are shared out; the routing node adds its own queues.
	// Help-desk tickets and sales leads waiting for an agent are routed as
	// tasks by acd.assignment (the rules in force: reloads apply).
	var acdCfg atomic.Pointer[acd.Config]
	acdCfg.Store(&cfg.ACD)
	runner := jobs.New(db.pool, jobs.WithLogger(logger))
	hooks, err := webhook.New(db.pool, runner, webhook.WithLogger(logger), webhook.WithMetrics(webhook.NewMetrics(reg)))
	if err != nil {
		return err
	}
	if err := registerRollUps(runner, store, acdCfg.Load, logger); err != nil {
		return err
	}
	var term *leadership
	var cl *clusterLink
	defer func() {
		fctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := writer.Close(fctx); err != nil {
			logger.Error("flushing interactions", "err", err)
		}
		// Leadership ends after the flush, so that no new leader takes
		// this node's records in progress for those of a lost node.
		if term != nil {
			err = term.end(err)
		} else if cl != nil {
			cl.leave()
		}
	}()
	if cfg.Cluster.Enabled {
		if cl, err = joinCluster(ctx, cfg, logger); err != nil {
			return err
		}
		defer cl.close()
	}
	var hub atomic.Pointer[agentdesk.Hub] // revocations close its connections once it exists
	auth := crmcore.NewAuth(store, store, crmcore.WithAuthLogger(logger), crmcore.WithRevocationHook(func(r crmcore.Revocation) {
		if h := hub.Load(); h != nil {
			h.Revoke(r)
		}
	}))

	// IVR flows, checked against the ACD's queues and the prompt set.
	ivrMetrics := ivr.NewMetrics(reg)
	ivrOpts, closeSpeech := speechOptions(&cfg.IVR.Speech,
		ivr.Options{PromptDir: cfg.IVR.Prompts, Queues: queueNames(&cfg.ACD), Logger: logger}, cfg.IVR.Speech.Decoders, logger)
	defer closeSpeech()
	flows := ivr.NewRegistry(ivrOpts, ivrMetrics)
	if _, err := flows.Reload(cfg.IVR.Flows); err != nil {
		return fmt.Errorf("ivr: %s: %w", cfg.IVR.Flows, err)
	}
	// The outbound dial plan: the gateway checks every leg to the trunk,
	// the engine and the IVR check earlier, where the person is told.
	plan, err := dialplan.New(cfg.DialPlan)
	if err != nil {
		return err
	}
	owed, err := callbacks.New(db.pool, runner, callbacks.WithLogger(logger),
		callbacks.WithNumberCheck(voice.CallbackPolicy{Plan: plan}.CheckCallback))
	if err != nil {
		return err
	}
	if err := runner.Start(ctx); err != nil {
		return err
	}
	if err := hooks.Start(ctx); err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		hooks.Stop()
		if err := runner.Stop(sctx, hooks.StopGrace()); err != nil {
			logger.Warn("jobs: stopping", "err", err)
		}
	}()

	if err := os.MkdirAll(cfg.SIP.RecordingDir, 0o755); err != nil {
		return fmt.Errorf("sip.recording_dir: %w", err)
	}
	// The gateway; its call and event handlers are set once the entry and
	// the engine exist. In a cluster, a call from another node to a relay
	// token carries a caller's audio to an agent's leg here.
	var entry *voice.Journey
	var onEvent func(sip.Event)
	var node *acdnats.Node
	numbers := dialledNumbers(flows)
	gw, err := sip.New(sip.Config{
		UDPAddr: cfg.SIP.UDP, TCPAddr: cfg.SIP.TCP, TLSAddr: cfg.SIP.TLS, TLSCert: cfg.SIP.TLSCert, TLSKey: cfg.SIP.TLSKey,
		PublicIP: cfg.SIP.PublicIP, RTPPortMin: cfg.SIP.RTPPortMin, RTPPortMax: cfg.SIP.RTPPortMax, MaxCalls: cfg.SIP.MaxCalls,
		RTPSharedSockets: cfg.SIP.sharedSockets(),
		TrustedSources:   cfg.SIP.TrustedSources, EdgeProxies: cfg.SIP.EdgeProxies, RequireAuth: cfg.SIP.RequireAuth, Realm: cfg.SIP.Realm,
		MusicOnHold: cfg.SIP.MusicOnHold, RecordingDir: cfg.SIP.RecordingDir, RecordingRetention: cfg.SIP.RecordingRetention.D(), Trunk: cfg.SIP.Trunk,
		TestEndpoint: cfg.SIP.TestEndpoint, WebRTCIPs: cfg.SIP.WebRTCIPs,
		AnswerDelay: cfg.SIP.AnswerDelay.D(), EarlyMedia: cfg.SIP.EarlyMedia, Ringback: cfg.SIP.Ringback,
		MinExpiry: cfg.SIP.RegistrationMinExpiry.D(), MaxExpiry: cfg.SIP.RegistrationMaxExpiry.D(), DigestAlgorithms: cfg.SIP.DigestAlgorithms,
		UnauthRate: cfg.SIP.UnauthenticatedRate, UnauthBurst: cfg.SIP.UnauthenticatedBurst,
		TCPMaxConns: cfg.SIP.TCPMaxConnections, TCPMaxPerSource: cfg.SIP.TCPMaxPerSource, TCPIdleTimeout: cfg.SIP.TCPIdleTimeout.D(),
	}, sip.WithLogger(logger), sip.WithMetrics(reg), sip.WithCredentials(sipCredentials{store}), sip.WithBindingStore(sipBindings{store}),
		sip.WithCallHandler(func(c *sip.Call) {
			if tok, ok := relayToken(c.DNIS()); ok && node != nil && node.Relay(tok, c) {
				return
			}
			entry.Handle(c)
		}),
		sip.WithEventHandler(func(e sip.Event) { onEvent(e) }),
		sip.WithRefusalHandler(func(r sip.Refusal) {
			if _, ok := relayToken(r.DNIS); !ok {
				entry.Refused(r.CallID, r.From, r.DNIS, r.Reason)
			}
		}),
		sip.WithArrivalHandler(func(a sip.Arrival) {
			if _, ok := relayToken(a.DNIS); !ok {
				entry.Arrival(a.CallID, a.From, a.DNIS, a.At)
			}
		}),
		sip.WithDialPolicy(plan),
		sip.WithNumberFilter(func(dnis string) bool {
			if tok, ok := relayToken(dnis); ok {
				return node != nil && node.Expects(tok)
			}
			return numbers(dnis)
		}))
	if err != nil {
		return err
	}
	agents := sip.NewAgents(gw, sip.AgentsOptions{
		CallerID: cfg.SIP.CallerID, VoicemailGreeting: promptFiles(cfg.IVR.Prompts, "vm_intro", "beep"), RecordCalls: cfg.SIP.RecordCalls,
	})
	acdMetrics, err := acd.NewMetrics(reg)
	if err != nil {
		return err
	}
	targets := sip.TransferTargets{
		IsQueue: func(name string) bool { return slices.Contains(queueNames(&cfg.ACD), name) },
		AgentBySIP: func(ctx context.Context, user string) (acd.AgentID, bool) {
			a, err := store.AgentBySIPUsername(ctx, user)
			return acd.AgentID(a.ID), err == nil
		},
	}
	// Call traces (nil without an endpoint): one export for the process,
	// fed by the journey's records here and by the engine where it runs.
	callTraces, terr := newTraces(ctx, cfg.Tracing, cfg.Cluster.node(), logger)
	if terr != nil {
		logger.Error("tracing: not started", "err", terr)
	}
	defer func() {
		tctx, cancel := context.WithTimeout(context.Background(), cfg.HTTP.ShutdownTimeout.D())
		defer cancel()
		if err := callTraces.shutdown(tctx); err != nil {
			logger.Warn("tracing: flush failed", "err", err)
		}
	}()
	journeyRec := callTraces.recorder(writer)
	entryOpts := voice.Options{
		DefaultRegion: cfg.IVR.DefaultRegion, DialPlan: plan, RecordingDir: gw.RecordingDir(), MusicOnHold: cfg.SIP.MusicOnHold,
		Recordings: agents, TicketAbandoned: cfg.CRM.TicketAbandoned, SurveyFlow: cfg.IVR.SurveyFlow,
		Hours: ivr.HoursOverride(cfg.IVR.HoursOverride), Logger: logger, IVRMetrics: ivrMetrics, Callbacks: owed,
	}
	mailMetrics := mail.NewMetrics(reg)
	mailIn, err := listenMail(&cfg.Mail, store, mailMetrics, logger)
	if err != nil {
		return err
	}
	deps := routingDeps{cfg: cfg, log: logger, reg: reg, db: db, store: store, auth: auth, hub: &hub, agents: agents,
		metrics: acdMetrics, acdCfg: &acdCfg, plan: plan, mailMetrics: mailMetrics, flows: flows, ivrMetrics: ivrMetrics, hooks: hooks, writer: writer, traces: callTraces,
		callbacks: owed, jobs: runner, queueCallback: func(ctx context.Context, cb crmcore.Callback) error { return entry.QueueCallback(ctx, cb) },
		web: webDialer{gw: gw, flows: flows, handle: func(c *sip.Call) { entry.Handle(c) }}}
	// Campaigns are dialled where the engine runs: this process, or the
	// cluster's leader, whose own calls they are.
	deps.journey = func() *voice.Journey { return entry }
	var rt *routing
	if cl == nil {
		deps.tel, deps.afterCall = agents, func(id acd.CallID, caller acd.Leg) bool { return entry.AfterCall(id, caller) }
		deps.attach = func(_ context.Context, callID, ticketID string) error {
			entry.AttachTicket(callID, ticketID)
			return nil
		}
		if rt, err = newRouting(deps); err != nil {
			return err
		}
		defer rt.engine.Close()
		entry = voice.New(voice.EngineRouter(rt.engine), flows, store, journeyRec, entryOpts)
		onEvent = agents.Transfers(rt.engine, targets, logger)
	} else {
		node, err = acdnats.NewNode(cl.nc, acdnats.NodeOptions{Node: cl.node, Prefix: cl.prefix, SIP: cl.sipAddr(cfg), Local: agents,
			AfterCall:    func(id acd.CallID, caller acd.Leg) bool { return entry.AfterCall(id, caller) },
			AttachTicket: func(callID, ticketID string) { entry.AttachTicket(callID, ticketID) }, Logger: logger})
		if err != nil {
			return err
		}
		defer node.Close()
		cl.bus = node
		entry = voice.New(nodeRouter{node}, flows, store, journeyRec, entryOpts)
		onEvent = agents.Transfers(node, targets, logger)
	}

	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	errc := make(chan error, 8)
	gwDone := make(chan struct{})
	go auth.RunPurge(runCtx, time.Hour)
	if mailIn != nil {
		go func() { errc <- mailIn.serve() }()
		logger.Info("mail: taking mail for the support addresses", "smtp", mailIn.ln.Addr().String())
	}
	go func() { defer close(gwDone); errc <- gw.Serve(runCtx) }()
	// The entry records interactions until the very end of the shutdown
	// below, so it has a context of its own.
	entryCtx, stopEntry := context.WithCancel(context.WithoutCancel(ctx))
	defer stopEntry()
	entryDone := make(chan struct{})
	go func() { defer close(entryDone); _ = entry.Run(entryCtx) }()
	select {
	case <-gw.Ready():
	case err := <-errc:
		return err
	}
	// SIGHUP re-reads the configuration file (reload.go).
	reloads := newReloader(cfg, flows, nil, plan, logger, reg)
	reloads.onACD = acdCfg.Store
	watchHangup(runCtx, func() { _ = reloads.reload(runCtx) })
	var leading chan *routing
	if rt != nil {
		reloads.setEngine(rt.engine)
		rt.start(runCtx, errc)
		printWelcome(cfg, rt.srv.Scheme()+"://"+rt.srv.Addr(), adminSeeded, gw, flows)
	} else {
		// The routing engine, the desks and the REST API run on the
		// leader; this node serves its calls meanwhile, and campaigns.
		leading = make(chan *routing, 1)
		go func() {
			r, err := cl.lead(runCtx, deps)
			if err != nil {
				if runCtx.Err() == nil {
					errc <- err
				}
				return
			}
			reloads.setEngine(r.engine)
			r.start(r.term.ctx, errc)
			go r.term.sweep(store, 2*time.Second)
			logger.Info("cluster: serving the desks and the REST API", "http", r.srv.Scheme()+"://"+r.srv.Addr())
			leading <- r
		}()
	}

	var termDone <-chan struct{}
	for done := false; !done; {
		select {
		case err := <-errc:
			if ctx.Err() == nil {
				return err
			}
			done = true
		case <-ctx.Done():
			done = true
		case r := <-leading:
			rt, leading, term = r, nil, r.term
			termDone = term.ctx.Done()
		case <-termDone:
			// The leader lock is gone for good: another node may lead.
			return errLeadershipLost
		}
	}
	// New calls get 503; calls in progress may finish within the drain
	// timeout, then the rest are hung up and their records flushed.
	gw.Drain()
	logger.Info("shutting down: draining calls", "active", gw.ActiveCalls(), "timeout", cfg.SIP.DrainTimeout.D())
	drainEnd := time.Now().Add(cfg.SIP.DrainTimeout.D())
	for gw.ActiveCalls() > agents.Softphones() && time.Now().Before(drainEnd) {
		time.Sleep(100 * time.Millisecond)
	}
	if rt != nil && rt.leader != nil {
		// A leader stepping down leaves the other nodes' calls alone:
		// the next leader adopts them.
		rt.leader.Detach()
	}
	if mailIn != nil {
		mctx, cancel := context.WithTimeout(context.Background(), cfg.HTTP.ShutdownTimeout.D())
		if err := mailIn.close(mctx); err != nil {
			logger.Warn("mail: stopping the SMTP listener", "err", err)
		}
		cancel()
	}
	// The gateway hangs up every leg left; the engine then completes every
	// call and wrap-up still open, and the entry records them all before
	// the writer flushes (deferred above) and the database closes.
	cancelRun()
	<-gwDone
	sctx, cancel := context.WithTimeout(context.Background(), cfg.HTTP.ShutdownTimeout.D())
	defer cancel()
	if rt != nil {
		if err := rt.stop(sctx); err != nil {
			return err
		}
	}
	stopEntry()
	<-entryDone
	return nil
}

// migrate applies the CRM schema migrations, and seeds the demo data into
// an empty database when the config asks for it.
func migrate(ctx context.Context, cfg *Config, db *database, logger *slog.Logger) error {
	if err := pgstore.Migrate(ctx, db.pool, pgstore.WithMigrateSIPRealm(cfg.SIP.Realm)); err != nil {
		return err
	}
	if err := jobs.Migrate(ctx, db.pool); err != nil {
		return err
	}
	v, err := pgstore.SchemaVersion(ctx, db.pool)
	if err != nil {
		return err
	}
	logger.Info("database migrated", "schema_version", v)
	if !cfg.Database.SeedDemo {
		return nil
	}
	res, err := pgstore.Seed(ctx, db.pool, pgstore.WithSeedSIPRealm(cfg.SIP.Realm))
	if err != nil {
		return err
	}
	if res.Seeded {
		logger.Info("demo data seeded", "accounts", res.Accounts, "contacts", res.Contacts, "agents", res.Agents, "tickets", res.Tickets)
	}
	return nil
}
