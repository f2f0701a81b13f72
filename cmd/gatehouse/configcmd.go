package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/config"
)

func (e *env) configCommand() *cobra.Command {
	configCmd := &cobra.Command{
		Use:   "config",
		Short: "Inspect the configuration",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(e.stderr)
			cmd.Usage()
			return usageError{fmt.Errorf("missing subcommand (see gatehouse config --help)")}
		},
	}
	check, flags := e.settingsCommand("check", "Validate the configuration and show where each setting comes from",
		"Read the flags, the environment and the --config file as gatehouse serve would, report the first problem, or\n"+
			"print every setting with its value and source (flag, env, file or default). Secrets are never printed.\n"+
			"It changes nothing: no database is opened or created.")
	check.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := e.load(flags)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "SETTING\tVALUE\tSOURCE")
		for _, s := range config.Settings {
			name := "--" + s.Name
			if s.Name == "" {
				name = s.Env
			}
			fmt.Fprintf(w, "%s\t%s\t%s\n", name, cfg.Display(s), cfg.Sources[s.Env])
		}
		w.Flush()
		if cfg.File != "" {
			fmt.Fprintf(e.stdout, "configuration file: %s\n", cfg.File)
		}
		fmt.Fprintln(e.stdout, "configuration ok")
		return nil
	}
	configCmd.AddCommand(check)
	return configCmd
}
