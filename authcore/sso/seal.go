package sso

import "github.com/keygate/keygate/authcore"

// secretLabel binds a sealed client secret to its tenant: a row copied onto another
// tenant's does not open.
func secretLabel(tenantUID string) string { return "keygate oidc client secret\x00" + tenantUID }

// SealSecret seals a tenant's client secret for the store; empty stays empty (a public
// client).
func SealSecret(key []byte, tenantUID, secret string) ([]byte, error) {
	if secret == "" {
		return nil, nil
	}
	return authcore.Seal(key, secretLabel(tenantUID), []byte(secret))
}

// OpenSecret opens what SealSecret sealed.
func OpenSecret(key []byte, tenantUID string, sealed []byte) (string, error) {
	if len(sealed) == 0 {
		return "", nil
	}
	plain, err := authcore.Unseal(key, secretLabel(tenantUID), sealed)
	return string(plain), err
}
