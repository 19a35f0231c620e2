package manage

import (
	"context"
	"slices"
	"strings"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/webhooks"
	"github.com/keygate/keygate/storage"
)

// WebhookRequest registers a receiver.
type WebhookRequest struct {
	URL         string
	Description string
	// Events are the types it receives; empty for every type.
	Events []string
}

// Webhook limits.
const (
	maxWebhooksPerTenant  = 20
	maxWebhookDescription = 256
	// MaxDeliveriesListed bounds a listing of an endpoint's deliveries.
	MaxDeliveriesListed = 100
)

// CreateWebhook registers a tenant's receiver and returns it with its signing secret,
// shown this once (it is kept sealed, for signing, and never read back).
func (s *Service) CreateWebhook(ctx context.Context, a authcore.Actor, req WebhookRequest) (storage.WebhookEndpoint, string, error) {
	if err := requireAdmin(a); err != nil {
		return storage.WebhookEndpoint{}, "", err
	}
	if err := s.checkWebhook(ctx, &req); err != nil {
		return storage.WebhookEndpoint{}, "", err
	}
	if len(s.secretKey) == 0 {
		return storage.WebhookEndpoint{}, "", authcore.Forbidden("webhooks are registered through the gateway, which holds the key their secrets are sealed with")
	}
	existing, err := s.store.ListWebhooks(ctx, a.TenantUID)
	if err != nil {
		return storage.WebhookEndpoint{}, "", authcore.StoreError(err, "webhooks")
	}
	if len(existing) >= maxWebhooksPerTenant {
		return storage.WebhookEndpoint{}, "", authcore.Conflict("a tenant has at most %d webhooks; delete one first", maxWebhooksPerTenant)
	}
	now, secret := s.clock(), webhooks.NewSecret()
	w := storage.WebhookEndpoint{
		UID: authcore.NewUID(), TenantUID: a.TenantUID, URL: req.URL, Description: req.Description,
		EventTypes: req.Events, CreatedAt: now, UpdatedAt: now,
	}
	if w.SealedSecret, err = webhooks.SealSecret(s.secretKey, w.UID, secret); err != nil {
		return storage.WebhookEndpoint{}, "", authcore.Unavailable(err)
	}
	ev := authcore.Audit{Action: "webhook.create", Kind: "webhook", Target: w.UID, Detail: webhookDetail(w)}
	if err := s.commit(ctx, a, "webhook", ev, func(tx storage.Tx) error { return tx.CreateWebhook(ctx, w) }); err != nil {
		return storage.WebhookEndpoint{}, "", err
	}
	return w, secret, nil
}

// checkWebhook refuses a request by name: an unknown event type, a bad or internal URL.
func (s *Service) checkWebhook(ctx context.Context, req *WebhookRequest) error {
	req.URL, req.Description = strings.TrimSpace(req.URL), strings.TrimSpace(req.Description)
	if req.URL == "" {
		return authcore.BadRequest("url is required")
	}
	if err := webhooks.CheckTarget(ctx, req.URL, s.webhookPrivateTargets); err != nil {
		return authcore.BadRequest("%s", err.Error())
	}
	if len(req.Description) > maxWebhookDescription {
		return authcore.BadRequest("description must be at most %d characters", maxWebhookDescription)
	}
	for _, t := range req.Events {
		if !authcore.IsEventType(t) {
			return authcore.BadRequest("unknown event type %q; the types are %s", t, strings.Join(authcore.EventTypes(), ", "))
		}
	}
	slices.Sort(req.Events)
	req.Events = slices.Compact(req.Events)
	return nil
}

func webhookDetail(w storage.WebhookEndpoint) string {
	events := "all events"
	if len(w.EventTypes) > 0 {
		events = strings.Join(w.EventTypes, ",")
	}
	return webhooks.RedactedURL(w.URL) + " " + events
}

// ListWebhooks returns the tenant's receivers, oldest first.
func (s *Service) ListWebhooks(ctx context.Context, a authcore.Actor) ([]storage.WebhookEndpoint, error) {
	if err := requireAdmin(a); err != nil {
		return nil, err
	}
	ws, err := s.store.ListWebhooks(ctx, a.TenantUID)
	return ws, authcore.StoreError(err, "webhooks")
}

// Webhook returns one of the tenant's receivers; 404 for another tenant's.
func (s *Service) Webhook(ctx context.Context, a authcore.Actor, uid string) (storage.WebhookEndpoint, error) {
	if err := requireAdmin(a); err != nil {
		return storage.WebhookEndpoint{}, err
	}
	w, err := s.store.WebhookByUID(ctx, uid)
	if err != nil || w.TenantUID != a.TenantUID {
		return storage.WebhookEndpoint{}, notFoundOr(err, "webhook %s not found", uid)
	}
	return w, nil
}

// DeleteWebhook ends a receiver; its pending deliveries go with it.
func (s *Service) DeleteWebhook(ctx context.Context, a authcore.Actor, uid string) error {
	w, err := s.Webhook(ctx, a, uid)
	if err != nil {
		return err
	}
	ev := authcore.Audit{Action: "webhook.delete", Kind: "webhook", Target: uid, Detail: webhookDetail(w)}
	return s.commit(ctx, a, "webhook "+uid, ev, func(tx storage.Tx) error { return tx.DeleteWebhook(ctx, uid) })
}

// WebhookDeliveries returns a receiver's newest deliveries, at most limit (0: the most).
func (s *Service) WebhookDeliveries(ctx context.Context, a authcore.Actor, uid string, limit int) ([]storage.WebhookDelivery, error) {
	if limit < 0 || limit > MaxDeliveriesListed {
		return nil, authcore.BadRequest("limit must be between 1 and %d", MaxDeliveriesListed)
	}
	if limit == 0 {
		limit = MaxDeliveriesListed
	}
	if _, err := s.Webhook(ctx, a, uid); err != nil {
		return nil, err
	}
	ds, err := s.store.ListDeliveries(ctx, uid, limit)
	return ds, authcore.StoreError(err, "webhook deliveries")
}
