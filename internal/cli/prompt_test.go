package cli

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lineWriter hands what browserLogin prints to a channel, line by line.
type lineWriter struct {
	mu    sync.Mutex
	buf   strings.Builder
	lines chan string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		s := w.buf.String()
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			break
		}
		w.lines <- s[:i]
		w.buf.Reset()
		w.buf.WriteString(s[i+1:])
	}
	return len(p), nil
}

// The page shows "your terminal is logged in" only when its POST to the
// callback is answered, so the answer must reach the browser even though
// the login returns, and closes its listener, as soon as the key arrives.
func TestBrowserLoginAnswersThePageBeforeClosing(t *testing.T) {
	t.Setenv("BROWSER", "true")
	callback := regexp.MustCompile(`callback=(http%3A%2F%2F127\.0\.0\.1%3A\d+)`)
	for i := range 50 {
		out := &lineWriter{lines: make(chan string, 8)}
		type result struct {
			key string
			err error
		}
		done := make(chan result, 1)
		go func() {
			key, err := browserLogin(context.Background(), "http://ui.invalid", out)
			done <- result{key, err}
		}()
		var target string
		for target == "" {
			select {
			case line := <-out.lines:
				if m := callback.FindStringSubmatch(line); m != nil {
					target = strings.ReplaceAll(strings.ReplaceAll(m[1], "%3A", ":"), "%2F", "/")
				}
			case <-time.After(10 * time.Second):
				t.Fatal("browserLogin printed no callback URL")
			}
		}
		res, err := http.Post(target+"/success", "application/json", strings.NewReader(`{"api_key":"pnu_k`+string(rune('a'+i%26))+`"}`))
		if err != nil {
			t.Fatalf("attempt %d: the page's POST got no answer: %v", i, err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode/100 != 2 {
			t.Fatalf("attempt %d: the page's POST answered %d", i, res.StatusCode)
		}
		r := <-done
		if want := "pnu_k" + string(rune('a'+i%26)); r.err != nil || r.key != want {
			t.Fatalf("attempt %d: browserLogin = %q, %v; want %q", i, r.key, r.err, want)
		}
	}
}
