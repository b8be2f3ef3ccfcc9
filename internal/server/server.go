// Package server wires the store, the event pipeline and the HTTP surfaces
// into one running Praetor server.
package server

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"github.com/praetorhq/praetor/internal/api"
	"github.com/praetorhq/praetor/internal/auth"
	"github.com/praetorhq/praetor/internal/clock"
	"github.com/praetorhq/praetor/internal/metrics"
	"github.com/praetorhq/praetor/internal/notify"
	"github.com/praetorhq/praetor/internal/secretbox"
	"github.com/praetorhq/praetor/internal/services"
	"github.com/praetorhq/praetor/internal/sso"
	"github.com/praetorhq/praetor/internal/store/sqlstore"
	"github.com/praetorhq/praetor/internal/tenancy"
	"github.com/praetorhq/praetor/internal/ui"
)

// Config is the server's configuration.
type Config struct {
	Host string
	Port int
	// Home is the data directory; the SQLite database lives there.
	Home string
	// DatabaseURL selects PostgreSQL when set (postgres://…).
	DatabaseURL string
	// SecretsKey is the key (base64 of 32 bytes) that seals block
	// documents' data at rest. Empty: the key in Home's secrets.key,
	// created on first start.
	SecretsKey string
	// SecretsOldKeys are earlier keys (comma-separated), to read what they
	// sealed after a rotation; the server reseals it with SecretsKey at
	// start.
	SecretsOldKeys string
	// SQLiteSynchronous is SQLite's synchronous mode: FULL (when empty) or
	// NORMAL, which trades the last commits before a power cut for speed.
	SQLiteSynchronous string
	// Anonymous serves the plain /api routes without a key. Nil means: only
	// when bound to a loopback address.
	Anonymous *bool
	// SignUp lets anyone register a user and account.
	SignUp bool
	// Metrics serves Prometheus metrics at /metrics. Nil means on.
	Metrics *bool
	// SchedulerInterval is how often the scheduler makes deployments'
	// runs ahead (changes to deployments nudge it at once); zero: 60 s.
	SchedulerInterval time.Duration
	// LateRunsInterval is how often the late-run marker passes; zero: 5 s.
	LateRunsInterval time.Duration
	// LateRunsAfter is how long past its start a SCHEDULED run becomes
	// Late; zero: 15 s.
	LateRunsAfter time.Duration
	// ForemanInterval is how often the foreman marks silent workers
	// OFFLINE and unpolled pools, queues and deployments NOT_READY; zero:
	// 15 s.
	ForemanInterval time.Duration
	// PauseExpirationsInterval is how often PAUSED runs past their
	// pause_timeout are failed; zero: 5 s.
	PauseExpirationsInterval time.Duration
	// PublicURL is the URL users reach Praetor's UI at, for the links in
	// notifications; empty is the address the server listens on.
	PublicURL string
	// TrustedProxies lists the reverse proxies (addresses and CIDR
	// prefixes, comma-separated) whose X-Forwarded-For names the client
	// that the sign-in limits and the audit log see; empty: none.
	TrustedProxies string
	// IdentityProvidersFile is a TOML file of the identity providers users
	// may sign in with (docs/cloud.md); empty: none.
	IdentityProvidersFile string
	// NotifyRootCAs verifies the certificates of notification receivers
	// (HTTPS, SMTP over TLS); nil is the system's pool.
	NotifyRootCAs *x509.CertPool
	// AutomationsInterval is how often automations look at new events
	// and run due actions (proactive triggers at twice it); 0 is 1s.
	AutomationsInterval time.Duration
	// UnresponsiveRunsAfter is how long a RUNNING run of a worker that
	// stopped heartbeating may send nothing before the server marks it
	// CRASHED, checked every ForemanInterval; zero: never (the CLI's
	// default is 5 minutes).
	UnresponsiveRunsAfter time.Duration
	// LeaseReaperInterval is how often expired concurrency leases give
	// their slots back; zero: 15 s.
	LeaseReaperInterval time.Duration
	// MinLeaseDuration is the shortest concurrency lease a client may ask
	// for; zero: Prefect's minute.
	MinLeaseDuration time.Duration
	// ConcurrencySlotWait is how long a deployment's run that found the
	// deployment's concurrency limit full waits before it may try again;
	// zero: Prefect's 30 s.
	ConcurrencySlotWait time.Duration
	// SMTPURL is the SMTP server that mails invitations
	// (smtp://user:password@host:port, smtps://…, smtp+insecure://…);
	// empty: none, and inviters pass the links on themselves.
	SMTPURL string
	// SMTPFrom is the sender of the server's mail; empty: the SMTP user.
	SMTPFrom string
	// AuditRetention is how long audit log entries are kept; zero: a year.
	AuditRetention time.Duration
	// Clock is where the timestamps the server writes come from; nil:
	// clock.Real.
	Clock  clock.Clock
	Logger *slog.Logger
	// UIPollInterval is how often the UI's live pages refresh; zero: 2 s.
	// Tests shorten it.
	UIPollInterval time.Duration

	// services are started after the server's own (tests add some).
	services []services.Service
}

