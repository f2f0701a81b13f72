package main

import (
	"fmt"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/internal/server"
)

func (e *env) keysCommand() *cobra.Command {
	keysCmd := &cobra.Command{
		Use:   "keys",
		Short: "Manage the tenant's signing keys",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(e.stderr)
			cmd.Usage()
			return usageError{fmt.Errorf("missing subcommand (see gatehouse keys --help)")}
		},
	}
	rotate, flags := e.settingsCommand("rotate", "Make the next RS256 signing key current",
		"Make the next RS256 signing key current (it has been in the JWKS all along, so APIs already trust it); the\n"+
			"current key stays published as the previous one. Running servers on the same database pick the change up\n"+
			"within a second. The same as POST /api/v2/keys/signing/rotate.")
	rotate.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := e.load(flags)
		if err != nil {
			return usageError{err}
		}
		if err := requireExistingDatabase(cfg, ""); err != nil {
			return err
		}
		st, err := server.OpenStore(cmd.Context(), cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		u, _ := url.Parse(cfg.Issuer)
		m := keys.NewManager(st, u.Hostname(), time.Now)
		if err := m.Init(cmd.Context()); err != nil {
			return err
		}
		k, err := m.Rotate(cmd.Context())
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Signing key %s is now current.\n", k.KID)
		return nil
	}
	keysCmd.AddCommand(rotate)
	return keysCmd
}
