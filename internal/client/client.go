// Package client is a typed Go client of the Prefect REST API as Praetor
// serves it: the workspace routes under PREFECT_API_URL and the account
// routes under PREFECT_CLOUD_API_URL. It authenticates as Prefect's Python
// client does and retries answers that say the server is busy.
package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Client calls one API root (a workspace's PREFECT_API_URL, or the Cloud
// API URL for the account routes).
type Client struct {
	base string
	auth string // the Authorization header, empty for none
	http *http.Client
	// Backoff is the wait before the first retry; each retry doubles it.
	// A Retry-After header overrides it for that attempt.
	Backoff time.Duration
	// Retries is how many times a busy or failing answer is tried again.
	Retries int
}

// Credentials are what Prefect's client authenticates with: an API key
// (sent as a Bearer token) or, without one, PREFECT_API_AUTH_STRING (sent
// as HTTP Basic).
type Credentials struct {
	APIKey     string
	AuthString string
}

// New returns a client of the API at base.
func New(base string, cred Credentials) *Client {
	c := &Client{
		base:    strings.TrimRight(base, "/"),
		http:    &http.Client{Timeout: 30 * time.Second},
		Backoff: 500 * time.Millisecond,
		Retries: 4,
	}
	switch {
	case cred.APIKey != "":
		c.auth = "Bearer " + cred.APIKey
	case cred.AuthString != "":
		c.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(cred.AuthString))
	}
	return c
}

// Base is the API root the client calls.
func (c *Client) Base() string { return c.base }

// StatusError is an answer other than 2xx; Detail is the `detail` of
// Prefect's error body when it has one.
type StatusError struct {
	Method, URL string
	Code        int
	Detail      string
}

func (e *StatusError) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("%s %s: %d: %s", e.Method, e.URL, e.Code, e.Detail)
	}
	return fmt.Sprintf("%s %s: %d %s", e.Method, e.URL, e.Code, http.StatusText(e.Code))
}

// IsStatus reports whether err is an answer of the API with that code.
func IsStatus(err error, code int) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Code == code
}

// UnreachableError is a request that got no answer at all.
type UnreachableError struct {
	URL string
	Err error
}

func (e *UnreachableError) Error() string { return fmt.Sprintf("cannot reach %s: %v", e.URL, e.Err) }
func (e *UnreachableError) Unwrap() error { return e.Err }

// maxRetryAfter caps a server's Retry-After, so a wrong header cannot hang
// a command.
const maxRetryAfter = time.Minute

// retriable reports whether an answer says to try again later: 429 and
// every 5xx, as the issue of the CLI asks (Prefect's client retries 429,
// 502 and 503 by default).
func retriable(code int) bool { return code == http.StatusTooManyRequests || code >= 500 }

// Do sends method path with in as its JSON body (none when nil) and decodes
// the answer into out (skipped when nil or empty).
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	var payload []byte
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encoding %s %s: %w", method, path, err)
		}
		payload = data
	}
	wait := c.Backoff
	for attempt := 0; ; attempt++ {
		data, retryAfter, err := c.once(ctx, method, path, payload)
		var se *StatusError
		if err == nil || !errors.As(err, &se) || !retriable(se.Code) || attempt >= c.Retries {
			if err != nil {
				return err
			}
			if out != nil && len(data) > 0 {
				if err := json.Unmarshal(data, out); err != nil {
					return fmt.Errorf("%s %s: decoding the answer: %w", method, c.base+path, err)
				}
			}
			return nil
		}
		d := wait
		if retryAfter > 0 {
			d = min(retryAfter, maxRetryAfter)
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait *= 2
	}
}

func (c *Client) once(ctx context.Context, method, path string, payload []byte) ([]byte, time.Duration, error) {
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	url := c.base + path
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return nil, 0, fmt.Errorf("%s %s: %w", method, url, err)
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, ctx.Err()
		}
		return nil, 0, &UnreachableError{URL: c.base, Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, 0, fmt.Errorf("%s %s: reading the answer: %w", method, url, err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, retryAfter(resp.Header.Get("Retry-After")), &StatusError{Method: method, URL: url, Code: resp.StatusCode, Detail: detail(data)}
	}
	return data, 0, nil
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(h string) time.Duration {
	if h == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(h, 64); err == nil && secs > 0 {
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(h); err == nil {
		return time.Until(t)
	}
	return 0
}

// detail is the message of Prefect's error body {"detail": …}: a string, or
// the first validation error's msg; the raw body otherwise.
func detail(body []byte) string {
	var e struct {
		Detail json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(body, &e) == nil && len(e.Detail) > 0 {
		var s string
		if json.Unmarshal(e.Detail, &s) == nil {
			return s
		}
		var list []struct {
			Loc []any  `json:"loc"`
			Msg string `json:"msg"`
		}
		if json.Unmarshal(e.Detail, &list) == nil && len(list) > 0 {
			return list[0].Msg
		}
		return string(e.Detail)
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
