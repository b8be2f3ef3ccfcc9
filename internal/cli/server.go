package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/praetorhq/praetor/internal/server"
	"github.com/spf13/cobra"
)

func newServerCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "server", Short: "Run the Praetor server"}
	cmd.AddCommand(newServerStartCmd())
	return cmd
}

// defaultHome is $PRAETOR_HOME, else ~/.praetor.
func defaultHome() string {
	if h := os.Getenv("PRAETOR_HOME"); h != "" {
		return h
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".praetor")
	}
	return ".praetor"
}

func newServerStartCmd() *cobra.Command {
	var (
		cfg       server.Config
		anonymous bool
		metrics   bool
	)
	cmd := &cobra.Command{
		Use:   "start",
		Short: "Start the API server (embedded SQLite unless PRAETOR_DATABASE_URL is set)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Logger = newLogger()
			cfg.Metrics = &metrics
			if cmd.Flags().Changed("allow-anonymous") || os.Getenv("PRAETOR_ALLOW_ANONYMOUS") != "" {
				cfg.Anonymous = &anonymous
			}
			return runServer(cmd.Context(), cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Host, "host", envOr("PRAETOR_HOST", "127.0.0.1"), "address to listen on ($PRAETOR_HOST)")
	f.IntVar(&cfg.Port, "port", 4200, "port to listen on")
	f.StringVar(&cfg.Home, "home", defaultHome(), "data directory ($PRAETOR_HOME)")
	f.BoolVar(&anonymous, "allow-anonymous", envBool("PRAETOR_ALLOW_ANONYMOUS", false), "serve /api without a key to clients on this machine, on any address (default: only on loopback) ($PRAETOR_ALLOW_ANONYMOUS)")
	f.BoolVar(&cfg.SignUp, "allow-signup", envBool("PRAETOR_ALLOW_SIGNUP", true), "let anyone register a user ($PRAETOR_ALLOW_SIGNUP)")
	f.BoolVar(&metrics, "metrics", envBool("PRAETOR_METRICS", true), "serve Prometheus metrics at /metrics, unauthenticated ($PRAETOR_METRICS)")
	f.StringVar(&cfg.DatabaseURL, "database-url", os.Getenv("PRAETOR_DATABASE_URL"), "PostgreSQL URL; empty for embedded SQLite ($PRAETOR_DATABASE_URL)")
	f.DurationVar(&cfg.SchedulerInterval, "scheduler-interval", envDuration("PRAETOR_SCHEDULER_INTERVAL", 60*time.Second), "how often the scheduler makes deployments' runs ahead; a changed deployment gets its runs at once ($PRAETOR_SCHEDULER_INTERVAL)")
	f.DurationVar(&cfg.LateRunsInterval, "late-runs-interval", envDuration("PRAETOR_LATE_RUNS_INTERVAL", 5*time.Second), "how often the late-run marker passes ($PRAETOR_LATE_RUNS_INTERVAL)")
	f.DurationVar(&cfg.LateRunsAfter, "late-runs-after", envDuration("PRAETOR_LATE_RUNS_AFTER", 15*time.Second), "how long past its start a scheduled run becomes Late ($PRAETOR_LATE_RUNS_AFTER)")
	f.DurationVar(&cfg.ForemanInterval, "foreman-interval", envDuration("PRAETOR_FOREMAN_INTERVAL", 15*time.Second), "how often the foreman marks workers without heartbeats OFFLINE and unpolled pools, queues and deployments NOT_READY ($PRAETOR_FOREMAN_INTERVAL)")
	f.DurationVar(&cfg.UnresponsiveRunsAfter, "unresponsive-runs-after", envDuration("PRAETOR_UNRESPONSIVE_RUNS_AFTER", 5*time.Minute), "how long a running run of a worker that stopped heartbeating may send nothing before the server marks it crashed; 0 disables ($PRAETOR_UNRESPONSIVE_RUNS_AFTER)")
	f.StringVar(&cfg.SecretsKey, "secrets-key", os.Getenv("PRAETOR_SECRETS_KEY"), "key that seals block secrets at rest, base64 of 32 bytes; empty: the key in the home's secrets.key, made on first start ($PRAETOR_SECRETS_KEY)")
	f.StringVar(&cfg.SecretsOldKeys, "secrets-old-keys", os.Getenv("PRAETOR_SECRETS_OLD_KEYS"), "earlier secrets keys, comma-separated: block secrets they sealed are resealed with the current key at start ($PRAETOR_SECRETS_OLD_KEYS)")
	f.DurationVar(&cfg.LeaseReaperInterval, "lease-reaper-interval", envDuration("PRAETOR_LEASE_REAPER_INTERVAL", 15*time.Second), "how often concurrency leases that expired (their client died or stopped renewing) give their slots back ($PRAETOR_LEASE_REAPER_INTERVAL)")
	f.DurationVar(&cfg.MinLeaseDuration, "min-lease-duration", envDuration("PRAETOR_MIN_LEASE_DURATION", time.Minute), "the shortest concurrency lease a client may ask for (Prefect's bound is a minute) ($PRAETOR_MIN_LEASE_DURATION)")
	f.DurationVar(&cfg.ConcurrencySlotWait, "concurrency-slot-wait", envDuration("PRAETOR_CONCURRENCY_SLOT_WAIT", 30*time.Second), "how long a deployment's run that found the deployment's concurrency limit full waits (AwaitingConcurrencySlot) before it may try again ($PRAETOR_CONCURRENCY_SLOT_WAIT)")
	f.StringVar(&cfg.PublicURL, "public-url", os.Getenv("PRAETOR_PUBLIC_URL"), "URL users reach this server's UI at, for the links in notifications and invitations; empty: the address it listens on ($PRAETOR_PUBLIC_URL)")
	f.StringVar(&cfg.TrustedProxies, "trusted-proxies", os.Getenv("PRAETOR_TRUSTED_PROXIES"), "reverse proxies in front of the server, addresses or CIDR prefixes, comma-separated: their X-Forwarded-For names the client the sign-in limits and the audit log see; empty: none, the connection's address ($PRAETOR_TRUSTED_PROXIES)")
	f.StringVar(&cfg.IdentityProvidersFile, "identity-providers-file", os.Getenv("PRAETOR_IDENTITY_PROVIDERS_FILE"), "TOML file of the OpenID Connect and GitHub providers users may sign in with (docs/cloud.md); empty: none ($PRAETOR_IDENTITY_PROVIDERS_FILE)")
	f.DurationVar(&cfg.AutomationsInterval, "automations-interval", envDuration("PRAETOR_AUTOMATIONS_INTERVAL", time.Second), "how often automations look at new events and due actions; proactive triggers at twice it ($PRAETOR_AUTOMATIONS_INTERVAL)")
	f.StringVar(&cfg.SMTPURL, "smtp-url", os.Getenv("PRAETOR_SMTP_URL"), "SMTP server that mails invitations, smtp://user:password@host:587 (STARTTLS), smtps://… (TLS) or smtp+insecure://…; empty: invitation links are only shown to the inviter ($PRAETOR_SMTP_URL)")
	f.StringVar(&cfg.SMTPFrom, "smtp-from", os.Getenv("PRAETOR_SMTP_FROM"), "sender address of the server's mail; empty: the SMTP user name ($PRAETOR_SMTP_FROM)")
	f.DurationVar(&cfg.AuditRetention, "audit-retention", envDuration("PRAETOR_AUDIT_RETENTION", 365*24*time.Hour), "how long audit log entries are kept; older ones are deleted hourly ($PRAETOR_AUDIT_RETENTION)")
	f.StringVar(&cfg.SQLiteSynchronous, "sqlite-synchronous", envOr("PRAETOR_SQLITE_SYNCHRONOUS", "FULL"), "SQLite's synchronous mode: FULL keeps every acknowledged write across a power cut; NORMAL is faster but may lose the last ones ($PRAETOR_SQLITE_SYNCHRONOUS)")
	return cmd
}

func runServer(ctx context.Context, cfg server.Config) error {
	srv, err := server.Open(ctx, cfg)
	if err != nil {
		return err
	}
	cfg.Logger.Info("praetor server started", "url", srv.URL(), "api", srv.URL()+"/api", "database", srv.Engine())
	fmt.Fprintf(os.Stderr, "\nConfigure Prefect to use this server:\n\n    prefect config set PREFECT_API_URL=%s/api\n\n", srv.URL())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	cfg.Logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return <-errc
}
