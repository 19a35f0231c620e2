package tests

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// identityNames are the headers through which Keygate tells the upstream who is calling.
var identityNames = []string{"X-User-Uid", "X-User-Email", "X-Tenant-Uid", "X-User-Role", "X-Auth-Method", "X-Api-Key-Uid", "ProjectUid"}

// forgedMark is in every value a case forges, so the checks can find it anywhere.
const forgedMark = "evil"

// leakedSecret stands for a second credential a client sends: it must never travel on.
const leakedSecret = "kg_second-credential-never-forwarded"

// spoofCase is one attempt to smuggle an identity or a credential past the gateway.
type spoofCase struct {
	name string
	// wire is how the request travels: "HTTP/1.1" (the default) or "HTTP/1.0" written
	// byte for byte on a TCP connection, or "h2c" from Go's HTTP/2 client.
	wire string
	// target is the path and query; default /spoof.
	target string
	// header and trailer are "Name: value" lines as sent, with {key}, {token} and {leak}
	// filled in. With trailers the body goes chunked (HTTP/1.1) and they follow it.
	header, trailer []string
	// method is the credential the gateway must have used ("apikey" or "token"); empty
	// when it must refuse the request with status.
	method string
	status int
	// want checks more of what the upstream saw.
	want func(t *testing.T, e echoed)
}

// spoofSecrets are the credentials the cases use.
type spoofSecrets struct{ key, token string }

func (s spoofSecrets) fill(line string) string {
	return strings.NewReplacer("{key}", s.key, "{token}", s.token, "{leak}", leakedSecret).Replace(line)
}

func TestSpoofingNeverGetsPastTheGateway(t *testing.T) {
	for _, servers := range []struct{ name, block string }{
		{"Caddy's header filter as it comes", "protocols h1 h2c"},
		{"underscore and dot spellings allowed through Caddy", "protocols h1 h2c\n" + separatorAllowlists()},
	} {
		t.Run(servers.name, func(t *testing.T) {
			g := startGatewayServers(t, servers.block, "", "")
			s := g.seed(t)
			res, token, body := g.login(t, "", "", map[string]string{"ApiKey": s.userKey})
			if res.StatusCode != http.StatusOK {
				t.Fatalf("login: %d %s", res.StatusCode, body)
			}
			secrets := spoofSecrets{key: s.userKey, token: token}
			baseline := map[string]http.Header{
				"apikey": g.identitySeen(t, spoofCase{header: []string{"ApiKey: {key}"}}, secrets),
				"token":  g.identitySeen(t, spoofCase{header: []string{"Authorization: {token}"}}, secrets),
			}
			for _, c := range spoofCases() {
				t.Run(strings.ReplaceAll(c.wireName(), "/", "")+" "+c.name, func(t *testing.T) {
					status, body := g.send(t, c, secrets)
					checkSpoof(t, c, secrets, baseline[c.method], status, body)
				})
			}
		})
	}
}

// separatorAllowlists lets every underscore and dot spelling of the identity headers
// through Caddy's filter, so that Keygate alone must strip them. (Caddy then drops the
// hyphenated spellings itself, which the other configuration sends to Keygate.)
func separatorAllowlists() string {
	var underscore, dot []string
	for _, name := range identityNames {
		underscore = append(underscore, separated(name, "_"))
		dot = append(dot, separated(name, "."))
	}
	return "expected_underscore_headers " + strings.Join(underscore, " ") + "\nexpected_dot_headers " + strings.Join(dot, " ")
}

// separated spells an identity header name with sep between its words.
func separated(name, sep string) string {
	if name == "ProjectUid" {
		name = "Project-Uid"
	}
	return strings.ReplaceAll(name, "-", sep)
}

// spellings are the ways a client can write name that a backend may take for it.
func spellings(name string) []string {
	return []string{name, strings.ToLower(name), strings.ToUpper(name), separated(name, "_"), separated(name, ".")}
}

func withKey(lines ...string) []string { return append([]string{"ApiKey: {key}"}, lines...) }

// byCookie sends lines (Cookie headers among them) as a browser would: a state-changing
// cookie request carries X-Requested-With.
func byCookie(lines ...string) []string { return append([]string{"X-Requested-With: spoof"}, lines...) }