// anonymous resolves Config.Anonymous.
func (c Config) anonymous() bool {
	if c.Anonymous != nil {
		return *c.Anonymous
	}
	if c.Host == "localhost" {
		return true
	}
	ip := net.ParseIP(c.Host)
	return ip != nil && ip.IsLoopback()
}

// timeouts bound how long a client may take, so slow or idle ones cannot
// hold connections open: to send a request's headers, the whole request
// (the largest body, 8 MB, at 140 kB/s), to be sent the answer, and to
// send the next request on a kept-alive connection. The event websockets
// are not cut off: net/http clears a connection's deadlines when a handler
// takes it over. A long poll would lift its own (http.ResponseController).
var timeouts = struct{ readHeader, read, write, idle time.Duration }{
	readHeader: 10 * time.Second,
	read:       time.Minute,
	write:      2 * time.Minute,
	idle:       2 * time.Minute,
}

// optimizeEvery is how often SQLite refreshes its planner statistics; its
// advice for long-lived connections is every few hours.
const optimizeEvery = 3 * time.Hour

// Server is a running Praetor server.
type Server struct {
	cfg      Config
	log      *slog.Logger
	store    *sqlstore.DB
	api      *api.API
	services *services.Group
	http     *http.Server
	ln       net.Listener
	cancel   context.CancelFunc // cancels every request context, websockets included
}

