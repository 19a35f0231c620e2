package manage

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

// Service is the one way tenants, users, projects and API keys are read and changed, by
// the management API and the command line alike. Every operation takes an Actor and
// applies policy in one place: tenant admins act on everything in their tenant, other
// users on their own keys only, the operator on everything. Records of other tenants,
// and other users' keys for non-admins, answer 404 as if they did not exist, so uids
// cannot be probed. Every change commits in one store transaction with its audit row
// and the invariants it must keep, then drops what it affects from this node's caches
// (other nodes learn of it through the store's change feed).
type Service struct {
	store          storage.Store
	caches         Invalidator
	now            func() time.Time
	maxKeyLifetime time.Duration
	maxKeysPerUser int
	onAudit        func(storage.AuditEvent)

	tagMu    sync.Mutex
	tag      *authcore.KeyTag // nil until the first key is made, unless configured
	linkKey  []byte
	tokenTTL time.Duration

	secretKey []byte // seals OIDC client secrets and webhook signing secrets; nil: none can be stored
	// webhookPrivateTargets lets webhooks name loopback and private addresses.
	webhookPrivateTargets bool
	// fileOIDC holds the configuration file's OIDC settings by tenant uid; each config
	// load replaces them (SetFileOIDC), since the Service outlives it.
	fileOIDC atomic.Pointer[map[string]FileOIDC]
}

// ServiceConfig configures a Service.
type ServiceConfig struct {
	Store storage.Store
	// Caches is this node's credential cache. Default: none (the command line).
	Caches Invalidator
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// MaxKeyLifetime bounds how far after its creation a key may expire. Default:
	// DefaultMaxKeyLifetime.
	MaxKeyLifetime time.Duration
	// MaxKeysPerUser is how many keys a user may hold. Default: 0, no limit.
	MaxKeysPerUser int
	// OnAudit, when set, is told of every committed audit event (for the operator's log).
	OnAudit func(storage.AuditEvent)
	// KeyTag tags new keys. Default: the store's, read (or made) when the first key is.
	KeyTag *authcore.KeyTag
	// LinkKey is the secret that password link tokens are derived from (an HMAC of their
	// stored ids), so that only their digests need be stored and admins can still be shown
	// them. Every node must have the same. Default: none, and no links can be made (the
	// command line).
	LinkKey []byte
	// TokenTTL is the gateway's token lifetime, what a tenant without its own setting
	// gets. Default: credentials.DefaultTokenTTL's 15 minutes.
	TokenTTL time.Duration
	// SecretKey seals the OIDC client secrets tenants store and webhooks' signing
	// secrets (AES-256-GCM, 32 bytes, bound to each record).
	// Every node must have the same. Default: none, and no secret can be stored or read
	// (the command line).
	SecretKey []byte
	// WebhookPrivateTargets lets webhooks be registered on loopback and private
	// addresses. Default: false, they are refused.
	WebhookPrivateTargets bool
}

// Invalidator drops the cached decisions a change makes stale. *Authenticator is one.
type Invalidator interface {
	InvalidateKeys(keys ...storage.APIKey)
	InvalidateUserAndKeys(uid string, keys []storage.APIKey)
	InvalidateMembership(projectUID, userUID string)
	InvalidateProjects()
	InvalidateRoles(tenantUID string)
}

