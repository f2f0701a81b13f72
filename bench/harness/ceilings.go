package harness

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/ids"
	"github.com/gatehouse/gatehouse/internal/passwords"
	"github.com/gatehouse/gatehouse/internal/seal"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/tokens"
)

// Ceilings are the costs of the steps no server can avoid, measured on this
// machine in the same run as the load they are compared with. Each is the
// median of single, sequential operations on an otherwise idle process.
type Ceilings struct {
	Cores  int
	Hash   passwords.Algorithm
	Verify time.Duration // one password verification with the native hash
	Sign   time.Duration // one RS256 signature, 2048-bit key, PKCS#1 v1.5
	// SignAll is the time per signature when every core signs at once
	// (wall time over signatures made): what the cores really deliver
	// together, where Sign/Cores assumes they scale perfectly.
	SignAll time.Duration
	Write   time.Duration // one durable write of a refresh family (WriteProbe)

	probe  WriteProbe // the write probe, for Again
	signN  int
	writeN int
	// The samples behind Sign, SignAll and Write, for Pool.
	signs, signAlls, writes []time.Duration
}

// Again measures the signature and the durable write again, the same way
// (the password hash is left alone): run after a load, it shows whether
// the machine moved during it. The fsync's latency on this disk can change
// mode between runs a minute apart, and a shared host's cores from one
// second to the next.
func (c Ceilings) Again(ctx context.Context) (Ceilings, error) {
	// A load generator may have narrowed itself to fewer Ps for the load;
	// every core signs in the probe.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(c.Cores))
	again := c
	var err error
	if again.signs, err = signSamples(c.signN); err != nil {
		return c, err
	}
	if again.signAlls, err = signAllRuns(c.signN, c.Cores); err != nil {
		return c, err
	}
	if again.writes, err = c.probe(ctx, c.writeN); err != nil {
		return c, err
	}
	again.Sign, again.SignAll, again.Write = Median(again.signs), Median(again.signAlls), Median(again.writes)
	return again, nil
}

// Pool is the ceiling from both measurements' samples together: the
// medians of the probes made before and after a load, a reference that
// brackets the load in time instead of preceding it.
func (c Ceilings) Pool(later Ceilings) Ceilings {
	p := c
	p.signs = append(slices.Clip(c.signs), later.signs...)
	p.signAlls = append(slices.Clip(c.signAlls), later.signAlls...)
	p.writes = append(slices.Clip(c.writes), later.writes...)
	p.Sign, p.SignAll, p.Write = Median(p.signs), Median(p.signAlls), Median(p.writes)
	return p
}

// PasswordRate is the password grant ceiling in requests per second: every
// core verifying hashes back to back.
func (c Ceilings) PasswordRate() float64 { return float64(c.Cores) / c.Verify.Seconds() }

// RefreshRate is the refresh grant ceiling: two signatures (access and ID
// token) spread over the cores, plus one durable write, which SQLite
// serialises. It counts the write as not overlapping the signatures, so a
// server that overlaps them can exceed 1.0 of it.
func (c Ceilings) RefreshRate() float64 {
	return 1 / (2*c.Sign.Seconds()/float64(c.Cores) + c.Write.Seconds())
}

// RefreshRateAllCores is RefreshRate with the signatures' cost taken from
// every core signing at once (SignAll) instead of one signature divided by
// the cores: the same ceiling, with the machine's own parallel scaling.
func (c Ceilings) RefreshRateAllCores() float64 {
	return 1 / (2*c.SignAll.Seconds() + c.Write.Seconds())
}

// SignScaling is how many signatures the cores make together in the time
// one core makes one: Cores when they scale perfectly.
func (c Ceilings) SignScaling() float64 { return c.Sign.Seconds() / c.SignAll.Seconds() }

// ClientCredentialsRate is the client_credentials ceiling: one signature
// per request, no write.
func (c Ceilings) ClientCredentialsRate() float64 { return float64(c.Cores) / c.Sign.Seconds() }

