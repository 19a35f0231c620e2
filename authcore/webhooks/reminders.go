package webhooks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

// DefaultReminders are the expiry reminder thresholds: when 7 days and 1 day remain.
var DefaultReminders = []time.Duration{7 * 24 * time.Hour, 24 * time.Hour}

// expiredLookback is how long after a key expired its apikey.expired event may still go
// out (a gateway down for days catches up; keys that expired before webhooks existed
// are not announced).
const expiredLookback = 7 * 24 * time.Hour

// remindBatch bounds the keys one sweep of one threshold handles; the next sweep goes on.
const remindBatch = 500

// Reminders sends apikey.expiring when a key's remaining life falls under each threshold
// and apikey.expired once it passes, each once per key across every node: the reminder's
// mark, its audit row and its event commit in one transaction, and of nodes racing to
// send one only the first inserts the mark.
type Reminders struct {
	store      storage.Store
	now        func() time.Time
	thresholds []time.Duration // ascending, 0 (expired) first
}

// NewReminders returns the reminders for thresholds (DefaultReminders when empty).
func NewReminders(store storage.Store, now func() time.Time, thresholds []time.Duration) *Reminders {
	if len(thresholds) == 0 {
		thresholds = DefaultReminders
	}
	ts := append([]time.Duration{0}, thresholds...)
	slices.Sort(ts)
	ts = slices.Compact(ts)
	if now == nil {
		now = time.Now
	}
	return &Reminders{store: store, now: now, thresholds: ts}
}

// errSent ends the transaction of a reminder another node sent first.
var errSent = errors.New("reminder already sent")

// Sweep sends the reminders due now and reports how many it sent. Each threshold has
// its window, up to the next larger one, so a key that missed the 7-day window (the
// gateway was down) gets the 1-day reminder alone, not both at once.
func (r *Reminders) Sweep(ctx context.Context) (int, error) {
	now, sent := r.now(), 0
	for i, t := range r.thresholds {
		from, to := now, now.Add(t)
		if t == 0 {
			from = now.Add(-expiredLookback)
		}
		if i > 0 {
			from = now.Add(r.thresholds[i-1])
		}
		keys, err := r.store.KeysToRemind(ctx, t, from, to, remindBatch)
		if err != nil {
			return sent, fmt.Errorf("expiry reminders: %w", err)
		}
		for _, k := range keys {
			ok, err := r.remind(ctx, k, t, now)
			if err != nil {
				return sent, fmt.Errorf("expiry reminder of key %s: %w", k.UID, err)
			}
			if ok {
				sent++
			}
		}
	}
	return sent, nil
}

// remind sends one reminder unless another node did.
func (r *Reminders) remind(ctx context.Context, k storage.APIKey, threshold time.Duration, now time.Time) (bool, error) {
	action, detail := "apikey.expiring", fmt.Sprintf("expires %s (%s reminder)", k.ExpiresAt.UTC().Format(time.RFC3339), days(threshold))
	if threshold == 0 {
		action, detail = "apikey.expired", "expired "+k.ExpiresAt.UTC().Format(time.RFC3339)
	}
	key := authcore.EventKey{UID: k.UID, Name: k.Name, UserUID: k.UserUID, ExpiresAt: k.ExpiresAt.UTC()}
	_, err := authcore.CommitKeyEvent(ctx, r.store, key, func(tx storage.Tx) (storage.AuditEvent, error) {
		first, err := tx.MarkReminded(ctx, k.UID, threshold, now)
		if err != nil {
			return storage.AuditEvent{}, err
		}
		if !first {
			return storage.AuditEvent{}, errSent
		}
		return authcore.AuditEvent(authcore.SystemIn(k.TenantUID), authcore.Audit{Action: action, Kind: "apikey", Target: k.UID, Detail: detail}, now), nil
	})
	if errors.Is(err, errSent) {
		return false, nil
	}
	return err == nil, err
}

// days names a threshold as people say it: "7d", "1d", or the duration.
func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}
