package oauth

import "context"

type ctxKey int

const clientIPKey ctxKey = iota

// WithClientIP records the end user's IP address for the request (the peer
// address, or a trusted forwarded one).
func WithClientIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, clientIPKey, ip)
}

// ClientIP returns the IP address WithClientIP recorded, or "".
func ClientIP(ctx context.Context) string {
	ip, _ := ctx.Value(clientIPKey).(string)
	return ip
}
