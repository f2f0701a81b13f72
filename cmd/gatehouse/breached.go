package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/protect/breached"
)

func (e *env) breachedCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "breached",
		Short: "Work with breached-password filters",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(e.stderr)
			cmd.Usage()
			return usageError{errors.New("missing subcommand")}
		},
	}
	var format string
	var bits uint8
	var tempDir string
	build := &cobra.Command{
		Use:   "build LIST FILTER",
		Short: "Turn a list of leaked passwords into a filter for --breached-filter",
		Long: "Read LIST (a file, or - for standard input) and write FILTER, a compact membership filter that\n" +
			"breached-password detection reads. LIST has one entry a line: a password (--format plaintext), or the\n" +
			"SHA-1 of one in hex, optionally followed by :count (--format sha1, the Pwned Passwords download).\n" +
			"Any size of list is built in bounded memory (about 32 MiB, plus sorted runs in --temp-dir). A password\n" +
			"not in the list is reported leaked with probability 2^-bits (17 bits: about 1 in 131,000).",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var f breached.Format
			switch format {
			case "plaintext":
				f = breached.Plaintext
			case "sha1":
				f = breached.SHA1Hex
			default:
				return usageError{fmt.Errorf("--format must be plaintext or sha1, not %q", format)}
			}
			if bits < 8 || bits > 40 {
				return usageError{fmt.Errorf("--bits must be between 8 and 40, not %d", bits)}
			}
			var in io.Reader = os.Stdin
			if args[0] != "-" {
				fh, err := os.Open(args[0])
				if err != nil {
					return fmt.Errorf("LIST: %w", err)
				}
				defer fh.Close()
				in = fh
			}
			out, err := os.OpenFile(args[1]+".tmp", os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
			if err != nil {
				return fmt.Errorf("FILTER: %w", err)
			}
			defer os.Remove(out.Name())
			start := time.Now()
			progress, done := e.breachedProgress(start)
			st, err := breached.Build(out, in, breached.BuildOptions{Format: f, Bits: bits, TempDir: tempDir, Progress: progress})
			done()
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			if err := os.Rename(out.Name(), args[1]); err != nil {
				return fmt.Errorf("FILTER: %w", err)
			}
			fmt.Fprintf(e.stdout, "Wrote %s: %d entries (%d lines read), %d bytes, %.1f bits an entry, false positives about 1 in %d, in %s.\n",
				args[1], st.Entries, st.Lines, st.Bytes, float64(8*st.Bytes)/float64(max(st.Entries, 1)), uint64(1)<<bits,
				time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	build.Flags().StringVar(&format, "format", "plaintext", "what each line of LIST is: plaintext or sha1")
	build.Flags().Uint8Var(&bits, "bits", breached.DefaultBits, "false-positive rate 2^-bits (8 to 40)")
	build.Flags().StringVar(&tempDir, "temp-dir", "", "where sorted runs are spilled (default: the system's temporary directory)")
	cmd.AddCommand(build)
	return cmd
}

// breachedProgress shows progress on standard error: one line rewritten in
// place on a terminal, plain lines otherwise. done ends the line.
func (e *env) breachedProgress(start time.Time) (progress func(breached.Progress), done func()) {
	tty := false
	if f, ok := e.stderr.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	done = func() {
		if tty {
			fmt.Fprintln(e.stderr)
		}
	}
	return func(p breached.Progress) {
		rate := float64(p.Done) / max(time.Since(start).Seconds(), 0.001)
		var line string
		switch p.Phase {
		case "read":
			line = fmt.Sprintf("read %d entries (%.1f MB, %.0f/s)", p.Done, float64(p.Bytes)/1e6, rate)
		default:
			pct, eta := 0.0, ""
			if p.Total > 0 {
				pct = 100 * float64(p.Done) / float64(p.Total)
				if rate > 0 && p.Done < p.Total {
					eta = fmt.Sprintf(", about %s left", (time.Duration(float64(p.Total-p.Done)/rate) * time.Second).Round(time.Second))
				}
			}
			line = fmt.Sprintf("encoded %d of %d entries (%.0f%%%s)", p.Done, p.Total, pct, eta)
		}
		if tty {
			fmt.Fprintf(e.stderr, "\r\033[K%s", line)
		} else {
			fmt.Fprintln(e.stderr, line)
		}
	}, done
}
