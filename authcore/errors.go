package authcore

import (
	"errors"
	"net/http"
	"time"
)

// Error is a decision the gateway reports to the client: an HTTP status, a stable
// machine-readable code, and a message safe to show (it never holds a secret).
type Error struct {
	Status     int
	Code       string
	Message    string
	RetryAfter time.Duration // for 429 and 503 LoginBusy: when to try again

	// cause is the underlying failure, for operators (logs, the command line); never
	// sent to clients.
	cause error
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Unwrap returns the underlying failure, if any.
func (e *Error) Unwrap() error { return e.cause }

// Detail is the message with its underlying cause, for operators only.
func (e *Error) Detail() string {
	if e.cause == nil {
		return e.Message
	}
	return e.Message + ": " + e.cause.Error()
}

// WithCause is a copy of e carrying cause, for operators only: clients see e's message.
func (e *Error) WithCause(cause error) *Error {
	c := *e
	c.cause = cause
	return &c
}

// Unavailable is ErrStoreUnavailable carrying what went wrong.
func Unavailable(cause error) *Error {
	e := *ErrStoreUnavailable
	e.cause = cause
	return &e
}

// The decisions authentication can end in. Codes are part of the wire contract.
var (
	ErrCredentialMissing   = &Error{Status: http.StatusUnauthorized, Code: "CredentialMissing", Message: "no ApiKey or Authorization credential was presented"}
	ErrCredentialMalformed = &Error{Status: http.StatusUnauthorized, Code: "CredentialMalformed", Message: "the credential is not a well-formed Keygate API key or token"}
	ErrCredentialInvalid   = &Error{Status: http.StatusUnauthorized, Code: "CredentialInvalid", Message: "the credential is not valid"}
	ErrCredentialExpired   = &Error{Status: http.StatusUnauthorized, Code: "CredentialExpired", Message: "the credential has expired"}
	ErrCredentialRevoked   = &Error{Status: http.StatusUnauthorized, Code: "CredentialRevoked", Message: "the credential has been revoked"}
	// ErrTokenAlreadyRefreshed: a token was refreshed a second time. Its session is
	// ended, since two parties hold it.
	ErrTokenAlreadyRefreshed = &Error{Status: http.StatusUnauthorized, Code: "TokenAlreadyRefreshed", Message: "the token was refreshed already; refreshing it again ended its session, so log in again"}
	ErrUserDisabled          = &Error{Status: http.StatusUnauthorized, Code: "UserDisabled", Message: "the user owning this credential is disabled"}
	ErrProjectForbidden      = &Error{Status: http.StatusForbidden, Code: "Forbidden", Message: "the user is not a member of the project named by ProjectUid"}
	ErrStoreUnavailable      = &Error{Status: http.StatusServiceUnavailable, Code: "StoreUnavailable", Message: "the credential store cannot be reached; try again shortly"}
)

// ErrLoginFailed is the one answer to a wrong email, password or organisation, so that
// callers cannot tell which was wrong.
var ErrLoginFailed = &Error{Status: http.StatusUnauthorized, Code: "CredentialInvalid", Message: "the email, password or organization is not valid"}

// TooManyRequests is the answer while a throttle blocks a client or account.
func TooManyRequests(retryAfter time.Duration) *Error {
	return &Error{Status: http.StatusTooManyRequests, Code: "TooManyRequests", Message: "too many failed attempts; try again later", RetryAfter: retryAfter}
}

// LoginBusy is the answer to a login that finds password hashing at its CPU budget: the
// gateway is busy, not the client at fault, hence 503 rather than 429. It is answered
// before the email is looked up, so it says nothing about whether the account exists.
func LoginBusy(retryAfter time.Duration) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: "LoginBusy", Message: "too many logins are being checked; try again shortly", RetryAfter: retryAfter}
}

// AsError returns err as an *Error; anything unexpected becomes ErrStoreUnavailable, so a
// failure is never mistaken for a rejected credential.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return ErrStoreUnavailable
}

// PermissionDenied is the answer when the caller's effective roles lack a permission the
// route requires; the permission is named, the caller's roles are not.
func PermissionDenied(perm string) *Error {
	return &Error{Status: http.StatusForbidden, Code: "PermissionDenied", Message: "the caller's roles do not grant " + perm}
}
