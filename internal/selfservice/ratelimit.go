package selfservice

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/store"
)

// limit is a token bucket: Burst requests at once, then one per Every.
type limit struct {
	Burst int
	Every time.Duration
}

// The self-service rate limits, shared by every node through the store's
// rate buckets. Auth0 does not publish its own; these let a person retry
// a few times and stop a script from mailing an address over and over.
var (
	// A code to one address or number: 5 at once, then one every 3 minutes
	// (a code's default lifetime).
	limitCodePerIdentifier = limit{Burst: 5, Every: 3 * time.Minute}
	// Codes asked from one IP address: 50 at once, then 50 an hour.
	limitCodePerIP = limit{Burst: 50, Every: 72 * time.Second}
	// Reset links to one address: 5 at once, then one every 5 minutes.
	limitResetPerEmail = limit{Burst: 5, Every: 5 * time.Minute}
	// Reset links asked from one IP address: 50 at once, then 100 an hour.
	limitResetPerIP = limit{Burst: 50, Every: 36 * time.Second}
)

var errBucketEmpty = errors.New("rate bucket empty")

// take spends one request from the bucket key, and answers how long to
// wait when it is empty (0 when the request may go).
func (h *Handler) take(ctx context.Context, key string, l limit) (time.Duration, error) {
	now := h.now()
	burst := float64(l.Burst)
	var wait time.Duration
	_, err := h.Store.UpdateRateBucket(ctx, key, func(b *store.RateBucket) error {
		tokens := burst
		if !b.At.IsZero() {
			tokens = min(burst, b.Tokens+float64(now.Sub(b.At))/float64(l.Every))
		}
		if tokens < 1 {
			wait = time.Duration((1 - tokens) * float64(l.Every))
			return errBucketEmpty
		}
		tokens--
		b.Tokens, b.At = tokens, now
		b.ExpiresAt = now.Add(time.Duration((burst - tokens) * float64(l.Every)))
		return nil
	})
	switch {
	case errors.Is(err, errBucketEmpty):
		return max(wait, time.Second), nil
	case err != nil:
		return 0, err
	}
	return 0, nil
}

// takeAll spends one request from each bucket in turn, stopping at the
// first that is empty; the error is a 429 too_many_requests with
// Retry-After, or a server error.
func (h *Handler) takeAll(ctx context.Context, buckets ...bucket) error {
	for _, b := range buckets {
		wait, err := h.take(ctx, b.key, b.limit)
		if err != nil {
			return oauth.ErrServer.WithCause(err)
		}
		if wait > 0 {
			e := *oauth.Errorf(http.StatusTooManyRequests, "too_many_requests", "Too many requests. Please wait before trying again.")
			e.RetryAfter = int((wait + time.Second - 1) / time.Second)
			return &e
		}
	}
	return nil
}

// bucket names a rate bucket and its limit.
type bucket struct {
	key   string
	limit limit
}

// bucketKey bounds the bucket key of an identifier not yet validated
// (up to a body's size) to a fixed length.
func bucketKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:16])
}
