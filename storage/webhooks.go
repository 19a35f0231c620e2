package storage

import (
	"context"
	"time"
)

// Event is one lifecycle event for webhooks: what an audited change (or an expiry) says
// to the tenant's receivers. Its ID is the webhook-id of every delivery of it.
type Event struct {
	ID        string
	TenantUID string
	Type      string // e.g. "apikey.created"
	At        time.Time
	Payload   []byte // the JSON body receivers get
}

// WebhookEndpoint is a receiver a tenant admin registered.
type WebhookEndpoint struct {
	UID         string
	TenantUID   string
	URL         string
	Description string
	EventTypes  []string // the types it gets; empty for every type
	// SealedSecret is the signing secret, sealed with the gateway's secret key: a
	// delivery needs it in the clear to sign, so it cannot be a digest.
	SealedSecret []byte
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// DeliveryStatus is where a delivery stands.
type DeliveryStatus string

// The states of a delivery.
const (
	DeliveryPending   DeliveryStatus = "pending"   // to be tried (again) at NextAttemptAt
	DeliveryDelivered DeliveryStatus = "delivered" // the receiver answered 2xx
	DeliveryFailed    DeliveryStatus = "failed"    // retries ran out
)

// WebhookDelivery is one event on its way to one endpoint: the outbox row.
type WebhookDelivery struct {
	UID           string
	EndpointUID   string
	TenantUID     string
	EventID       string
	EventType     string
	Payload       []byte
	CreatedAt     time.Time
	Status        DeliveryStatus
	Attempts      int
	NextAttemptAt time.Time
	LastAttemptAt time.Time // zero before the first attempt
	LastStatus    int       // the receiver's last HTTP status; 0 when none came
	LastError     string    // short, e.g. "HTTP 500" or "timeout"; never a secret
}

// WebhookTx is what a transaction can do with events and endpoints.
type WebhookTx interface {
	// EnqueueEvent writes a pending delivery of ev, due at ev.At, for each endpoint of
	// its tenant that takes its type; none when no endpoint does.
	EnqueueEvent(ctx context.Context, ev Event) error
	CreateWebhook(ctx context.Context, w WebhookEndpoint) error
	// DeleteWebhook deletes an endpoint and its deliveries; ErrNotFound when none.
	DeleteWebhook(ctx context.Context, uid string) error
	WebhookByUID(ctx context.Context, uid string) (WebhookEndpoint, error)
	// MarkReminded records that the reminder of key for threshold went out, and reports
	// false, changing nothing, when it already had: of nodes racing to send it, one does.
	MarkReminded(ctx context.Context, keyUID string, threshold time.Duration, at time.Time) (bool, error)
}

// WebhookStore is the Store's side of webhooks: the Tx's, and the delivery queue.
type WebhookStore interface {
	WebhookTx
	// ListWebhooks returns a tenant's endpoints, oldest first.
	ListWebhooks(ctx context.Context, tenantUID string) ([]WebhookEndpoint, error)
	// ListDeliveries returns an endpoint's newest deliveries, newest first, at most limit.
	ListDeliveries(ctx context.Context, endpointUID string, limit int) ([]WebhookDelivery, error)
	// ClaimDeliveries leases up to limit pending deliveries due at now, until leaseUntil:
	// no other caller gets them before then, on any node. Oldest due first; none of the
	// endpoints in skip (those the caller is busy with).
	ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int, skip ...string) ([]WebhookDelivery, error)
	// FinishAttempt records an attempt's outcome (Status, Attempts, NextAttemptAt,
	// LastAttemptAt, LastStatus, LastError of d) and ends its lease.
	FinishAttempt(ctx context.Context, d WebhookDelivery) error
	// PruneDeliveries deletes delivered and failed deliveries made before before, and
	// reports how many.
	PruneDeliveries(ctx context.Context, before time.Time) (int64, error)
	// KeysToRemind returns up to limit active keys that expire in (from, to], soonest
	// first, whose lifetime is longer than threshold (a 7-day key gets no 7-day reminder)
	// and whose reminder for threshold has not gone out (MarkReminded). A rolled key
	// (RolledTo set) gets no reminder before it expires (threshold > 0): its end is
	// the roll's overlap, on purpose.
	KeysToRemind(ctx context.Context, threshold time.Duration, from, to time.Time, limit int) ([]APIKey, error)
}
