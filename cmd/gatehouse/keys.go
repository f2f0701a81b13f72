package main

import (
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"
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
	rotate, flags := e.settingsCommand("rotate", "Make the next signing key current",
		"Make the next signing key of an algorithm (--alg: RS256, PS256 or ES256) current (it has been in the JWKS\n"+
			"all along, so APIs already trust it) and publish a new next key; the current key stays published as the\n"+
			"previous one until revoked. Running servers on the same database pick the change up at once on\n"+
			"PostgreSQL, within a second on SQLite. The same as POST /api/v2/keys/signing/rotate?alg=ALG.")
	alg := rotate.Flags().String("alg", "RS256", "the algorithm whose keys rotate: RS256, PS256 or ES256")
	rotate.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := e.load(flags)
		if err != nil {
			return usageError{err}
		}
		if !slices.Contains(keys.Algorithms, jose.SignatureAlgorithm(*alg)) {
			return usageError{fmt.Errorf("--alg: %q is not one of RS256, PS256, ES256", *alg)}
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
		k, err := m.RotateAlg(cmd.Context(), jose.SignatureAlgorithm(*alg))
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Signing key %s (%s) is now current.\n", k.KID, *alg)
		return nil
	}
	keysCmd.AddCommand(rotate)
	return keysCmd
}