// Open opens the database (migrating it), builds the handlers and binds the
// listener. Serve starts answering.
func Open(ctx context.Context, cfg Config) (*Server, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	dsn := cfg.DatabaseURL
	if dsn == "" {
		dsn = filepath.Join(cfg.Home, "praetor.db")
	}
	clk := cfg.Clock
	if clk == nil {
		clk = clock.Real
	}
	proxies, err := auth.ParseTrustedProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	m := metrics.New()
	opts := []sqlstore.Option{sqlstore.Clock(clk),
		sqlstore.Observe(sqlstore.Observer{WriterBatch: m.WriterBatch, EventsIngested: m.EventsIngested})}
	if cfg.SQLiteSynchronous != "" {
		opts = append(opts, sqlstore.SQLiteSynchronous(cfg.SQLiteSynchronous))
	}
	keyring, err := secretsKeyring(cfg, log)
	if err != nil {
		return nil, err
	}
	opts = append(opts, sqlstore.Secrets(keyring))
	if cfg.ConcurrencySlotWait > 0 {
		opts = append(opts, sqlstore.SlotWait(cfg.ConcurrencySlotWait))
	}
	db, err := sqlstore.Open(ctx, dsn, log, opts...)
	if err != nil {
		return nil, err
	}
	if cfg.SecretsOldKeys != "" {
		n, err := db.ResealBlockDocuments(ctx)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("reseal block documents with the new secrets key: %w", err)
		}
		log.Info("resealed block documents with the current secrets key; the old keys may now be dropped", "documents", n)
	}
	for name, pool := range db.Pools() {
		m.DBPool(name, pool)
	}
	def, err := db.DefaultWorkspace(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	scheduling, nudgeScheduler := schedulingServices(cfg, db, clk, log, m)
	// The links invitations carry point at the public URL, known once the
	// listener is bound (below).
	invitations := &tenancy.Invitations{Store: db, Logger: log, Now: clk.Now}
	if cfg.SMTPURL != "" {
		mailer, err := notify.NewMailer(&notify.Sender{RootCAs: cfg.NotifyRootCAs}, cfg.SMTPURL, cfg.SMTPFrom)
		if err != nil {
			db.Close()
			return nil, err
		}
		invitations.Mailer = mailer
	}
	a := api.New(api.Wire(db, api.Config{Default: def, Anonymous: cfg.anonymous(), SignUp: cfg.SignUp, Metrics: m, Logger: log,
		OnDeploymentsChanged: nudgeScheduler, MinLeaseDuration: cfg.MinLeaseDuration, Clock: clk, Invitations: invitations}))
	providers, err := identityProviders(cfg.IdentityProvidersFile, log)
	if err != nil {
		db.Close()
		return nil, err
	}
	pages, err := ui.New(ui.Config{Store: db, Authn: a.Authn, SignUp: cfg.SignUp, Anonymous: cfg.anonymous(), Clock: clk, Logger: log,
		PollInterval: cfg.UIPollInterval, RunDeployment: a.RunDeployment, OnDeploymentsChanged: a.OnDeploymentsChanged,
		Providers: providers, PublicURL: cfg.PublicURL, Invitations: invitations})
	if err != nil {
		db.Close()
		return nil, err
	}
	if cfg.anonymous() {
		log.Info("anonymous access enabled: /api serves the default workspace without a key")
	}

	mux := http.NewServeMux()
	a.Register(mux)
	pages.Register(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("ok\n"))
	})
	if cfg.Metrics == nil || *cfg.Metrics {
		// Like /healthz, open to anyone who reaches the port: the metrics
		// name routes and services, never a workspace or its data.
		mux.Handle("GET /metrics", m.Handler())
	}

	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)))
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("listen: %w", err)
	}
	base, cancel := context.WithCancel(context.Background())
	s := &Server{cfg: cfg, log: log, store: db, api: a, ln: ln, cancel: cancel}
	all := storeServices(db, clk, log, m)
	for _, l := range scheduling {
		all = append(all, l)
	}
	publicURL := cfg.PublicURL
	if publicURL == "" {
		publicURL = "http://" + ln.Addr().String()
	}
	invitations.BaseURL = publicURL
	all = append(all, auditServices(cfg, db, clk, log, m)...)
	for _, l := range automationServices(cfg, db, a, publicURL, clk, log, m) {
		all = append(all, l)
	}
	s.services = services.NewGroup(append(all, cfg.services...)...)
	s.http = &http.Server{
		Handler:           proxies.Handler(observeRequests(log, m, mux)),
		ReadHeaderTimeout: timeouts.readHeader,
		ReadTimeout:       timeouts.read,
		WriteTimeout:      timeouts.write,
		IdleTimeout:       timeouts.idle,
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	if err := s.services.Start(ctx); err != nil {
		ln.Close()
		db.Close()
		return nil, err
	}
	return s, nil
}

// identityProviders reads the providers file, if any, and logs the
// providers it configures (never their secrets).
func identityProviders(path string, log *slog.Logger) ([]*sso.Provider, error) {
	if path == "" {
		return nil, nil
	}
	cfgs, err := sso.LoadFile(path)
	if err != nil {
		return nil, err
	}
	for _, c := range cfgs {
		log.Info("identity provider", "provider", c)
	}
	return sso.New(cfgs, nil), nil
}

// secretsKeyFile is where the server keeps the key it generated, in Home.
const secretsKeyFile = "secrets.key"

// secretsKeyring is the keyring of cfg's secrets key and old keys. Without
// a key setting the key lives in Home's key file, made on first start:
// next to the SQLite database, never in it. On PostgreSQL that file is
// this server's alone, so servers sharing a database must be given the
// same key as a setting.
func secretsKeyring(cfg Config, log *slog.Logger) (*secretbox.Keyring, error) {
	old, err := secretbox.ParseKeys(cfg.SecretsOldKeys)
	if err != nil {
		return nil, fmt.Errorf("secrets old keys: %w", err)
	}
	if cfg.SecretsKey != "" {
		key, err := secretbox.ParseKey(cfg.SecretsKey)
		if err != nil {
			return nil, fmt.Errorf("secrets key: %w", err)
		}
		return secretbox.New(key, old...)
	}
	path := filepath.Join(cfg.Home, secretsKeyFile)
	key, created, err := secretbox.LoadOrCreateKeyFile(path)
	if err != nil {
		return nil, err
	}
	if created {
		log.Info("generated the key that seals block secrets; back it up with the database", "file", path)
	}
	if cfg.DatabaseURL != "" {
		log.Warn("the key that seals block secrets is in this server's home; every server on this database needs the same one: set PRAETOR_SECRETS_KEY to its content", "file", path)
	}
	return secretbox.New(key, old...)
}

