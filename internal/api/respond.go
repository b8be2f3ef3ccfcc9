package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/auth"
	"github.com/praetorhq/praetor/internal/httpx"
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

// message is the error's detail, for a result that reports it in a body
// of its own.
func (e *apiError) message() string {
	if d, ok := e.body.(map[string]string); ok {
		return d["detail"]
	}
	return fmt.Sprint(e.body)
}

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
	return &apiError{status: http.StatusUnprocessableEntity, body: map[string]any{
		"exception_message": "Invalid request received.",
		"exception_detail":  errs,
		"request_body":      jsonOrString(body),
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

// sentField is a body field a route requires, and whether it was sent.
type sentField struct {
	name string
	sent bool
}

// requireFields is FastAPI's 422 naming each required field not sent; nil
// when all were.
func requireFields(body []byte, fields ...sentField) error {
	var missing []fieldError
	for _, f := range fields {
		if !f.sent {
			missing = append(missing, fieldErr("missing", "Field required", nil, f.name))
		}
	}
	if missing == nil {
		return nil
	}
	return invalid(body, missing...)
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
	if status, msg, ok := httpx.Status(err); ok {
		writeJSON(w, status, map[string]string{"detail": msg})
		return
	}
	if httpx.ClientGone(r, err) {
		// The access log and metrics say 499, as nginx does, rather than
		// a 500 and an error to chase.
		a.Logger.Debug("client went away", "method", r.Method, "path", r.URL.Path)
		w.WriteHeader(httpx.StatusClientClosed)
		return
	}
	a.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeJSON(w, http.StatusInternalServerError, map[string]string{"detail": "Internal server error. See server logs for details."})
}

// checkBodyType refuses a request body that is not declared JSON. A page
// on another site can post a text/plain, form or multipart body, or one
// with no type at all, without the browser asking the server first (a CORS
// preflight), so such a body could be a blind cross-site write. Prefect's
// client sends application/json with every body. A body without a type is
// still taken from a caller with a key, which no such page can add: FastAPI
// reads it as JSON too.
func checkBodyType(r *http.Request) error {
	if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions {
		return nil
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		if r.ContentLength == 0 || auth.Credential(r) != "" {
			return nil
		}
	} else if mt, _, err := mime.ParseMediaType(ct); err == nil && (mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		return nil
	}
	return detail(http.StatusUnsupportedMediaType, "Request bodies must be JSON, sent with Content-Type: application/json.")
}

// readBody reads the request body within maxBody.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, detail(http.StatusRequestEntityTooLarge, "Request body exceeds the limit of %d bytes.", mbe.Limit)
		}
		return nil, detail(http.StatusBadRequest, "Could not read request body.")
	}
	return b, nil
}

// decode reads a JSON body into v. An empty body decodes as {} when
// emptyOK; otherwise it is a 422, as are syntax and type errors and enum
// values out of range. Unknown fields are ignored: clients of other
// versions send fields we don't know.
func decode(w http.ResponseWriter, r *http.Request, v any, emptyOK bool) ([]byte, error) {
	body, err := readBody(w, r)
	if err != nil {
		return nil, err
	}
	if len(body) == 0 {
		// Only a body with no bytes at all: FastAPI parses whitespace,
		// and fails on it.
		if emptyOK {
			return body, nil
		}
		return body, invalid(body, fieldErr("missing", "Field required", nil))
	}
	return body, unmarshalBody(body, v)
}

// decodeError turns the error of decoding body into v into FastAPI's 422.
func decodeError(body []byte, v any, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return invalid(body, syntaxError(body, se))
	}
	var generic any
	if json.Unmarshal(body, &generic) == nil {
		if e, found := locate(reflect.TypeOf(v), generic, nil); found {
			return invalid(body, e)
		}
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		var loc []any
		if te.Field != "" {
			for _, p := range strings.Split(te.Field, ".") {
				loc = append(loc, p)
			}
		}
		want := te.Type.String()
		return invalid(body, fieldErr(want+"_type", "Input should be a valid "+want, te.Value, loc...))
	}
	// Errors from our own UnmarshalJSON methods that locate did not place.
	return invalid(body, fieldErr("value_error", err.Error(), nil))
}

