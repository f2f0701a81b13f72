package scripts

import (
	"errors"
	"fmt"
)

// Kind says why a script run did not produce a result. Callers map it to
// Auth0's answer: Denied to access_denied with the message, the rest to the
// answer their endpoint gives for a failing script.
type Kind int

const (
	// KindDenied: a rule called back with UnauthorizedError, or an Action
	// called api.access.deny. Message is the script's reason.
	KindDenied Kind = iota + 1
	// KindError: the script threw, rejected its promise or called back with
	// any other error. Name and Message come from the JavaScript error.
	KindError
	// KindTimeout: the run passed its wall-clock limit.
	KindTimeout
	// KindMemory: the memory watchdog stopped the run.
	KindMemory
	// KindRecursion: the call stack passed its limit.
	KindRecursion
	// KindOutputTooLarge: claims, metadata or a profile passed the output limit.
	KindOutputTooLarge
	// KindRedirect: a rule set context.redirect or an Action called
	// api.redirect; impossible in the flows gatehouse runs scripts for.
	KindRedirect
	// KindNoResult: the script finished without calling back or settling its
	// promise, and nothing it started is still pending.
	KindNoResult
	// KindCompile: the script does not parse or lacks its entry point.
	KindCompile
	// KindCanceled: the caller's context ended.
	KindCanceled
	// KindInternal: a fault on gatehouse's side (a bug), never the script's.
	KindInternal
)

var kindNames = map[Kind]string{
	KindDenied:         "denied",
	KindError:          "error",
	KindTimeout:        "timeout",
	KindMemory:         "memory limit",
	KindRecursion:      "recursion limit",
	KindOutputTooLarge: "output too large",
	KindRedirect:       "redirect",
	KindNoResult:       "no result",
	KindCompile:        "compile",
	KindCanceled:       "canceled",
	KindInternal:       "internal",
}

func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Failure is the error every entry point returns when a script did not
// finish normally. It never carries script inputs (passwords, secrets).
type Failure struct {
	Kind Kind
	// Script names the rule, Action or database script that failed.
	Script string
	// Name is the JavaScript error's name (UnauthorizedError, TypeError...)
	// when the script produced an error object.
	Name string
	// Message is the script's message (for KindDenied, the reason to show
	// the client) or gatehouse's explanation.
	Message string
	// Code is the error's code property when it is a string (a
	// ValidationError's first argument: "user_exists", ...).
	Code string
}

func (f *Failure) Error() string {
	msg := f.Message
	if f.Name != "" {
		msg = f.Name + ": " + msg
	}
	if f.Script != "" {
		return fmt.Sprintf("script %q: %s: %s", f.Script, f.Kind, msg)
	}
	return fmt.Sprintf("script: %s: %s", f.Kind, msg)
}

// KindOf returns the Kind of a *Failure in err's chain, or 0.
func KindOf(err error) Kind {
	var f *Failure
	if errors.As(err, &f) {
		return f.Kind
	}
	return 0
}

// Interrupt reasons: the values passed to goja's Runtime.Interrupt, which
// come back inside the *goja.InterruptedError.
var (
	errTimeout  = &Failure{Kind: KindTimeout, Message: "the script ran past its time limit"}
	errMemory   = &Failure{Kind: KindMemory, Message: "the script used more memory than allowed"}
	errCanceled = &Failure{Kind: KindCanceled, Message: "the request ended before the script"}
)
