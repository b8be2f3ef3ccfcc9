package api

import (
	"context"
	"net/http"

	"github.com/google/uuid"
)

// The handler builders below serve the routes that differ only in the
// store method they call.

// readByID answers GET …/{id} with the object get returns; missing is
// Prefect's 404 detail for the route.
func readByID[T any](get func(ctx context.Context, ws, id uuid.UUID) (T, error), missing string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		v, err := get(r.Context(), workspaceID(r), id)
		if err != nil {
			return notFound(err, missing)
		}
		writeJSON(w, http.StatusOK, v)
		return nil
	}
}

// deleteByID answers DELETE …/{id} with 204; missing is Prefect's 404
// detail for the route.
func deleteByID(del func(ctx context.Context, ws, id uuid.UUID) error, missing string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		if err := del(r.Context(), workspaceID(r), id); err != nil {
			return notFound(err, missing)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// query answers a filter or count route: parse decodes the body, run asks
// the store.
func query[Q, T any](parse func(w http.ResponseWriter, r *http.Request) (Q, error), run func(ctx context.Context, ws uuid.UUID, q Q) (T, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		q, err := parse(w, r)
		if err != nil {
			return err
		}
		v, err := run(r.Context(), workspaceID(r), q)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, v)
		return nil
	}
}
