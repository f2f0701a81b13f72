package conformance

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func counterTests() []test {
	return []test{
		{"TakeFillsTheBucketThenRefuses", testCounterBurst},
		{"BucketDrainsOverTime", testCounterDrain},
		{"PeekTakesNothing", testCounterPeek},
		{"ExpiredCounterStartsEmpty", testCounterExpire},
		{"ReturnDeleteListAndHousekeeping", testCounterListDelete},
		{"ConcurrentTakesAdmitExactlyBurst", testCounterConcurrent},
		{"LoginResetsItsCounter", testCounterResetByLogin},
	}
}

func take(kind, key string, burst, cost int, interval time.Duration) store.CounterTake {
	return store.CounterTake{CounterKey: store.CounterKey{Kind: kind, Key: key}, Burst: burst, Cost: cost, Interval: interval,
		Connection: "db", Identifier: key, IP: "192.0.2.1"}
}

func testCounterBurst(t *testing.T, s store.Store) {
	now := time.Now()
	for i := 1; i <= 4; i++ {
		r := ok[[]store.CounterResult](t)(s.TakeCounters(ctx(t), now, take("bf", "ann", 3, 1, time.Hour)))
		wantTaken, wantLevel := i <= 3, min(i, 3)
		if r[0].Taken != wantTaken || r[0].Level != wantLevel {
			t.Fatalf("take %d: taken %v level %d, want %v %d", i, r[0].Taken, r[0].Level, wantTaken, wantLevel)
		}
	}
	// Several counters in one call, in the order asked; a refusal skips
	// the rest.
	r := ok[[]store.CounterResult](t)(s.TakeCounters(ctx(t), now,
		take("ip", "192.0.2.1", 5, 1, time.Minute), take("bf", "bob", 3, 1, time.Hour), take("bf", "ann", 3, 1, time.Hour)))
	if len(r) != 3 || r[0].Key != "192.0.2.1" || !r[0].Taken || r[1].Key != "bob" || r[1].Level != 1 || r[2].Key != "ann" || r[2].Taken {
		t.Fatalf("three takes: %+v", r)
	}
	r = ok[[]store.CounterResult](t)(s.TakeCounters(ctx(t), now,
		take("ip", "192.0.2.1", 5, 1, time.Minute), take("bf", "ann", 3, 1, time.Hour), take("bf", "bob", 3, 1, time.Hour)))
	if !r[0].Taken || r[0].Level != 2 || r[1].Taken || r[1].Skipped || !r[2].Skipped || r[2].Taken {
		t.Fatalf("a refusal in the middle: %+v", r)
	}
	if l := ok[[]*store.Counter](t)(s.ListCounters(ctx(t), "bf", "bob", ""))[0].Level(now); l != 1 {
		t.Fatalf("a skipped take changed its counter: level %d", l)
	}
	if _, err := s.TakeCounters(ctx(t), now, take("bf", "ann", 3, 1, time.Hour), take("bf", "ann", 3, 1, time.Hour)); err == nil {
		t.Fatal("the same counter twice in one call was accepted")
	}
}

func testCounterDrain(t *testing.T, s store.Store) {
	now := time.Now()
	for range 2 {
		ok[[]store.CounterResult](t)(s.TakeCounters(ctx(t), now, take("sul", "k", 2, 1, 6*time.Second)))
	}
	if r := ok[[]store.CounterResult](t)(s.TakeCounters(ctx(t), now.Add(time.Second), take("sul", "k", 2, 1, 6*time.Second))); r[0].Taken {
		t.Fatal("a full bucket took a unit after one second")
	}
	// Six seconds drain one unit.
	r := ok[[]store.CounterResult](t)(s.TakeCounters(ctx(t), now.Add(6*time.Second), take("sul", "k", 2, 1, 6*time.Second)))
	if !r[0].Taken || r[0].Level != 2 {
		t.Fatalf("after one interval: %+v", r[0])
	}
	if want := now.Add(18 * time.Second); r[0].Empty.Sub(want).Abs() > time.Millisecond {
		t.Fatalf("empty at %v, want %v", r[0].Empty, want)
	}
}

func testCounterPeek(t *testing.T, s store.Store) {
	now := time.Now()
	peek := take("ip", "203.0.113.9", 2, 0, time.Minute)
	for range 3 {
		if r := ok[[]store.CounterResult](t)(s.TakeCounters(ctx(t), now, peek)); !r[0].Taken || r[0].Level != 0 {
			t.Fatalf("peek at an empty bucket: %+v", r[0])
		}
	}
	ok[[]store.CounterResult](t)(s.TakeCounters(ctx(t), now, take("ip", "203.0.113.9", 2, 2, time.Minute)))
	if r := ok[[]store.CounterResult](t)(s.TakeCounters(ctx(t), now, peek)); r[0].Taken || r[0].Level != 2 {
		t.Fatalf("peek at a full bucket: %+v", r[0])
	}
}

func testCounterExpire(t *testing.T, s store.Store) {
	now := time.Now()
	tk := take("bf", "ann", 2, 1, 24*365*time.Hour)
	tk.Expire = 30 * 24 * time.Hour
	for range 2 {
		ok[[]store.CounterResult](t)(s.TakeCounters(ctx(t), now, tk))
	}
	if r := ok[[]store.CounterResult](t)(s.TakeCounters(ctx(t), now.Add(29*24*time.Hour), tk)); r[0].Taken {
		t.Fatal("the counter expired early")
	}
	r := ok[[]store.CounterResult](t)(s.TakeCounters(ctx(t), now.Add(31*24*time.Hour), tk))
	if !r[0].Taken || r[0].Level != 1 {
		t.Fatalf("after expiry: %+v", r[0])
	}
}

