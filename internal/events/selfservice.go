package events

// Auth0 log event type codes of the self-service flows: signup, password
// change and reset, email verification, passwordless logins.
const (
	SuccessSignup                = "ss"       // a user signed up
	FailedSignup                 = "fs"       // a signup was refused
	SuccessChangePasswordRequest = "scpr"     // a reset link was asked for (and sent, when the user exists)
	FailedChangePasswordRequest  = "fcpr"     // a reset link could not be asked for
	SuccessChangePassword        = "scp"      // a password was set through a ticket
	FailedChangePassword         = "fcp"      // a ticket's new password was refused
	SuccessVerificationEmail     = "sv"       // an email address was verified through a ticket
	FailedVerificationEmail      = "fv"       // a verification ticket was refused
	CodeSent                     = "cs"       // a passwordless code was sent
	CodeLinkSent                 = "cls"      // a passwordless code or link was sent (email)
	SuccessExchangePasswordless  = "sepotpft" // a passwordless code exchanged for tokens
	FailedExchangePasswordless   = "fepotpft" // a passwordless code refused
)
