// Package caddymodule is everything Caddy-facing in Keygate: the keygate app that owns the
// shared state, the http.handlers.keygate handler, Caddyfile parsing and CLI subcommands.
package caddymodule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/user"
	"slices"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/keygate/keygate/authcore/credentials"
	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/storage"
)

func init() {
	caddy.RegisterModule(App{})
}

// App is the keygate app: it owns the store, the credential cache and the settings every
// keygate handler shares. Its state lives in a caddy.UsagePool, so a config reload that
// keeps the same storage and cache settings keeps the warm cache and the open store.
type App struct {
	// Storage is where tenants, users, projects and keys are kept, as a keygate.storage
	// module. Default: `{"backend": "sqlite"}`, a keygate.db file in Caddy's data directory.
	StorageRaw json.RawMessage `json:"storage,omitempty" caddy:"namespace=keygate.storage inline_key=backend"`

	// CacheMaxEntries bounds the number of cached credential decisions.
	// Default: 100000.
	CacheMaxEntries int64 `json:"cache_max_entries,omitempty"`

	// CacheTTL is how long a credential found in the store is trusted without asking the
	// store again; revocations reach the cache sooner through change notifications.
	// Default: 5m.
	CacheTTL caddy.Duration `json:"cache_ttl,omitempty"`

	// NegativeCacheTTL is how long an unknown credential is remembered as unknown, so each
	// made-up key reaches the store at most once per this period (and repeated failures
	// from one client are throttled: see ClientFailureLimit). Default: 30s.
	NegativeCacheTTL caddy.Duration `json:"negative_cache_ttl,omitempty"`

	// StaleIfError is how long past CacheTTL a credential the store found keeps working
	// while the store cannot answer (as HTTP's stale-if-error): its cached key, user or
	// project-access decision is used only when reloading it fails. Tokens whose user is
	// not cached then act on the role and email they carry. Unknown credentials still get
	// 503, and a revoked credential is dropped from the cache, never served stale.
	// Default: 1m. A negative value (`off` in the Caddyfile) turns it off: every store
	// error answers 503.
	StaleIfError caddy.Duration `json:"stale_if_error,omitempty"`

	// TokenTTL is how long an Authorization token lives; refresh it before then.
	// Default: 15m.
	TokenTTL caddy.Duration `json:"token_ttl,omitempty"`

	// MaxKeyLifetime bounds how far after its creation an API key may expire.
	// Default: 365 days (8760h).
	MaxKeyLifetime caddy.Duration `json:"max_key_lifetime,omitempty"`

	// MaxKeysPerUser is how many API keys one user may hold; creating one more answers
	// 409 ApiKeyLimitReached. 0 means no limit. Default: 20 (Palette's limit).
	MaxKeysPerUser *int `json:"max_keys_per_user,omitempty"`

	// LoginFailureLimit blocks an account for the rest of FailureWindow after this many
	// failed logins; the login endpoint then answers 429. On PostgreSQL the count is the
	// cluster's (every node's failures together), on SQLite the node's. Default: 5.
	LoginFailureLimit int `json:"login_failure_limit,omitempty"`

	// ClientFailureLimit blocks a client IP for the rest of FailureWindow after this many
	// rejected credentials, on logins and proxied requests alike; counted like
	// LoginFailureLimit. Default: 20.
	ClientFailureLimit int `json:"client_failure_limit,omitempty"`

	// FailureWindow is the window in which failures are counted. Default: 1m.
	FailureWindow caddy.Duration `json:"failure_window,omitempty"`

	// LoginCPUShare is the share of the process's CPUs (GOMAXPROCS) that password
	// hashing may use, 0 < share <= 1. Logins beyond it are refused at once with 503
	// LoginBusy and a Retry-After, before the email is looked up, so a login flood
	// cannot take the CPU from proxied requests; three quarters of it are kept for
	// browsers holding a device cookie of the account, so a flood from unknown clients
	// gets a quarter. Default: 0.1 (two to four logins a second per core; a flood
	// takes a fortieth of the CPU).
	LoginCPUShare float64 `json:"login_cpu_share,omitempty"`

	// BootstrapAdmin, when set, creates tenant "default" and this user as its tenant admin
	// on the first start with an empty store. Default: unset (no bootstrap).
	BootstrapAdmin *BootstrapAdmin `json:"bootstrap_admin,omitempty"`

	// SSO sets organisations' OIDC sign-in by file, by organisation (tenant) name, in
	// place of what their admins set through the API. Default: none.
	SSO map[string]*SSOOrganization `json:"sso,omitempty"`

	// WebhookPrivateTargets is "allow" to let tenants' webhooks be registered on, and
	// delivered to, loopback and private addresses (receivers inside the gateway's own
	// network), or "deny". Default: "deny": a webhook must not become a way in.
	WebhookPrivateTargets string `json:"webhook_private_targets,omitempty"`

	// WebhookTimeout bounds one webhook delivery attempt, from connecting to the end of
	// the answer. Default: 10s.
	WebhookTimeout caddy.Duration `json:"webhook_timeout,omitempty"`

	// ExpiryReminders are how long before an API key expires apikey.expiring events go
	// out, one per threshold (apikey.expired follows when it passes). Default: 7d and 1d.
	ExpiryReminders []caddy.Duration `json:"expiry_reminders,omitempty"`

	// PreloadKeys is how many of the API keys used in the last hour a node loads into
	// its cache when it starts (and after a resync, which empties the cache), most
	// recently used first, so that a restart under load does not send each busy key to
	// the store. 0 turns it off. Default: 10000 (at most cache_max_entries).
	PreloadKeys *int `json:"preload_keys,omitempty"`

	backend StorageBackend
	poolKey string
	state   *sharedState
	logger  *zap.Logger
}

