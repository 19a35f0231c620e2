package caddymodule

import (
	"maps"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// The seeds are the spoofing suite's cases (tests/spoof_test.go). Run one target with,
// for example:
//
//	go test -run '^$' -fuzz '^FuzzTakeAPIKey$' -fuzztime 15s ./caddymodule

var queryFuzzSeeds = []string{
	"ApiKey=k1&a=1", "a=1&apikey=k1", "APIKEY=k1&a=1", "Api%4Bey=k1&a=1", "a=1&%61%70%69%6B%65%79=k1",
	"ApiKey=k1&a=1&apiKey=k2", "a=1&aPiKeY=k1&APIKEY=k2", "a=%41piKey&b=2", "apikeyx=1&xapikey=2",
	"ApiKey=a%2Bb", "Api%E2%84%AAey=k1", "ApiKey%zz=k1&ApiKey=k2%zz", "x;ApiKey=k1", "ApiKey=k1;x", "&&ApiKey&=",
}

// cookieFuzzSeeds hold one Cookie header a line.
var cookieFuzzSeeds = []string{
	"theme=dark; Authorization=tok", "theme=dark; Authorization =tok", "theme=dark;\tAuthorization\t=tok\t",
	`Authorization="tok"; theme=dark`, "Authorization=tok; theme=dark; Authorization =other",
	"theme=dark\n  Authorization =tok ;", `theme=dark; Authorization=to\ken`, "Authorization", "Authorization=;;=x",
	`name=José; a="b c"`,
}

func FuzzSplitQueryParam(f *testing.F) {
	for _, q := range queryFuzzSeeds {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, query string) {
		value, rest := splitQueryParam(query, apiKeyName)
		checkKeyRemovedFromQuery(t, query, rest)
		checkIsAPIKeyValue(t, query, value)
	})
}

func FuzzTakeAPIKey(f *testing.F) {
	for _, q := range queryFuzzSeeds {
		f.Add("", q)
		f.Add("kg_header", q)
	}
	f.Fuzz(func(t *testing.T, header, query string) {
		r := &http.Request{Header: http.Header{}, URL: &url.URL{RawQuery: query}}
		if header != "" {
			r.Header[apiKeyHeader] = []string{header}
		}
		key := takeAPIKey(r, true)
		if _, ok := r.Header[apiKeyHeader]; ok {
			t.Fatal("the ApiKey header was left on the request")
		}
		checkKeyRemovedFromQuery(t, query, r.URL.RawQuery)
		if header != "" && key != header {
			t.Fatalf("key %q, want the header's %q", key, header)
		}
		if header == "" {
			checkIsAPIKeyValue(t, query, key)
		}
	})
}

func FuzzTakeToken(f *testing.F) {
	for _, c := range cookieFuzzSeeds {
		f.Add("", c)
		f.Add("Bearer tok-header", c)
	}
	f.Fuzz(func(t *testing.T, authorization, cookies string) {
		r := &http.Request{Header: http.Header{}, URL: &url.URL{}}
		if authorization != "" {
			r.Header["Authorization"] = []string{authorization}
		}
		lines := cookieLines(cookies)
		if lines != nil {
			r.Header["Cookie"] = slices.Clone(lines)
		}
		goCookie, goErr := r.Cookie(tokenCookie)
		token, fromCookie := takeToken(r, true)
		if _, ok := r.Header["Authorization"]; ok {
			t.Fatal("the Authorization header was left on the request")
		}
		checkCookieDropped(t, lines, r.Header)
		switch {
		case fromCookie && (authorization != "" || goErr != nil):
			t.Fatalf("the token came from a cookie although the header has one or Go reads none (%v)", goErr)
		case fromCookie && token != strings.TrimSpace(goCookie.Value):
			t.Fatalf("cookie token %q, want %q", token, goCookie.Value)
		case authorization == "" && goErr == nil && strings.TrimSpace(goCookie.Value) != "" && !fromCookie:
			t.Fatal("the cookie's token was not used")
		}
	})
}

func FuzzDropCookie(f *testing.F) {
	for _, c := range cookieFuzzSeeds {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, cookies string) {
		lines := cookieLines(cookies)
		h := http.Header{"Cookie": slices.Clone(lines)}
		dropCookie(h, tokenCookie)
		checkCookieDropped(t, lines, h)
	})
}

// cookieLines splits a fuzz input into Cookie headers, one a line.
func cookieLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// checkKeyRemovedFromQuery: Go finds no ApiKey parameter, in any case, in rest; it finds
// every other parameter of query as before; and rest is query's own parts, in order.
func checkKeyRemovedFromQuery(t *testing.T, query, rest string) {
	t.Helper()
	after, _ := url.ParseQuery(rest)
	for name := range after {
		if equalFoldASCII(name, apiKeyName) {
			t.Fatalf("%q left %q: Go still reads %q", query, rest, name)
		}
	}
	before, _ := url.ParseQuery(query)
	maps.DeleteFunc(before, func(name string, _ []string) bool { return equalFoldASCII(name, apiKeyName) })
	if !maps.EqualFunc(before, after, slices.Equal) {
		t.Fatalf("%q left %q: the other parameters changed: %v, want %v", query, rest, after, before)
	}
	if rest != "" && !isSubsequence(strings.Split(rest, "&"), strings.Split(query, "&")) {
		t.Fatalf("%q left %q, which is not made of its parts", query, rest)
	}
}

// checkIsAPIKeyValue: a key read from query is a value Go reads for an ApiKey parameter,
// in any case. (Go skips pairs with a ';', which no key has, while Keygate reads them.)
func checkIsAPIKeyValue(t *testing.T, query, key string) {
	t.Helper()
	if key == "" || strings.Contains(query, ";") {
		return
	}
	parsed, _ := url.ParseQuery(query)
	for name, values := range parsed {
		if equalFoldASCII(name, apiKeyName) && slices.Contains(values, key) {
			return
		}
	}
	t.Fatalf("%q: key %q is not an ApiKey value Go reads", query, key)
}

// checkCookieDropped: after dropping the token cookie from lines, leaving h, Go reads no
// token cookie, no part is named like it, and Go reads every other cookie as before.
func checkCookieDropped(t *testing.T, lines []string, h http.Header) {
	t.Helper()
	after := (&http.Request{Header: h}).Cookies()
	for _, line := range h["Cookie"] {
		for _, part := range strings.Split(line, ";") {
			if name, _, _ := strings.Cut(part, "="); textproto.TrimString(name) == tokenCookie {
				t.Fatalf("%q left %q, with a part named %s", lines, h["Cookie"], tokenCookie)
			}
		}
	}
	// Past Go's limit on the number of cookies (3000) it reads none before, and then
	// perhaps some after, fewer parts being left.
	if strings.Count(strings.Join(lines, ";"), ";") >= 2900 {
		return
	}
	before := (&http.Request{Header: http.Header{"Cookie": lines}}).Cookies()
	before = slices.DeleteFunc(before, func(c *http.Cookie) bool { return c.Name == tokenCookie })
	if !slices.EqualFunc(before, after, func(a, b *http.Cookie) bool { return a.String() == b.String() }) {
		t.Fatalf("%q left %q: the other cookies changed: %v, want %v", lines, h["Cookie"], after, before)
	}
}

// isSubsequence reports whether sub is made of elements of s, in order.
func isSubsequence(sub, s []string) bool {
	for _, e := range s {
		if len(sub) > 0 && sub[0] == e {
			sub = sub[1:]
		}
	}
	return len(sub) == 0
}