func testCounterListDelete(t *testing.T, s store.Store) {
	now := time.Now()
	for _, tk := range []store.CounterTake{
		take("bf", "ann", 3, 2, time.Hour), take("bf", "bob", 3, 1, time.Hour), take("sul", "ann", 3, 1, time.Hour),
	} {
		ok[[]store.CounterResult](t)(s.TakeCounters(ctx(t), now, tk))
	}
	list := ok[[]*store.Counter](t)(s.ListCounters(ctx(t), "bf", "ann", ""))
	if len(list) != 1 || list[0].Identifier != "ann" || list[0].Connection != "db" || list[0].IP != "192.0.2.1" || list[0].Level(now) != 2 {
		t.Fatalf("list: %+v", list)
	}
	must(t, s.ReturnCounter(ctx(t), store.CounterKey{Kind: "bf", Key: "ann"}, 1, time.Hour))
	must(t, s.ReturnCounter(ctx(t), store.CounterKey{Kind: "bf", Key: "nobody"}, 1, time.Hour))
	if l := ok[[]*store.Counter](t)(s.ListCounters(ctx(t), "bf", "ann", "192.0.2.1"))[0].Level(now); l != 1 {
		t.Fatalf("level after a return: %d", l)
	}
	if n := ok[int](t)(s.DeleteCounters(ctx(t), "bf", "", "192.0.2.1")); n != 2 {
		t.Fatalf("deleted %d bf counters, want 2", n)
	}
	if l := ok[[]*store.Counter](t)(s.ListCounters(ctx(t), "sul", "", "")); len(l) != 1 {
		t.Fatalf("another kind's counter went too: %+v", l)
	}
	must(t, s.DeleteCounter(ctx(t), store.CounterKey{Kind: "sul", Key: "ann"}))
	must(t, s.DeleteCounter(ctx(t), store.CounterKey{Kind: "sul", Key: "ann"}))
	if l := ok[[]*store.Counter](t)(s.ListCounters(ctx(t), "sul", "", "")); len(l) != 0 {
		t.Fatalf("deleted counter still listed: %+v", l)
	}

	// Housekeeping: drained and expired counters go, live ones stay.
	exp := take("bf", "old", 3, 1, 24*365*time.Hour)
	exp.Expire = time.Hour
	for _, tk := range []store.CounterTake{take("ip", "drained", 3, 1, time.Second), exp, take("ip", "live", 3, 1, 3*time.Hour)} {
		ok[[]store.CounterResult](t)(s.TakeCounters(ctx(t), now, tk))
	}
	if n := ok[int](t)(s.DeleteExpiredCounters(ctx(t), now.Add(2*time.Hour), 10)); n != 2 {
		t.Fatalf("housekeeping deleted %d counters, want 2", n)
	}
	if l := ok[[]*store.Counter](t)(s.ListCounters(ctx(t), "ip", "live", "")); len(l) != 1 {
		t.Fatal("housekeeping deleted a live counter")
	}
}

// testCounterConcurrent is the property brute-force protection rests on:
// however many takes race, exactly burst of them fit.
func testCounterConcurrent(t *testing.T, s store.Store) {
	now := time.Now()
	var wg sync.WaitGroup
	var taken atomic.Int64
	for range 40 {
		wg.Go(func() {
			// A gate in front that lets 20 through, as the same-user
			// limit does: its refusals must not touch the counter behind.
			r, err := s.TakeCounters(ctx(t), now, take("ip", "198.51.100.7", 100, 0, time.Hour),
				take("sul", "race", 20, 1, time.Hour), take("bf", "race", 7, 1, time.Hour))
			if err != nil {
				t.Error(err)
				return
			}
			if r[2].Taken {
				taken.Add(1)
			}
		})
	}
	wg.Wait()
	if n := taken.Load(); n != 7 {
		t.Fatalf("%d of 40 concurrent takes fitted a bucket of 7", n)
	}
}

func testCounterResetByLogin(t *testing.T, s store.Store) {
	now := time.Now()
	must(t, s.CreateConnection(ctx(t), newConnection("con_1", "db", "auth0")))
	must(t, s.CreateUser(ctx(t), newUser("auth0|1", "con_1", "db", "a@x.test", "a")))
	k := store.CounterKey{Kind: "bf", Key: "a@x.test"}
	for _, fam := range []*store.RefreshFamily{nil, newFamily("f1", "auth0|1", "c1", "a")} {
		ok[[]store.CounterResult](t)(s.TakeCounters(ctx(t), now, take("bf", "a@x.test", 3, 1, time.Hour)))
		must(t, s.RecordLogin(ctx(t), store.Login{UserID: "auth0|1", At: now, IP: "192.0.2.1", Family: fam, ResetCounter: &k}))
		if l := ok[[]*store.Counter](t)(s.ListCounters(ctx(t), "bf", "a@x.test", "")); len(l) != 0 {
			t.Fatalf("family %v: the login left its counter: %+v", fam != nil, l)
		}
	}
	// A login of a user who is gone writes nothing, the counter included.
	ok[[]store.CounterResult](t)(s.TakeCounters(ctx(t), now, take("bf", "a@x.test", 3, 1, time.Hour)))
	err := s.RecordLogin(ctx(t), store.Login{UserID: "auth0|gone", At: now, ResetCounter: &k})
	wantErr(t, err, store.ErrNotFound)
	if l := ok[[]*store.Counter](t)(s.ListCounters(ctx(t), "bf", "a@x.test", "")); len(l) != 1 {
		t.Fatalf("a refused login deleted the counter")
	}
}
