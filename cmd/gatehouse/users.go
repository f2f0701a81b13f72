package main

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/jobs"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/tenant"
)

func (e *env) usersCommand() *cobra.Command {
	usersCmd := &cobra.Command{
		Use:   "users",
		Short: "Import and export a database connection's users (Auth0's bulk format)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(e.stderr)
			cmd.Usage()
			return usageError{errors.New("missing subcommand (see gatehouse users --help)")}
		},
	}
	usersCmd.AddCommand(e.usersImportCommand(), e.usersExportCommand())
	return usersCmd
}

// openJobs opens the database and the jobs service over it, and finds the
// connection by name.
func (e *env) openJobs(cmd *cobra.Command, flags *config.Flags, connection string) (*jobs.Service, *store.Connection, func(), error) {
	cfg, err := e.load(flags)
	if err != nil {
		return nil, nil, nil, usageError{err}
	}
	if connection == "" {
		return nil, nil, nil, usageError{errors.New("--connection is required")}
	}
	if err := requireExistingDatabase(cfg, ""); err != nil {
		return nil, nil, nil, err
	}
	st, err := server.OpenStore(cmd.Context(), cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	conn, err := st.ConnectionByName(cmd.Context(), connection)
	if errors.Is(err, store.ErrNotFound) {
		st.Close()
		return nil, nil, nil, fmt.Errorf("--connection %s: no such connection", connection)
	}
	if err != nil {
		st.Close()
		return nil, nil, nil, err
	}
	svc := &jobs.Service{Store: st, Tenant: &tenant.Service{Store: st}}
	return svc, conn, func() { st.Close() }, nil
}

func (e *env) usersImportCommand() *cobra.Command {
	cmd, flags := e.settingsCommand("import --connection NAME FILE", "Import users from an Auth0 bulk import file",
		"Import the users in FILE (Auth0's bulk import format: a JSON array of users, or one JSON user per line as\n"+
			"gatehouse users export writes it) into the database connection NAME, working on the database directly\n"+
			"(a running server sees the users at once). Passwords come with their hashes (password_hash, or\n"+
			"custom_password_hash in any algorithm Auth0 imports); each user's hash becomes the native one at their\n"+
			"first login. A bad row is reported with its index and reason and the others import. The run is recorded\n"+
			"as a job (GET /api/v2/jobs/{id} and /errors show it). Shows a progress bar on a terminal, plain lines\n"+
			"otherwise, and a summary at the end; exit status 1 if any row failed.")
	cmd.Args = cobra.ExactArgs(1)
	var connection string
	var upsert bool
	cmd.Flags().StringVar(&connection, "connection", "", "the database connection to import into (its name)")
	cmd.Flags().BoolVar(&upsert, "upsert", false, "update users that exist (the fields Auth0's upsert changes) instead of failing their rows")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		svc, conn, closeStore, err := e.openJobs(cmd, flags, connection)
		if err != nil {
			return err
		}
		defer closeStore()
		f, err := os.Open(args[0])
		if err != nil {
			return fmt.Errorf("users file: %w", err)
		}
		defer f.Close()
		var size int64
		if fi, err := f.Stat(); err == nil {
			size = fi.Size()
		}
		job, target, err := svc.NewImportJob(cmd.Context(), jobs.ImportRequest{ConnectionID: conn.ID, Upsert: upsert})
		if err != nil {
			return err
		}
		bar := newProgress(e.stderr, "rows")
		err = svc.RunImport(cmd.Context(), job, target, f, func(p jobs.Progress) {
			frac := 0.0
			if size > 0 {
				frac = float64(p.BytesRead) / float64(size)
			}
			bar.update(p.Summary.Total, frac)
		})
		bar.done()
		s := job.Summary
		fmt.Fprintf(e.stdout, "%s: %d rows, %d inserted, %d updated, %d failed (job %s, %s)\n",
			args[0], s.Total, s.Inserted, s.Updated, s.Failed, job.ID, job.Status)
		if job.Reason != "" {
			fmt.Fprintf(e.stdout, "  stopped: %s\n", job.Reason)
		}
		if s.Failed > 0 {
			errs, lerr := svc.Store.ListJobErrors(cmd.Context(), job.ID, 20)
			if lerr == nil {
				for _, je := range errs {
					for _, d := range je.Errors {
						where := ""
						if d.Path != "" {
							where = " (" + d.Path + ")"
						}
						fmt.Fprintf(e.stdout, "  row %d: %s%s: %s\n", je.Index, d.Code, where, d.Message)
					}
				}
				if s.Failed > len(errs) {
					fmt.Fprintf(e.stdout, "  ... %d more failed rows: GET /api/v2/jobs/%s/errors\n", s.Failed-len(errs), job.ID)
				}
			}
		}
		if err != nil {
			return err
		}
		if s.Failed > 0 {
			return fmt.Errorf("%d of %d rows failed", s.Failed, s.Total)
		}
		return nil
	}
	return cmd
}

