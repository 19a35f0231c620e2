package tests

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	opstorage "github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// testIdP is a real OpenID Provider, zitadel/oidc's, running in the test process with
// its example storage and login page: users who sign in with a password, a web client
// for the gateway, and groups the test changes between sign-ins.
type testIdP struct {
	issuer   string
	clientID string
	secret   string
	srv      *http.Server

	mu        sync.Mutex
	redirect  string              // the client's redirect URI, or a pattern of it
	groups    map[string][]string // by user id
	expiredID bool                // when set, ID tokens are expired when issued
}

// otherClient is another application registered at the provider, with the same
// redirect URI as the gateway's client.
const otherClient = "another-app"

// idpUser is a user of the test provider.
type idpUser struct {
	id, username, email string
	verified            bool
}

var (
	idpAnn = idpUser{id: "ann-sub", username: "ann", email: "ann@acme.test", verified: true}
	idpBob = idpUser{id: "bob-sub", username: "bob", email: "bob@acme.test", verified: false}
	idpDev = idpUser{id: "dev-sub", username: "dev", email: "dev@acme.test", verified: true}
)

const idpPassword = "correct horse"

// startIdP starts the provider with its client allowed to come back to redirectURI (a
// pattern: * stands for any part of it, such as a port not known yet).
func startIdP(t *testing.T, redirectURI string) *testIdP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	idp := &testIdP{issuer: "http://" + ln.Addr().String(), clientID: "keygate", secret: "s3cret-of-the-client", redirect: redirectURI, groups: map[string][]string{}}
	users := idpUsers{}
	for _, u := range []idpUser{idpAnn, idpBob, idpDev} {
		users[u.id] = &opstorage.User{
			ID: u.id, Username: u.username, Password: idpPassword, Email: u.email, EmailVerified: u.verified,
			FirstName: strings.ToUpper(u.username[:1]) + u.username[1:], LastName: "Tester", PreferredLanguage: language.English,
		}
	}
	inner := opstorage.NewStorageWithClients(users, map[string]*opstorage.Client{
		idp.clientID: opstorage.WebClient(idp.clientID, idp.secret, redirectURI),
		otherClient:  opstorage.WebClient(otherClient, "another secret", redirectURI),
	})
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	router := exampleop.SetupServer(idp.issuer, &idpStorage{Storage: inner, idp: idp}, quiet, false)
	idp.srv = &http.Server{Handler: router, ReadHeaderTimeout: 5 * time.Second}
	go idp.srv.Serve(ln)
	t.Cleanup(func() { idp.srv.Close() })
	return idp
}

func (idp *testIdP) setGroups(u idpUser, groups ...string) {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	idp.groups[u.id] = groups
}

func (idp *testIdP) set(f func(*testIdP)) {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	f(idp)
}

// idpUsers is the provider's user store.
type idpUsers map[string]*opstorage.User

func (u idpUsers) GetUserByID(id string) *opstorage.User { return u[id] }
func (u idpUsers) GetUserByUsername(name string) *opstorage.User {
	for _, x := range u {
		if x.Username == name {
			return x
		}
	}
	return nil
}
func (u idpUsers) ExampleClientID() string { return "keygate" }

// idpStorage is the example storage with what real providers do and the example lacks:
// a groups claim and the user's claims in the ID token; and, when a test asks, a
// misbehaving provider's expired ID tokens.
type idpStorage struct {
	*opstorage.Storage
	idp *testIdP
}

func (s *idpStorage) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	if err := s.Storage.SetUserinfoFromRequest(ctx, info, req, scopes); err != nil {
		return err
	}
	s.idp.mu.Lock()
	defer s.idp.mu.Unlock()
	if g, ok := s.idp.groups[req.GetSubject()]; ok {
		info.AppendClaims("groups", g)
	}
	return nil
}

func (s *idpStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return idpClient{Client: c, idp: s.idp}, nil
}

