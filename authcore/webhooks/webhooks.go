// Package webhooks delivers lifecycle events to the receivers tenant admins register:
// signed in the Standard Webhooks convention, retried with backoff for a day, one node at
// a time, from the outbox each change writes in its own transaction. It also sends the
// API key expiry reminders, once per key and threshold across every node.
package webhooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"

	"github.com/keygate/keygate/authcore"
)

// secretPrefix marks a signing secret, as the Standard Webhooks libraries expect.
const secretPrefix = "whsec_"

// NewSecret returns a new signing secret: "whsec_" and 24 random bytes in base64.
func NewSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return secretPrefix + base64.StdEncoding.EncodeToString(b)
}

// errSecret answers a stored secret that is not one NewSecret made.
var errSecret = errors.New("webhooks: malformed signing secret")

// secretBytes is the HMAC key of a secret: the bytes after the prefix.
func secretBytes(secret string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, secretPrefix))
	if err != nil || len(b) == 0 {
		return nil, errSecret
	}
	return b, nil
}

// Sign is the webhook-signature header of a message: "v1," and the base64 HMAC-SHA256,
// keyed by the secret, of "{id}.{timestamp}.{body}".
func Sign(secret string, id string, unixSeconds int64, body []byte) (string, error) {
	key, err := secretBytes(secret)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(unixSeconds, 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// secretLabel binds a sealed secret to its endpoint: a row copied onto another endpoint
// does not open.
func secretLabel(endpointUID string) string { return "keygate webhook secret\x00" + endpointUID }

// SealSecret seals an endpoint's signing secret for the store.
func SealSecret(key []byte, endpointUID, secret string) ([]byte, error) {
	return authcore.Seal(key, secretLabel(endpointUID), []byte(secret))
}

// RedactedURL is u without its query: what an audit row or a log line may show (a
// receiver's query may hold its own token).
func RedactedURL(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return u[:i] + "?…"
	}
	return u
}
