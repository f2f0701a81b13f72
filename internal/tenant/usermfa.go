package tenant

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/internal/ids"
	"github.com/gatehouse/gatehouse/internal/mfa"
	"github.com/gatehouse/gatehouse/internal/store"
)

// A user's second factors as the Management API manages them: Auth0's
// guardian enrollments (/users/{id}/enrollments, /guardian/enrollments/{id}),
// authentication methods (/users/{id}/authentication-methods) and the reset
// of a user's MFA (DELETE /users/{id}/authenticators). All of them are the
// authenticators the MFA API enrols (store.Authenticator, id
// "<kind>|dev_<16 base62>"); an enrollment's id is the "dev_..." part.

// Not-found errors of a user's second factors.
var (
	errNoEnrollment = &Error{Kind: NotFound, Code: "inexistent_enrollment", Message: "Enrollment not found"}
	errNoAuthMethod = &Error{Kind: NotFound, Code: "inexistent_authentication_method", Message: "Authentication method not found"}
)

// enrollmentKinds are the authenticator kinds that are guardian
// enrollments (a recovery code is not one).
var enrollmentKinds = []string{"totp", "sms", "voice", "email", "push"}

// IsEnrollment reports whether an authenticator is a guardian enrollment.
func IsEnrollment(a *store.Authenticator) bool {
	for _, k := range enrollmentKinds {
		if a.Kind == k {
			return true
		}
	}
	return false
}

// EnrollmentID is the enrollment id of an authenticator ("dev_...").
func EnrollmentID(a *store.Authenticator) string {
	_, id, _ := strings.Cut(a.ID, "|")
	return id
}

// UserAuthenticators returns a user's authenticators, oldest first; the
// user must exist.
func (s *Service) UserAuthenticators(ctx context.Context, userID string) ([]*store.Authenticator, error) {
	if _, err := s.GetUser(ctx, userID); err != nil {
		return nil, err
	}
	list, err := s.Store.ListAuthenticators(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list authenticators of %s: %w", userID, err)
	}
	return list, nil
}

// UserAuthenticator returns one of a user's authenticators by its id
// ("totp|dev_..."); another user's is not found.
func (s *Service) UserAuthenticator(ctx context.Context, userID, id string) (*store.Authenticator, error) {
	if _, err := s.GetUser(ctx, userID); err != nil {
		return nil, err
	}
	a, err := s.Store.GetAuthenticator(ctx, id)
	if err != nil {
		return nil, notFound(err, errNoAuthMethod)
	}
	if a.UserID != userID {
		return nil, errNoAuthMethod
	}
	return a, nil
}

// DeleteUserAuthenticator deletes one of a user's authenticators, and its
// twin: the same phone enrolled for both SMS and voice goes as one, as in
// the MFA API.
func (s *Service) DeleteUserAuthenticator(ctx context.Context, userID, id string) (err error) {
	defer s.audit(ctx, "Delete an authentication method of a user", &err)
	a, err := s.UserAuthenticator(ctx, userID, id)
	if err != nil {
		return err
	}
	return s.deleteWithTwins(ctx, a)
}

func (s *Service) deleteWithTwins(ctx context.Context, a *store.Authenticator) error {
	targets := []*store.Authenticator{a}
	if a.Kind == "sms" || a.Kind == "voice" {
		list, err := s.Store.ListAuthenticators(ctx, a.UserID)
		if err != nil {
			return fmt.Errorf("list authenticators of %s: %w", a.UserID, err)
		}
		for _, o := range list {
			if o.ID != a.ID && (o.Kind == "sms" || o.Kind == "voice") && o.Name == a.Name {
				targets = append(targets, o)
			}
		}
	}
	for _, t := range targets {
		if err := s.Store.DeleteAuthenticator(ctx, t.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("delete authenticator %s: %w", t.ID, err)
		}
	}
	return nil
}

// ResetUserMFA deletes every second factor of a user (their recovery code
// included): the next login that needs MFA enrols again.
func (s *Service) ResetUserMFA(ctx context.Context, userID string) (err error) {
	defer s.audit(ctx, "Delete all authenticators of a user", &err)
	if _, err := s.GetUser(ctx, userID); err != nil {
		return err
	}
	if _, err := s.Store.DeleteAuthenticators(ctx, userID); err != nil {
		return fmt.Errorf("delete authenticators of %s: %w", userID, err)
	}
	return nil
}

// Enrollment returns the guardian enrollment whose id is "dev_...".
func (s *Service) Enrollment(ctx context.Context, id string) (*store.Authenticator, error) {
	if !strings.HasPrefix(id, "dev_") || strings.Contains(id, "|") {
		return nil, errNoEnrollment
	}
	for _, kind := range enrollmentKinds {
		a, err := s.Store.GetAuthenticator(ctx, kind+"|"+id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("get enrollment %s: %w", id, err)
		}
		return a, nil
	}
	return nil, errNoEnrollment
}

// DeleteEnrollment deletes a guardian enrollment (and its twin).
func (s *Service) DeleteEnrollment(ctx context.Context, id string) (err error) {
	defer s.audit(ctx, "Delete a guardian enrollment", &err)
	a, err := s.Enrollment(ctx, id)
	if err != nil {
		return err
	}
	return s.deleteWithTwins(ctx, a)
}

// RegenerateRecoveryCode gives a user a new recovery code: the old one
// stops working. A user without one gets one.
func (s *Service) RegenerateRecoveryCode(ctx context.Context, userID string) (code string, err error) {
	defer s.audit(ctx, "Regenerate the recovery code of a user", &err)
	list, err := s.UserAuthenticators(ctx, userID)
	if err != nil {
		return "", err
	}
	code, hash := mfa.NewRecoveryCode()
	now := s.now()
	for _, a := range list {
		if a.Kind != "recovery-code" {
			continue
		}
		_, err := s.Store.UpdateAuthenticator(ctx, a.ID, func(a *store.Authenticator) error {
			a.CodeHash = hash
			if !a.Active {
				a.Active, a.ConfirmedAt = true, now
			}
			return nil
		})
		if err != nil {
			return "", fmt.Errorf("regenerate recovery code of %s: %w", userID, err)
		}
		return code, nil
	}
	rc := &store.Authenticator{ID: "recovery-code|dev_" + ids.Alnum(16), UserID: userID, Kind: "recovery-code",
		Active: true, CodeHash: hash, CreatedAt: now, ConfirmedAt: now}
	if err := s.Store.CreateAuthenticator(ctx, rc); err != nil {
		return "", fmt.Errorf("create recovery code of %s: %w", userID, err)
	}
	return code, nil
}

// InvalidateRememberBrowser forgets the browsers a user chose to skip MFA
// on. gatehouse keeps none (the password flows have no browser, so every
// login that needs MFA asks for it); the user must exist.
func (s *Service) InvalidateRememberBrowser(ctx context.Context, userID string) (err error) {
	defer s.audit(ctx, "Invalidate the remembered browsers of a user", &err)
	_, err = s.GetUser(ctx, userID)
	return err
}
