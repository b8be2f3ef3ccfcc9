// Package loadgen is the benchmarks' HTTP load generator: a fixed number of
// connections sending either as fast as the server answers (closed loop) or
// at a fixed rate (open loop), with latency percentiles from the full sorted
// sample and error counts by status. It has no dependency outside the
// standard library, so CI and bench/run need nothing installed.
package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Request is one request of a load.
type Request struct {
	Method string
	URL    string
	Body   []byte // sent as application/json when not nil
	Header map[string]string
}

// Config describes a load.
type Config struct {
	// Connections is how many requests may be in flight at once (one
	// keep-alive connection each).
	Connections int
	// Rate, when positive, sends the i-th request at start + i/Rate
	// (open loop): a request that waits for a free connection counts the
	// wait in its latency, so a slow server cannot hide its queue by
	// slowing the sender down (coordinated omission). Zero: each
	// connection sends its next request when the last one is answered.
	Rate     float64
	Duration time.Duration
	// Next returns the i-th request (0-based); it is called from many
	// goroutines at once.
	Next func(i int) Request
	// Check, when set, judges a 2xx answer; an error counts the answer as
	// failed. Without it every 2xx answer counts as OK.
	Check func(i int, body []byte) error
}

// Result is what a load measured.
type Result struct {
	Requests int // answered or failed
	OK       int
	// Errors counts the failed requests by status: 0 for a transport
	// error, and the answer's status otherwise (a 2xx that Check refused
	// counts under its status too).
	Errors map[int]int
	// Locked counts the answers whose body says "database is locked".
	Locked     int
	FirstError string
	Elapsed    time.Duration
	P50, P90   time.Duration
	P99, Max   time.Duration
}

// RPS is the rate of OK answers.
func (r Result) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK) / r.Elapsed.Seconds()
}

// Failed is the number of requests that did not succeed.
func (r Result) Failed() int { return r.Requests - r.OK }

func (r Result) String() string {
	return fmt.Sprintf("%d requests, %.0f ok/s, p50 %v p99 %v max %v, errors %v, locked %d",
		r.Requests, r.RPS(), r.P50, r.P99, r.Max, r.Errors, r.Locked)
}

var locked = []byte("database is locked")

// Run applies the load until cfg.Duration has passed (closed loop) or
// every request of the rate's schedule was sent (open loop), and waits for
// the answers. The context ends it early.
func Run(ctx context.Context, cfg Config) Result {
	conns := max(cfg.Connections, 1)
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		DisableCompression:  true,
		IdleConnTimeout:     30 * time.Second,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second}

	total := -1 // closed loop: no fixed count
	if cfg.Rate > 0 {
		total = int(cfg.Rate * cfg.Duration.Seconds())
	}
	var next atomic.Int64
	var mu sync.Mutex
	res := Result{Errors: map[int]int{}}
	var sample []time.Duration
	start := time.Now()
	deadline := start.Add(cfg.Duration)
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, 1024)
			var ok, lockedN int
			errs := map[int]int{}
			var first string
			buf := new(bytes.Buffer)
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				var sent time.Time
				if total >= 0 {
					if i >= total {
						break
					}
					sent = start.Add(time.Duration(float64(i) / cfg.Rate * float64(time.Second)))
					if d := time.Until(sent); d > 0 {
						time.Sleep(d)
					}
				} else {
					sent = time.Now()
					if sent.After(deadline) {
						break
					}
				}
				status, err := do(ctx, client, cfg.Next(i), buf)
				if err == nil && status/100 == 2 && cfg.Check != nil {
					err = cfg.Check(i, buf.Bytes())
				}
				lat = append(lat, time.Since(sent))
				if err == nil && status/100 != 2 {
					err = fmt.Errorf("status %d: %s", status, truncate(buf.Bytes(), 300))
				}
				if bytes.Contains(buf.Bytes(), locked) {
					lockedN++
				}
				if err != nil {
					errs[status]++
					if first == "" {
						first = err.Error()
					}
					continue
				}
				ok++
			}
			mu.Lock()
			defer mu.Unlock()
			sample = append(sample, lat...)
			res.OK += ok
			res.Locked += lockedN
			for s, n := range errs {
				res.Errors[s] += n
			}
			if res.FirstError == "" {
				res.FirstError = first
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.Requests = len(sample)
	slices.Sort(sample)
	res.P50, res.P90, res.P99 = percentile(sample, 50), percentile(sample, 90), percentile(sample, 99)
	if len(sample) > 0 {
		res.Max = sample[len(sample)-1]
	}
	return res
}

// do sends req and reads its answer into buf; status 0 means no answer.
func do(ctx context.Context, client *http.Client, req Request, buf *bytes.Buffer) (int, error) {
	buf.Reset()
	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	r, err := http.NewRequestWithContext(ctx, req.Method, req.URL, body)
	if err != nil {
		return 0, err
	}
	if req.Body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	for k, v := range req.Header {
		r.Header.Set(k, v)
	}
	resp, err := client.Do(r)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return resp.StatusCode, fmt.Errorf("reading the answer: %w", err)
	}
	return resp.StatusCode, nil
}

// percentile returns the p-th percentile of a sorted sample (nearest rank).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// Ceiling serves body with contentType to every request, from a plain
// net/http handler on a free port of 127.0.0.1: the machine's limit for an
// answer of that size, measured with the same load as the server's. It
// returns the server's base URL and a function that stops it.
func Ceiling(body []byte, contentType string) (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listening for the ceiling handler: %w", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(body)
	})}
	go func() { _ = srv.Serve(l) }()
	return "http://" + l.Addr().String(), func() { _ = srv.Close() }, nil
}
