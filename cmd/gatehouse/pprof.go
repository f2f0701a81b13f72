//go:build pprof

// A binary built with -tags pprof serves Go's profiler on
// GATEHOUSE_PPROF_ADDR (a loopback address), for measuring the server
// under load (BENCHMARKS.md). Release builds leave it out.

package main

import (
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof on http.DefaultServeMux
	"os"
)

func init() {
	addr := os.Getenv("GATEHOUSE_PPROF_ADDR")
	if addr == "" {
		return
	}
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		fmt.Fprintf(os.Stderr, "GATEHOUSE_PPROF_ADDR %q: want a loopback host:port; profiler not started\n", addr)
		return
	}
	go func() {
		if err := http.ListenAndServe(addr, nil); err != nil {
			fmt.Fprintf(os.Stderr, "profiler on %s: %v\n", addr, err)
		}
	}()
}