func spoofCases() []spoofCase {
	var cases []spoofCase
	for _, name := range identityNames {
		for _, spelled := range spellings(name) {
			refused := http.CanonicalHeaderKey(spelled) == "Projectuid" // a project to check, not identity
			for _, wire := range []string{"HTTP/1.1", "h2c"} {
				c := spoofCase{name: "header " + spelled, wire: wire, header: withKey(spelled + ": " + forgedMark), method: "apikey"}
				if refused {
					c.method, c.status = "", http.StatusForbidden
				}
				cases = append(cases, c)
			}
		}
	}
	var allTrailers []string
	for _, name := range identityNames {
		for _, spelled := range spellings(name) {
			allTrailers = append(allTrailers, spelled+": "+forgedMark)
		}
	}
	checksum := func(t *testing.T, e echoed) {
		if got := e.Trailer.Get("X-Checksum"); got != "1" {
			t.Errorf("the harmless trailer X-Checksum = %q, want it passed on", got)
		}
	}
	keepsTheme := func(t *testing.T, e echoed) {
		if c, err := (&http.Request{Header: e.Header}).Cookie("theme"); err != nil || c.Value != "dark" {
			t.Errorf("cookie theme lost: %v (Cookie %q)", err, e.Header.Values("Cookie"))
		}
	}
	keepsQuery := func(t *testing.T, e echoed) {
		if e.RawQuery != "a=1" {
			t.Errorf("upstream query %q, want a=1", e.RawQuery)
		}
	}
	cases = append(cases,
		spoofCase{name: "duplicated identity headers", header: withKey("X-User-Uid: evil-1", "X-User-Uid: evil-2", "x-user-role: evil-3", "X-User-Role: evil-4"), method: "apikey"},
		spoofCase{name: "duplicated identity headers", wire: "h2c", header: withKey("X-User-Uid: evil-1", "X-User-Uid: evil-2", "x-user-role: evil-3"), method: "apikey"},
		spoofCase{name: "Connection naming the identity headers", header: withKey("Connection: " + strings.Join(identityNames, ", ")), method: "apikey"},
		spoofCase{name: "Connection naming their other spellings", header: withKey("Connection: keep-alive", "Connection: x_user_uid, X.User.Role,x-tenant-uid"), method: "apikey"},
		spoofCase{name: "identity headers", wire: "HTTP/1.0", header: withKey("X-User-Uid: evil", "X-User-Role: evil", "x-tenant-uid: evil"), method: "apikey"},
		spoofCase{name: "no credential", wire: "HTTP/1.0", header: []string{"X-User-Uid: evil"}, status: http.StatusUnauthorized},
		spoofCase{name: "no credential with identity headers", header: []string{"X-User-Uid: evil", "X-Auth-Method: apikey"}, status: http.StatusUnauthorized},
		spoofCase{name: "a made-up key with identity headers", header: []string{"ApiKey: {leak}", "X-User-Uid: evil"}, status: http.StatusUnauthorized},

		spoofCase{name: "declared identity trailers", header: withKey("Trailer: X-User-Uid, X-User-Role, ProjectUid"), trailer: []string{"X-User-Uid: evil", "X-User-Role: evil", "ProjectUid: evil"}, method: "apikey"},
		spoofCase{name: "every spelling as a declared trailer", header: withKey("Trailer: " + trailerNames(allTrailers)), trailer: allTrailers, method: "apikey"},
		spoofCase{name: "undeclared identity trailers", header: withKey("Trailer: X-Checksum"), trailer: append([]string{"X-Checksum: 1"}, allTrailers...), method: "apikey", want: checksum},
		spoofCase{name: "credential trailers", header: withKey("Trailer: X-Checksum, ApiKey, Authorization, Cookie"), trailer: []string{"X-Checksum: 1", "ApiKey: {leak}", "Authorization: {leak}", "Cookie: Authorization={leak}"}, method: "apikey", want: checksum},
		spoofCase{name: "Trailer header without a chunked body", header: withKey("Trailer: X-User-Uid, ApiKey"), method: "apikey"},
		spoofCase{name: "identity trailers", wire: "h2c", header: withKey(), trailer: append([]string{"X-Checksum: 1"}, allTrailers...), method: "apikey", want: checksum},
		spoofCase{name: "credential trailers", wire: "h2c", header: withKey(), trailer: []string{"X-Checksum: 1", "ApiKey: {leak}", "Cookie: Authorization={leak}"}, method: "apikey", want: checksum},

		spoofCase{name: "token cookie", header: byCookie("Cookie: theme=dark; Authorization={token}"), method: "token", want: keepsTheme},
		spoofCase{name: "token cookie with a space before =", header: byCookie("Cookie: theme=dark; Authorization ={token}"), method: "token", want: keepsTheme},
		spoofCase{name: "token cookie with tabs", header: byCookie("Cookie: theme=dark;\tAuthorization\t={token}\t"), method: "token", want: keepsTheme},
		spoofCase{name: "quoted token cookie", header: byCookie(`Cookie: Authorization="{token}"; theme=dark`), method: "token", want: keepsTheme},
		spoofCase{name: "token cookie twice", header: byCookie("Cookie: Authorization={token}; theme=dark; Authorization ={leak}"), method: "token", want: keepsTheme},
		spoofCase{name: "token cookie in a second Cookie header", header: byCookie("Cookie: theme=dark", "Cookie:   Authorization ={token} ;"), method: "token", want: keepsTheme},
		spoofCase{name: "token cookie with a space before =", wire: "h2c", header: byCookie("Cookie: theme=dark; Authorization ={token}", "Cookie: Authorization={leak}"), method: "token", want: keepsTheme},
		spoofCase{name: "token header and another token cookie", header: []string{"Authorization: {token}", "Cookie: Authorization ={leak}; theme=dark"}, method: "token", want: keepsTheme},
		spoofCase{name: "API key and a token cookie", header: withKey("Cookie: theme=dark; Authorization =\"{leak}\""), method: "apikey", want: keepsTheme},

		spoofCase{name: "query ApiKey", target: "/spoof?ApiKey={key}&a=1", method: "apikey", want: keepsQuery},
		spoofCase{name: "query apikey", target: "/spoof?a=1&apikey={key}", method: "apikey", want: keepsQuery},
		spoofCase{name: "query APIKEY", target: "/spoof?APIKEY={key}&a=1", method: "apikey", want: keepsQuery},
		spoofCase{name: "query name percent-encoded", target: "/spoof?Api%4Bey={key}&a=1", method: "apikey", want: keepsQuery},
		spoofCase{name: "query name wholly percent-encoded", target: "/spoof?a=1&%61%70%69%6B%65%79={key}", method: "apikey", want: keepsQuery},
		spoofCase{name: "query ApiKey twice", target: "/spoof?ApiKey={key}&a=1&apiKey={leak}", method: "apikey", want: keepsQuery},
		spoofCase{name: "query ApiKey", wire: "h2c", target: "/spoof?a=1&aPiKeY={key}&APIKEY={leak}", method: "apikey", want: keepsQuery},
		spoofCase{name: "key header and another key in the query", target: "/spoof?ApiKey={leak}&a=1", header: withKey(), method: "apikey", want: keepsQuery},
		spoofCase{name: "key in the query and a token header", target: "/spoof?a=1&ApiKey={key}", header: []string{"Authorization: Bearer {leak}"}, method: "apikey", want: keepsQuery},
		spoofCase{name: "token header and a key in the query", target: "/spoof?a=1&ApiKey={leak}", header: []string{"Authorization: {token}"}, status: http.StatusUnauthorized},
	)
	return cases
}

