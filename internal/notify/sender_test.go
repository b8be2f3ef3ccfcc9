package notify

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// received is one request a receiver got.
type received struct {
	method, path, query string
	header              http.Header
	body                []byte
}

// receiver is a local HTTP server that records what it is sent and
// answers status.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	status int
}

func newReceiver(t *testing.T, status int) *receiver {
	t.Helper()
	r := &receiver{status: status}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{req.Method, req.URL.Path, req.URL.RawQuery, req.Header.Clone(), body})
		r.mu.Unlock()
		w.Header().Set("Set-Cookie", "session=secret")
		w.Header().Set("X-Request-Id", "r1")
		w.WriteHeader(r.status)
		io.WriteString(w, "answer body")
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

func (r *receiver) only(t *testing.T) received {
	t.Helper()
	got := r.requests()
	if len(got) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(got))
	}
	return got[0]
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", b, err)
	}
	return v
}

func wantHeader(t *testing.T, h http.Header, key, want string) {
	t.Helper()
	if got := h.Get(key); got != want {
		t.Errorf("header %s = %q, want %q", key, got, want)
	}
}

// slackIcon is the icon apprise's default theme gives a notify type.
func slackIcon(t string) string {
	return "https://github.com/caronc/apprise/raw/master/apprise/assets/themes/default/apprise-" + t + "-72x72.png"
}

// TestSlackPayload sends what Prefect 3.8.8's SlackWebhook sent (through
// apprise 1.13.1) to a local receiver for the same subject and body: the
// expectations below are that capture, with ts (the send time) checked
// apart.
func TestSlackPayload(t *testing.T) {
	rcv := newReceiver(t, 200)
	var s Sender
	body := "a <http://x.y/z|Run> b <https://h/p> c <!channel> <@U1> <#C1> 1 < 2 > 0 & *bold* _i_ `co<de>` [md](http://l) **b**"
	before := float64(time.Now().UnixMicro()) / 1e6
	if err := s.Notify(t.Context(), "slack-webhook", map[string]any{"url": rcv.URL + "/services/T0AAAAAAA/B0BBBBBBB/CCCC", "notify_type": "failure"}, "S & <t>", body); err != nil {
		t.Fatal(err)
	}
	after := float64(time.Now().UnixMicro()) / 1e6
	got := rcv.only(t)
	if got.method != "POST" || got.path != "/services/T0AAAAAAA/B0BBBBBBB/CCCC" {
		t.Errorf("request %s %s", got.method, got.path)
	}
	wantHeader(t, got.header, "Content-Type", "application/json; charset=utf-8")
	wantHeader(t, got.header, "Accept", "application/json")
	wantHeader(t, got.header, "User-Agent", "Prefect Notifications")
	v := decode(t, got.body)
	att := v["attachments"].([]any)[0].(map[string]any)
	ts, _ := att["ts"].(float64)
	if ts < before-1 || ts > after+1 {
		t.Errorf("ts = %v, want the send time (%v…%v)", att["ts"], before, after)
	}
	delete(att, "ts")
	want := map[string]any{
		"mrkdwn": true,
		"attachments": []any{map[string]any{
			"title":       "S &amp; &lt;t&gt;",
			"text":        "a <http://x.y/z|Run> b <https://h/p> c <!channel> <@U1> &lt;#C1&gt; 1 &lt; 2 &gt; 0 &amp; *bold* _i_ `co&lt;de&gt;` [md](http://l) **b**",
			"color":       "#A32037",
			"footer_icon": slackIcon("failure"),
			"footer":      "Prefect Notifications",
		}},
		"icon_url": slackIcon("failure"),
	}
	if !reflect.DeepEqual(v, want) {
		t.Errorf("payload\n got %v\nwant %v", v, want)
	}
}

