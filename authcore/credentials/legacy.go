package credentials

import (
	"context"

	"github.com/bits-and-blooms/bloom/v3"
	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

// legacyFalsePositives is the share of forged keys the legacy filter lets through to a
// store query. 0.1% costs about 14 bits per legacy key: 1.8 MB for a million.
const legacyFalsePositives = 0.001

// legacyKeys holds the digests of the keys made before tags, which carry none, so that a
// key without a valid tag is sent to the store only if it may be one of them. No legacy
// key can be made any more, so the set read at start only shrinks (a key deleted since
// is a filter hit the store answers "unknown"), and needs no change feed.
type legacyKeys struct {
	filter *bloom.BloomFilter // nil: the store holds no legacy key
}

const minLegacyFilterKeys = 1024

func loadLegacyKeys(ctx context.Context, store storage.Store) (*legacyKeys, error) {
	digests, err := store.LegacyKeyDigests(ctx)
	if err != nil || len(digests) == 0 {
		return &legacyKeys{}, err
	}
	// A filter sized for a handful of keys has a few dozen bits, and its false positives
	// then stray far from the estimate (1.5% was seen with one key): size for at least
	// minLegacyFilterKeys, under 2 KB.
	f := bloom.NewWithEstimates(uint(max(len(digests), minLegacyFilterKeys)), legacyFalsePositives)
	for _, d := range digests {
		f.Add(d)
	}
	return &legacyKeys{filter: f}, nil
}

// mayHold reports whether d may be a legacy key's digest: always when it is one, and
// for about legacyFalsePositives of other digests.
func (l *legacyKeys) mayHold(d authcore.Digest) bool {
	return l.filter != nil && l.filter.Test(d[:])
}
