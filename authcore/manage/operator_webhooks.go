package manage

import (
	"context"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

// ListWebhooks lists the receivers of the tenant named tenantName. (The command line
// registers none: it lacks the gateway's key their secrets are sealed with.)
func (o Operator) ListWebhooks(ctx context.Context, tenantName string) ([]storage.WebhookEndpoint, error) {
	t, err := o.Service.TenantByName(ctx, o.in(""), tenantName)
	if err != nil {
		return nil, err
	}
	return o.Service.ListWebhooks(ctx, o.in(t.UID))
}

// WebhookDeliveries lists a receiver's newest deliveries, at most limit (0: the most).
func (o Operator) WebhookDeliveries(ctx context.Context, uid string, limit int) ([]storage.WebhookDelivery, error) {
	tenantUID, err := o.webhookTenant(ctx, uid)
	if err != nil {
		return nil, err
	}
	return o.Service.WebhookDeliveries(ctx, o.in(tenantUID), uid, limit)
}

// DeleteWebhook deletes a receiver and its pending deliveries.
func (o Operator) DeleteWebhook(ctx context.Context, uid string) error {
	tenantUID, err := o.webhookTenant(ctx, uid)
	if err != nil {
		return err
	}
	return o.Service.DeleteWebhook(ctx, o.in(tenantUID), uid)
}

func (o Operator) webhookTenant(ctx context.Context, uid string) (string, error) {
	w, err := o.Service.store.WebhookByUID(ctx, uid)
	if err != nil {
		return "", authcore.StoreError(err, "webhook "+uid)
	}
	return w.TenantUID, nil
}