// trailerNames is the Trailer header declaring lines.
func trailerNames(lines []string) string {
	var names []string
	for _, line := range lines {
		name, _, _ := strings.Cut(line, ":")
		names = append(names, name)
	}
	return strings.Join(names, ", ")
}

func (c spoofCase) wireName() string {
	if c.wire == "" {
		return "HTTP/1.1"
	}
	return c.wire
}

// identitySeen is the identity headers the upstream got for c, which must be accepted.
func (g *gateway) identitySeen(t *testing.T, c spoofCase, s spoofSecrets) http.Header {
	t.Helper()
	status, body := g.send(t, c, s)
	var e echoed
	if err := json.Unmarshal(body, &e); status != http.StatusOK || err != nil {
		t.Fatalf("a plain request got %d %s", status, body)
	}
	seen := http.Header{}
	for _, name := range identityNames {
		if v, ok := e.Header[http.CanonicalHeaderKey(name)]; ok {
			seen[http.CanonicalHeaderKey(name)] = v
		}
	}
	return seen
}

// send makes c's request and returns the status and body of the answer.
func (g *gateway) send(t *testing.T, c spoofCase, s spoofSecrets) (int, []byte) {
	t.Helper()
	target := c.target
	if target == "" {
		target = "/spoof"
	}
	target = s.fill(target)
	if c.wire == "h2c" {
		return g.sendH2C(t, target, fillAll(c.header, s), fillAll(c.trailer, s))
	}
	return g.sendRaw(t, rawRequest(c.wireName(), target, fillAll(c.header, s), fillAll(c.trailer, s)))
}

func fillAll(lines []string, s spoofSecrets) []string {
	filled := make([]string, len(lines))
	for i, line := range lines {
		filled[i] = s.fill(line)
	}
	return filled
}

