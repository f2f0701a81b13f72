package database

import (
	"fmt"
	"testing"
	"time"
)

func TestRefusalTimeIsTheSlowestClassUpperQuartile(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	mixed := map[string][]time.Duration{
		"argon2id":  {20 * ms, 20 * ms, 20 * ms, 20 * ms},
		"bcrypt$10": {48 * ms, 49 * ms, 50 * ms, 52 * ms},
		"bcrypt$4":  {1 * ms},
	}
	tests := []struct {
		name    string
		observe map[string][]time.Duration
		spent   time.Duration
		want    time.Duration
	}{
		{"nothing learned yet", nil, 20 * ms, 20 * ms},
		{"a faster class is padded to the slowest", mixed, 20 * ms, 52 * ms},
		{"the cheapest class too", mixed, 1 * ms, 52 * ms},
		{"the slowest class only up to the floor", mixed, 49 * ms, 52 * ms},
		{"a refusal slower than the floor is not cut", mixed, 80 * ms, 80 * ms},
		{"one outlier does not move it", map[string][]time.Duration{
			"argon2id": {20 * ms, 20 * ms, 900 * ms, 20 * ms, 20 * ms, 20 * ms, 20 * ms, 20 * ms}}, 10 * ms, 20 * ms},
		{"never padded past the cap", map[string][]time.Duration{"argon2id$m=1048576": {time.Minute}}, 20 * ms, maxRefusalAt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b costBook
			for class, ds := range tt.observe {
				for _, d := range ds {
					b.observe(class, d)
				}
			}
			if got := b.refusalTime(tt.spent); got != tt.want {
				t.Errorf("refusalTime = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCostBookForgetsOldSamplesAndBoundsClasses(t *testing.T) {
	t.Parallel()
	var b costBook
	for range costWindow {
		b.observe("bcrypt$10", 90*time.Millisecond) // a slow start, e.g. under load
	}
	for range costWindow {
		b.observe("bcrypt$10", 50*time.Millisecond)
	}
	if got := b.refusalTime(0); got != 50*time.Millisecond {
		t.Errorf("floor %v after a full window of 50ms, want 50ms", got)
	}
	for i := range 2 * maxClasses {
		b.observe(fmt.Sprintf("class-%d", i), time.Millisecond)
	}
	if n := len(b.classes); n != maxClasses {
		t.Errorf("%d classes kept, want the cap %d", n, maxClasses)
	}
}
