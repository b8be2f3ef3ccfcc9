package api

import (
	"github.com/praetorhq/praetor/internal/auth"
	"github.com/praetorhq/praetor/internal/events"
	"github.com/praetorhq/praetor/internal/store"
	"github.com/praetorhq/praetor/internal/tenancy"
)

// EventStore is a store whose committed transitions emit events.
type EventStore interface {
	store.Store
	// OnEvents sets where the events a write emitted go once it commits.
	OnEvents(publish store.Publisher)
}

// Wire completes cfg as the server runs it, on db: one bus carries the
// events db's transitions commit and those the ingester stores to the
// websockets that stream them, and keys are checked against db. The server
// and the API's tests both wire through it, so they run the same API.
func Wire(db EventStore, cfg Config) Config {
	// One publisher for every stored event: the in-process bus, until
	// replicas need a cross-process one.
	bus := events.NewBus()
	var publish store.Publisher = bus
	db.OnEvents(publish)
	cfg.Store = db
	cfg.Ingest = events.NewIngester(db, publish, bus, cfg.Logger)
	cfg.Authn = auth.NewAuthenticator(db, cfg.Logger)
	if cfg.Clock != nil {
		// Keys expire by the server's clock, as rotations set them.
		cfg.Authn.SetClock(cfg.Clock.Now)
	}
	if cfg.Invitations == nil {
		cfg.Invitations = &tenancy.Invitations{Store: db, Logger: cfg.Logger}
	}
	return cfg
}
