// Package apperr is the application's error type: an error whose code says
// what went wrong (not found, conflict, invalid, …) and whose message is
// safe to show to the client. The store, the tenancy rules and the
// orchestration of requests return it; the API and the UI map its code to
// an HTTP status (internal/httpx).
package apperr

import (
	"errors"
	"fmt"
)

// Code classifies an application error.
type Code string

const (
	ENotFound     Code = "not_found"
	EConflict     Code = "conflict"
	EInvalid      Code = "invalid"
	EUnauthorized Code = "unauthorized"
	EForbidden    Code = "forbidden"
)

// Error is an error whose message is safe to show to the client.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err's *Error, or "" for internal errors.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// IsNotFound reports whether err means the object does not exist.
func IsNotFound(err error) bool { return ErrorCode(err) == ENotFound }
