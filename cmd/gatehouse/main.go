// Command gatehouse is a self-hosted authorization server that speaks
// Auth0's Authentication and Management APIs.
//
//	gatehouse serve          run the server (embedded SQLite by default)
//	gatehouse bootstrap      create Management API credentials and print them
//	gatehouse keys rotate    make the next signing key current
//	gatehouse backup FILE    copy a SQLite database while it serves
//	gatehouse users import   import users from an Auth0 bulk file (users export writes one)
//	gatehouse config check   validate the configuration and show where each setting comes from
//	gatehouse breached build turn a list of leaked passwords into a filter
//	gatehouse version        print the version
//
// Every command takes --help.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gatehouse:", err)
		var u usageError
		if errors.As(err, &u) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError is a mistake on the command line (exit status 2), as opposed
// to a failure while running (exit status 1).
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

// env is what a command needs from its surroundings, injected so tests run
// commands in process.
type env struct {
	getenv         func(string) string
	stdout, stderr io.Writer
}

// run executes the command line args and returns its error; help and
// version requests return nil.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	e := &env{getenv: getenv, stdout: stdout, stderr: stderr}
	root := e.rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	_, err := root.ExecuteContextC(ctx)
	if err != nil && !errors.As(err, new(usageError)) && isUsageMessage(err) {
		err = usageError{err}
	}
	return err
}

// isUsageMessage recognises cobra's own argument errors.
func isUsageMessage(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "accepts ") ||
		strings.HasPrefix(msg, "requires ") || strings.Contains(msg, "unknown flag") || strings.Contains(msg, "unknown shorthand")
}

func (e *env) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "gatehouse",
		Short:         "A self-hosted authorization server that speaks Auth0's APIs",
		Long:          "gatehouse is a self-hosted authorization server that speaks Auth0's Authentication and Management APIs.",
		Version:       buildVersion(),
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(e.stderr)
			cmd.Usage()
			return usageError{errors.New("missing command")}
		},
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.SetVersionTemplate("gatehouse {{.Version}}\n")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w (see gatehouse %s --help)", err, cmdPath(cmd))}
	})
	root.AddCommand(e.serveCommand(), e.bootstrapCommand(), e.keysCommand(), e.backupCommand(), e.usersCommand(), e.configCommand(), e.breachedCommand(), e.versionCommand())
	return root
}

// cmdPath is the command's path without the program name.
func cmdPath(cmd *cobra.Command) string {
	return strings.TrimPrefix(strings.TrimPrefix(cmd.CommandPath(), "gatehouse"), " ")
}

// settingsCommand makes a command that reads the common settings: every
// flag with its GATEHOUSE_* twin, and the environment-only ones listed in
// its help.
func (e *env) settingsCommand(use, short, long string) (*cobra.Command, *config.Flags) {
	cmd := &cobra.Command{Use: use, Short: short, Long: long + "\n\n" + environmentHelp(), Args: cobra.NoArgs}
	flags := config.Register(cmd.Flags())
	cmd.Flags().SortFlags = false
	return cmd, flags
}

// environmentHelp lists the settings that come only from the environment.
func environmentHelp() string {
	var b strings.Builder
	b.WriteString("Each flag has an environment twin (shown in its help) and a key of the same name in the --config file;\n")
	b.WriteString("a flag wins over the environment, which wins over the file. Only from the environment:\n")
	for _, s := range config.Settings {
		if s.Name == "" {
			fmt.Fprintf(&b, "  %s\n      %s\n", s.Env, s.Usage)
		}
	}
	b.WriteString("  " + config.ConfigFileEnv + "\n      the configuration file, as --config")
	return b.String()
}

func (e *env) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version of this binary",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(e.stdout, "gatehouse", buildVersion())
			return nil
		},
	}
}

// load reads the settings of cmd, naming the command in its errors.
func (e *env) load(flags *config.Flags) (config.Config, error) {
	return flags.Load(e.getenv)
}

// requireExistingDatabase refuses to work on a SQLite file that does not
// exist yet: commands other than serve change an existing tenant, and a
// missing file means the wrong directory or a typo, not a wish for a new
// database.
func requireExistingDatabase(cfg config.Config, createFlag string) error {
	if cfg.IsPostgres() {
		return nil
	}
	path := cfg.SQLitePath()
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		msg := fmt.Sprintf("--database %s: no such database file; point --database (or GATEHOUSE_DATABASE) at the file gatehouse serve uses", path)
		if createFlag != "" {
			msg += ", or pass " + createFlag + " to make a new one"
		}
		return errors.New(msg)
	} else if err != nil {
		return fmt.Errorf("--database %s: %w", path, err)
	}
	return nil
}