// TestTeamsPayload: what Prefect 3.8.8's MicrosoftTeamsWebhook sent
// (apprise 1.13.1's Workflows plugin), captured the same way.
func TestTeamsPayload(t *testing.T) {
	rcv := newReceiver(t, 200)
	var s Sender
	url := rcv.URL + "/workflows/WFID/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=SIGNATURE"
	if err := s.Notify(t.Context(), "ms-teams-webhook", map[string]any{"url": url}, "Teams subj", "Teams body\nline2 <b>&"); err != nil {
		t.Fatal(err)
	}
	if err := s.Notify(t.Context(), "ms-teams-webhook", map[string]any{"url": url, "include_image": false, "wrap": false}, "", "no subject"); err != nil {
		t.Fatal(err)
	}
	got := rcv.requests()
	if len(got) != 2 {
		t.Fatalf("got %d requests", len(got))
	}
	card := func(body ...any) map[string]any {
		return map[string]any{"type": "message", "attachments": []any{map[string]any{
			"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": nil,
			"content": map[string]any{
				"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard", "version": "1.4",
				"body": body, "msteams": map[string]any{"width": "full"},
			},
		}}}
	}
	wants := []map[string]any{
		card(
			map[string]any{"type": "Image", "url": "https://github.com/caronc/apprise/raw/master/apprise/assets/themes/default/apprise-info-32x32.png", "height": "32px", "altText": "info"},
			map[string]any{"type": "TextBlock", "text": "Teams subj", "style": "heading", "weight": "Bolder", "size": "Large", "id": "title"},
			map[string]any{"type": "TextBlock", "text": "Teams body\nline2 <b>&", "style": "default", "wrap": true, "id": "body"},
		),
		card(map[string]any{"type": "TextBlock", "text": "no subject", "style": "default", "wrap": false, "id": "body"}),
	}
	for i, g := range got {
		if g.path != "/workflows/WFID/triggers/manual/paths/invoke" || !strings.Contains(g.query, "sig=SIGNATURE") {
			t.Errorf("request %d to %s?%s", i, g.path, g.query)
		}
		wantHeader(t, g.header, "Content-Type", "application/json")
		wantHeader(t, g.header, "User-Agent", "Prefect Notifications")
		if v := decode(t, g.body); !reflect.DeepEqual(v, wants[i]) {
			t.Errorf("payload %d\n got %v\nwant %v", i, v, wants[i])
		}
	}
}

