package caddymodule

import (
	"net/http"
	"net/url"
	"testing"
)

func TestTakeAPIKeyFromQueryKeepsTheRestOfTheQueryVerbatim(t *testing.T) {
	for _, tc := range []struct{ query, key, rest string }{
		{"ApiKey=k1", "k1", ""},
		{"a=1&apikey=k1&b=%20x", "k1", "a=1&b=%20x"},
		{"APIKEY=k1&ApiKey=k2&z=1", "k1", "z=1"},
		{"a=%41piKey&b=2", "", "a=%41piKey&b=2"},
		{"Api%4Bey=k3&x", "k3", "x"},
		{"apikeyx=1&xapikey=2", "", "apikeyx=1&xapikey=2"},
		{"ApiKey=a%2Bb", "a+b", ""},
	} {
		r := &http.Request{Header: http.Header{}, URL: &url.URL{RawQuery: tc.query}}
		if key := takeAPIKey(r, true); key != tc.key || r.URL.RawQuery != tc.rest {
			t.Errorf("%q: key %q, rest %q; want %q, %q", tc.query, key, r.URL.RawQuery, tc.key, tc.rest)
		}
	}
}

func TestTakeAPIKeyPrefersTheHeaderAndRemovesBoth(t *testing.T) {
	r := &http.Request{Header: http.Header{"Apikey": {"from-header"}}, URL: &url.URL{RawQuery: "ApiKey=from-query&a=1"}}
	if key := takeAPIKey(r, true); key != "from-header" {
		t.Fatalf("key %q, want the header's", key)
	}
	if r.Header.Get("ApiKey") != "" || r.URL.RawQuery != "a=1" {
		t.Fatalf("credential left on the request: header %q, query %q", r.Header.Get("ApiKey"), r.URL.RawQuery)
	}
	r = &http.Request{Header: http.Header{"Apikey": {"k"}}, URL: &url.URL{RawQuery: "ApiKey=k"}}
	takeAPIKey(r, false)
	if r.Header.Get("ApiKey") != "k" || r.URL.RawQuery != "ApiKey=k" {
		t.Fatal("with remove=false the credential must stay")
	}
}

func TestStripRemovesEverySpellingOfIdentityHeaders(t *testing.T) {
	h := newIdentityHeaders(nil)
	header := http.Header{
		"X-User-Uid":   {"a"},
		"X_user_uid":   {"b"},
		"X.user.uid":   {"c"},
		"x-tenant-uid": {"d"},
		"Projectuid":   {"e"},
		"Project_uid":  {"f"},
		"X-User-Uids":  {"keep"},
		"Accept":       {"keep"},
		"Connection":   {"keep-alive, X-User-Uid", "x_tenant_uid,Upgrade"},
	}
	h.strip(header)
	if len(header) != 3 || header.Get("Accept") != "keep" || header.Get("X-User-Uids") != "keep" {
		t.Fatalf("after strip: %v", header)
	}
	if got := header.Get("Connection"); got != "keep-alive, Upgrade" {
		t.Fatalf("Connection = %q, want the identity names removed", got)
	}
}

func TestTakeTokenStripsTheCredentialAndKeepsOtherCookiesVerbatim(t *testing.T) {
	r := &http.Request{Header: http.Header{
		"Authorization": {"bEaReR tok-1"},
		"Cookie":        {`theme=dark; Authorization=tok-2; name=José; a="b c"`},
	}, URL: &url.URL{}}
	token, fromCookie := takeToken(r, true)
	if token != "tok-1" || fromCookie {
		t.Fatalf("token %q (cookie %v), want the header's", token, fromCookie)
	}
	if r.Header.Get("Authorization") != "" {
		t.Fatal("the Authorization header was left on the request")
	}
	if got := r.Header.Get("Cookie"); got != `theme=dark; name=José; a="b c"` {
		t.Fatalf("Cookie = %q, want the other cookies untouched", got)
	}

	r = &http.Request{Header: http.Header{"Cookie": {"Authorization=tok-2"}}, URL: &url.URL{}}
	if token, fromCookie := takeToken(r, true); token != "tok-2" || !fromCookie || r.Header.Get("Cookie") != "" {
		t.Fatalf("cookie token %q (%v), Cookie left %q", token, fromCookie, r.Header.Get("Cookie"))
	}
}

func TestUnicodeCaseFoldingDoesNotNameTheKey(t *testing.T) {
	// "Api\u212Aey" (Kelvin sign) folds to "apikey" under strings.EqualFold.
	r := &http.Request{Header: http.Header{}, URL: &url.URL{RawQuery: "Api%E2%84%AAey=kg_x&a=1"}}
	if key := takeAPIKey(r, true); key != "" {
		t.Fatalf("a Unicode look-alike parameter name was read as the key: %q", key)
	}
}

func TestTakeTokenDropsEveryCookieGoReadsAsTheToken(t *testing.T) {
	for _, tc := range []struct {
		cookies []string
		token   string
	}{
		{[]string{"Authorization =tok; theme=dark"}, "tok"},
		{[]string{"theme=dark;\tAuthorization\t=tok\t"}, "tok"},
		{[]string{`theme=dark; Authorization="tok"`}, "tok"},
		{[]string{"Authorization=tok; theme=dark; Authorization =other"}, "tok"},
		{[]string{"theme=dark", "  Authorization =tok ;"}, "tok"},
		{[]string{`theme=dark; Authorization=to\ken`}, ""}, // a value Go refuses
	} {
		r := &http.Request{Header: http.Header{"Cookie": tc.cookies}, URL: &url.URL{}}
		token, _ := takeToken(r, true)
		if token != tc.token {
			t.Errorf("%q: token %q, want %q", tc.cookies, token, tc.token)
		}
		if got := r.Header["Cookie"]; len(got) != 1 || got[0] != "theme=dark" {
			t.Errorf("%q: Cookie left %q, want only theme=dark", tc.cookies, got)
		}
	}
}
