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

// RequestInfo describes the token request for rules and Actions
// (context.request, event.request): Body holds the body's parameters less
// the credentials in it.
type RequestInfo struct {
	UserAgent string
	Hostname  string
	Language  string
	Query     map[string]string
	Body      map[string]string
}

const requestInfoKey ctxKey = clientIPKey + 1

// hiddenParams are the body parameters no script sees: Auth0 keeps
// credentials out of context.request.body.
var hiddenParams = map[string]bool{
	"password": true, "client_secret": true, "client_assertion": true, "refresh_token": true,
	"mfa_token": true, "otp": true, "oob_code": true, "binding_code": true, "recovery_code": true,
}

// WithRequestInfo records what scripts may see of the token request.
func WithRequestInfo(ctx context.Context, info *RequestInfo) context.Context {
	return context.WithValue(ctx, requestInfoKey, info)
}

// RequestInfoFrom returns what WithRequestInfo recorded, or an empty one.
func RequestInfoFrom(ctx context.Context) *RequestInfo {
	if info, ok := ctx.Value(requestInfoKey).(*RequestInfo); ok {
		return info
	}
	return &RequestInfo{}
}