// BootstrapAdmin is the first tenant admin.
type BootstrapAdmin struct {
	// Email of the admin. Required. Placeholders such as {env.X} are replaced.
	Email string `json:"email"`

	// Password of the admin. Placeholders such as {env.X} are replaced. Default: empty,
	// meaning a random password is generated and written once to a file readable only by
	// its owner in Caddy's data directory; the log names the file.
	Password string `json:"password,omitempty"`
}

// StorageBackend is a keygate.storage module: it opens the store Keygate uses.
type StorageBackend interface {
	// StoreKey identifies the store, so configs naming the same one share it.
	StoreKey() string
	// OpenStore opens the store; the caller closes it.
	OpenStore(ctx context.Context) (storage.Store, error)
}

// CaddyModule returns the Caddy module information.
func (App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "keygate",
		New: func() caddy.Module { return new(App) },
	}
}

// Provision opens (or joins) the shared state.
func (a *App) Provision(ctx caddy.Context) error {
	a.logger = ctx.Logger()
	if err := keygateMetrics().register(ctx.GetMetricsRegistry()); err != nil {
		return fmt.Errorf("keygate: registering metrics: %w", err)
	}
	backend, err := loadStorageBackend(ctx, a)
	if err != nil {
		return err
	}
	a.backend = backend
	if a.poolKey, err = a.stateKey(); err != nil {
		return fmt.Errorf("keygate: %w", err)
	}
	val, _, err := statePool.LoadOrNew(a.poolKey, func() (caddy.Destructor, error) {
		return newSharedState(a, a.logger)
	})
	if err != nil {
		return fmt.Errorf("keygate: %w", err)
	}
	a.state = val.(*sharedState)
	a.state.service.SetFileOIDC(a.fileOIDC())
	return nil
}

// stateKey names the shared state these settings make, so configs with the same ones
// share it: the store by its StoreKey (the storage config may hold a password), then
// every other setting as JSON, with MaxKeysPerUser's default applied (unset and 20 are
// one state). Every field of App is in it unless left out here, so a new option cannot
// be forgotten. Left out is BootstrapAdmin: it acts only when a state is first made, on
// an empty store, and it may hold a password; and SSO, which each load hands the state
// (it may hold a client secret).
func (a *App) stateKey() (string, error) {
	settings := *a
	settings.StorageRaw, settings.BootstrapAdmin, settings.SSO = nil, nil, nil
	perUser := a.keysPerUser()
	settings.MaxKeysPerUser = &perUser
	b, err := json.Marshal(settings)
	if err != nil {
		return "", err
	}
	return a.backend.StoreKey() + "|" + string(b), nil
}

// loadStorageBackend loads the configured storage module, or the default SQLite one.
func loadStorageBackend(ctx caddy.Context, a *App) (StorageBackend, error) {
	if a.StorageRaw == nil {
		a.StorageRaw = json.RawMessage(`{"backend":"sqlite"}`)
	}
	mod, err := ctx.LoadModule(a, "StorageRaw")
	if err != nil {
		return nil, fmt.Errorf("keygate: loading storage: %w", err)
	}
	backend, ok := mod.(StorageBackend)
	if !ok {
		return nil, fmt.Errorf("keygate: module %T is not a storage backend", mod)
	}
	return backend, nil
}

