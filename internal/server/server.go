// Package server wires the store, the event pipeline and the HTTP surfaces
// into one running Praetor server.
package server

import (
	"context"
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
	"github.com/praetorhq/praetor/internal/events"
	"github.com/praetorhq/praetor/internal/store"
	"github.com/praetorhq/praetor/internal/store/sqlstore"
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
	// SQLiteSynchronous is SQLite's synchronous mode: FULL (when empty) or
	// NORMAL, which trades the last commits before a power cut for speed.
	SQLiteSynchronous string
	// Anonymous serves the plain /api routes without a key. Nil means: only
	// when bound to a loopback address.
	Anonymous *bool
	// SignUp lets anyone register a user and account.
	SignUp bool
	Logger *slog.Logger
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

// Server is a running Praetor server.
type Server struct {
	cfg    Config
	log    *slog.Logger
	store  *sqlstore.DB
	api    *api.API
	http   *http.Server
	ln     net.Listener
	cancel context.CancelFunc // cancels every request context, websockets included
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
	var opts []sqlstore.Option
	if cfg.SQLiteSynchronous != "" {
		opts = append(opts, sqlstore.SQLiteSynchronous(cfg.SQLiteSynchronous))
	}
	db, err := sqlstore.Open(ctx, dsn, log, opts...)
	if err != nil {
		return nil, err
	}
	def, err := db.DefaultWorkspace(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	// One publisher for every stored event; the in-process bus until
	// replicas need a cross-process one.
	bus := events.NewBus()
	var publish store.Publisher = bus
	db.OnEvents(publish)
	ingest := events.NewIngester(db, publish, bus, log)
	authn := auth.NewAuthenticator(db, log)
	a := api.New(api.Config{Store: db, Ingest: ingest, Authn: authn, Default: def,
		Anonymous: cfg.anonymous(), SignUp: cfg.SignUp, Logger: log})
	pages, err := ui.New(ui.Config{Store: db, Authn: authn, SignUp: cfg.SignUp, Anonymous: cfg.anonymous(), Logger: log})
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

	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)))
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("listen: %w", err)
	}
	base, cancel := context.WithCancel(context.Background())
	s := &Server{cfg: cfg, log: log, store: db, api: a, ln: ln, cancel: cancel}
	s.http = &http.Server{
		Handler:           logRequests(log, mux),
		ReadHeaderTimeout: timeouts.readHeader,
		ReadTimeout:       timeouts.read,
		WriteTimeout:      timeouts.write,
		IdleTimeout:       timeouts.idle,
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	return s, nil
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

// Shutdown stops accepting requests, lets in-flight ones finish, closes the
// websockets after storing what they received, then commits queued writes
// and closes the database: no accepted write is lost.
func (s *Server) Shutdown(ctx context.Context) error {
	herr := s.http.Shutdown(ctx)
	s.cancel()
	s.api.WaitSockets()
	return errors.Join(herr, s.store.Close())
}

// logRequests logs each request at debug level, and failures at info.
func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		level := slog.LevelDebug
		if rec.status >= 500 {
			level = slog.LevelWarn
		}
		log.Log(r.Context(), level, "request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "duration", time.Since(start))
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
