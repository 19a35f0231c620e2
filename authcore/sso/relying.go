package sso

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/keygate/keygate/authcore"
)

// providerTimeout bounds every call to a provider (discovery, keys, token, userinfo): a
// slow provider fails the sign-in rather than holding the request.
const providerTimeout = 10 * time.Second

// RelyingParty runs sign-ins. It keeps each tenant's discovered provider (its endpoints
// and keys, which go-oidc refreshes when a token names an unknown key) until the
// tenant's configuration changes.
type RelyingParty struct {
	now func() time.Time

	mu        sync.Mutex
	providers map[string]*provider // by tenant uid
}

// provider is a discovered OpenID Provider and the HTTP client that reaches it.
type provider struct {
	configured time.Time // the UpdatedAt of the configuration it was made from
	issuer     string
	client     *http.Client
	oidc       *oidc.Provider
	endSession string // the provider's end_session_endpoint, if it has one
}

// NewRelyingParty returns a RelyingParty with the clock now (time.Now when nil).
func NewRelyingParty(now func() time.Time) *RelyingParty {
	if now == nil {
		now = time.Now
	}
	return &RelyingParty{now: now, providers: map[string]*provider{}}
}

// Begin starts a sign-in: the provider's authorization URL to send the browser to, and
// the flow for the callback to check its answer against.
func (rp *RelyingParty) Begin(ctx context.Context, c Config, console bool) (string, Flow, error) {
	p, err := rp.provider(ctx, c)
	if err != nil {
		return "", Flow{}, err
	}
	f := Flow{
		TenantUID: c.TenantUID, State: random(), Nonce: random(), Verifier: oauth2.GenerateVerifier(),
		Console: console, Expires: rp.now().Add(FlowTTL).Unix(),
	}
	u := rp.oauth2(c, p).AuthCodeURL(f.State, oidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier))
	return u, f, nil
}