// MeasureCeilings measures all three costs, the write with probe.
func MeasureCeilings(ctx context.Context, hash passwords.Algorithm, probe WriteProbe, verifyN, signN, writeN int) (Ceilings, error) {
	c := Ceilings{Cores: runtime.NumCPU(), Hash: hash, probe: probe, signN: signN, writeN: writeN}
	var err error
	if c.Verify, err = MeasureVerify(hash, verifyN); err != nil {
		return c, err
	}
	if c.signs, err = signSamples(signN); err != nil {
		return c, err
	}
	if c.signAlls, err = signAllRuns(signN, c.Cores); err != nil {
		return c, err
	}
	if c.writes, err = probe(ctx, writeN); err != nil {
		return c, err
	}
	c.Sign, c.SignAll, c.Write = Median(c.signs), Median(c.signAlls), Median(c.writes)
	return c, nil
}

// MeasureVerify returns the median time of n verifications of a correct
// password against a hash made with the algorithm's default parameters
// (those gatehouse uses).
func MeasureVerify(alg passwords.Algorithm, n int) (time.Duration, error) {
	h, err := passwords.NewHasher(alg, passwords.Argon2Params{}, 0)
	if err != nil {
		return 0, fmt.Errorf("verify ceiling: %w", err)
	}
	return medianVerify(h, n)
}

// medianVerify times n verifications of one hash made by h.
func medianVerify(h *passwords.Hasher, n int) (time.Duration, error) {
	const password = "correct horse battery staple 1A!"
	hash, err := h.Hash(password)
	if err != nil {
		return 0, fmt.Errorf("verify ceiling: %w", err)
	}
	samples := make([]time.Duration, 0, n)
	for range max(n, 1) {
		start := time.Now()
		ok, _, err := h.Verify(hash, password)
		samples = append(samples, time.Since(start))
		if err != nil || !ok {
			return 0, fmt.Errorf("verify ceiling: verification failed (%v)", err)
		}
	}
	return Median(samples), nil
}

// MeasureBcryptVerify returns the median time of n bcrypt verifications at
// cost (the Go benchmarks run their users at bcrypt.MinCost).
func MeasureBcryptVerify(cost, n int) (time.Duration, error) {
	h, err := passwords.NewHasher(passwords.Bcrypt, passwords.Argon2Params{}, cost)
	if err != nil {
		return 0, fmt.Errorf("verify ceiling: %w", err)
	}
	return medianVerify(h, n)
}

// MeasureSign returns the median time of n RS256 signatures (crypto/rsa,
// 2048-bit key, PKCS#1 v1.5 over SHA-256) of a token-sized payload,
// hashing included.
func MeasureSign(n int) (time.Duration, error) {
	samples, err := signSamples(n)
	return Median(samples), err
}

func signSamples(n int) ([]time.Duration, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("sign ceiling: %w", err)
	}
	payload := make([]byte, 600) // a compact access token's header.payload
	rand.Read(payload)
	samples := make([]time.Duration, 0, n)
	for range max(n, 1) {
		start := time.Now()
		sum := sha256.Sum256(payload)
		_, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:])
		samples = append(samples, time.Since(start))
		if err != nil {
			return nil, fmt.Errorf("sign ceiling: %w", err)
		}
	}
	return samples, nil
}

// MeasureSignAllCores has cores goroutines sign at once, n signatures in
// all (at least one each), three times, and returns the median of the
// three runs' wall time per signature.
func MeasureSignAllCores(n, cores int) (time.Duration, error) {
	runs, err := signAllRuns(n, cores)
	return Median(runs), err
}

func signAllRuns(n, cores int) ([]time.Duration, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("sign ceiling: %w", err)
	}
	payload := make([]byte, 600)
	rand.Read(payload)
	each := max(n/cores, 1)
	runs := make([]time.Duration, 0, 3)
	for range 3 {
		var wg sync.WaitGroup
		errs := make([]error, cores)
		start := time.Now()
		for i := range cores {
			wg.Go(func() {
				for range each {
					sum := sha256.Sum256(payload)
					if _, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:]); err != nil {
						errs[i] = err
						return
					}
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, fmt.Errorf("sign ceiling: %w", err)
		}
		runs = append(runs, time.Since(start)/time.Duration(each*cores))
	}
	return runs, nil
}

// WriteProbe times n durable writes of a refresh family, one at a time.
type WriteProbe func(ctx context.Context, n int) ([]time.Duration, error)

// SQLiteWrite is the write probe on SQLite: MeasureDurableWrite's commits,
// in a file in dir (put it on the server database's file system).
func SQLiteWrite(dir string) WriteProbe {
	return func(ctx context.Context, n int) ([]time.Duration, error) { return writeSamples(ctx, dir, n) }
}