// TestCustomWebhook: what Prefect 3.8.8's CustomWebhookNotificationBlock
// sent for the same blocks: placeholders substituted everywhere, a lone
// placeholder keeping its value's type, query params, headers, cookies,
// and form bodies.
func TestCustomWebhook(t *testing.T) {
	rcv := newReceiver(t, 200)
	var s Sender
	block := map[string]any{
		"name": "hook", "url": rcv.URL + "/c/{{tok}}",
		"params":    map[string]any{"q": "{{subject}}", "n": "{{ name }}"},
		"json_data": map[string]any{"text": "{{subject}}\n{{body}}", "title": "{{name}}", "token": "{{tok}}", "nested": map[string]any{"l": []any{"{{body}}", float64(1)}}, "raw": "{{ num }}"},
		"headers":   map[string]any{"X-Token": "Bearer {{tok}}"},
		"cookies":   map[string]any{"c": "{{tok}}"},
		"secrets":   map[string]any{"tok": "s3cr3t", "num": float64(5)},
	}
	if err := s.Notify(t.Context(), "custom-webhook", block, "Subj", "Body é <x>"); err != nil {
		t.Fatal(err)
	}
	if err := s.Notify(t.Context(), "custom-webhook", map[string]any{"name": "hook", "url": rcv.URL + "/form", "method": "PUT", "form_data": map[string]any{"a": "{{body}}", "b": "x y&z"}}, "S", "B1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Notify(t.Context(), "custom-webhook", map[string]any{"name": "hook", "url": rcv.URL + "/rawform", "form_data": "subject={{subject}};body={{body}}"}, "S2", "B2"); err != nil {
		t.Fatal(err)
	}
	got := rcv.requests()
	if len(got) != 3 {
		t.Fatalf("got %d requests", len(got))
	}
	j := got[0]
	if j.method != "POST" || j.path != "/c/s3cr3t" || j.query != "n=hook&q=Subj" {
		t.Errorf("json request %s %s?%s", j.method, j.path, j.query)
	}
	wantHeader(t, j.header, "Content-Type", "application/json")
	wantHeader(t, j.header, "User-Agent", "Prefect Notifications")
	wantHeader(t, j.header, "X-Token", "Bearer s3cr3t")
	wantHeader(t, j.header, "Cookie", "c=s3cr3t")
	if !strings.Contains(string(j.body), `"Subj\nBody é <x>"`) {
		t.Errorf("body %s: want compact JSON with non-ASCII and <> as they are", j.body)
	}
	wantJSON := map[string]any{"text": "Subj\nBody é <x>", "title": "hook", "token": "s3cr3t", "nested": map[string]any{"l": []any{"Body é <x>", float64(1)}}, "raw": float64(5)}
	if v := decode(t, j.body); !reflect.DeepEqual(v, wantJSON) {
		t.Errorf("json body\n got %v\nwant %v", v, wantJSON)
	}
	f := got[1]
	if f.method != "PUT" || string(f.body) != "a=B1&b=x+y%26z" {
		t.Errorf("form request %s %q", f.method, f.body)
	}
	wantHeader(t, f.header, "Content-Type", "application/x-www-form-urlencoded")
	raw := got[2]
	if string(raw.body) != "subject=S2;body=B2" || raw.header.Get("Content-Type") != "" {
		t.Errorf("raw form request %q with Content-Type %q", raw.body, raw.header.Get("Content-Type"))
	}
}

// TestCallWebhook sends the payload as it is, with the block's headers, as
// Prefect's Webhook block does, and answers what the webhook answered
// without its cookies.
func TestCallWebhook(t *testing.T) {
	rcv := newReceiver(t, 201)
	var s Sender
	resp, err := s.CallWebhook(t.Context(), map[string]any{"url": rcv.URL + "/w", "method": "PUT", "headers": map[string]any{"Authorization": "Bearer t", "X-A": "1"}}, `{"x": "é"}`)
	if err != nil {
		t.Fatal(err)
	}
	got := rcv.only(t)
	if got.method != "PUT" || got.path != "/w" || string(got.body) != `{"x": "é"}` {
		t.Errorf("request %s %s %q", got.method, got.path, got.body)
	}
	wantHeader(t, got.header, "Authorization", "Bearer t")
	wantHeader(t, got.header, "X-A", "1")
	if resp.StatusCode != 201 || resp.Body != "answer body" || resp.Header.Get("X-Request-Id") != "r1" || resp.Header.Get("Set-Cookie") != "" {
		t.Errorf("response %+v", resp)
	}
}

