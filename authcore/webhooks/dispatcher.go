package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

// Defaults of Config.
const (
	DefaultTimeout      = 10 * time.Second
	DefaultConcurrency  = 8
	DefaultPollInterval = time.Second
	// perEndpoint bounds one receiver's attempts in flight on a node, so that a slow or
	// dead receiver with a backlog holds two of the Concurrency slots, not all of them.
	perEndpoint = 2
	// busyPostpone is how long a delivery waits when it was claimed in a batch that held
	// more than perEndpoint of its receiver's (it counts as no attempt). Claims skip a
	// receiver already at perEndpoint, so a backlog is not rewritten on every poll.
	busyPostpone = 2 * time.Second
	// RetryFor is how long a delivery is retried before it is marked failed.
	RetryFor = 24 * time.Hour
	// KeepFinished is how long delivered and failed deliveries stay listed.
	KeepFinished = 7 * 24 * time.Hour
)

// retryAfter is the wait after each failed attempt: the first retries within seconds
// (three attempts within a minute), then spreading out to every four hours.
var retryAfter = []time.Duration{
	5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 4 * time.Hour,
}

// Config configures a Dispatcher.
type Config struct {
	Store storage.Store
	// SecretKey opens the endpoints' sealed signing secrets; the Service seals them with
	// the same key.
	SecretKey []byte
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// AllowPrivate lets deliveries connect to loopback and private addresses. Default:
	// false, they are refused.
	AllowPrivate bool
	// Timeout bounds one attempt, connection to the end of the answer. Default:
	// DefaultTimeout.
	Timeout time.Duration
	// Concurrency bounds the attempts in flight on this node. Default:
	// DefaultConcurrency.
	Concurrency int
	// PollInterval is how often the outbox is read for due deliveries. Default:
	// DefaultPollInterval.
	PollInterval time.Duration
	// Outcome is told of each attempt's outcome: "delivered", "retry" or "failed".
	Outcome func(outcome string)
	// OnError is told of what went wrong outside an attempt (the store); optional.
	OnError func(err error)
}

// Dispatcher sends due deliveries. Any number of nodes may run one on the same store:
// each delivery is leased to one node at a time, and a node that dies mid-attempt only
// delays it until the lease runs out.
type Dispatcher struct {
	cfg    Config
	client *http.Client
	wake   chan struct{}

	mu       sync.Mutex
	inFlight map[string]int // attempts in flight by endpoint uid
}

