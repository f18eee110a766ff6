package app

import (
	"github.com/mailwarden/mailwarden/internal/config"
	"github.com/mailwarden/mailwarden/internal/store"
)

// OpenStore opens the state store the [store] section names.
func OpenStore(cfg *config.Config) (store.Store, error) {
	return store.Open(store.Config{
		Backend:     cfg.Store.Backend,
		Path:        cfg.StoreFilePath(),
		RedisURL:    cfg.Store.RedisURL,
		RedisPrefix: cfg.Store.RedisPrefix,
	})
}