// Validate checks the settings.
func (a *App) Validate() error {
	switch {
	case a.CacheMaxEntries < 0 || a.CacheMaxEntries > credentials.MaxCacheEntries:
		return fmt.Errorf("keygate: cache_max_entries must be between 1 and %d", credentials.MaxCacheEntries)
	case a.CacheTTL < 0, a.NegativeCacheTTL < 0, a.TokenTTL < 0, a.FailureWindow < 0, a.MaxKeyLifetime < 0:
		return errors.New("keygate: durations must not be negative (only stale_if_error, where it means off)")
	case a.LoginFailureLimit < 0, a.ClientFailureLimit < 0:
		return errors.New("keygate: failure limits must not be negative")
	case a.LoginCPUShare < 0 || a.LoginCPUShare > 1:
		return fmt.Errorf("keygate: login_cpu_share must be more than 0 and at most 1, not %v", a.LoginCPUShare)
	case a.PreloadKeys != nil && *a.PreloadKeys < 0:
		return errors.New("keygate: preload_keys must not be negative (0 turns preloading off)")
	case a.keysPerUser() < 0:
		return errors.New("keygate: max_keys_per_user must not be negative (0 means no limit)")
	case a.WebhookPrivateTargets != "" && a.WebhookPrivateTargets != "allow" && a.WebhookPrivateTargets != "deny":
		return fmt.Errorf("keygate: webhook_private_targets must be allow or deny, not %q", a.WebhookPrivateTargets)
	case a.WebhookTimeout < 0:
		return errors.New("keygate: webhook_timeout must not be negative")
	case slices.ContainsFunc(a.ExpiryReminders, func(d caddy.Duration) bool { return d <= 0 || time.Duration(d) > 366*24*time.Hour }):
		return errors.New("keygate: each expiry_reminders threshold must be more than 0 and at most 366d")
	case a.BootstrapAdmin != nil && a.BootstrapAdmin.Email == "":
		return errors.New("keygate: bootstrap_admin needs an email")
	}
	for org, o := range a.SSO {
		if err := o.validate(org); err != nil {
			return err
		}
	}
	return nil
}

// newService is the one management service on store with this app's settings, dropping
// what it changes from caches (nil for the command line, which has none).
func (a *App) newService(store storage.Store, caches *credentials.Verifier, onAudit func(storage.AuditEvent)) *manage.Service {
	cfg := manage.ServiceConfig{
		Store: store, MaxKeyLifetime: time.Duration(a.MaxKeyLifetime), MaxKeysPerUser: a.keysPerUser(), OnAudit: onAudit,
		TokenTTL: time.Duration(a.TokenTTL), Now: clockNow, WebhookPrivateTargets: a.WebhookPrivateTargets == "allow",
	}
	if caches != nil {
		cfg.Caches, cfg.KeyTag = caches, caches.KeyTag()
		cfg.LinkKey = caches.LastingDerivedKey(passwordLinkPurpose)
		cfg.SecretKey = caches.LastingDerivedKey(oidcSecretPurpose)
	}
	return manage.NewService(cfg)
}

// passwordLinkPurpose names the key password link tokens are derived from.
const passwordLinkPurpose = "password links"

// oidcSecretPurpose names the key tenants' OIDC client secrets are sealed with.
const oidcSecretPurpose = "oidc client secrets"

// osUser names the operator in the audit log: the OS user running this process.
func osUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return ""
}

// DefaultPreloadKeys is how many recently used keys a node preloads unless configured.
const DefaultPreloadKeys = 10000

// preloadKeys is PreloadKeys with its default applied, within the cache's size.
func (a *App) preloadKeys() int {
	n := DefaultPreloadKeys
	if a.PreloadKeys != nil {
		n = *a.PreloadKeys
	}
	if a.CacheMaxEntries > 0 && int64(n) > a.CacheMaxEntries {
		n = int(a.CacheMaxEntries)
	}
	return n
}

// keysPerUser is MaxKeysPerUser with its default applied; 0 means no limit.
func (a *App) keysPerUser() int {
	if a.MaxKeysPerUser == nil {
		return manage.DefaultMaxKeysPerUser
	}
	return *a.MaxKeysPerUser
}

// Start implements caddy.App. The shared state is already running.
func (a *App) Start() error { return nil }

// Stop implements caddy.App. The shared state stops in Cleanup, once unused.
func (a *App) Stop() error { return nil }

// Cleanup releases this config's hold on the shared state; the last holder closes it.
func (a *App) Cleanup() error {
	if a.state == nil {
		return nil
	}
	_, err := statePool.Delete(a.poolKey)
	return err
}

// Interface guards.
var (
	_ caddy.App          = (*App)(nil)
	_ caddy.Provisioner  = (*App)(nil)
	_ caddy.Validator    = (*App)(nil)
	_ caddy.CleanerUpper = (*App)(nil)
)
