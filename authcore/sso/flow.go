package sso

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/keygate/keygate/authcore"
)

// FlowTTL is how long a started sign-in may take to come back to the callback.
const FlowTTL = 10 * time.Minute

// Flow is a sign-in in progress: what the callback checks the provider's answer
// against. It travels in a cookie sealed with a key every node derives from the token
// signing keys, so any node can finish what another started and nothing is stored.
type Flow struct {
	TenantUID string `json:"t"`
	State     string `json:"s"`
	Nonce     string `json:"n"`
	Verifier  string `json:"v"` // the PKCE code verifier: sealed, never seen by the client
	Console   bool   `json:"c"` // the console started it: answer with the cookie and a redirect
	Expires   int64  `json:"e"`
}

// Keys derives the keys that seal flows: *credentials.Verifier is one.
type Keys interface {
	DerivedKey(purpose string) (kid string, key []byte)
	DerivedKeyFor(purpose, kid string) ([]byte, bool)
}

const (
	flowPurpose = "oidc flow v1"
	flowLabel   = "keygate oidc flow"
	flowVersion = "f1"
	maxFlowLen  = 2048
)

// SealFlow is the cookie value of f.
func SealFlow(keys Keys, f Flow) (string, error) {
	plain, err := json.Marshal(f)
	if err != nil {
		return "", err
	}
	kid, key := keys.DerivedKey(flowPurpose)
	sealed, err := authcore.Seal(key, flowLabel, plain)
	if err != nil {
		return "", err
	}
	return flowVersion + "." + kid + "." + base64.RawURLEncoding.EncodeToString(sealed), nil
}

// OpenFlow is the flow of a cookie value SealFlow made, if it is one and has not expired.
func OpenFlow(keys Keys, value string, now time.Time) (Flow, error) {
	parts := strings.Split(value, ".")
	if len(value) > maxFlowLen || len(parts) != 3 || parts[0] != flowVersion {
		return Flow{}, errStateMismatch
	}
	key, ok := keys.DerivedKeyFor(flowPurpose, parts[1])
	sealed, err := base64.RawURLEncoding.DecodeString(parts[2])
	if !ok || err != nil {
		return Flow{}, errStateMismatch
	}
	plain, err := authcore.Unseal(key, flowLabel, sealed)
	var f Flow
	if err != nil || json.Unmarshal(plain, &f) != nil {
		return Flow{}, errStateMismatch
	}
	if !now.Before(time.Unix(f.Expires, 0)) {
		return Flow{}, errFlowExpired
	}
	return f, nil
}