// queryInvalid is FastAPI's 422 for a bad query parameter.
func queryInvalid(typ, msg string, input any, name string) error {
	return &apiError{status: http.StatusUnprocessableEntity, body: map[string]any{
		"exception_message": "Invalid request received.",
		"exception_detail":  []fieldError{{Type: typ, Loc: []any{"query", name}, Msg: msg, Input: input}},
		"request_body":      nil,
	}}
}

// queryMissing is FastAPI's 422 for a required query parameter not sent.
func queryMissing(name string) error {
	return queryInvalid("missing", "Field required", nil, name)
}

// notList reports whether body is JSON other than an array or null.
func notList(body []byte) bool {
	var v any
	if json.Unmarshal(body, &v) != nil || v == nil {
		return false
	}
	_, isList := v.([]any)
	return !isList
}

// jsonOrString is body decoded, or as a string if it is not JSON.
func jsonOrString(body []byte) any {
	var v any
	if json.Unmarshal(body, &v) == nil {
		return v
	}
	return string(body)
}

// required is the 422 for a required member that is absent or null: FastAPI
// reports an absent one as missing and a null one as not of its type (typ,
// with msg).
func required(body []byte, typ, msg string, loc ...any) error {
	raw, ok := memberAt(body, loc...)
	if ok && isNull(raw) {
		return invalid(body, fieldErr(typ, msg, nil, loc...))
	}
	return invalid(body, fieldErr("missing", "Field required", nil, loc...))
}

// memberAt returns the raw JSON at a location in an object body.
func memberAt(body []byte, loc ...any) (json.RawMessage, bool) {
	raw := json.RawMessage(body)
	for _, key := range loc {
		name, ok := key.(string)
		if !ok {
			return nil, false
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			return nil, false
		}
		if raw, ok = m[name]; !ok {
			return nil, false
		}
	}
	return raw, true
}

// notFound rewrites a store's not-found error as the 404 Prefect answers on
// the route, with detail as its message.
func notFound(err error, detailMsg string) error {
	if apperr.IsNotFound(err) {
		return detail(http.StatusNotFound, "%s", detailMsg)
	}
	return err
}

// objectNotFound rewrites a store's not-found error as the 404 of Prefect's
// ObjectNotFoundError, which its models raise where its routes do not check
// first: {"exception_message": …}.
func objectNotFound(err error, format string, args ...any) error {
	if apperr.IsNotFound(err) {
		return &apiError{status: http.StatusNotFound, body: map[string]string{"exception_message": fmt.Sprintf(format, args...)}}
	}
	return err
}

// pathID parses the path value name as a UUID. serveIn routes only
// well-formed ids; like Prefect's server, it answers others as matching no
// route.
func pathID(r *http.Request, name string) (uuid.UUID, error) {
	id, err := uuid.Parse(r.PathValue(name))
	if err != nil {
		return uuid.Nil, detail(http.StatusNotFound, "Not Found")
	}
	return id, nil
}

// checkLimit enforces the bounds of Prefect's LimitBody, with its messages.
func checkLimit(limit, max int) error {
	if limit < 0 {
		return detail(http.StatusUnprocessableEntity, "Invalid limit: must be greater than or equal to 0.")
	}
	if limit > max {
		return detail(http.StatusUnprocessableEntity, "Invalid limit: must be less than or equal to %d.", max)
	}
	return nil
}

// checkPage enforces Prefect's bounds on a filter's limit and offset, in
// its order: the limit, a dependency, is checked before the body.
func checkPage(body []byte, limit, offset int) error {
	if err := checkLimit(limit, 200); err != nil {
		return err
	}
	if offset < 0 {
		return invalid(body, fieldErr("greater_than_equal", "Input should be greater than or equal to 0", offset, "offset"))
	}
	return nil
}

// checkSort rejects a sort that is not one of Prefect's values for the
// route; an empty sort is the route's default.
func checkSort(body []byte, sort string, values []string) error {
	if sort == "" || slices.Contains(values, sort) {
		return nil
	}
	return invalid(body, fieldErr("enum", "Input should be "+quotedList(values), sort, "sort"))
}

// quotedList spells values as pydantic's enum errors do: 'A', 'B' or 'C'.
func quotedList(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = "'" + v + "'"
	}
	if len(q) < 2 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}
