// Package sso signs users in through their organisation's OpenID Provider: the
// authorization code flow with PKCE, state and nonce, the ID token verified (signature,
// issuer, audience, expiry, nonce) by github.com/coreos/go-oidc, and the user's details
// and groups read from the claims the tenant names. It knows the protocol only: which
// user that is, and which teams the groups make them a member of, is the management
// service's; the session is the sessions Issuer's.
package sso

import (
	"net/http"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

// Config is a tenant's OIDC configuration ready for a sign-in: the stored settings, the
// client secret unsealed, and the exact redirect URI of this gateway's callback.
type Config struct {
	storage.OIDCConfig
	ClientSecret string
	RedirectURL  string
}

// Identity is who the provider says signed in.
type Identity struct {
	Issuer, Subject     string
	Email               string // lower-cased; verified by the provider
	FirstName, LastName string
	Groups              []string // the claim the tenant names for teams; none when absent
}

// Sign-in refusals. Each says what went wrong without echoing what the client sent.
var (
	errStateMismatch = failed("the sign-in did not start here, or was started again since: start it again")
	errFlowExpired   = failed("the sign-in took too long: start it again")
	errNoCode        = failed("the identity provider sent no authorization code")
	errExchange      = failed("the identity provider did not accept the authorization code (it may have been used already)")
	errIDToken       = failed("the identity provider's ID token could not be verified")
	errNonce         = failed("the ID token was not issued for this sign-in")
	errUnverified    = failed("the identity provider has not verified this user's email address")
	errNoEmail       = failed("the identity provider sent no email address for this user")
)

func failed(msg string) *authcore.Error {
	return &authcore.Error{Status: http.StatusUnauthorized, Code: "SSOFailed", Message: "single sign-on failed: " + msg}
}

// providerRefused answers a callback that carries the provider's error instead of a
// code. Only the error code (RFC 6749's few words) is repeated, never its free text.
func providerRefused(code string) *authcore.Error {
	if !isErrorCode(code) {
		code = "an unknown error"
	}
	return failed("the identity provider refused the sign-in: " + code)
}

func isErrorCode(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c == '_') {
			return false
		}
	}
	return true
}

// ErrNoFlow answers a callback without the cookie its sign-in started with: started in
// another browser, or the cookie expired.
var ErrNoFlow = errStateMismatch