// NewService returns the Service of cfg.
func NewService(cfg ServiceConfig) *Service {
	s := &Service{
		store: cfg.Store, caches: cfg.Caches, now: cfg.Now,
		maxKeyLifetime: cfg.MaxKeyLifetime, maxKeysPerUser: cfg.MaxKeysPerUser, onAudit: cfg.OnAudit, tag: cfg.KeyTag,
		linkKey: cfg.LinkKey, tokenTTL: cfg.TokenTTL, secretKey: cfg.SecretKey, webhookPrivateTargets: cfg.WebhookPrivateTargets,
	}
	authcore.SetDefault(&s.tokenTTL, defaultTokenTTL)
	if s.caches == nil {
		s.caches = noCaches{}
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.maxKeyLifetime <= 0 {
		s.maxKeyLifetime = authcore.DefaultMaxKeyLifetime
	}
	return s
}

// keyTag returns what tags new keys, reading the store's tag secret on first use (a
// failure is retried by the next create).
func (s *Service) keyTag(ctx context.Context) (*authcore.KeyTag, error) {
	s.tagMu.Lock()
	defer s.tagMu.Unlock()
	if s.tag == nil {
		tag, err := authcore.LoadKeyTag(ctx, s.store, s.now())
		if err != nil {
			return nil, authcore.StoreError(err, "api key tag secret")
		}
		s.tag = tag
	}
	return s.tag, nil
}

// defaultTokenTTL is credentials.DefaultTokenTTL (manage does not import credentials).
const defaultTokenTTL = 15 * time.Minute

// DefaultMaxKeysPerUser is how many API keys a user may hold unless configured, as in
// Palette.
const DefaultMaxKeysPerUser = 20

// MaxPageSize bounds a listing page.
const MaxPageSize = 50

// clock is the Service's time, to the millisecond the store keeps.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// commit runs change and appends its audit row in one store transaction: a change is
// never applied without its record, nor recorded without being applied. Errors are
// client-facing (*Error): what change returns as an *Error passes as it is, store
// errors are mapped with what naming the record.
func (s *Service) commit(ctx context.Context, a authcore.Actor, what string, ev authcore.Audit, change func(tx storage.Tx) error) error {
	return s.commitFound(ctx, a, what, func(tx storage.Tx) (authcore.Audit, error) { return ev, change(tx) })
}

// commitFound is commit for a change that reads its record inside the transaction and
// only then knows what its audit row says.
func (s *Service) commitFound(ctx context.Context, a authcore.Actor, what string, change func(tx storage.Tx) (authcore.Audit, error)) error {
	event, err := authcore.CommitAudited(ctx, s.store, func(tx storage.Tx) (storage.AuditEvent, error) {
		ev, err := change(tx)
		return authcore.AuditEvent(a, ev, s.clock()), err
	})
	if err != nil {
		return authcore.StoreError(err, what)
	}
	if s.onAudit != nil {
		s.onAudit(event)
	}
	return nil
}

// page checks a listing request; a limit of 0 means the default (the most).
func page(limit int, cursor string) (storage.Page, error) {
	if limit < 0 || limit > MaxPageSize {
		return storage.Page{}, authcore.BadRequest("limit must be between 1 and %d", MaxPageSize)
	}
	if limit == 0 {
		limit = MaxPageSize
	}
	return storage.Page{Limit: limit, After: cursor}, nil
}

// listError maps a listing's store error; a cursor the store cannot read is a 400.
func listError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, storage.ErrBadCursor) {
		return authcore.BadRequest("continue is not a cursor this listing returned")
	}
	return authcore.Unavailable(err)
}

// notFoundOr is a 404, unless err says the store is down.
func notFoundOr(err error, format string, args ...any) error {
	if err != nil && !authcore.IsNotFound(err) {
		return authcore.Unavailable(err)
	}
	return authcore.NotFound(format, args...)
}

// noCaches is the Invalidator of a Service without a cache.
type noCaches struct{}

func (noCaches) InvalidateKeys(...storage.APIKey)               {}
func (noCaches) InvalidateUserAndKeys(string, []storage.APIKey) {}
func (noCaches) InvalidateMembership(string, string)            {}
func (noCaches) InvalidateProjects()                            {}
func (noCaches) InvalidateRoles(string)                         {}

// requireAdmin refuses actors who are not tenant admins (or the operator).
func requireAdmin(a authcore.Actor) error {
	if !a.IsTenantAdmin() {
		return authcore.Forbidden("only tenant admins may do this")
	}
	return nil
}

// requireOperator refuses everyone but the operator.
func requireOperator(a authcore.Actor) error {
	if !a.IsOperator() {
		return authcore.Forbidden("only the operator may do this")
	}
	return nil
}
