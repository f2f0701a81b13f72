// Package harness is the measuring code shared by gatehouse's load
// generator (bench/cmd/loadgen) and its Go benchmarks (package bench): it
// starts a gatehouse (in this process or as a separate binary), seeds a
// tenant through the Management API over plain HTTP, measures the machine's
// ceilings (one password verification, one RS256 signature, one durable
// SQLite write) and summarises latencies.
package harness

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// Recorder collects the outcomes of one class of requests. Each worker owns
// one (no locking on the hot path); Merge joins them afterwards.
type Recorder struct {
	// Latencies of successful (2xx) requests only: a refused request that
	// answers in microseconds would otherwise pull the percentiles down.
	Latencies []time.Duration
	Errors    map[string]int // by outcome key, e.g. "503 temporarily_unavailable"
}

// Add records one request.
func (r *Recorder) Add(res Result, took time.Duration) {
	if res.OK() {
		r.Latencies = append(r.Latencies, took)
		return
	}
	if r.Errors == nil {
		r.Errors = map[string]int{}
	}
	r.Errors[res.Key()]++
}

// Merge adds o's outcomes to r.
func (r *Recorder) Merge(o *Recorder) {
	r.Latencies = append(r.Latencies, o.Latencies...)
	for k, n := range o.Errors {
		if r.Errors == nil {
			r.Errors = map[string]int{}
		}
		r.Errors[k] += n
	}
}

// Summary is what a run of one class of requests came to.
type Summary struct {
	Requests int
	OK       int
	Errors   map[string]int
	Elapsed  time.Duration
	P50      time.Duration
	P90      time.Duration
	P99      time.Duration
	Max      time.Duration
	Mean     time.Duration
}

// Summarize computes the summary of r over elapsed wall time.
func (r *Recorder) Summarize(elapsed time.Duration) Summary {
	lat := slices.Clone(r.Latencies)
	slices.Sort(lat)
	s := Summary{OK: len(lat), Errors: maps.Clone(r.Errors), Elapsed: elapsed}
	s.Requests = s.OK
	for _, n := range r.Errors {
		s.Requests += n
	}
	if len(lat) == 0 {
		return s
	}
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	s.Mean = sum / time.Duration(len(lat))
	s.P50, s.P90, s.P99 = Percentile(lat, 0.50), Percentile(lat, 0.90), Percentile(lat, 0.99)
	s.Max = lat[len(lat)-1]
	return s
}

// Throughput is successful requests per second.
func (s Summary) Throughput() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.OK) / s.Elapsed.Seconds()
}

// ErrorCount is the number of failed requests.
func (s Summary) ErrorCount() int { return s.Requests - s.OK }

// ErrorsLine lists the error outcomes, most frequent first.
func (s Summary) ErrorsLine() string {
	keys := slices.Collect(maps.Keys(s.Errors))
	slices.SortFunc(keys, func(a, b string) int {
		if s.Errors[a] != s.Errors[b] {
			return s.Errors[b] - s.Errors[a]
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %d", k, s.Errors[k])
	}
	return strings.Join(parts, ", ")
}

// Percentile returns the nearest-rank p-quantile (0 < p <= 1) of sorted.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// Median returns the median of samples (which it sorts).
func Median(samples []time.Duration) time.Duration {
	slices.Sort(samples)
	return Percentile(samples, 0.5)
}
