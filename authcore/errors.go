package authcore

import (
	"errors"
	"net/http"
)

// Error is a decision the gateway reports to the client: an HTTP status, a stable
// machine-readable code, and a message safe to show (it never holds a secret).
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// The decisions authentication can end in. Codes are part of the wire contract.
var (
	ErrCredentialMissing   = &Error{http.StatusUnauthorized, "CredentialMissing", "no ApiKey or Authorization credential was presented"}
	ErrCredentialMalformed = &Error{http.StatusUnauthorized, "CredentialMalformed", "the credential is not a well-formed Keygate API key"}
	ErrCredentialInvalid   = &Error{http.StatusUnauthorized, "CredentialInvalid", "the credential is not valid"}
	ErrCredentialExpired   = &Error{http.StatusUnauthorized, "CredentialExpired", "the credential has expired"}
	ErrCredentialRevoked   = &Error{http.StatusUnauthorized, "CredentialRevoked", "the credential has been revoked"}
	ErrUserDisabled        = &Error{http.StatusUnauthorized, "UserDisabled", "the user owning this credential is disabled"}
	ErrProjectForbidden    = &Error{http.StatusForbidden, "Forbidden", "the user is not a member of the project named by ProjectUid"}
	ErrStoreUnavailable    = &Error{http.StatusServiceUnavailable, "StoreUnavailable", "the credential store cannot be reached; try again shortly"}
)

// AsError returns err as an *Error; anything unexpected becomes ErrStoreUnavailable, so a
// failure is never mistaken for a rejected credential.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return ErrStoreUnavailable
}
