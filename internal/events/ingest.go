package events

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// Ingester validates, stores and publishes events.
type Ingester struct {
	store   store.Events
	publish store.Publisher
	bus     *Bus
	log     *slog.Logger
}

// NewIngester returns an ingester writing to s and publishing through pub,
// whose events reach the subscribers of bus (pub is bus itself in one
// process).
func NewIngester(s store.Events, pub store.Publisher, bus *Bus, log *slog.Logger) *Ingester {
	return &Ingester{store: s, publish: pub, bus: bus, log: log}
}

// Bus returns the bus live subscribers read.
func (in *Ingester) Bus() *Bus { return in.bus }

// Validate checks an event as Prefect's server does and stamps it received.
func Validate(e *model.Event) error {
	if e.Event == "" {
		return fmt.Errorf("event name is required")
	}
	if e.Resource.ID() == "" {
		return fmt.Errorf("resource must have a non-empty prefect.resource.id")
	}
	if len(e.Resource) > 500 {
		return fmt.Errorf("resource has more than 500 labels")
	}
	if len(e.Related) > 100 {
		return fmt.Errorf("event has more than 100 related resources")
	}
	for _, r := range e.Related {
		if r.ID() == "" || r.Role() == "" {
			return fmt.Errorf("related resources need prefect.resource.id and prefect.resource.role")
		}
	}
	if e.Related == nil {
		e.Related = []model.Resource{}
	}
	if e.ID == uuid.Nil {
		e.ID = uuid.Must(uuid.NewV7())
	}
	if e.Occurred.IsZero() {
		e.Occurred = model.Now()
	}
	e.Received = model.Now()
	return nil
}

// Ingest stores a batch of validated events of workspace ws, records the
// task runs they carry, and publishes them once committed. A task-run event
// whose payload cannot be read is stored but not recorded.
func (in *Ingester) Ingest(ctx context.Context, ws uuid.UUID, events []*model.Event) error {
	if len(events) == 0 {
		return nil
	}
	var records []store.TaskRunRecord
	for _, e := range events {
		rec, ok, err := TaskRunRecord(e)
		if err != nil {
			in.log.Warn("unreadable task run event", "err", err)
			continue
		}
		if ok {
			records = append(records, rec)
		}
	}
	if err := in.store.IngestEvents(ctx, ws, events, records); err != nil {
		return fmt.Errorf("ingest events: %w", err)
	}
	in.publish.Publish(ws, events)
	return nil
}