// Finish checks the provider's answer at the callback (its query) against the flow, and
// answers who signed in: the code exchanged with the PKCE verifier, the ID token
// verified, the nonce matched, the email verified.
func (rp *RelyingParty) Finish(ctx context.Context, c Config, f Flow, q url.Values) (Identity, error) {
	if q.Get("error") != "" {
		return Identity{}, providerRefused(q.Get("error"))
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(f.State)) != 1 || f.TenantUID != c.TenantUID {
		return Identity{}, errStateMismatch
	}
	if q.Get("code") == "" {
		return Identity{}, errNoCode
	}
	p, err := rp.provider(ctx, c)
	if err != nil {
		return Identity{}, err
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, p.client), providerTimeout)
	defer cancel()
	tok, err := rp.oauth2(c, p).Exchange(ctx, q.Get("code"), oauth2.VerifierOption(f.Verifier))
	if err != nil {
		return Identity{}, errExchange.WithCause(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := p.oidc.Verifier(&oidc.Config{ClientID: c.ClientID, Now: rp.now}).Verify(ctx, raw)
	if err != nil {
		return Identity{}, errIDToken.WithCause(err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(f.Nonce)) != 1 {
		return Identity{}, errNonce
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, errIDToken.WithCause(err)
	}
	if c.UseUserInfo {
		if claims, err = withUserInfo(ctx, p, tok, idt.Subject, claims); err != nil {
			return Identity{}, err
		}
	}
	return identityOf(c, idt.Issuer, idt.Subject, claims)
}

// EndSessionURL is where a sign-out sends the browser to end the provider's session
// too: its end_session_endpoint with the client and where to come back, or "" when the
// provider has none.
func (rp *RelyingParty) EndSessionURL(ctx context.Context, c Config, back string) (string, error) {
	p, err := rp.provider(ctx, c)
	if err != nil || p.endSession == "" {
		return "", err
	}
	u, err := url.Parse(p.endSession)
	if err != nil {
		return "", nil // a provider's broken URL: end Keygate's session only
	}
	q := u.Query()
	q.Set("client_id", c.ClientID)
	if back != "" {
		q.Set("post_logout_redirect_uri", back)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func (rp *RelyingParty) oauth2(c Config, p *provider) *oauth2.Config {
	return &oauth2.Config{
		ClientID: c.ClientID, ClientSecret: c.ClientSecret, RedirectURL: c.RedirectURL,
		Endpoint: p.oidc.Endpoint(), Scopes: Scopes(c.Scopes),
	}
}

// Scopes are the scopes a sign-in asks for: the configured ones, always with openid.
func Scopes(configured []string) []string {
	scopes := []string{oidc.ScopeOpenID}
	for _, s := range configured {
		if s = strings.TrimSpace(s); s != "" && s != oidc.ScopeOpenID {
			scopes = append(scopes, s)
		}
	}
	if len(scopes) == 1 {
		scopes = append(scopes, "email", "profile")
	}
	return scopes
}

// provider is the tenant's discovered provider, discovering it again when the
// configuration changed since.
func (rp *RelyingParty) provider(ctx context.Context, c Config) (*provider, error) {
	rp.mu.Lock()
	p := rp.providers[c.TenantUID]
	rp.mu.Unlock()
	if p != nil && p.configured.Equal(c.UpdatedAt) && p.issuer == c.IssuerURL {
		return p, nil
	}
	client, err := httpClient(c)
	if err != nil {
		return nil, err
	}
	dctx, cancel := context.WithTimeout(oidc.ClientContext(context.WithoutCancel(ctx), client), providerTimeout)
	defer cancel()
	op, err := oidc.NewProvider(dctx, c.IssuerURL)
	if err != nil {
		return nil, errProviderUnreachable.WithCause(err)
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	_ = op.Claims(&meta)
	p = &provider{configured: c.UpdatedAt, issuer: c.IssuerURL, client: client, oidc: op, endSession: meta.EndSession}
	rp.mu.Lock()
	rp.providers[c.TenantUID] = p
	rp.mu.Unlock()
	return p, nil
}

// httpClient reaches the provider with the tenant's TLS settings.
func httpClient(c Config) (*http.Client, error) {
	tr := &http.Transport{
		Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true, MaxIdleConns: 10, IdleConnTimeout: 90 * time.Second,
		TLSHandshakeTimeout: providerTimeout,
		TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.InsecureSkipVerify}, //nolint:gosec // the tenant's explicit choice
	}
	if c.CACertificatePEM != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(c.CACertificatePEM)) {
			return nil, authcore.BadRequest("issuerTls.caCertificateBase64 holds no PEM certificate")
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	return &http.Client{Transport: tr, Timeout: providerTimeout}, nil
}

// errProviderUnreachable answers a sign-in whose provider's discovery failed.
var errProviderUnreachable = &authcore.Error{Status: http.StatusBadGateway, Code: "SSOProviderUnavailable",
	Message: "the organization's identity provider could not be reached; try again later"}

func random() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// errUserInfoSubject refuses userinfo about someone else than the ID token's subject
// (OpenID Connect Core 5.3.2).
var errUserInfoSubject = errors.New("userinfo subject differs from the ID token's")

// withUserInfo adds the userinfo endpoint's claims to the ID token's.
func withUserInfo(ctx context.Context, p *provider, tok *oauth2.Token, subject string, claims map[string]any) (map[string]any, error) {
	info, err := p.oidc.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		return nil, errIDToken.WithCause(fmt.Errorf("userinfo: %w", err))
	}
	if info.Subject != subject {
		return nil, errIDToken.WithCause(errUserInfoSubject)
	}
	extra := map[string]any{}
	if err := info.Claims(&extra); err != nil {
		return nil, errIDToken.WithCause(err)
	}
	for k, v := range extra {
		claims[k] = v
	}
	return claims, nil
}
