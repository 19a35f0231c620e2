package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// maxPrepared bounds the statements kept: queries are built from constants and
// placeholder lists up to a page's length, so a working store stays far below it.
const maxPrepared = 512

// statements are the read pool's prepared statements, by query. SQLite parses a query
// each time it runs unprepared, and parsing was half of a cold key lookup's CPU; a
// statement prepared once is re-prepared by database/sql on each connection it meets.
type statements struct {
	db      *sql.DB
	mu      sync.RWMutex
	byQuery map[string]*sql.Stmt
}

func newStatements(db *sql.DB) *statements {
	return &statements{db: db, byQuery: map[string]*sql.Stmt{}}
}

// get returns query prepared, or nil when it is not kept (the limit is reached, or
// preparing failed: running the query unprepared reports the error).
func (p *statements) get(ctx context.Context, query string) *sql.Stmt {
	p.mu.RLock()
	st, ok := p.byQuery[query]
	p.mu.RUnlock()
	if ok {
		return st
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if st, ok := p.byQuery[query]; ok {
		return st
	}
	if len(p.byQuery) >= maxPrepared {
		return nil
	}
	st, err := p.db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	p.byQuery[query] = st
	return st
}

// close closes every statement kept.
func (p *statements) close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for q, st := range p.byQuery {
		errs = append(errs, st.Close())
		delete(p.byQuery, q)
	}
	return errors.Join(errs...)
}
