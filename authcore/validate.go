package authcore

import (
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keygate/keygate/storage"
)

// Errors for bad input and missing records, shared by the command line and the REST API.
func BadRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "BadRequest", Message: fmt.Sprintf(format, args...)}
}

func Forbidden(format string, args ...any) *Error {
	return &Error{Status: http.StatusForbidden, Code: "Forbidden", Message: fmt.Sprintf(format, args...)}
}

func NotFound(format string, args ...any) *Error {
	return &Error{Status: http.StatusNotFound, Code: "ResourceNotFound", Message: fmt.Sprintf(format, args...)}
}

func Conflict(format string, args ...any) *Error {
	return &Error{Status: http.StatusConflict, Code: "Conflict", Message: fmt.Sprintf(format, args...)}
}

// KeyLimitReached answers a key create for a user who holds the most keys allowed.
func KeyLimitReached(u storage.User, limit int) *Error {
	return &Error{Status: http.StatusConflict, Code: "ApiKeyLimitReached",
		Message: fmt.Sprintf("user %s already holds %d API keys, the most allowed; delete one to create another", u.Email, limit)}
}

// StoreError turns a store error into a client-facing one: not found and conflict are
// reported with what, anything else means the store is unavailable.
func StoreError(err error, what string) error {
	var e *Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &e): // already a decision, e.g. a policy refusal inside a transaction
		return e
	case errors.Is(err, storage.ErrNotFound):
		return NotFound("%s not found", what)
	case errors.Is(err, storage.ErrConflict):
		return Conflict("%s already exists", what)
	}
	return Unavailable(err)
}

const MaxNameLen = 128

func CheckName(field, name string) error {
	n := utf8.RuneCountInString(name)
	if strings.TrimSpace(name) == "" || n > MaxNameLen {
		return BadRequest("%s must be 1 to %d characters", field, MaxNameLen)
	}
	return nil
}

const maxDescriptionLen = 1024

func CheckDescription(d string) error {
	if utf8.RuneCountInString(d) > maxDescriptionLen {
		return BadRequest("the description must be at most %d characters", maxDescriptionLen)
	}
	return nil
}

func CheckEmail(email string) error {
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || addr.Name != "" {
		return BadRequest("%q is not an email address", email)
	}
	return nil
}

// Expiry presets, as the console and Palette offer them.
var expiryPresets = map[string]time.Duration{
	"7d":  7 * 24 * time.Hour,
	"30d": 30 * 24 * time.Hour,
	"60d": 60 * 24 * time.Hour,
	"90d": 90 * 24 * time.Hour,
}

// DefaultMaxKeyLifetime bounds how far in the future a key may expire.
const DefaultMaxKeyLifetime = 365 * 24 * time.Hour

// ParseExpiry reads a key expiry: a preset (7d, 30d, 60d, 90d), a date (YYYY-MM-DD,
// meaning 00:00 UTC that day) or an RFC 3339 time. It must lie in the future and no
// further than maxLifetime from now.
func ParseExpiry(s string, now time.Time, maxLifetime time.Duration) (time.Time, error) {
	var at time.Time
	if d, ok := expiryPresets[s]; ok {
		at = now.Add(d)
	} else if t, err := time.Parse(time.DateOnly, s); err == nil {
		at = t
	} else if t, err := time.Parse(time.RFC3339, s); err == nil {
		at = t
	} else {
		return time.Time{}, BadRequest("expiry %q is not 7d, 30d, 60d, 90d, a YYYY-MM-DD date or an RFC 3339 time", s)
	}
	at = at.UTC().Truncate(time.Millisecond)
	if !at.After(now) {
		return time.Time{}, BadRequest("expiry %s is not in the future", at.Format(time.RFC3339))
	}
	if at.Sub(now) > maxLifetime {
		return time.Time{}, BadRequest("expiry %s is more than %d days away", at.Format(time.RFC3339), int(maxLifetime.Hours()/24))
	}
	return at, nil
}

func IsNotFound(err error) bool { return errors.Is(err, storage.ErrNotFound) }

// SetDefault sets *v to def when it is zero or negative: a configuration left unset.
func SetDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// CheckPermission accepts a permission string: dot-separated words of letters and
// digits, each starting with a letter, at least two of them (cluster.get,
// clusterProfile.update), at most 128 bytes.
func CheckPermission(perm string) error {
	words := strings.Split(perm, ".")
	if len(perm) > 128 || len(words) < 2 {
		return BadRequest("permission %q is not like resource.action (e.g. cluster.get)", perm)
	}
	for _, w := range words {
		if w == "" || !isLetter(w[0]) {
			return BadRequest("permission %q is not like resource.action (e.g. cluster.get)", perm)
		}
		for i := 0; i < len(w); i++ {
			if !isBase62(w[i]) {
				return BadRequest("permission %q is not like resource.action (e.g. cluster.get)", perm)
			}
		}
	}
	return nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