// storeServices are the background services that keep the store in shape:
// on SQLite, a periodic PRAGMA optimize.
func storeServices(db *sqlstore.DB, clk clock.Clock, log *slog.Logger, m *metrics.Metrics) []services.Service {
	if db.Engine() != "sqlite" {
		return nil
	}
	return []services.Service{&services.Loop{
		Service:  "sqlite_optimize",
		Interval: optimizeEvery,
		Run:      func(ctx context.Context, _ time.Time) error { return db.Optimize(ctx) },
		Clock:    clk,
		Logger:   log,
		Observe:  observePass(m),
	}}
}

// Defaults of the audit log's retention and how often it is applied.
const (
	defaultAuditRetention = 365 * 24 * time.Hour
	auditRetentionEvery   = time.Hour
)

// auditServices is the audit log's retention pass.
func auditServices(cfg Config, db *sqlstore.DB, clk clock.Clock, log *slog.Logger, m *metrics.Metrics) []services.Service {
	keep := cfg.AuditRetention
	if keep <= 0 {
		keep = defaultAuditRetention
	}
	r := &services.AuditRetention{Store: db, Keep: keep, Logger: log.With("service", "audit_retention"),
		Count: func(action string, n int) { m.ServiceItems("audit_retention", action, n) }}
	return []services.Service{&services.Loop{Service: "audit_retention", Interval: auditRetentionEvery, Run: r.Pass, Clock: clk, Logger: log,
		Observe: observePass(m)}}
}

// Defaults of the scheduling services, as Prefect's.
const (
	defaultSchedulerInterval   = 60 * time.Second
	defaultLateRunsInterval    = 5 * time.Second
	defaultLateRunsAfter       = 15 * time.Second
	defaultForemanInterval     = 15 * time.Second
	defaultLeaseReaperInterval = 15 * time.Second
	// Prefect's pause-expiration service passes every 5 s too.
	defaultPauseExpirationsInterval = 5 * time.Second
	defaultAutomationsInterval      = time.Second
)

// schedulingServices are the scheduler, the late-run marker, the foreman,
// the pause expirations, the lease reaper and, when enabled, the unresponsive-run detector; nudge makes the scheduler pass now, for the API to call when
// deployments change.
func schedulingServices(cfg Config, db *sqlstore.DB, clk clock.Clock, log *slog.Logger, m *metrics.Metrics) (loops []*services.Loop, nudge func()) {
	or := func(d, def time.Duration) time.Duration {
		if d > 0 {
			return d
		}
		return def
	}
	count := func(service string) func(string, int) {
		return func(action string, n int) { m.ServiceItems(service, action, n) }
	}
	sched := &services.Scheduler{Store: db, Logger: log.With("service", "scheduler"), Count: count("scheduler")}
	late := &services.LateRuns{Store: db, After: or(cfg.LateRunsAfter, defaultLateRunsAfter), Logger: log.With("service", "late_runs"),
		Count: count("late_runs")}
	foreman := &services.Foreman{Store: db, Logger: log.With("service", "foreman"), Count: count("foreman")}
	pauses := &services.PauseExpirations{Store: db, Logger: log.With("service", "pause_expirations"), Count: count("pause_expirations")}
	reaper := &services.LeaseReaper{Store: db, Logger: log.With("service", "lease_reaper"), Count: count("lease_reaper")}
	scheduler := &services.Loop{Service: "scheduler", Interval: or(cfg.SchedulerInterval, defaultSchedulerInterval), Run: sched.Pass,
		Clock: clk, Logger: log, Observe: observePass(m)}
	loops = []*services.Loop{
		scheduler,
		{Service: "late_runs", Interval: or(cfg.LateRunsInterval, defaultLateRunsInterval), Run: late.Pass,
			Clock: clk, Logger: log, Observe: observePass(m)},
		{Service: "foreman", Interval: or(cfg.ForemanInterval, defaultForemanInterval), Run: foreman.Pass,
			Clock: clk, Logger: log, Observe: observePass(m)},
		{Service: "pause_expirations", Interval: or(cfg.PauseExpirationsInterval, defaultPauseExpirationsInterval), Run: pauses.Pass,
			Clock: clk, Logger: log, Observe: observePass(m)},
		{Service: "lease_reaper", Interval: or(cfg.LeaseReaperInterval, defaultLeaseReaperInterval), Run: reaper.Pass,
			Clock: clk, Logger: log, Observe: observePass(m)},
	}
	if cfg.UnresponsiveRunsAfter > 0 {
		// At the foreman's pace: a run can only be unresponsive once the
		// foreman would call its worker OFFLINE.
		u := &services.UnresponsiveRuns{Store: db, After: cfg.UnresponsiveRunsAfter, Logger: log.With("service", "unresponsive_runs"),
			Count: count("unresponsive_runs")}
		loops = append(loops, &services.Loop{Service: "unresponsive_runs", Interval: or(cfg.ForemanInterval, defaultForemanInterval),
			Run: u.Pass, Clock: clk, Logger: log, Observe: observePass(m)})
	}
	return loops, scheduler.Nudge
}

