package caddymodule

import (
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
)

// apiKeyName is the header and query parameter that carry an API key, matched
// case-insensitively because Palette clients send ApiKey, Apikey and apiKey. Header
// names arrive canonical, so the header is looked up as apiKeyHeader directly (Header.Get
// would canonicalise "ApiKey" again, allocating, on every request).
const (
	apiKeyName   = "ApiKey"
	apiKeyHeader = "Apikey"
)

// takeAPIKey returns the API key a request presents, from the ApiKey header or else the
// ApiKey query parameter. With remove, it deletes both from the request so the secret
// does not travel upstream.
func takeAPIKey(r *http.Request, remove bool) string {
	var key string
	if v := r.Header[apiKeyHeader]; len(v) > 0 {
		key = v[0]
	}
	fromQuery := ""
	// A percent-encoded name ("Api%4Bey") is still the parameter, so such queries take
	// the slow path too.
	if q := r.URL.RawQuery; hasFoldASCII(q, apiKeyName) || strings.IndexByte(q, '%') >= 0 {
		var rest string
		fromQuery, rest = splitQueryParam(r.URL.RawQuery, apiKeyName)
		if remove {
			r.URL.RawQuery = rest
		}
	}
	if remove {
		delete(r.Header, apiKeyHeader)
	}
	if key == "" {
		key = fromQuery
	}
	return key
}

// splitQueryParam returns the first value of the parameter named name (any case) and
// the raw query without any such parameter, leaving every other byte as the client sent
// it so that upstream sees the same query.
func splitQueryParam(rawQuery, name string) (value, rest string) {
	var kept []string
	found := false
	for _, part := range strings.Split(rawQuery, "&") {
		k, v, _ := strings.Cut(part, "=")
		if uk, err := url.QueryUnescape(k); err == nil && equalFoldASCII(uk, name) {
			if !found {
				value, _ = url.QueryUnescape(v)
				found = true
			}
			continue
		}
		kept = append(kept, part)
	}
	return value, strings.Join(kept, "&")
}

// hasFoldASCII reports whether s contains substr in any ASCII case, without allocating.
func hasFoldASCII(s, substr string) bool {
	for i := 0; i+len(substr) <= len(s); i++ {
		if equalFoldASCII(s[i:i+len(substr)], substr) {
			return true
		}
	}
	return false
}

// equalFoldASCII compares in ASCII case only. strings.EqualFold also folds Unicode (the
// Kelvin sign matches k), which would let "Api\u212Aey" pass as the key's name here while
// a log filter matching ASCII lets it through unredacted.
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// takeToken returns the Authorization token a request presents: the Authorization header
// as Palette sends it (the raw token) or with a "Bearer " prefix, else the Authorization
// cookie set by a login with setCookie. With remove, it deletes both from the request.
func takeToken(r *http.Request, remove bool) (token string, fromCookie bool) {
	if v := r.Header["Authorization"]; len(v) > 0 { // canonical already: no Get
		token = v[0]
	}
	if len(token) > 7 && equalFoldASCII(token[:7], "Bearer ") {
		token = token[7:]
	}
	if remove {
		delete(r.Header, "Authorization")
	}
	if _, ok := r.Header["Cookie"]; !ok {
		return strings.TrimSpace(token), false
	}
	if c, err := r.Cookie(tokenCookie); err == nil && token == "" {
		token, fromCookie = c.Value, true
	}
	if remove {
		dropCookie(r.Header, tokenCookie)
	}
	return strings.TrimSpace(token), fromCookie
}

// dropCookie removes the cookie name from the Cookie headers, in every spelling Go's
// cookie parser reads as that name (it trims spaces and tabs around the name, and reads
// every Cookie header), whatever the value: a value Go refuses may still be one an
// upstream accepts. The other cookies are kept as the client sent them (reserialising
// would drop cookies Go cannot parse), in one Cookie header.
func dropCookie(h http.Header, name string) {
	lines := h["Cookie"]
	if !slices.ContainsFunc(lines, func(line string) bool { return strings.Contains(line, name) }) {
		return
	}
	var kept []string
	for _, line := range lines {
		for _, part := range strings.Split(line, ";") {
			part = textproto.TrimString(part)
			if n, _, _ := strings.Cut(part, "="); part != "" && textproto.TrimString(n) != name {
				kept = append(kept, part)
			}
		}
	}
	delete(h, "Cookie")
	if len(kept) > 0 {
		h["Cookie"] = []string{strings.Join(kept, "; ")}
	}
}