// NewDispatcher returns the Dispatcher of cfg.
func NewDispatcher(cfg Config) *Dispatcher {
	authcore.SetDefault(&cfg.Timeout, DefaultTimeout)
	authcore.SetDefault(&cfg.Concurrency, DefaultConcurrency)
	authcore.SetDefault(&cfg.PollInterval, DefaultPollInterval)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Outcome == nil {
		cfg.Outcome = func(string) {}
	}
	if cfg.OnError == nil {
		cfg.OnError = func(error) {}
	}
	dialer := &net.Dialer{Timeout: cfg.Timeout}
	if !cfg.AllowPrivate {
		dialer.Control = refuseInternal
	}
	transport := &http.Transport{
		// No proxy from the environment: a proxy would dial for us, past refuseInternal.
		Proxy: nil, DialContext: dialer.DialContext, ForceAttemptHTTP2: true,
		MaxIdleConnsPerHost: 2, IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: cfg.Timeout,
		ResponseHeaderTimeout: cfg.Timeout,
	}
	return &Dispatcher{cfg: cfg, wake: make(chan struct{}, 1), inFlight: map[string]int{}, client: &http.Client{
		Transport: transport, Timeout: cfg.Timeout,
		// A redirect could lead anywhere, inside the network too: a 3xx is an answer.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Prune deletes deliveries finished more than KeepFinished ago.
func (d *Dispatcher) Prune(ctx context.Context) (int64, error) {
	return d.cfg.Store.PruneDeliveries(ctx, d.cfg.Now().Add(-KeepFinished))
}

// Wake makes Run look for due deliveries now (after a change this node committed) rather
// than at its next poll.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// lease is how long a claimed delivery is kept from other nodes: past the attempt's end.
func (d *Dispatcher) lease() time.Duration { return d.cfg.Timeout + 5*time.Second }

// Run delivers until ctx ends, at most Concurrency attempts at a time, and waits for the
// attempts in flight before returning.
func (d *Dispatcher) Run(ctx context.Context) {
	slots := make(chan struct{}, d.cfg.Concurrency)
	defer func() { // wait for the attempts in flight
		for i := 0; i < cap(slots); i++ {
			slots <- struct{}{}
		}
	}()
	tick := time.NewTicker(d.cfg.PollInterval)
	defer tick.Stop()
	for ctx.Err() == nil {
		if free := cap(slots) - len(slots); free > 0 {
			now := d.cfg.Now()
			due, err := d.cfg.Store.ClaimDeliveries(ctx, now, now.Add(d.lease()), free, d.busy()...)
			if err != nil && ctx.Err() == nil {
				d.cfg.OnError(fmt.Errorf("reading the webhook outbox: %w", err))
			}
			for _, del := range due {
				if !d.take(del.EndpointUID) {
					d.postpone(ctx, del, now)
					continue
				}
				slots <- struct{}{}
				go func() {
					defer func() { d.release(del.EndpointUID); <-slots; d.Wake() }()
					d.attempt(ctx, del)
				}()
			}
			if len(due) == free {
				continue // more may be due
			}
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		case <-d.wake:
		}
	}
}

// take counts an attempt to endpoint in flight, unless it has perEndpoint already.
func (d *Dispatcher) take(endpoint string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.inFlight[endpoint] >= perEndpoint {
		return false
	}
	d.inFlight[endpoint]++
	return true
}

// busy lists the endpoints with perEndpoint attempts in flight, which a claim skips.
func (d *Dispatcher) busy() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var uids []string
	for uid, n := range d.inFlight {
		if n >= perEndpoint {
			uids = append(uids, uid)
		}
	}
	return uids
}

func (d *Dispatcher) release(endpoint string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.inFlight[endpoint]--; d.inFlight[endpoint] <= 0 {
		delete(d.inFlight, endpoint)
	}
}

// postpone hands a delivery back, due a little later, without counting an attempt.
func (d *Dispatcher) postpone(ctx context.Context, del storage.WebhookDelivery, now time.Time) {
	del.NextAttemptAt = now.Add(busyPostpone)
	if err := d.cfg.Store.FinishAttempt(ctx, del); err != nil && ctx.Err() == nil {
		d.cfg.OnError(fmt.Errorf("postponing webhook delivery %s: %w", del.UID, err))
	}
}

// attempt sends one delivery and records the outcome.
func (d *Dispatcher) attempt(ctx context.Context, del storage.WebhookDelivery) {
	ep, err := d.cfg.Store.WebhookByUID(ctx, del.EndpointUID)
	if errors.Is(err, storage.ErrNotFound) {
		return // deleted with its endpoint
	}
	if err != nil {
		d.cfg.OnError(fmt.Errorf("reading webhook %s: %w", del.EndpointUID, err))
		return // the lease runs out and the delivery is tried again
	}
	now := d.cfg.Now()
	status, failure := d.send(ctx, ep, del, now)
	if ctx.Err() != nil {
		return // shutting down: the lease runs out and another attempt follows
	}
	del.Attempts++
	del.LastAttemptAt, del.LastStatus, del.LastError = now, status, failure
	switch {
	case failure == "":
		del.Status = storage.DeliveryDelivered
	case now.Sub(del.CreatedAt) >= RetryFor:
		del.Status = storage.DeliveryFailed
	default:
		del.NextAttemptAt = now.Add(retryAfter[min(del.Attempts, len(retryAfter))-1])
	}
	if err := d.cfg.Store.FinishAttempt(context.WithoutCancel(ctx), del); err != nil {
		d.cfg.OnError(fmt.Errorf("recording webhook delivery %s: %w", del.UID, err))
		return
	}
	switch del.Status {
	case storage.DeliveryDelivered:
		d.cfg.Outcome("delivered")
	case storage.DeliveryFailed:
		d.cfg.Outcome("failed")
	default:
		d.cfg.Outcome("retry")
	}
}

// send makes one attempt: the receiver's status, and "" or why it failed (never the
// receiver's body, which is not ours to log).
func (d *Dispatcher) send(ctx context.Context, ep storage.WebhookEndpoint, del storage.WebhookDelivery, now time.Time) (int, string) {
	secret, err := authcore.Unseal(d.cfg.SecretKey, secretLabel(ep.UID), ep.SealedSecret)
	if err != nil {
		return 0, "the signing secret does not open with this gateway's key"
	}
	ts := now.Unix()
	sig, err := Sign(string(secret), del.EventID, ts, del.Payload)
	if err != nil {
		return 0, err.Error()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(del.Payload))
	if err != nil {
		return 0, "the url does not make a request"
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Keygate-Webhooks/1")
	req.Header.Set("webhook-id", del.EventID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, attemptError(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, "HTTP " + strconv.Itoa(resp.StatusCode)
	}
	return resp.StatusCode, ""
}

// attemptError says briefly why a request got no answer.
func attemptError(err error) string {
	var urlErr *url.Error // names the URL, whose query may hold the receiver's own token
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	var netErr net.Error
	switch {
	case errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		if op.Err != nil {
			return "cannot connect: " + op.Err.Error()
		}
		return "cannot connect"
	}
	return "no answer: " + err.Error()
}
