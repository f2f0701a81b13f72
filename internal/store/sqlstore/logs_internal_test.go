package sqlstore

import (
	"testing"
	"time"
)

func TestNextLogID(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 2, 6, 7, 8, 9_123_456, time.UTC)
	cases := []struct {
		name, last, want string
	}{
		{"first id", "", "90020261202060708009123000000"},
		{"later clock: the sequence starts again", "90020261202060708009122000005", "90020261202060708009123000000"},
		{"same microsecond: the sequence moves on", "90020261202060708009123000005", "90020261202060708009123000006"},
		{"a clock behind the last id keeps its time", "90020261202060709000000000041", "90020261202060709000000000042"},
		{"a foreign id is ignored", "abc", "90020261202060708009123000000"},
	}
	for _, c := range cases {
		got, err := nextLogID(c.last, at)
		if err != nil || got != c.want {
			t.Errorf("%s: nextLogID(%q) = %q, %v; want %q", c.name, c.last, got, err, c.want)
		}
		if c.last != "" && len(c.last) == len(got) && got <= c.last {
			t.Errorf("%s: %q does not follow %q", c.name, got, c.last)
		}
	}
	if got, err := nextLogID("90020261202235959999999999999", at); err != nil || got != "90020261203000000000000000000" {
		t.Errorf("an exhausted sequence: %q, %v; want the next microsecond", got, err)
	}
	// Non-UTC clocks give the same id.
	if got, _ := nextLogID("", at.In(time.FixedZone("X", 3600))); got != "90020261202060708009123000000" {
		t.Errorf("zoned clock: %q", got)
	}
}
