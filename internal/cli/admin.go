package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store/sqlstore"
	"github.com/praetorhq/praetor/internal/tenancy"
	"github.com/spf13/cobra"
)

// newAdminCmd holds commands that bootstrap a server without the UI. They
// work on the database directly, so they take the server's --home and
// --database-url.
func newAdminCmd() *cobra.Command {
	var home, databaseURL string
	cmd := &cobra.Command{Use: "admin", Short: "Administer users, workspaces and API keys directly in the database"}
	pf := cmd.PersistentFlags()
	pf.StringVar(&home, "home", defaultHome(), "data directory ($PRAETOR_HOME)")
	pf.StringVar(&databaseURL, "database-url", os.Getenv("PRAETOR_DATABASE_URL"), "PostgreSQL URL; empty for embedded SQLite ($PRAETOR_DATABASE_URL)")
	open := func(ctx context.Context) (*sqlstore.DB, error) {
		dsn := databaseURL
		if dsn == "" {
			dsn = filepath.Join(home, "praetor.db")
		}
		return sqlstore.Open(ctx, dsn, newLogger())
	}
	cmd.AddCommand(newAdminUserCmd(open), newAdminWorkspaceCmd(open), newAdminAPIKeyCmd(open))
	return cmd
}

type opener func(ctx context.Context) (*sqlstore.DB, error)

// withStore opens the database for one command and closes it after.
func withStore(open opener, fn func(ctx context.Context, db *sqlstore.DB) error) func(cmd *cobra.Command, args []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		db, err := open(cmd.Context())
		if err != nil {
			return err
		}
		defer db.Close()
		return fn(cmd.Context(), db)
	}
}

func newAdminUserCmd(open opener) *cobra.Command {
	user := &cobra.Command{Use: "user", Short: "Manage users"}
	var in tenancy.SignUp
	var passwordStdin bool
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a user and the account they own",
		Args:  cobra.NoArgs,
		RunE: withStore(open, func(ctx context.Context, db *sqlstore.DB) error {
			if passwordStdin {
				pw, err := readLine(os.Stdin)
				if err != nil {
					return err
				}
				in.Password = pw
			}
			u, acct, err := tenancy.RegisterUser(ctx, db, in)
			if err != nil {
				return err
			}
			fmt.Printf("Created user %s (%s) owning account %q (%s).\n", u.Email, u.ID, acct.Handle, acct.ID)
			return nil
		}),
	}
	f := create.Flags()
	f.StringVar(&in.Email, "email", "", "email address (required)")
	f.StringVar(&in.Password, "password", "", "password (prefer --password-stdin)")
	f.BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input")
	f.StringVar(&in.Handle, "handle", "", "user handle (default: from the email)")
	f.StringVar(&in.DisplayName, "name", "", "display name")
	f.StringVar(&in.AccountHandle, "account", "", "handle of the user's account (default: the user handle)")
	create.MarkFlagRequired("email")
	user.AddCommand(create)
	return user
}

func readLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func newAdminWorkspaceCmd(open opener) *cobra.Command {
	ws := &cobra.Command{Use: "workspace", Short: "Manage workspaces"}
	var (
		account, owner string
		in             tenancy.WorkspaceInput
	)
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a workspace in an account, owned by one of its owners",
		Args:  cobra.NoArgs,
		RunE: withStore(open, func(ctx context.Context, db *sqlstore.DB) error {
			acct, err := db.GetAccountByHandle(ctx, account)
			if err != nil {
				return err
			}
			u, _, err := db.GetUserByEmail(ctx, owner)
			if err != nil {
				return err
			}
			w, err := tenancy.CreateWorkspace(ctx, db, u.ID, acct.ID, in)
			if err != nil {
				return err
			}
			fmt.Printf("Created workspace %s/%s.\n", acct.Handle, w.Handle)
			fmt.Printf("PREFECT_API_URL path: /api/accounts/%s/workspaces/%s\n", acct.ID, w.ID)
			return nil
		}),
	}
	f := create.Flags()
	f.StringVar(&account, "account", "", "account handle (required)")
	f.StringVar(&owner, "owner", "", "email of an owner or admin of the account (required)")
	f.StringVar(&in.Name, "name", "", "workspace name (required)")
	f.StringVar(&in.Handle, "handle", "", "workspace handle (default: from the name)")
	f.StringVar(&in.Description, "description", "", "description")
	for _, name := range []string{"account", "owner", "name"} {
		create.MarkFlagRequired(name)
	}
	ws.AddCommand(create)
	return ws
}

func newAdminAPIKeyCmd(open opener) *cobra.Command {
	key := &cobra.Command{Use: "api-key", Short: "Manage API keys"}
	var (
		email, name string
		expiresIn   time.Duration
	)
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an API key for a user and print it (once)",
		Args:  cobra.NoArgs,
		RunE: withStore(open, func(ctx context.Context, db *sqlstore.DB) error {
			u, _, err := db.GetUserByEmail(ctx, email)
			if err != nil {
				return err
			}
			var expires *model.Time
			if expiresIn > 0 {
				expires = model.At(time.Now().Add(expiresIn)).Ptr()
			}
			k, err := tenancy.CreateAPIKey(ctx, db, u.ID, name, expires, nil)
			if err != nil {
				return err
			}
			// The key alone on stdout, so scripts can capture it.
			fmt.Println(k.Key)
			fmt.Fprintf(os.Stderr, "Created API key %q (%s) for %s. It is shown only now.\n", k.Name, k.Prefix, u.Email)
			return nil
		}),
	}
	f := create.Flags()
	f.StringVar(&email, "user", "", "email of the key's owner (required)")
	f.StringVar(&name, "name", "", "key name (required)")
	f.DurationVar(&expiresIn, "expires-in", 0, "lifetime, such as 720h; 0 never expires")
	create.MarkFlagRequired("user")
	create.MarkFlagRequired("name")
	key.AddCommand(create)
	return key
}
