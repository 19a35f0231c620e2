package sessions

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/keygate/keygate/authcore/protect"
)

// Device cookies, after OWASP's "Slow Down Online Guessing Attacks with Device Cookies":
// a successful login gets a signed token naming the account (the email and the tenant)
// and a random nonce. A later login for that account presenting it comes from a device
// that has logged in before: it skips the account's and the client's lockouts (which a
// flood or a guesser can trip for everyone) and uses the part of the hashing budget kept
// for trusted devices. The device has a lockout of its own instead: after LoginFailures
// failed attempts in FailureWindow it is treated like any unknown client.
//
// The cookie is MACed with a key derived from the token signing keys, which every node
// reads from the store. It binds the tenant as well as the email, because one email may
// be an account in several tenants: a cookie won in one's own tenant must not help
// guessing the same email's password in another.

// DeviceTTL is how long a device cookie is trusted after the login that gave it.
const DeviceTTL = 90 * 24 * time.Hour

// DeviceCookie is a device cookie to hand the client.
type DeviceCookie struct {
	Value     string
	ExpiresAt time.Time
}

const (
	deviceVersion    = "d1"
	deviceKeyPurpose = "device cookie v1"
)

var b64url = base64.RawURLEncoding

// device is a verified device cookie.
type device struct {
	tenantUID string
	key       protect.ThrottleKey // its own lockout
}

// newDevice issues the cookie of a successful login to tenantUID as email.
func (iss *Issuer) newDevice(email, tenantUID string) *DeviceCookie {
	nonce := make([]byte, 16)
	rand.Read(nonce)
	expires := iss.now().Add(DeviceTTL).Truncate(time.Second)
	fields := strings.Join([]string{tenantUID, emailDigest(email), b64url.EncodeToString(nonce), strconv.FormatInt(expires.Unix(), 10)}, "|")
	kid, key := iss.verifier.DerivedKey(deviceKeyPurpose)
	signed := deviceVersion + "." + kid + "." + b64url.EncodeToString([]byte(fields))
	return &DeviceCookie{Value: signed + "." + b64url.EncodeToString(deviceMAC(key, signed)), ExpiresAt: expires}
}

// trustedDevice verifies a device cookie presented with a login for email: nil unless
// it is well-formed, signed by a key this node holds, unexpired and for this email. It
// reads no store, so its cost is the same whether or not the email is an account.
func (iss *Issuer) trustedDevice(value, email string) *device {
	parts := strings.Split(value, ".")
	if value == "" || len(value) > 512 || len(parts) != 4 || parts[0] != deviceVersion {
		return nil
	}
	key, ok := iss.verifier.DerivedKeyFor(deviceKeyPurpose, parts[1])
	mac, err := b64url.DecodeString(parts[3])
	if !ok || err != nil || !hmac.Equal(mac, deviceMAC(key, strings.Join(parts[:3], "."))) {
		return nil
	}
	raw, err := b64url.DecodeString(parts[2])
	fields := strings.Split(string(raw), "|")
	if err != nil || len(fields) != 4 {
		return nil
	}
	expires, err := strconv.ParseInt(fields[3], 10, 64)
	if err != nil || !iss.now().Before(time.Unix(expires, 0)) || !hmac.Equal([]byte(fields[1]), []byte(emailDigest(email))) {
		return nil
	}
	return &device{tenantUID: fields[0], key: protect.DeviceKey(fields[2])}
}

func deviceMAC(key []byte, signed string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(signed))
	return m.Sum(nil)
}

// emailDigest names an email in a cookie without spelling it out, in any case.
func emailDigest(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(email)))
	return b64url.EncodeToString(sum[:16])
}