func (e *env) usersExportCommand() *cobra.Command {
	cmd, flags := e.settingsCommand("export --connection NAME FILE", "Export users with their password hashes",
		"Write the users of the database connection NAME to FILE (which must not exist; readable only by its owner),\n"+
			"one JSON user per line in Auth0's import format, each with its password hash as custom_password_hash,\n"+
			"so that gatehouse users import (or Auth0's bulk import) moves them with their passwords. --format csv\n"+
			"writes CSV instead; a FILE ending in .gz is gzipped. Works on the database directly.")
	cmd.Args = cobra.ExactArgs(1)
	var connection, format, fields string
	cmd.Flags().StringVar(&connection, "connection", "", "the database connection to export (its name)")
	cmd.Flags().StringVar(&format, "format", "json", "json (one user per line) or csv")
	cmd.Flags().StringVar(&fields, "fields", "", "comma-separated user fields (default: every field the import takes, with the hash)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if format != "json" && format != "csv" {
			return usageError{fmt.Errorf("--format %q: want json or csv", format)}
		}
		req := jobs.ExportRequest{Format: format, Fields: jobs.ImportableFields}
		if fields != "" {
			req.Fields = nil
			for f := range strings.SplitSeq(fields, ",") {
				req.Fields = append(req.Fields, jobs.ExportField{Name: strings.TrimSpace(f)})
			}
			if err := jobs.CheckExportFields(req.Fields); err != nil {
				return usageError{fmt.Errorf("--fields: %w", err)}
			}
		}
		svc, conn, closeStore, err := e.openJobs(cmd, flags, connection)
		if err != nil {
			return err
		}
		defer closeStore()
		_, total, err := svc.Store.ListUsers(cmd.Context(), store.UserQuery{Connection: conn.Name}, store.Page{PerPage: 1})
		if err != nil {
			return err
		}
		f, err := os.OpenFile(args[0], os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("export FILE: %w", err)
		}
		ok := false
		defer func() {
			if !ok {
				f.Close()
				os.Remove(args[0])
			}
		}()
		var w io.Writer = f
		var zw *gzip.Writer
		if strings.HasSuffix(args[0], ".gz") {
			zw = gzip.NewWriter(f)
			w = zw
		}
		bar := newProgress(e.stderr, "users")
		n, err := svc.WriteExport(cmd.Context(), conn.ID, req, w, func(n int) {
			bar.update(n, float64(n)/float64(max(total, 1)))
		})
		bar.done()
		if err == nil && zw != nil {
			err = zw.Close()
		}
		if err == nil {
			err = f.Close()
		}
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		ok = true
		fmt.Fprintf(e.stdout, "Exported %d users of %s to %s.\n", n, conn.Name, args[0])
		return nil
	}
	return cmd
}

// progress shows how far a long run has come: on a terminal a bar with
// the count, the rate and the time left, redrawn in place at most ten
// times a second; otherwise a plain line every five seconds.
type progress struct {
	w        io.Writer
	unit     string
	tty      bool
	start    time.Time
	last     time.Time
	n        int
	frac     float64
	interval time.Duration
}

func newProgress(w io.Writer, unit string) *progress {
	p := &progress{w: w, unit: unit, start: time.Now(), interval: 5 * time.Second}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty, p.interval = true, 100*time.Millisecond
	}
	return p
}

func (p *progress) update(n int, frac float64) {
	p.n, p.frac = n, min(max(frac, 0), 1)
	if time.Since(p.last) < p.interval {
		return
	}
	p.last = time.Now()
	p.draw()
}

func (p *progress) line() string {
	elapsed := time.Since(p.start)
	rate := float64(p.n) / max(elapsed.Seconds(), 0.001)
	eta := "--:--"
	if p.frac > 0 && p.frac < 1 {
		left := time.Duration(float64(elapsed) * (1 - p.frac) / p.frac).Round(time.Second)
		eta = fmt.Sprintf("%d:%02d", int(left.Minutes()), int(left.Seconds())%60)
	} else if p.frac >= 1 {
		eta = "0:00"
	}
	return fmt.Sprintf("%d %s  %.0f/s  %3.0f%%  ETA %s", p.n, p.unit, rate, 100*p.frac, eta)
}

func (p *progress) draw() {
	if !p.tty {
		fmt.Fprintln(p.w, p.line())
		return
	}
	const width = 30
	filled := int(p.frac * width)
	fmt.Fprintf(p.w, "\r[%s%s] %s\x1b[K", strings.Repeat("#", filled), strings.Repeat("-", width-filled), p.line())
}

// done draws the final state and ends the bar's line.
func (p *progress) done() {
	if p.tty {
		p.draw()
		fmt.Fprintln(p.w)
	} else if p.n > 0 {
		fmt.Fprintln(p.w, p.line())
	}
}
