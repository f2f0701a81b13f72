package server

import (
	"context"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// OpenStore opens (and migrates) cfg's database with its master secret,
// without assembling an App: for commands that inspect or change the
// database before, or instead of, serving it (bootstrap's checks, keys
// rotate).
func OpenStore(ctx context.Context, cfg config.Config) (*sqlstore.Store, error) {
	sealer, _, err := openSealer(cfg)
	if err != nil {
		return nil, err
	}
	st, err := sqlstore.Open(ctx, cfg.Database, sealer)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	return st, nil
}
