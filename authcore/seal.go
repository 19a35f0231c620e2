package authcore

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
)

// Seal encrypts and authenticates plain with a 32-byte key (AES-256-GCM), binding it to
// label so that a value sealed for one purpose, or one record, never opens as another's.
// It is how secrets that must be used in the clear later (an OIDC client secret, a
// webhook signing secret) are kept.
func Seal(key []byte, label string, plain []byte) ([]byte, error) {
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

// ErrSealed answers a sealed value that does not open: altered, or sealed with another
// key or label.
var ErrSealed = errors.New("sealed value does not open")

// Unseal opens what Seal made with the same key and label.
func Unseal(key []byte, label string, sealed []byte) ([]byte, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize() {
		return nil, ErrSealed
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(label))
	if err != nil {
		return nil, ErrSealed
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
