package authcore

import "time"

// Observer receives what Keygate's metrics count. authcore calls it on the request path,
// so implementations must be cheap and safe for concurrent use. Labels are bounded sets
// (never a user, key, token or address).
type Observer interface {
	// CacheResult is "hit", "miss" or "negative_hit" for each credential looked up,
	// "forged" for each well-formed API key refused without a lookup (no valid tag, not
	// a legacy key), and "stale" each time a decision past its TTL (a key, a user, a project's access, or a
	// token's own claims) is used because the store could not answer.
	CacheResult(result string)
	// StoreQuery times one store query made on behalf of a request, by operation:
	// "key_lookup", "user_lookup", "project_access".
	StoreQuery(op string, d time.Duration)
	// Login is each login's result: "ok", "failed", "throttled", "busy" (refused at the
	// password hashing budget), "disabled", "unavailable", "bad_request".
	Login(result string)
	// TokenIssued is "password", "apikey", "sso" or "refresh".
	TokenIssued(via string)
	// Invalidations counts cache entries dropped, by "local" (a change made here) or
	// "remote" (one learnt from the store's change feed).
	Invalidations(source string, n int)
}

// NopObserver is the Observer when none is configured.
type NopObserver struct{}

func (NopObserver) CacheResult(string)               {}
func (NopObserver) StoreQuery(string, time.Duration) {}
func (NopObserver) Login(string)                     {}
func (NopObserver) TokenIssued(string)               {}
func (NopObserver) Invalidations(string, int)        {}
