package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/store"
)

// maxBody bounds request bodies: Prefect's client caps a log batch at 4 MB
// and an event at 1.5 MB.
const maxBody = 8 << 20

// apiError is an error with an HTTP status and a Prefect-shaped body.
type apiError struct {
	status int
	body   any
}

func (e *apiError) Error() string { return fmt.Sprintf("HTTP %d: %v", e.status, e.body) }

// detail is Prefect's HTTPException body.
func detail(status int, format string, args ...any) error {
	return &apiError{status: status, body: map[string]string{"detail": fmt.Sprintf(format, args...)}}
}

// fieldError is one entry of a 422 body's exception_detail, in FastAPI's form.
type fieldError struct {
	Type  string `json:"type"`
	Loc   []any  `json:"loc"`
	Msg   string `json:"msg"`
	Input any    `json:"input,omitempty"`
}

// invalid returns a 422 in FastAPI's request-validation shape.
func invalid(body []byte, errs ...fieldError) error {
	var reqBody any = string(body)
	var parsed any
	if json.Unmarshal(body, &parsed) == nil {
		reqBody = parsed
	}
	return &apiError{status: http.StatusUnprocessableEntity, body: map[string]any{
		"exception_message": "Invalid request received.",
		"exception_detail":  errs,
		"request_body":      reqBody,
	}}
}

func fieldErr(typ, msg string, input any, loc ...any) fieldError {
	return fieldError{Type: typ, Loc: append([]any{"body"}, loc...), Msg: msg, Input: input}
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		// The client went away; nothing more to do.
		return
	}
}

// writeError maps err to a response: application errors keep their message,
// anything else is logged and answered with a generic 500 so internal detail
// never leaks.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if errors.As(err, &ae) {
		writeJSON(w, ae.status, ae.body)
		return
	}
	var se *store.Error
	if errors.As(err, &se) {
		status := map[store.Code]int{
			store.ENotFound:     http.StatusNotFound,
			store.EConflict:     http.StatusConflict,
			store.EInvalid:      http.StatusUnprocessableEntity,
			store.EUnauthorized: http.StatusUnauthorized,
			store.EForbidden:    http.StatusForbidden,
		}[se.Code]
		if status == 0 {
			status = http.StatusBadRequest
		}
		writeJSON(w, status, map[string]string{"detail": se.Message})
		return
	}
	a.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeJSON(w, http.StatusInternalServerError, map[string]string{"detail": "Internal server error. See server logs for details."})
}

// readBody reads the request body within maxBody.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, detail(http.StatusRequestEntityTooLarge, "Request body exceeds the limit of %d bytes.", maxBody)
		}
		return nil, detail(http.StatusBadRequest, "Could not read request body.")
	}
	return b, nil
}

// decode reads a JSON body into v. An empty body decodes as {} when
// emptyOK; otherwise it is a 422, as are syntax and type errors. Unknown
// fields are ignored: clients of other versions send fields we don't know.
func decode(w http.ResponseWriter, r *http.Request, v any, emptyOK bool) ([]byte, error) {
	body, err := readBody(w, r)
	if err != nil {
		return nil, err
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		if emptyOK {
			return body, nil
		}
		return body, invalid(body, fieldErr("missing", "Field required", nil))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return body, decodeError(body, err)
	}
	return body, nil
}

// decodeError turns a JSON error into FastAPI's 422 body.
func decodeError(body []byte, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		var loc []any
		if te.Field != "" {
			for _, p := range strings.Split(te.Field, ".") {
				loc = append(loc, p)
			}
		}
		want := te.Type.String()
		switch {
		case strings.Contains(want, "uuid.UUID"):
			return invalid(body, fieldErr("uuid_type", "Input should be a valid UUID", te.Value, loc...))
		case strings.HasPrefix(want, "map") || strings.HasPrefix(want, "struct") || strings.Contains(want, "."):
			return invalid(body, fieldErr("model_type", "Input should be a valid dictionary or object", te.Value, loc...))
		case strings.HasPrefix(want, "[]"):
			return invalid(body, fieldErr("list_type", "Input should be a valid list", te.Value, loc...))
		}
		return invalid(body, fieldErr(want+"_type", "Input should be a valid "+want, te.Value, loc...))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return invalid(body, fieldError{Type: "json_invalid", Loc: []any{"body", se.Offset}, Msg: "JSON decode error"})
	}
	// Errors from our own UnmarshalJSON methods (bad UUIDs, datetimes).
	return invalid(body, fieldErr("value_error", err.Error(), nil))
}

// pathID parses the path value name as a UUID; like Prefect's server, a
// malformed id matches no route: 404 Not Found.
func pathID(r *http.Request, name string) (uuid.UUID, error) {
	id, err := uuid.Parse(r.PathValue(name))
	if err != nil {
		return uuid.Nil, detail(http.StatusNotFound, "Not Found")
	}
	return id, nil
}

// checkLimit enforces Prefect's maximum page size, with its message.
func checkLimit(body []byte, limit, max int) error {
	if limit > max {
		return detail(http.StatusUnprocessableEntity, "Invalid limit: must be less than or equal to %d.", max)
	}
	if limit < 0 {
		return invalid(body, fieldErr("greater_than_equal", "Input should be greater than or equal to 0", limit, "limit"))
	}
	return nil
}