// automationServices are the automations' evaluator (reactive and
// proactive) and their action executor.
func automationServices(cfg Config, db *sqlstore.DB, a *api.API, publicURL string, clk clock.Clock, log *slog.Logger, m *metrics.Metrics) []*services.Loop {
	or := func(d, def time.Duration) time.Duration {
		if d > 0 {
			return d
		}
		return def
	}
	triggers := &services.Triggers{Store: db, Clock: clk, Logger: log.With("service", "triggers"),
		Count: func(n int) { m.ServiceItems("triggers", "events", n) }}
	actions := &services.Actions{Store: db, Clock: clk, Logger: log.With("service", "actions"), Run: a.RunDeploymentAt,
		Notifier: &services.BlockNotifier{Store: db, Sender: &notify.Sender{RootCAs: cfg.NotifyRootCAs}, UIURL: publicURL},
		Changed:  a.OnDeploymentsChanged}
	return []*services.Loop{
		{Service: "triggers", Interval: or(cfg.AutomationsInterval, defaultAutomationsInterval), Run: triggers.Reactive,
			Clock: clk, Logger: log, Observe: observePass(m)},
		{Service: "proactive_triggers", Interval: or(cfg.AutomationsInterval, defaultAutomationsInterval) * 2, Run: triggers.Proactive,
			Clock: clk, Logger: log, Observe: observePass(m)},
		{Service: "actions", Interval: or(cfg.AutomationsInterval, defaultAutomationsInterval), Run: actions.Pass,
			Clock: clk, Logger: log, Observe: observePass(m)},
	}
}

// observePass reports a service's passes to the metrics.
func observePass(m *metrics.Metrics) func(services.Pass) {
	return func(p services.Pass) { m.ServicePass(p.Service, p.Started.Add(p.Duration), p.Duration, p.Err) }
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the base URL of the server.
func (s *Server) URL() string { return "http://" + s.Addr() }

// Engine names the database engine in use.
func (s *Server) Engine() string { return s.store.Engine() }

// Serve answers requests until Shutdown.
func (s *Server) Serve() error {
	err := s.http.Serve(s.ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops the background services, stops accepting requests, lets
// in-flight ones finish, closes the websockets after storing what they
// received, then commits queued writes and closes the database: no accepted
// write is lost.
func (s *Server) Shutdown(ctx context.Context) error {
	s.services.Stop()
	herr := s.http.Shutdown(ctx)
	s.cancel()
	s.api.WaitSockets()
	return errors.Join(herr, s.store.Close())
}

// observeRequests logs each request at debug level, and failures at warn,
// and counts it in the metrics by route pattern: the mux's, or the one a
// handler that routes further down named (metrics.SetRoute), never the path.
func observeRequests(log *slog.Logger, m *metrics.Metrics, mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		_, pattern := mux.Handler(r)
		ctx, inner := metrics.WithRoute(r.Context())
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		mux.ServeHTTP(rec, r.WithContext(ctx))
		took := time.Since(start)
		level := slog.LevelDebug
		if rec.status >= 500 {
			level = slog.LevelWarn
		}
		log.Log(r.Context(), level, "request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "duration", took)
		if route := inner(); route != "" {
			pattern = route
		}
		if pattern == "" {
			pattern = "unmatched"
		}
		m.Request(pattern, r.Method, rec.status, took)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// Unwrap lets http.ResponseController (and the websocket upgrade) reach the
// underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
