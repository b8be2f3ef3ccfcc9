package api

import (
	"encoding/json"
	"net/http"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// maxMetadataLen is the length, in characters, past which Prefect truncates an
// artifact metadata value.
const maxMetadataLen = 500

// artifactNotFound is the detail of Prefect's 404s on the artifact routes.
const artifactNotFound = "Artifact not found."

func (a *API) artifactRoutes() {
	a.route("POST", "/artifacts/", "create:artifact", a.createArtifact)
	a.route("GET", "/artifacts/{id}", "read:artifact", readByID(a.Store.GetArtifact, artifactNotFound))
	a.route("GET", "/artifacts/{key}/latest", "read:artifact", a.readLatestArtifact)
	a.route("PATCH", "/artifacts/{id}", "update:artifact", a.updateArtifact)
	a.route("DELETE", "/artifacts/{id}", "delete:artifact", deleteByID(a.Store.DeleteArtifact, artifactNotFound))
	a.route("POST", "/artifacts/filter", "read:artifact", a.filterArtifacts)
	a.route("POST", "/artifacts/count", "read:artifact", a.countArtifacts)
	a.route("POST", "/artifacts/latest/filter", "read:artifact", a.filterLatestArtifacts)
	a.route("POST", "/artifacts/latest/count", "read:artifact", a.countLatestArtifacts)
}

func (a *API) createArtifact(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Key         *string           `json:"key"`
		Type        *string           `json:"type"`
		Description *string           `json:"description"`
		Data        json.RawMessage   `json:"data"`
		Metadata    map[string]string `json:"metadata_"`
		FlowRunID   *uuid.UUID        `json:"flow_run_id"`
		TaskRunID   *uuid.UUID        `json:"task_run_id"`
	}
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	if in.Key != nil && !lowerSlug(*in.Key, "-") {
		return invalid(body, fieldErr("value_error", "Value error, Artifact key must only contain lowercase letters, numbers, and dashes.", *in.Key, "key"))
	}
	art := &model.Artifact{Key: in.Key, Type: in.Type, Description: in.Description, Data: jsonValue(in.Data),
		Metadata: artifactMetadata(in.Metadata), FlowRunID: in.FlowRunID, TaskRunID: in.TaskRunID}
	if err := a.Store.CreateArtifact(r.Context(), workspaceID(r), art); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, art)
	return nil
}

// artifactMetadata truncates long values with "...", as Prefect does.
func artifactMetadata(in map[string]string) map[string]any {
	if in == nil {
		return nil
	}
	out := make(map[string]any, len(in))
	for k, v := range in {
		if utf8.RuneCountInString(v) > maxMetadataLen {
			v = string([]rune(v)[:maxMetadataLen]) + "..."
		}
		out[k] = v
	}
	return out
}

// readLatestArtifact answers, as Prefect does, with the key's collection in
// the artifact shape: the latest artifact's fields under the collection id.
func (a *API) readLatestArtifact(w http.ResponseWriter, r *http.Request) error {
	ws := workspaceID(r)
	key := r.PathValue("key")
	q := store.ArtifactQuery{Artifacts: &store.ArtifactFilter{Key: &store.NameFilter{Any: []string{key}}}, Limit: 1}
	arts, err := a.Store.ListArtifacts(r.Context(), ws, q, true)
	if err != nil {
		return err
	}
	if len(arts) == 0 {
		return detail(http.StatusNotFound, artifactNotFound)
	}
	writeJSON(w, http.StatusOK, newArtifactCollection(ws, arts[0]).Artifact)
	return nil
}

