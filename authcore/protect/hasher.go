package protect

import "context"

// Hasher runs the password hashes of one operation: at once (the command line), or
// within a login's share of the CPU budget (a Ticket). Each check and each new hash
// costs an argon2id run.
type Hasher interface {
	// Verify reports whether password matches encoded (an empty or bad hash never does,
	// at the same cost). It fails only when ctx ends before the hash could run.
	Verify(ctx context.Context, encoded, password string) (bool, error)
	// Hash returns the encoded hash of a new password; it fails like Verify.
	Hash(ctx context.Context, password string) (string, error)
}

// Direct hashes at once, outside any budget: for the operator's command line, where
// nobody can flood the hashing.
type Direct struct{}

// Verify implements Hasher.
func (Direct) Verify(_ context.Context, encoded, password string) (bool, error) {
	return VerifyPassword(encoded, password), nil
}

// Hash implements Hasher.
func (Direct) Hash(_ context.Context, password string) (string, error) {
	return HashPassword(password), nil
}

// Verify implements Hasher: the check runs in one of the budget's slots, the first hash
// of the ticket paid at admission and any further one charged as it runs.
func (t *Ticket) Verify(ctx context.Context, encoded, password string) (bool, error) {
	ok := false
	if !t.Hash(ctx, func() { ok = VerifyPassword(encoded, password) }) {
		return false, ctx.Err()
	}
	return ok, nil
}

// HashNew implements Hasher's Hash (Ticket.Hash runs a hash function in a slot).
func (t *Ticket) HashNew(ctx context.Context, password string) (string, error) {
	var encoded string
	if !t.Hash(ctx, func() { encoded = HashPassword(password) }) {
		return "", ctx.Err()
	}
	return encoded, nil
}

// TicketHasher is a Ticket seen as a Hasher.
type TicketHasher struct{ *Ticket }

// Hash implements Hasher.
func (h TicketHasher) Hash(ctx context.Context, password string) (string, error) {
	return h.HashNew(ctx, password)
}

var (
	_ Hasher = Direct{}
	_ Hasher = TicketHasher{}
)
