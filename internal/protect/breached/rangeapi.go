package breached

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Checker tells whether a password is known to be leaked.
type Checker interface {
	Leaked(ctx context.Context, password string) (bool, error)
}

// Leaked implements Checker.
func (f *Filter) Leaked(_ context.Context, password string) (bool, error) {
	return f.Contains(password), nil
}

// RangeAPI asks a k-anonymity range service (the Pwned Passwords API's
// shape: GET {BaseURL}/range/{5 hex} answers "SUFFIX:COUNT" lines). Only
// the first five hex digits of the SHA-1 leave the machine.
type RangeAPI struct {
	BaseURL string       // e.g. https://api.pwnedpasswords.com
	Client  *http.Client // default: a 3 s timeout
}

// Leaked implements Checker.
func (a *RangeAPI) Leaked(ctx context.Context, password string) (bool, error) {
	sum := sha1.Sum([]byte(password))
	full := strings.ToUpper(hex.EncodeToString(sum[:]))
	prefix, suffix := full[:5], full[5:]
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(a.BaseURL, "/")+"/range/"+prefix, nil)
	if err != nil {
		return false, fmt.Errorf("breached: range request: %w", err)
	}
	// Padding hides how many suffixes a prefix has from an observer.
	req.Header.Set("Add-Padding", "true")
	client := a.Client
	if client == nil {
		client = &http.Client{Timeout: 3 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, fmt.Errorf("breached: range request: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("breached: range API answered %d", resp.StatusCode)
	}
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 4<<20))
	for sc.Scan() {
		s, count, _ := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if strings.EqualFold(s, suffix) {
			return strings.TrimSpace(count) != "0", nil // padding lines count 0
		}
	}
	if err := sc.Err(); err != nil {
		return false, fmt.Errorf("breached: range response: %w", err)
	}
	return false, nil
}

// Any reports a password leaked when any of its checkers does; a checker
// that fails is skipped (its error is returned only if none answered).
type Any []Checker

// Leaked implements Checker.
func (cs Any) Leaked(ctx context.Context, password string) (bool, error) {
	var firstErr error
	answered := false
	for _, c := range cs {
		leaked, err := c.Leaked(ctx, password)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		answered = true
		if leaked {
			return true, nil
		}
	}
	if !answered && firstErr != nil {
		return false, firstErr
	}
	return false, nil
}

// MethodChecker tells the two methods of breached password detection
// apart: "standard" and "enhanced".
type MethodChecker interface {
	LeakedBy(ctx context.Context, method, password string) (bool, error)
}

// ByMethod answers each method with its own checker. gatehouse's standard
// method looks in the offline filter only; enhanced, Auth0's name for its
// larger and fresher breach data, also asks the range API when the
// operator configured one (the only thing that leaves the machine is the
// first five hex digits of the password's SHA-1, and only for tenants that
// chose enhanced).
type ByMethod struct {
	Standard, Enhanced Checker
}

// Leaked implements Checker with the standard method.
func (b ByMethod) Leaked(ctx context.Context, password string) (bool, error) {
	return b.Standard.Leaked(ctx, password)
}

// LeakedBy implements MethodChecker.
func (b ByMethod) LeakedBy(ctx context.Context, method, password string) (bool, error) {
	if method == "enhanced" {
		return b.Enhanced.Leaked(ctx, password)
	}
	return b.Standard.Leaked(ctx, password)
}

// Check asks c about password with the tenant's method, when c tells the
// methods apart.
func Check(ctx context.Context, c Checker, method, password string) (bool, error) {
	if m, ok := c.(MethodChecker); ok {
		return m.LeakedBy(ctx, method, password)
	}
	return c.Leaked(ctx, password)
}
