package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/ids"
	"github.com/gatehouse/gatehouse/internal/server"
)

func (e *env) bootstrapCommand() *cobra.Command {
	cmd, flags := e.settingsCommand("bootstrap", "Create an application that may call the Management API and print its credentials",
		"Create a machine-to-machine application with every Management API scope and print its client_id and\n"+
			"client_secret once. Run it against the database gatehouse serve uses, with the same --issuer (or --addr):\n"+
			"without either, it takes the issuer the database was served under.")
	create := cmd.Flags().Bool("create", false, "make a new SQLite database when --database names no existing file")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := e.load(flags)
		if err != nil {
			return usageError{err}
		}
		if !*create {
			if err := requireExistingDatabase(cfg, "--create"); err != nil {
				return err
			}
		}
		return e.bootstrap(cmd.Context(), cfg)
	}
	return cmd
}

func (e *env) bootstrap(ctx context.Context, cfg config.Config) error {
	issuer, err := e.bootstrapIssuer(ctx, cfg)
	if err != nil {
		return err
	}
	cfg.Issuer = issuer
	id, secret := ids.Alnum(32), ids.Alnum(64)
	cfg.BootstrapClientID, cfg.BootstrapClientSecret = id, secret
	app, err := server.Open(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer app.Close()
	fmt.Fprintf(e.stdout, "Management API application created.\n  client_id:     %s\n  client_secret: %s\n  audience:      %s%s\n",
		id, secret, cfg.Issuer, mgmtPath)
	return nil
}

// bootstrapIssuer chooses the issuer whose Management API the new
// application gets, so bootstrap never makes a second Management API that
// the running server does not serve: the configured issuer when it is
// explicit and the database agrees (or is new), the database's own when
// none is given.
func (e *env) bootstrapIssuer(ctx context.Context, cfg config.Config) (string, error) {
	st, err := server.OpenStore(ctx, cfg)
	if err != nil {
		return "", err
	}
	defer st.Close()
	state, err := readManagementState(ctx, st)
	if err != nil {
		return "", err
	}
	if len(state.order) == 0 || state.has(cfg.Issuer) {
		return cfg.Issuer, nil
	}
	if cfg.IssuerExplicit {
		return "", fmt.Errorf("--issuer %s: this database is served as %s, so a Management API application for %s "+
			"could not be used; run bootstrap with the --issuer (or --addr) gatehouse serve uses, "+
			"or start gatehouse serve with --issuer %s first if the issuer really changed",
			cfg.Issuer, strings.Join(state.order, ", "), cfg.Issuer, cfg.Issuer)
	}
	if len(state.order) > 1 {
		return "", fmt.Errorf("this database has Management APIs for several issuers (%s): choose one with --issuer",
			strings.Join(state.order, ", "))
	}
	fmt.Fprintf(e.stderr, "Using the issuer this database is served as: %s (choose another with --issuer)\n", state.order[0])
	return state.order[0], nil
}
