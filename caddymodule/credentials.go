package caddymodule

import (
	"net/http"
	"net/url"
	"strings"
)

// apiKeyName is the header and query parameter that carry an API key, matched
// case-insensitively because Palette clients send ApiKey, Apikey and apiKey.
const apiKeyName = "ApiKey"

// takeAPIKey returns the API key a request presents, from the ApiKey header or else the
// ApiKey query parameter. With remove, it deletes both from the request so the secret
// does not travel upstream.
func takeAPIKey(r *http.Request, remove bool) string {
	key := r.Header.Get(apiKeyName) // header names are canonical, so any case matches
	fromQuery := ""
	// A percent-encoded name ("Api%4Bey") is still the parameter, so such queries take
	// the slow path too.
	if q := r.URL.RawQuery; hasFold(q, apiKeyName) || strings.IndexByte(q, '%') >= 0 {
		var rest string
		fromQuery, rest = splitQueryParam(r.URL.RawQuery, apiKeyName)
		if remove {
			r.URL.RawQuery = rest
		}
	}
	if remove {
		r.Header.Del(apiKeyName)
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
		if uk, err := url.QueryUnescape(k); err == nil && strings.EqualFold(uk, name) {
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

// hasFold reports whether s contains substr in any case, without allocating.
func hasFold(s, substr string) bool {
	for i := 0; i+len(substr) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(substr)], substr) {
			return true
		}
	}
	return false
}

// takeToken returns the Authorization token a request presents: the Authorization header
// as Palette sends it (the raw token) or with a "Bearer " prefix, else the Authorization
// cookie set by a login with setCookie. With remove, it deletes both from the request.
func takeToken(r *http.Request, remove bool) string {
	token := r.Header.Get("Authorization")
	if len(token) > 7 && strings.EqualFold(token[:7], "Bearer ") {
		token = token[7:]
	}
	if remove {
		r.Header.Del("Authorization")
	}
	if token == "" || remove {
		if c, err := r.Cookie(tokenCookie); err == nil {
			if token == "" {
				token = c.Value
			}
			if remove {
				dropCookie(r, tokenCookie)
			}
		}
	}
	return strings.TrimSpace(token)
}

// dropCookie removes one cookie from the request's Cookie header, keeping the others.
func dropCookie(r *http.Request, name string) {
	all := r.Cookies()
	r.Header.Del("Cookie")
	for _, c := range all {
		if c.Name != name {
			r.AddCookie(c)
		}
	}
}
