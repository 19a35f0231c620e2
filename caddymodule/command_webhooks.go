package caddymodule

import (
	"context"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/storage"
)

func (c *cli) webhookCommands() *cobra.Command {
	return c.command("webhook", "List webhook receivers and their deliveries; delete one (tenant admins register them)", []verb{
		{name: "list", short: "List a tenant's webhook receivers", required: []string{"tenant"},
			run: func(ctx context.Context, ad manage.Operator, in input) (result, error) {
				ws, err := ad.ListWebhooks(ctx, in.s("tenant"))
				return listResult(ws, []string{"UID", "URL", "EVENTS", "CREATED"}, func(w storage.WebhookEndpoint) []string {
					events := "all"
					if len(w.EventTypes) > 0 {
						events = orNone(w.EventTypes)
					}
					return []string{w.UID, w.URL, events, timeString(w.CreatedAt)}
				}, webhookToJSON), err
			}},
		{name: "deliveries", short: "List a receiver's 100 newest deliveries: pending, delivered or failed", required: []string{"webhook"},
			run: func(ctx context.Context, ad manage.Operator, in input) (result, error) {
				ds, err := ad.WebhookDeliveries(ctx, in.s("webhook"), 0)
				return listResult(ds, []string{"EVENT", "TYPE", "STATUS", "ATTEMPTS", "LAST ERROR", "CREATED"}, func(d storage.WebhookDelivery) []string {
					lastError := d.LastError
					if lastError == "" {
						lastError = "-"
					}
					return []string{d.EventID, d.EventType, string(d.Status), strconv.Itoa(d.Attempts), lastError, timeString(d.CreatedAt)}
				}, deliveryToJSON), err
			}},
		{name: "delete", short: "Delete a receiver; its pending deliveries go with it", required: []string{"webhook"},
			run: func(ctx context.Context, ad manage.Operator, in input) (result, error) {
				uid := in.s("webhook")
				return result{text: "deleted webhook " + uid, json: uidAnswer{UID: uid}}, ad.DeleteWebhook(ctx, uid)
			}},
	})
}
