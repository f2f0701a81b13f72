package events

// More Auth0 log event type codes of the self-service flows (signup and
// password change are in events.go): reset requests and email verification.
const (
	SuccessChangePasswordRequest = "scpr" // a reset link was asked for (and sent, when the user exists)
	FailedChangePasswordRequest  = "fcpr" // a reset link could not be asked for
	SuccessVerificationEmail     = "sv"   // an email address was verified through a ticket
	FailedVerificationEmail      = "fv"   // a verification ticket was refused
)
