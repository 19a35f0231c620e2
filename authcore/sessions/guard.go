package sessions

import (
	"context"
	"errors"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/protect"
)

// Guarded runs check, a password operation that no credential vouches for (a change
// with the current password, an activation link), as a login is run: before check reads
// anything it is counted against account (an email; "" when there is none yet) and the
// client's network, and its first hash is taken from the CPU budget. Past a limit the
// answer is 429, past the budget 503 LoginBusy, and check does not run. check hashes
// through the Hasher it gets, so every hash it runs is the budget's. An operation that
// succeeds is refunded, like a login; a refused one stays counted, so passwords and
// tokens cannot be guessed faster than logins.
func (iss *Issuer) Guarded(ctx context.Context, account, clientIP string, check func(protect.Hasher) error) error {
	counts := []protect.Count{{Throttle: iss.clients, Key: protect.ClientKey(clientIP)}}
	if account != "" {
		counts = iss.accountAndClient(account, clientIP)
	}
	ticket, refund, err := iss.counted(ctx, false, nil, counts...)
	if err != nil {
		return err
	}
	defer ticket.Release() // what was paid and not hashed goes back
	err = check(protect.TicketHasher{Ticket: ticket})
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		refund() // the client left while waiting for a slot: nothing was checked
		return errClientGone
	case err == nil:
		refund()
	}
	return err
}

// CountRequest counts a request that needs no hash but must not be repeatable without
// bound (asking for a password reset) against the client's network; it is never
// refunded. It answers 429 once the client is past the limit.
func (iss *Issuer) CountRequest(clientIP string) error {
	if wait, ok := iss.clients.Reserve(context.Background(), protect.ClientKey(clientIP)); !ok {
		return authcore.TooManyRequests(wait)
	}
	return nil
}
