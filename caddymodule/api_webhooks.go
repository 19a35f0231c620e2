package caddymodule

import (
	"net/http"
	"strconv"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/storage"
)

// webhookJSON is a receiver as Keygate shows it: the signing secret only once, in the
// answer to the request that registered it.
type webhookJSON struct {
	UID         string   `json:"uid"`
	URL         string   `json:"url"`
	Description string   `json:"description"`
	Events      []string `json:"events"`
	CreatedAt   string   `json:"createdAt"`
	Secret      string   `json:"secret,omitempty"`
}

type webhookBody struct {
	URL         string   `json:"url"`
	Description string   `json:"description"`
	Events      []string `json:"events"`
}

// deliveryJSON is one event on its way to a receiver.
type deliveryJSON struct {
	UID           string `json:"uid"`
	EventID       string `json:"eventId"`
	EventType     string `json:"eventType"`
	Status        string `json:"status"`
	Attempts      int    `json:"attempts"`
	CreatedAt     string `json:"createdAt"`
	NextAttemptAt string `json:"nextAttemptAt,omitempty"`
	LastAttemptAt string `json:"lastAttemptAt,omitempty"`
	LastStatus    int    `json:"lastStatus,omitempty"`
	LastError     string `json:"lastError,omitempty"`
}

func webhookToJSON(w storage.WebhookEndpoint) webhookJSON {
	events := w.EventTypes
	if events == nil {
		events = []string{}
	}
	return webhookJSON{UID: w.UID, URL: w.URL, Description: w.Description, Events: events, CreatedAt: timeString(w.CreatedAt)}
}

func deliveryToJSON(d storage.WebhookDelivery) deliveryJSON {
	j := deliveryJSON{
		UID: d.UID, EventID: d.EventID, EventType: d.EventType, Status: string(d.Status), Attempts: d.Attempts,
		CreatedAt: timeString(d.CreatedAt), LastStatus: d.LastStatus, LastError: d.LastError,
	}
	if d.Status == storage.DeliveryPending {
		j.NextAttemptAt = timeString(d.NextAttemptAt)
	}
	if !d.LastAttemptAt.IsZero() {
		j.LastAttemptAt = timeString(d.LastAttemptAt)
	}
	return j
}

func (h *Handler) createWebhook(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	var body webhookBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	ep, secret, err := h.service.CreateWebhook(r.Context(), a, manage.WebhookRequest{URL: body.URL, Description: body.Description, Events: body.Events})
	if err != nil {
		return err
	}
	j := webhookToJSON(ep)
	j.Secret = secret
	return writeJSON(w, http.StatusCreated, j)
}

func (h *Handler) listWebhooks(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	ws, err := h.service.ListWebhooks(r.Context(), a)
	if err != nil {
		return err
	}
	items := make([]webhookJSON, 0, len(ws))
	for _, ep := range ws {
		items = append(items, webhookToJSON(ep))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

func (h *Handler) getWebhook(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	ep, err := h.service.Webhook(r.Context(), a, r.PathValue("uid"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, webhookToJSON(ep))
}

func (h *Handler) deleteWebhook(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	return noContentUnless(w, h.service.DeleteWebhook(r.Context(), a, r.PathValue("uid")))
}

func (h *Handler) listWebhookDeliveries(w http.ResponseWriter, r *http.Request, a authcore.Actor) error {
	limit := 0
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return authcore.BadRequest("limit must be a number")
		}
		limit = n
	}
	ds, err := h.service.WebhookDeliveries(r.Context(), a, r.PathValue("uid"), limit)
	if err != nil {
		return err
	}
	items := make([]deliveryJSON, 0, len(ds))
	for _, d := range ds {
		items = append(items, deliveryToJSON(d))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": items})
}
