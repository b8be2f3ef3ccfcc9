package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"unicode/utf8"

	"github.com/praetorhq/praetor/internal/model"
)

// Bounds on flow run inputs. Prefect sets none; these leave room for any
// input schema or message a flow sends, within the request body's bound.
const (
	maxInputKeyLen      = 255
	maxInputValueBytes  = 1 << 20
	maxInputSenderLen   = 255
	maxInputFilterLimit = 1000
	// The client's receive_input excludes every key it has seen so far.
	maxInputExcludeKeys = 10000
)

// flowRunInputNotFound is Prefect's detail on the input routes' 404s.
const flowRunInputNotFound = "Flow run input not found"

func (a *API) flowRunInputRoutes() {
	a.route("POST", "/flow_runs/{id}/input", "update:flow_run", a.createFlowRunInput)
	a.route("POST", "/flow_runs/{id}/input/filter", "read:flow_run", a.filterFlowRunInput)
	a.route("GET", "/flow_runs/{id}/input/{key}", "read:flow_run", a.readFlowRunInput)
	a.route("DELETE", "/flow_runs/{id}/input/{key}", "update:flow_run", a.deleteFlowRunInput)
}

// createFlowRunInput answers 201 with a null body, as Prefect does.
func (a *API) createFlowRunInput(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		Key *string `json:"key"`
		// Raw, to refuse a value that is not a string as Prefect's bytes
		// field does.
		Value  json.RawMessage `json:"value"`
		Sender *string         `json:"sender"`
	}
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	if in.Key == nil {
		return required(body, "string_type", "Input should be a valid string", "key")
	}
	var value string
	if in.Value == nil || isNull(in.Value) {
		return required(body, "bytes_type", "Input should be a valid bytes", "value")
	}
	if json.Unmarshal(in.Value, &value) != nil {
		return invalid(body, fieldErr("bytes_type", "Input should be a valid bytes", jsonValue(in.Value), "value"))
	}
	switch {
	case utf8.RuneCountInString(*in.Key) > maxInputKeyLen:
		return invalid(body, fieldErr("string_too_long", fmt.Sprintf("String should have at most %d characters", maxInputKeyLen), *in.Key, "key"))
	case !lowerSlug(*in.Key, "-"):
		// Prefect's server fails with a 500 here; the rule is its schema's.
		return invalid(body, fieldErr("value_error", "Value error, key must only contain lowercase letters, numbers, and dashes.", *in.Key, "key"))
	case len(value) > maxInputValueBytes:
		return invalid(body, fieldErr("bytes_too_long", fmt.Sprintf("Data should have at most %d bytes", maxInputValueBytes), nil, "value"))
	case in.Sender != nil && utf8.RuneCountInString(*in.Sender) > maxInputSenderLen:
		return invalid(body, fieldErr("string_too_long", fmt.Sprintf("String should have at most %d characters", maxInputSenderLen), *in.Sender, "sender"))
	}
	err = a.Store.CreateFlowRunInput(r.Context(), workspaceID(r), &model.FlowRunInput{FlowRunID: id, Key: *in.Key, Value: value, Sender: in.Sender})
	if err != nil {
		return notFound(err, "Flow run not found")
	}
	writeJSON(w, http.StatusCreated, nil)
	return nil
}

func (a *API) filterFlowRunInput(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		Prefix      *string  `json:"prefix"`
		Limit       *int     `json:"limit"`
		ExcludeKeys []string `json:"exclude_keys"`
	}
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	if in.Prefix == nil {
		return required(body, "string_type", "Input should be a valid string", "prefix")
	}
	limit := 1
	if in.Limit != nil {
		limit = *in.Limit
	}
	switch {
	case limit < 0:
		return invalid(body, fieldErr("greater_than_equal", "Input should be greater than or equal to 0", limit, "limit"))
	case limit > maxInputFilterLimit:
		return invalid(body, fieldErr("less_than_equal", fmt.Sprintf("Input should be less than or equal to %d", maxInputFilterLimit), limit, "limit"))
	case len(in.ExcludeKeys) > maxInputExcludeKeys:
		return invalid(body, fieldErr("too_long", fmt.Sprintf("List should have at most %d items after validation, not %d", maxInputExcludeKeys, len(in.ExcludeKeys)), nil, "exclude_keys"))
	}
	inputs := []*model.FlowRunInput{}
	if limit > 0 {
		if inputs, err = a.Store.ListFlowRunInputs(r.Context(), workspaceID(r), id, *in.Prefix, in.ExcludeKeys, limit); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, inputs)
	return nil
}

// readFlowRunInput answers the stored value as plain text, as Prefect does.
func (a *API) readFlowRunInput(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	in, err := a.Store.GetFlowRunInput(r.Context(), workspaceID(r), id, r.PathValue("key"))
	if err != nil {
		return notFound(err, flowRunInputNotFound)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write([]byte(in.Value)) // a write error is the client gone
	return nil
}

func (a *API) deleteFlowRunInput(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := a.Store.DeleteFlowRunInput(r.Context(), workspaceID(r), id, r.PathValue("key")); err != nil {
		return notFound(err, flowRunInputNotFound)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