// TestPermanent classifies failures: what the receiver refused for good,
// what may work later, and blocks that cannot work.
func TestPermanent(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + closed.Addr().String() + "/hook"
	closed.Close()
	// A receiver that never answers; the server notices the client
	// leaving once the body is read, and done frees it at the end anyway.
	done := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(done) })

	s := &Sender{Timeout: 500 * time.Millisecond}
	slack := func(url string) map[string]any { return map[string]any{"url": url} }
	for _, c := range []struct {
		name      string
		slug      string
		block     map[string]any
		permanent bool
	}{
		{"500", "slack-webhook", slack(newReceiver(t, 500).URL), false},
		{"503", "ms-teams-webhook", slack(newReceiver(t, 503).URL), false},
		{"408", "slack-webhook", slack(newReceiver(t, 408).URL), false},
		{"429", "slack-webhook", slack(newReceiver(t, 429).URL), false},
		{"404", "slack-webhook", slack(newReceiver(t, 404).URL), true},
		{"400", "custom-webhook", map[string]any{"name": "n", "url": newReceiver(t, 400).URL}, true},
		{"connection refused", "slack-webhook", slack(closedURL), false},
		{"timeout", "slack-webhook", slack(hang.URL), false},
		{"no url", "slack-webhook", map[string]any{}, true},
		{"not http", "slack-webhook", slack("file:///etc/passwd"), true},
		{"bad notify type", "slack-webhook", map[string]any{"url": closedURL, "notify_type": "loud"}, true},
		{"unknown placeholder", "custom-webhook", map[string]any{"name": "n", "url": closedURL, "json_data": map[string]any{"x": "{{ nope }}"}}, true},
		{"json and form", "custom-webhook", map[string]any{"name": "n", "url": closedURL, "json_data": map[string]any{}, "form_data": "x"}, true},
		{"bad method", "custom-webhook", map[string]any{"name": "n", "url": closedURL, "method": "TRACE"}, true},
		{"not a notification block", "webhook", slack(closedURL), true},
		{"unknown block type", "pager-duty-webhook", slack(closedURL), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := s.Notify(t.Context(), c.slug, c.block, "s", "b")
			if err == nil {
				t.Fatal("delivered")
			}
			if got := Permanent(err); got != c.permanent {
				t.Errorf("Permanent(%v) = %v, want %v", err, got, c.permanent)
			}
		})
	}
	if Permanent(context.DeadlineExceeded) {
		t.Error("a deadline is permanent")
	}
	if _, err := s.CallWebhook(t.Context(), map[string]any{"url": newReceiver(t, 410).URL}, ""); !Permanent(err) {
		t.Errorf("CallWebhook answered 410: %v, want permanent", err)
	}
	if _, err := s.CallWebhook(t.Context(), map[string]any{"url": newReceiver(t, 502).URL}, ""); err == nil || Permanent(err) {
		t.Errorf("CallWebhook answered 502: %v, want retryable", err)
	}
}

// TestPrivateURLsRefused: a block with allow_private_urls false never
// reaches a loopback receiver, also through a redirect from elsewhere;
// by default (Prefect's too) private URLs are allowed.
func TestPrivateURLsRefused(t *testing.T) {
	rcv := newReceiver(t, 200)
	var s Sender
	for _, slug := range []string{"slack-webhook", "ms-teams-webhook", "custom-webhook"} {
		err := s.Notify(t.Context(), slug, map[string]any{"name": "n", "url": rcv.URL, "allow_private_urls": false}, "s", "b")
		if err == nil || !Permanent(err) || !strings.Contains(err.Error(), "private") {
			t.Errorf("%s to a loopback URL without private URLs: %v", slug, err)
		}
	}
	if _, err := s.CallWebhook(t.Context(), map[string]any{"url": rcv.URL, "allow_private_urls": false}, "x"); err == nil || !Permanent(err) {
		t.Errorf("webhook to a loopback URL without private URLs: %v", err)
	}
	if n := len(rcv.requests()); n != 0 {
		t.Fatalf("the receiver got %d requests", n)
	}
	if err := s.Notify(t.Context(), "slack-webhook", map[string]any{"url": rcv.URL}, "s", "b"); err != nil {
		t.Errorf("private URLs allowed by default: %v", err)
	}
}

// TestErrorsHideTheURL: a Slack webhook's URL is its secret, so a failed
// delivery's error (which the executor records) names only the host.
func TestErrorsHideTheURL(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := closed.Addr().String()
	closed.Close()
	var s Sender
	for _, url := range []string{"http://" + addr + "/services/T0/B0/SECRETTOKEN", newReceiver(t, 500).URL + "/services/T0/B0/SECRETTOKEN", "http://bad host/SECRETTOKEN"} {
		err := s.Notify(t.Context(), "slack-webhook", map[string]any{"url": url}, "s", "b")
		if err == nil || strings.Contains(err.Error(), "SECRETTOKEN") {
			t.Errorf("error %v shows the URL's secret", err)
		}
	}
}