// PostgresWrite is the write probe on PostgreSQL: one family, rotated n
// times by the compare-and-swap statement a refresh grant commits with,
// each its own round trip and durable commit. dsn is the server's own
// database, so the probe shares its PostgreSQL; the family is deleted
// afterwards.
func PostgresWrite(dsn string) WriteProbe {
	return func(ctx context.Context, n int) ([]time.Duration, error) {
		st, err := OpenProbeStore(ctx, dsn)
		if err != nil {
			return nil, fmt.Errorf("write ceiling: %w", err)
		}
		defer st.Close()
		f := SampleFamily()
		if err := st.CreateRefreshFamily(ctx, f); err != nil {
			return nil, fmt.Errorf("write ceiling: %w", err)
		}
		defer st.DeleteRefreshFamily(context.WithoutCancel(ctx), f.ID)
		return timeWrites(n, func() func() error {
			_, next := tokens.NewRefreshToken(f.ID)
			f.Previous, f.PreviousUsedAt, f.Current = f.Current[0], time.Now(), [][]byte{next}
			return func() error { return st.ReplaceRefreshFamily(ctx, f) }
		})
	}
}

// probeWarmup writes are made and not timed before a write probe's samples.
const probeWarmup = 5

// timeWrites times n writes made one at a time, after probeWarmup untimed
// ones; next prepares a write, untimed, and returns it.
func timeWrites(n int, next func() func() error) ([]time.Duration, error) {
	samples := make([]time.Duration, 0, n)
	for i := range max(n, 1) + probeWarmup {
		write := next()
		start := time.Now()
		err := write()
		took := time.Since(start)
		if err != nil {
			return nil, fmt.Errorf("write ceiling: %w", err)
		}
		if i >= probeWarmup {
			samples = append(samples, took)
		}
	}
	return samples, nil
}

// MeasureDurableWrite returns the median time of n single-row INSERT
// commits through sqlstore (WAL, synchronous=FULL, the server's settings):
// CreateRefreshFamily of a family shaped like those the token endpoint
// stores. The probe's file is created in dir and removed afterwards.
func MeasureDurableWrite(ctx context.Context, dir string, n int) (time.Duration, error) {
	samples, err := writeSamples(ctx, dir, n)
	return Median(samples), err
}

func writeSamples(ctx context.Context, dir string, n int) ([]time.Duration, error) {
	probe, err := os.MkdirTemp(dir, "write-ceiling-")
	if err != nil {
		return nil, fmt.Errorf("write ceiling: %w", err)
	}
	defer os.RemoveAll(probe)
	st, err := OpenProbeStore(ctx, filepath.Join(probe, "probe.db"))
	if err != nil {
		return nil, fmt.Errorf("write ceiling: %w", err)
	}
	defer st.Close()
	return timeWrites(n, func() func() error {
		f := SampleFamily()
		return func() error { return st.CreateRefreshFamily(ctx, f) }
	})
}

// OpenProbeStore opens a SQLite sqlstore at path with a throwaway master
// secret.
func OpenProbeStore(ctx context.Context, path string) (*sqlstore.Store, error) {
	master := make([]byte, 32)
	rand.Read(master)
	sealer, err := seal.New(master)
	if err != nil {
		return nil, err
	}
	return sqlstore.Open(ctx, path, sealer)
}

// SampleFamily is a refresh family shaped like one a password grant with
// offline_access creates.
func SampleFamily() *store.RefreshFamily {
	now := time.Now()
	id := tokens.NewFamilyID()
	_, hash := tokens.NewRefreshToken(id)
	return &store.RefreshFamily{
		ID: id, ClientID: ids.Alnum(32), UserID: "auth0|" + ids.Hex(12),
		Audience: "https://bench.example.com/", Scope: []string{"openid", "offline_access"},
		Rotating: true, Current: [][]byte{hash}, CreatedAt: now, LastExchangedAt: now,
		ExpiresAt: now.Add(30 * 24 * time.Hour), IdleExpiresAt: now.Add(15 * 24 * time.Hour),
		InitialIP: "127.0.0.1", LastIP: "127.0.0.1", UserAgent: "Go-http-client/1.1",
	}
}