// idpClient puts the user's claims in the ID token (as Google, Entra and Okta do), and
// makes ID tokens that are expired when issued while the test asks for that.
type idpClient struct {
	op.Client
	idp *testIdP
}

func (c idpClient) IDTokenUserinfoClaimsAssertion() bool { return true }

// RedirectURIGlobs is the redirect URI the test gave as a pattern, if it did.
func (c idpClient) RedirectURIGlobs() []string {
	if strings.Contains(c.idp.redirect, "*") {
		return []string{c.idp.redirect}
	}
	return nil
}

func (c idpClient) PostLogoutRedirectURIGlobs() []string { return nil }
func (c idpClient) IDTokenLifetime() time.Duration {
	c.idp.mu.Lock()
	defer c.idp.mu.Unlock()
	if c.idp.expiredID {
		return -10 * time.Minute
	}
	return c.Client.IDTokenLifetime()
}

// ssoAgent signs in as a browser does, following redirects between the gateway and the
// provider: it stops at the gateway's callback, so that the test can look at (or
// change) what the provider sends back before the gateway sees it.
type ssoAgent struct {
	t        *testing.T
	g        *gateway
	idp      *testIdP
	client   *http.Client
	flow     *http.Cookie // the gateway's flow cookie (Secure: a jar keeps it off plain http)
	nonceTo  string       // when set, the authorization request's nonce is replaced by it
	clientTo string       // when set, the authorization request is made for this client instead
}

func newSSOAgent(t *testing.T, g *gateway, idp *testIdP) *ssoAgent {
	jar, _ := cookiejar.New(nil)
	b := &ssoAgent{t: t, g: g, idp: idp}
	gw, _ := url.Parse(g.url)
	b.client = &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if r.URL.Host == gw.Host {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return b
}

// callbackURL starts the organisation's sign-in at the gateway, signs in at the
// provider as u and returns the callback URL the provider sends the browser to.
func (b *ssoAgent) callbackURL(org string, u idpUser, query string) string {
	t := b.t
	t.Helper()
	start := *b.client
	start.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := start.Get(b.g.url + "/v1/auth/org/" + org + "/oidc/login" + query)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound {
		t.Fatalf("login start = %d, want 302", res.StatusCode)
	}
	for _, c := range res.Cookies() {
		if c.Name == "keygate_oidc" {
			b.flow = c
		}
	}
	if b.flow == nil || !b.flow.HttpOnly || !b.flow.Secure {
		t.Fatalf("login start set no HttpOnly, Secure flow cookie: %v", res.Header["Set-Cookie"])
	}
	to := res.Header.Get("Location")
	if !strings.HasPrefix(to, b.idp.issuer) {
		t.Fatalf("login start sent the browser to %q, not the provider", to)
	}
	if b.nonceTo != "" || b.clientTo != "" {
		authURL, _ := url.Parse(to)
		q := authURL.Query()
		if b.nonceTo != "" {
			q.Set("nonce", b.nonceTo)
		}
		if b.clientTo != "" {
			q.Set("client_id", b.clientTo)
		}
		authURL.RawQuery = q.Encode()
		to = authURL.String()
	}
	// The provider's login page: its form posts the username, password and request id.
	res, err = b.client.Get(to)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	id := res.Request.URL.Query().Get("authRequestID")
	if id == "" {
		t.Fatalf("the provider did not show its login page: %s %d", res.Request.URL, res.StatusCode)
	}
	res, err = b.client.PostForm(b.idp.issuer+"/login/username", url.Values{"username": {u.username}, "password": {idpPassword}, "id": {id}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	back := res.Header.Get("Location")
	if res.StatusCode/100 != 3 || !strings.HasPrefix(back, b.g.url) {
		t.Fatalf("the provider answered the login with %d to %q, not a redirect to the gateway", res.StatusCode, back)
	}
	return back
}

// callback delivers the provider's answer to the gateway, with the browser's cookies.
func (b *ssoAgent) callback(to string) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, to, nil)
	res, err := b.client.Do(withTest(req, b.t))
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}
