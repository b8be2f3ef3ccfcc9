package store

import (
	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
)

// Publisher hands events of a workspace, once their transaction committed,
// to live subscribers. Everything that stores events publishes through one:
// the store for the state events of transitions, the ingester for clients'
// events. In one process it is the events bus; a cross-process one (LISTEN/
// NOTIFY on PostgreSQL) can stand in for it, feeding each replica's bus.
type Publisher interface {
	Publish(ws uuid.UUID, events []*model.Event)
}

// PublishFunc is a function that is a Publisher.
type PublishFunc func(ws uuid.UUID, events []*model.Event)

// Publish calls f.
func (f PublishFunc) Publish(ws uuid.UUID, events []*model.Event) { f(ws, events) }