func (a *API) updateArtifact(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		Data        json.RawMessage   `json:"data"`
		Description *string           `json:"description"`
		Metadata    map[string]string `json:"metadata_"`
	}
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	set := members(body)
	err = a.Store.UpdateArtifact(r.Context(), workspaceID(r), id, func(art *model.Artifact) error {
		if _, ok := set["data"]; ok {
			art.Data = jsonValue(in.Data)
		}
		if _, ok := set["description"]; ok {
			art.Description = in.Description
		}
		if _, ok := set["metadata_"]; ok {
			art.Metadata = artifactMetadata(in.Metadata)
		}
		return nil
	})
	if err != nil {
		return notFound(err, artifactNotFound)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// artifactBody is the body of the artifact filter routes. Its artifacts
// member takes the members of Prefect's ArtifactFilter and
// ArtifactCollectionFilter that store.ArtifactFilter spells differently.
type artifactBody struct {
	store.ArtifactQuery
	Artifacts *struct {
		store.ArtifactFilter
		LatestID *store.IDFilter `json:"latest_id"`
		Key      *struct {
			store.NameFilter
			Exists *bool `json:"exists_"`
		} `json:"key"`
	} `json:"artifacts"`
}

// artifactQuery decodes an artifact filter body. For the latest routes the
// filter matches collections, which are selected by latest_id, not id.
func artifactQuery(w http.ResponseWriter, r *http.Request, latest bool) (store.ArtifactQuery, []byte, error) {
	var in artifactBody
	body, err := decode(w, r, &in, true)
	if err != nil {
		return store.ArtifactQuery{}, body, err
	}
	q := in.ArtifactQuery
	if f := in.Artifacts; f != nil {
		af := f.ArtifactFilter
		if latest {
			af.ID = f.LatestID
		}
		if k := f.Key; k != nil {
			key := k.NameFilter
			if k.Exists != nil {
				isNull := !*k.Exists
				key.IsNull = &isNull
			}
			af.Key = &key
		}
		q.Artifacts = &af
	}
	return q, body, nil
}

func (a *API) filterArtifacts(w http.ResponseWriter, r *http.Request) error {
	arts, err := a.listArtifacts(w, r, false)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, arts)
	return nil
}

func (a *API) filterLatestArtifacts(w http.ResponseWriter, r *http.Request) error {
	arts, err := a.listArtifacts(w, r, true)
	if err != nil {
		return err
	}
	ws := workspaceID(r)
	out := make([]artifactCollection, len(arts))
	for i, art := range arts {
		out[i] = newArtifactCollection(ws, art)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) listArtifacts(w http.ResponseWriter, r *http.Request, latest bool) ([]*model.Artifact, error) {
	q, body, err := artifactQuery(w, r, latest)
	if err != nil {
		return nil, err
	}
	if err := checkPage(body, q.Limit, q.Offset); err != nil {
		return nil, err
	}
	if err := checkSort(body, q.Sort, store.ArtifactSorts); err != nil {
		return nil, err
	}
	return a.Store.ListArtifacts(r.Context(), workspaceID(r), q, latest)
}

func (a *API) countArtifacts(w http.ResponseWriter, r *http.Request) error {
	return a.countArtifactsIn(w, r, false)
}

func (a *API) countLatestArtifacts(w http.ResponseWriter, r *http.Request) error {
	return a.countArtifactsIn(w, r, true)
}

func (a *API) countArtifactsIn(w http.ResponseWriter, r *http.Request, latest bool) error {
	q, _, err := artifactQuery(w, r, latest)
	if err != nil {
		return err
	}
	n, err := a.Store.CountArtifacts(r.Context(), workspaceID(r), q, latest)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, n)
	return nil
}

// artifactCollection is Prefect's ArtifactCollection: a key and its latest
// artifact.
type artifactCollection struct {
	model.Artifact
	LatestID uuid.UUID `json:"latest_id"`
}

// newArtifactCollection wraps a key's latest artifact. Praetor keeps no
// collection rows, so the collection id is derived from the workspace and
// key: it stays the same as new versions are published, as Prefect's does.
func newArtifactCollection(ws uuid.UUID, latest *model.Artifact) artifactCollection {
	c := artifactCollection{Artifact: *latest, LatestID: latest.ID}
	c.ID = uuid.NewSHA1(ws, []byte(*latest.Key))
	return c
}
