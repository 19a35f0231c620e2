package caddymodule

import (
	"sync/atomic"
	"time"
)

// clockOverride, when set, is read instead of the system clock by every gateway of this
// process: its management service, credential verifier and sessions (SetClock).
var clockOverride atomic.Pointer[func() time.Time]

// SetClock makes every gateway of this process read now instead of the system clock
// until restore is called, at once, running gateways included. It is the clock seam of
// end-to-end tests, which move time past an expiry or a roll's overlap rather than sleep
// through it (the parts of authcore take their clock the same way, as a Now func); the
// gateway itself never calls it.
func SetClock(now func() time.Time) (restore func()) {
	clockOverride.Store(&now)
	return func() { clockOverride.Store(nil) }
}

// clockNow is the time the gateway goes by: time.Now unless SetClock replaced it.
func clockNow() time.Time {
	if now := clockOverride.Load(); now != nil {
		return (*now)()
	}
	return time.Now()
}

// sweepOverride, when set, replaces how often the expiry reminders are swept (SetSweepInterval).
var sweepOverride atomic.Int64

// SetSweepInterval makes gateways started after it sweep for due expiry reminders every
// d rather than every minute, until restore is called. It is a seam of end-to-end tests,
// which move the clock (SetClock) and cannot wait a minute for the sweep that follows.
func SetSweepInterval(d time.Duration) (restore func()) {
	sweepOverride.Store(int64(d))
	return func() { sweepOverride.Store(0) }
}

// reminderSweepEvery is how often expiry reminders are looked for.
func reminderSweepEvery() time.Duration {
	if d := sweepOverride.Load(); d > 0 {
		return time.Duration(d)
	}
	return time.Minute
}