// rawRequest is a POST with body "abc", chunked when trailers follow it.
func rawRequest(proto, target string, header, trailer []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "POST %s %s\r\nHost: 127.0.0.1\r\n", target, proto)
	for _, line := range header {
		b.WriteString(line + "\r\n")
	}
	if len(trailer) == 0 {
		b.WriteString("Content-Length: 3\r\n\r\nabc")
		return b.String()
	}
	b.WriteString("Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n")
	for _, line := range trailer {
		b.WriteString(line + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// sendRaw writes request on a new connection and reads one response.
func (g *gateway) sendRaw(t *testing.T, request string) (int, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(g.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("reading the answer's body: %v", err)
	}
	return res.StatusCode, body
}

// sendH2C sends a POST with body "abc" over HTTP/2 without TLS.
func (g *gateway) sendH2C(t *testing.T, target string, header, trailer []string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, g.url+target, strings.NewReader("abc"))
	if err != nil {
		t.Fatal(err)
	}
	addLines(req.Header, header)
	if len(trailer) > 0 {
		req.Trailer = http.Header{}
		addLines(req.Trailer, trailer)
	}
	res, err := h2cClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.ProtoMajor != 2 {
		t.Fatalf("answered over %s, not HTTP/2", res.Proto)
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, body
}

// addLines adds "Name: value" lines to h with the names as written.
func addLines(h http.Header, lines []string) {
	for _, line := range lines {
		name, value, _ := strings.Cut(line, ":")
		h[name] = append(h[name], strings.TrimSpace(value))
	}
}

// h2cClient speaks HTTP/2 without TLS, from the first byte (prior knowledge).
var h2cClient = func() *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: contract.wrap(&http.Transport{Protocols: &p}), Timeout: 10 * time.Second}
}()

// checkSpoof checks the answer to c: refused without reaching the upstream, or passed on
// with exactly the identity Keygate set (want) and without any credential.
func checkSpoof(t *testing.T, c spoofCase, s spoofSecrets, want http.Header, status int, body []byte) {
	t.Helper()
	if c.method == "" {
		var refusal struct {
			Code   string          `json:"code"`
			Header json.RawMessage `json:"header"`
		}
		if err := json.Unmarshal(body, &refusal); status != c.status || err != nil || refusal.Code == "" || refusal.Header != nil {
			t.Fatalf("got %d %s, want Keygate's %d", status, body, c.status)
		}
		return
	}
	var e echoed
	if err := json.Unmarshal(body, &e); status != http.StatusOK || err != nil {
		t.Fatalf("got %d %s, want the upstream's 200", status, body)
	}
	if e.Body != "abc" {
		t.Errorf("upstream body %q, want abc", e.Body)
	}
	checkIdentity(t, e.Header, want)
	checkTrailers(t, e.Trailer)
	checkNoCredential(t, e, s)
	if c.want != nil {
		c.want(t, e)
	}
}

// checkIdentity: every header a backend may read as identity is Keygate's, as want has it.
func checkIdentity(t *testing.T, got, want http.Header) {
	t.Helper()
	for name, values := range got {
		if isIdentityName(name) && !slices.Equal(values, want[name]) {
			t.Errorf("upstream got %s = %q, want %q", name, values, want[name])
		}
		for _, v := range values {
			if strings.Contains(v, forgedMark) {
				t.Errorf("a forged value reached upstream: %s: %s", name, v)
			}
		}
	}
	for name, values := range want {
		if !slices.Equal(got[name], values) {
			t.Errorf("upstream got %s = %q, want %q", name, got[name], values)
		}
	}
}

// checkTrailers: no trailer carries identity or a credential.
func checkTrailers(t *testing.T, trailer http.Header) {
	t.Helper()
	for name, values := range trailer {
		if isIdentityName(name) || fold(name) == "apikey" || name == "Authorization" {
			t.Errorf("trailer %s = %q reached upstream", name, values)
		}
		for _, v := range values {
			if strings.Contains(v, forgedMark) {
				t.Errorf("a forged value reached upstream in trailer %s: %s", name, v)
			}
		}
	}
}

func checkNoCredential(t *testing.T, e echoed, s spoofSecrets) {
	t.Helper()
	for _, secret := range []string{s.key, s.token, leakedSecret} {
		for where, h := range map[string]http.Header{"header": e.Header, "trailer": e.Trailer} {
			for name, values := range h {
				for _, v := range values {
					if strings.Contains(v, secret) {
						t.Errorf("a credential reached upstream in %s %s: %s", where, name, v)
					}
				}
			}
		}
		if strings.Contains(e.RawQuery, secret) {
			t.Errorf("a credential reached upstream in the query %q", e.RawQuery)
		}
	}
	q, _ := url.ParseQuery(e.RawQuery)
	for name := range q {
		if fold(name) == "apikey" {
			t.Errorf("upstream query %q has an ApiKey parameter", e.RawQuery)
		}
	}
	for _, h := range []http.Header{e.Header, e.Trailer} {
		if _, err := (&http.Request{Header: h}).Cookie("Authorization"); err == nil {
			t.Errorf("an Authorization cookie reached upstream: %q", h.Values("Cookie"))
		}
	}
}

func isIdentityName(name string) bool {
	for _, identity := range identityNames {
		if fold(name) == fold(identity) || fold(name) == fold(separated(identity, "-")) {
			return true
		}
	}
	return false
}

// fold spells a header name the way CGI-style backends read it.
func fold(name string) string {
	return strings.NewReplacer("_", "-", ".", "-").Replace(strings.ToLower(name))
}
