package authcore

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/keygate/keygate/storage"
)

// eventTypes maps an audited action to the event webhooks receive for it. An action not
// here (a login, a setting) is audited but is no event.
var eventTypes = map[string]string{
	"apikey.create":          "apikey.created",
	"apikey.update":          "apikey.updated",
	"apikey.revoke":          "apikey.revoked",
	"apikey.activate":        "apikey.reactivated",
	"apikey.delete":          "apikey.deleted",
	"apikey.roll":            "apikey.rolled",
	"apikey.expiring":        "apikey.expiring",
	"apikey.expired":         "apikey.expired",
	"user.create":            "user.created",
	"user.update":            "user.updated",
	"user.delete":            "user.deleted",
	"user.roles":             "user.roles_updated",
	"user.projects":          "user.projects_updated",
	"user.sso_link":          "user.sso_linked",
	"user.password_change":   "user.password_changed",
	"user.password_reset":    "user.password_reset",
	"user.password_activate": "user.activated",
	"tenant.bootstrap":       "user.created",
	"team.create":            "team.created",
	"team.update":            "team.updated",
	"team.delete":            "team.deleted",
	"project.create":         "project.created",
	"project.update":         "project.updated",
	"project.users":          "project.updated",
	"project.teams":          "project.updated",
	"project.delete":         "project.deleted",
	"membership.add":         "project.member_added",
	"session.revoke":         "session.revoked",
}

// EventTypes lists every event type, sorted: what an endpoint may subscribe to.
func EventTypes() []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range eventTypes {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}

// IsEventType reports whether t is an event type.
func IsEventType(t string) bool {
	for _, v := range eventTypes {
		if v == t {
			return true
		}
	}
	return false
}

// EventPayload is the JSON body of a webhook delivery, in the Standard Webhooks shape
// (type, timestamp, data). It carries no secret: uids, an email, the audit detail.
type EventPayload struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      EventData `json:"data"`
}

// EventData is what happened, to what, by whom.
type EventData struct {
	TenantUID string      `json:"tenantUid"`
	Target    EventTarget `json:"target"`
	Actor     EventActor  `json:"actor"`
	Detail    string      `json:"detail,omitempty"`
	// Key is set on the API key expiry events.
	Key *EventKey `json:"key,omitempty"`
}

// EventTarget is the record an event is about.
type EventTarget struct {
	Kind string `json:"kind"`
	UID  string `json:"uid"`
}

// EventActor is who made the change: a user, "operator", "idp" or "system".
type EventActor struct {
	UID   string `json:"uid"`
	Email string `json:"email,omitempty"`
}

// EventKey describes the key of an expiry event.
type EventKey struct {
	UID       string    `json:"uid"`
	Name      string    `json:"name"`
	UserUID   string    `json:"userUid"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// EventOf is the event an audit row announces, if its action is one.
func EventOf(ev storage.AuditEvent, key *EventKey) (storage.Event, bool) {
	typ, ok := eventTypes[ev.Action]
	if !ok {
		return storage.Event{}, false
	}
	body, err := json.Marshal(EventPayload{Type: typ, Timestamp: ev.At.UTC(), Data: EventData{
		TenantUID: ev.TenantUID, Target: EventTarget{Kind: ev.TargetKind, UID: ev.TargetUID},
		Actor: EventActor{UID: ev.ActorUID, Email: ev.ActorEmail}, Detail: ev.Detail, Key: key,
	}})
	if err != nil { // the payload is plain strings and times: this cannot fail
		return storage.Event{}, false
	}
	return storage.Event{ID: "msg_" + ev.ID, TenantUID: ev.TenantUID, Type: typ, At: ev.At, Payload: body}, true
}
