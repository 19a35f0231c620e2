package sso

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
)

// seal encrypts and authenticates plain with a 32-byte key (AES-256-GCM), binding it to
// label so that a value sealed for one purpose never opens as another's.
func seal(key []byte, label string, plain []byte) ([]byte, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, plain, []byte(label)), nil
}

// errSealed answers a sealed value that does not open: altered, or sealed with another key.
var errSealed = errors.New("sso: sealed value does not open")

// unseal opens what seal made with the same key and label.
func unseal(key []byte, label string, sealed []byte) ([]byte, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize() {
		return nil, errSealed
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(label))
	if err != nil {
		return nil, errSealed
	}
	return plain, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// secretLabel binds a sealed client secret to its tenant: a row copied onto another
// tenant's does not open.
func secretLabel(tenantUID string) string { return "keygate oidc client secret\x00" + tenantUID }

// SealSecret seals a tenant's client secret for the store; empty stays empty (a public
// client).
func SealSecret(key []byte, tenantUID, secret string) ([]byte, error) {
	if secret == "" {
		return nil, nil
	}
	return seal(key, secretLabel(tenantUID), []byte(secret))
}

// OpenSecret opens what SealSecret sealed.
func OpenSecret(key []byte, tenantUID string, sealed []byte) (string, error) {
	if len(sealed) == 0 {
		return "", nil
	}
	plain, err := unseal(key, secretLabel(tenantUID), sealed)
	return string(plain), err
}
