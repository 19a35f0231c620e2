package caddymodule

import (
	"context"
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

// statePool shares one sharedState per store and cache settings across config reloads.
var statePool = caddy.NewUsagePool()

// sharedState outlives any one config: the open store, the cache in front of it, and the
// goroutine that follows the store's changes.
type sharedState struct {
	store     storage.Store
	auth      *authcore.Authenticator
	admin     *authcore.Admin
	stopWatch context.CancelFunc
	watchDone chan struct{}
}

func newSharedState(a *App, logger *zap.Logger) (*sharedState, error) {
	store, err := a.backend.OpenStore(context.Background())
	if err != nil {
		return nil, fmt.Errorf("opening store: %w", err)
	}
	auth, err := authcore.NewAuthenticator(context.Background(), authcore.Config{
		Store:            store,
		CacheMaxEntries:  a.CacheMaxEntries,
		CacheTTL:         time.Duration(a.CacheTTL),
		NegativeCacheTTL: time.Duration(a.NegativeCacheTTL),
		TokenTTL:         time.Duration(a.TokenTTL),
		LoginFailures:    a.LoginFailureLimit,
		ClientFailures:   a.ClientFailureLimit,
		FailureWindow:    time.Duration(a.FailureWindow),
	})
	if err != nil {
		store.Close()
		return nil, err
	}
	s := &sharedState{store: store, auth: auth, admin: &authcore.Admin{Store: store, Auth: auth}}
	if err := bootstrap(s.admin, a.BootstrapAdmin, logger); err != nil {
		s.close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stopWatch, s.watchDone = cancel, make(chan struct{})
	go s.followChanges(ctx, logger)
	return s, nil
}

// followChanges keeps the cache in step with the store until the state is destroyed.
func (s *sharedState) followChanges(ctx context.Context, logger *zap.Logger) {
	defer close(s.watchDone)
	for ctx.Err() == nil {
		err := s.auth.FollowChanges(ctx)
		if ctx.Err() != nil {
			return
		}
		// Changes may have been missed while not watching.
		logger.Warn("watching the store for changes failed; retrying", zap.Error(err))
		s.auth.Reset()
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// Destruct implements caddy.Destructor: the last config using the state is gone.
func (s *sharedState) Destruct() error {
	s.stopWatch()
	<-s.watchDone
	return s.close()
}

func (s *sharedState) close() error {
	s.auth.Close()
	return s.store.Close()
}
