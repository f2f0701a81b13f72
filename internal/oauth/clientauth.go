package oauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/internal/input"
	"github.com/gatehouse/gatehouse/internal/protocol"
	"github.com/gatehouse/gatehouse/internal/store"
)

// ClientAuthenticator authenticates the application behind a request.
type ClientAuthenticator struct {
	Clients store.Clients
	Nonces  store.Nonces
	// Audience is what client assertions must name in aud: the issuer URL.
	Audience string
	Now      func() time.Time
}

// Authenticate identifies and authenticates the client of req by the method
// the client is configured for, and returns it with the method used.
func (a *ClientAuthenticator) Authenticate(ctx context.Context, req *Request) (*store.Client, string, error) {
	presented, clientID, err := presentedMethod(req)
	if err != nil {
		return nil, "", err
	}
	if presented == protocol.MethodPrivateKeyJWT && clientID == "" {
		clientID = unverifiedSubject(req.ClientAssertion)
	}
	if clientID == "" {
		return nil, "", MissingParam("client_id")
	}
	if input.Text(clientID) != nil {
		// Only the assertion's sub gets here unchecked: every parameter
		// and the Basic header were checked when the request was parsed.
		return nil, "", Errorf(http.StatusBadRequest, "invalid_request", "client_id %s", textRule)
	}
	client, err := a.Clients.GetClient(ctx, clientID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, "", ErrAccessDenied.WithCause(errors.New("unknown client"))
	}
	if err != nil {
		return nil, "", ErrServer.WithCause(err)
	}
	configured := client.AuthMethod()
	if presented != configured {
		return nil, "", ErrAccessDenied.WithCause(errors.New("client authenticated with " + presented + ", configured for " + configured))
	}
	switch configured {
	case protocol.MethodNone:
		return client, configured, nil
	case protocol.MethodSecretPost:
		return client, configured, checkSecret(client, req.ClientSecret)
	case protocol.MethodSecretBasic:
		return client, configured, checkSecret(client, req.Basic.ClientSecret)
	case protocol.MethodPrivateKeyJWT:
		if err := a.verifyAssertion(ctx, client, req.ClientAssertion); err != nil {
			return nil, "", err
		}
		return client, configured, nil
	}
	return nil, "", ErrAccessDenied.WithCause(errors.New("unknown auth method " + configured))
}

// presentedMethod works out which single mechanism the request used.
func presentedMethod(req *Request) (method, clientID string, err error) {
	n := 0
	method = protocol.MethodNone
	clientID = req.ClientID
	if req.Basic != nil {
		n++
		method = protocol.MethodSecretBasic
		if clientID != "" && clientID != req.Basic.ClientID {
			return "", "", Errorf(http.StatusBadRequest, "invalid_request", "client_id in body and Authorization header differ")
		}
		clientID = req.Basic.ClientID
	}
	if req.ClientSecret != "" {
		n++
		method = protocol.MethodSecretPost
	}
	if req.ClientAssertion != "" || req.ClientAssertionType != "" {
		n++
		method = protocol.MethodPrivateKeyJWT
		if req.ClientAssertionType != protocol.AssertionType {
			return "", "", Errorf(http.StatusBadRequest, "invalid_request", "client_assertion_type must be %s", protocol.AssertionType)
		}
		if req.ClientAssertion == "" {
			return "", "", MissingParam("client_assertion")
		}
	}
	if n > 1 {
		return "", "", Errorf(http.StatusBadRequest, "invalid_request", "Use only one client authentication method")
	}
	return method, clientID, nil
}

// checkSecret compares in constant time (over digests, so length leaks nothing).
func checkSecret(c *store.Client, presented string) error {
	want := sha256.Sum256([]byte(c.ClientSecret))
	got := sha256.Sum256([]byte(presented))
	if c.ClientSecret == "" || subtle.ConstantTimeCompare(want[:], got[:]) != 1 {
		return ErrAccessDenied.WithCause(errors.New("wrong client secret"))
	}
	return nil
}
