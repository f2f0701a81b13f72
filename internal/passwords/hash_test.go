package passwords

import (
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// fastArgon keeps unit tests quick; the benchmarks use the real parameters.
var fastArgon = Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}

func TestHashVerify(t *testing.T) {
	for _, alg := range []Algorithm{Argon2id, Bcrypt} {
		t.Run(string(alg), func(t *testing.T) {
			h, err := NewHasher(alg, fastArgon, bcrypt.MinCost)
			if err != nil {
				t.Fatal(err)
			}
			hash, err := h.Hash("s3cret!")
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(hash, "s3cret") {
				t.Fatal("hash contains the password")
			}
			if ok, rehash, err := h.Verify(hash, "s3cret!"); !ok || rehash || err != nil {
				t.Fatalf("right password: ok=%v rehash=%v err=%v", ok, rehash, err)
			}
			if ok, _, err := h.Verify(hash, "s3cret?"); ok || err != nil {
				t.Fatalf("wrong password: ok=%v err=%v", ok, err)
			}
			again, _ := h.Hash("s3cret!")
			if again == hash {
				t.Fatal("two hashes of one password are equal (no salt)")
			}
		})
	}
}

// Auth0 exports bcrypt $2a$/$2b$ hashes at cost 10; they must verify as they
// are and be upgraded to the native hash.
func TestImportedBcryptVerifiesAndRehashes(t *testing.T) {
	h, _ := NewHasher(Argon2id, fastArgon, 0)
	for _, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
		b, _ := bcrypt.GenerateFromPassword([]byte("hunter22"), bcrypt.MinCost)
		imported := prefix + string(b[4:])
		ok, rehash, err := h.Verify(imported, "hunter22")
		if !ok || !rehash || err != nil {
			t.Errorf("%s: ok=%v rehash=%v err=%v", prefix, ok, rehash, err)
		}
	}
	// Weaker argon2 parameters also ask for a rehash.
	weak, _ := NewHasher(Argon2id, Argon2Params{MemoryKiB: 32, Time: 1, Threads: 1}, 0)
	hash, _ := weak.Hash("pw")
	if ok, rehash, _ := h.Verify(hash, "pw"); !ok || !rehash {
		t.Errorf("weaker argon2 hash: ok=%v rehash=%v", ok, rehash)
	}
}

func TestMalformedHashes(t *testing.T) {
	h, _ := NewHasher(Argon2id, fastArgon, 0)
	for _, hash := range []string{
		"", "plain", "$1$md5$", "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ",
		"$argon2id$v=18$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1,p=1$!!$aGFzaGhhc2hoYXNoaGFzaA",
		"$2a$10$short",
	} {
		if ok, _, err := h.Verify(hash, "pw"); ok || err == nil {
			t.Errorf("Verify(%q) = %v, %v; want an error", hash, ok, err)
		}
	}
}

func TestOverlongPasswords(t *testing.T) {
	h, _ := NewHasher(Argon2id, fastArgon, 0)
	if _, err := h.Hash(strings.Repeat("a", MaxVerifyBytes+1)); err == nil {
		t.Fatal("overlong password hashed")
	}
	hash, _ := h.Hash("a")
	if ok, _, _ := h.Verify(hash, strings.Repeat("a", 10000)); ok {
		t.Fatal("overlong password verified")
	}
}

func BenchmarkVerify(b *testing.B) {
	bh, _ := NewHasher(Bcrypt, Argon2Params{}, BcryptCost)
	ah, _ := NewHasher(Argon2id, OWASPArgon2, 0)
	for _, c := range []struct {
		name string
		h    *Hasher
	}{{"bcrypt-10", bh}, {"argon2id-m19456-t2-p1", ah}} {
		hash, _ := c.h.Hash("correct horse battery staple")
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.h.Verify(hash, "correct horse battery staple")
			}
		})
	}
}

func TestClass(t *testing.T) {
	t.Parallel()
	argon, _ := NewHasher(Argon2id, fastArgon, 0)
	bc, _ := NewHasher(Bcrypt, Argon2Params{}, bcrypt.MinCost)
	argonHash, _ := argon.Hash("pw")
	bcryptHash, _ := bc.Hash("pw")
	tests := []struct {
		name, hash, want string
		ok               bool
	}{
		{"native argon2id", argonHash, argon.NativeClass(), true},
		{"native bcrypt", bcryptHash, bc.NativeClass(), true},
		{"bcrypt names its cost", bcryptHash, "bcrypt$4", true},
		{"argon2id names its parameters", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "argon2id$m=19456,t=2,p=1", true},
		{"unknown format", "$1$md5$", "", false},
		{"argon2id out of bounds", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "", false},
		{"empty", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Class(tt.hash)
			if got != tt.want || ok != tt.ok {
				t.Errorf("Class = %q, %v; want %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

// BenchmarkArgon2Flood verifies argon2id hashes on two goroutines at once
// (a flood under the default limiter of two slots), with and without the
// Collector, and reports the heap's peak: the Collector trades a collection
// per hash for a peak near the hashes in flight.
func BenchmarkArgon2Flood(b *testing.B) {
	for _, mode := range []struct {
		name string
		c    *Collector
	}{{"paced", nil}, {"collected", NewCollector()}} {
		b.Run(mode.name, func(b *testing.B) {
			h, _ := NewHasher(Argon2id, OWASPArgon2, 0)
			h.Collector = mode.c
			hash, _ := h.Hash("correct horse battery staple")
			runtime.GC()
			peak := sampleHeapPeak()
			b.SetParallelism(1) // GOMAXPROCS goroutines: one per limiter slot by default
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					h.Verify(hash, "correct horse battery staple")
				}
			})
			b.ReportMetric(float64(peak())/(1<<20), "peak-heap-MiB")
		})
	}
}

// sampleHeapPeak samples the heap every millisecond until the returned
// function is called, which returns the largest sample.
func sampleHeapPeak() func() uint64 {
	done := make(chan struct{})
	result := make(chan uint64)
	go func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
		var peak uint64
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64() + s[1].Value.Uint64(); v > peak {
				peak = v
			}
			select {
			case <-done:
				result <- peak
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(done); return <-result }
}

func TestCollectorRunsAfterEachArgon2Hash(t *testing.T) {
	t.Parallel()
	var calls int
	c := &Collector{gc: func() { calls++ }}
	argon, _ := NewHasher(Argon2id, fastArgon, 0)
	argon.Collector = c
	hash, _ := argon.Hash("pw") // one
	argon.Verify(hash, "pw")    // two
	argon.Verify(hash, "nope")  // three
	if calls != 3 {
		t.Fatalf("argon2id: %d collections, want one per hash (3)", calls)
	}
	bc, _ := NewHasher(Bcrypt, Argon2Params{}, bcrypt.MinCost)
	bc.Collector = c
	bhash, _ := bc.Hash("pw")
	bc.Verify(bhash, "pw")
	if calls != 3 {
		t.Fatalf("bcrypt hashes collected too (%d calls): they hold 4 KiB, not worth a collection", calls)
	}
	(*Collector)(nil).Collect() // a Hasher without a Collector must not panic
}
