package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/bench/harness"
	"github.com/gatehouse/gatehouse/internal/ids"
)

// idleSettle is how long a just-started server is left alone before its
// idle RSS is read.
const idleSettle = 250 * time.Millisecond

// measureStartup starts the binary once to create a database, then
// o.startup times on that existing database, timing exec to the first 200
// from /healthz and reading the idle RSS of each start.
func measureStartup(ctx context.Context, o options, dir string, w io.Writer) error {
	cfg := harness.ServerConfig{
		Database: filepath.Join(dir, "gatehouse.db"), PasswordHash: o.hash, HashConcurrency: o.hashConc,
		// The same credentials every time, as an operator's restarts have.
		BootstrapID: ids.Alnum(32), BootstrapSecret: ids.Alnum(64),
	}
	logPath := filepath.Join(dir, "gatehouse.log")
	first, err := harness.Spawn(ctx, o.gatehouse, logPath, cfg)
	if err != nil {
		return err
	}
	if err := first.Stop(); err != nil {
		return err
	}
	fmt.Fprintf(w, "gatehouse loadgen: start-up of %s (%s), %d starts on an existing database\n", o.gatehouse, o.hash, o.startup)
	fmt.Fprintf(w, "  first start (creates the database and signing keys): ready in %s\n", fmtDur(first.Ready))
	ready := make([]time.Duration, 0, o.startup)
	rss := make([]int64, 0, o.startup)
	for range o.startup {
		p, err := harness.Spawn(ctx, o.gatehouse, logPath, cfg)
		if err != nil {
			return err
		}
		ready = append(ready, p.Ready)
		time.Sleep(idleSettle)
		m, err := harness.ReadMemory(p.PID)
		if stopErr := p.Stop(); err == nil {
			err = stopErr
		}
		if err != nil {
			return err
		}
		rss = append(rss, m.RSS)
	}
	slices.Sort(ready)
	med := harness.Median(ready)
	fmt.Fprintf(w, "  start-up to ready: median %s, min %s, max %s  [target < 200ms: %s]\n",
		fmtDur(med), fmtDur(ready[0]), fmtDur(ready[len(ready)-1]), verdict(true, med < 200*time.Millisecond))
	idle := medianInt64(rss)
	fmt.Fprintf(w, "  idle RSS %s after start: median %s, max %s  [target <= 30 MiB: %s]\n",
		idleSettle, harness.MiB(idle), harness.MiB(slices.Max(rss)), verdict(true, idle <= 30<<20))
	return nil
}
