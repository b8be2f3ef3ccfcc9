package notify

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// notifyTypes are Prefect's notify_type values with the colours apprise's
// default theme gives them.
var notifyTypes = map[string]string{
	"info":    "#3AA3E3",
	"success": "#3AA337",
	"warning": "#CACF29",
	"failure": "#A32037",
}

// iconURL is the icon apprise's default theme shows for a notify type,
// which Prefect's Slack and Teams messages carry.
func iconURL(notifyType, size string) string {
	return "https://github.com/caronc/apprise/raw/master/apprise/assets/themes/default/apprise-" + notifyType + "-" + size + ".png"
}

func notifyType(b blockData) (string, error) {
	t := b.str("notify_type", "info")
	if _, ok := notifyTypes[t]; !ok {
		return "", permanentf("notify_type %q is not one of info, success, warning, failure", t)
	}
	return t, nil
}

// slack posts what Prefect's SlackWebhook sends (through apprise): one
// attachment with the subject as title and the body as text.
func (s *Sender) slack(ctx context.Context, data map[string]any, subject, body string) error {
	b := blockData(data)
	t, err := notifyType(b)
	if err != nil {
		return err
	}
	icon := iconURL(t, "72x72")
	payload := map[string]any{
		"mrkdwn": true,
		"attachments": []any{map[string]any{
			"title":       slackEscape(subject),
			"text":        slackEscape(body),
			"color":       notifyTypes[t],
			"footer_icon": icon,
			"footer":      userAgent,
			"ts":          float64(time.Now().UnixMicro()) / 1e6,
		}},
		"icon_url": icon,
	}
	return s.postJSON(ctx, b, payload, "application/json; charset=utf-8", "application/json")
}

// Slack's own markup that apprise keeps when it escapes a message:
// <!channel>, <@user> and <https://link|label>, each with an optional label.
var slackMarkup = regexp.MustCompile(`&lt;[ \t]*([!@][^| \n]+?|(?:https?|mailto)://[^| \n]+?)(?:[ \t]*\|[ \t]*([^\n]+?)[ \t]*)?&gt;`)

// slackEscape escapes &, < and > as Slack requires, except in Slack's own
// markup (as apprise does).
func slackEscape(s string) string {
	s = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
	return slackMarkup.ReplaceAllStringFunc(s, func(m string) string {
		g := slackMarkup.FindStringSubmatch(m)
		target, label := g[1], strings.TrimSpace(g[2])
		if label != "" {
			return "<" + target + "|" + label + ">"
		}
		return "<" + target + ">"
	})
}

// teams posts what Prefect's MicrosoftTeamsWebhook sends (through
// apprise's Workflows plugin): an adaptive card with an optional icon, the
// subject as heading and the body.
func (s *Sender) teams(ctx context.Context, data map[string]any, subject, body string) error {
	b := blockData(data)
	t, err := notifyType(b)
	if err != nil {
		return err
	}
	var card []any
	if b.boolean("include_image", true) {
		card = append(card, map[string]any{"type": "Image", "url": iconURL(t, "32x32"), "height": "32px", "altText": t})
	}
	if subject != "" {
		card = append(card, map[string]any{"type": "TextBlock", "text": subject, "style": "heading", "weight": "Bolder", "size": "Large", "id": "title"})
	}
	card = append(card, map[string]any{"type": "TextBlock", "text": body, "style": "default", "wrap": b.boolean("wrap", true), "id": "body"})
	payload := map[string]any{
		"type": "message",
		"attachments": []any{map[string]any{
			"contentType": "application/vnd.microsoft.card.adaptive",
			"contentUrl":  nil,
			"content": map[string]any{
				"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
				"type":    "AdaptiveCard",
				"version": "1.4",
				"body":    card,
				"msteams": map[string]any{"width": "full"},
			},
		}},
	}
	return s.postJSON(ctx, b, payload, "application/json", "*/*")
}

// placeholder is a {{ key }} of Prefect's custom webhook (its
// PLACEHOLDER_CAPTURE_REGEX).
var placeholder = regexp.MustCompile(`{{\s*([\w.\-\[\]$]+)\s*}}`)

// customWebhook sends what Prefect's CustomWebhookNotificationBlock
// sends: its fields with {{subject}}, {{body}}, {{name}} and the block's
// secrets substituted.
func (s *Sender) customWebhook(ctx context.Context, data map[string]any, subject, body string) error {
	b := blockData(data)
	if b["json_data"] != nil && b["form_data"] != nil {
		return permanentf("custom webhook: both form_data and json_data are set")
	}
	method := b.str("method", http.MethodPost)
	if !validMethod(method) {
		return permanentf("custom webhook: method %q is not one of GET, POST, PUT, PATCH, DELETE", method)
	}
	values := map[string]any{}
	if secrets, ok := b["secrets"].(map[string]any); ok {
		for k, v := range secrets {
			values[k] = v
		}
	} else if b["secrets"] != nil {
		return permanentf("custom webhook: secrets is not an object")
	}
	values["subject"], values["body"], values["name"] = subject, body, b.str("name", "")
	// Every placeholder must have a value, as Prefect checks when it
	// loads the block.
	for _, field := range []string{"url", "params", "form_data", "json_data", "headers", "cookies"} {
		if name, ok := unknownPlaceholder(b[field], values); !ok {
			return permanentf("custom webhook: %s uses {{ %s }}, which is neither subject, body, name nor a secret", field, name)
		}
	}
	rawURL, _ := substitute(b["url"], values).(string)
	target, err := parseURL(rawURL)
	if err != nil {
		return err
	}
	params, err := blockData{"v": substitute(b["params"], values)}.stringMap("v")
	if err != nil {
		return permanentf("custom webhook: params is not an object of strings")
	}
	if len(params) > 0 {
		q := target.Query()
		for k, v := range params {
			q.Add(k, v)
		}
		target.RawQuery = q.Encode()
	}
	var content []byte
	contentType := ""
	switch form := substitute(b["form_data"], values).(type) {
	case nil:
		if j := substitute(b["json_data"], values); j != nil {
			if content, err = marshalJSON(j); err != nil {
				return permanentf("custom webhook: %v", err)
			}
			contentType = "application/json"
		}
	case string:
		content = []byte(form)
	case map[string]any:
		f := url.Values{}
		for k, v := range form {
			f.Set(k, str(v))
		}
		content, contentType = []byte(f.Encode()), "application/x-www-form-urlencoded"
	default:
		return permanentf("custom webhook: form_data is neither an object nor a string")
	}
	req, err := http.NewRequestWithContext(ctx, method, target.String(), strings.NewReader(string(content)))
	if err != nil {
		return permanentf("custom webhook: %v", err)
	}
	req.Header.Set("User-Agent", userAgent)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	headers, err := blockData{"v": substitute(b["headers"], values)}.stringMap("v")
	if err != nil {
		return permanentf("custom webhook: headers is not an object of strings")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	cookies, err := blockData{"v": substitute(b["cookies"], values)}.stringMap("v")
	if err != nil {
		return permanentf("custom webhook: cookies is not an object of strings")
	}
	for k, v := range cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	var timeout time.Duration
	if secs, ok := b["timeout"].(float64); ok && secs > 0 {
		timeout = time.Duration(secs * float64(time.Second))
	}
	_, err = s.do(req, b.boolean("allow_private_urls", true), true, timeout)
	return err
}

// unknownPlaceholder finds a placeholder in v without a value.
func unknownPlaceholder(v any, values map[string]any) (string, bool) {
	switch v := v.(type) {
	case string:
		for _, m := range placeholder.FindAllStringSubmatch(v, -1) {
			if _, ok := values[m[1]]; !ok {
				return m[1], false
			}
		}
	case map[string]any:
		for _, x := range v {
			if name, ok := unknownPlaceholder(x, values); !ok {
				return name, false
			}
		}
	case []any:
		for _, x := range v {
			if name, ok := unknownPlaceholder(x, values); !ok {
				return name, false
			}
		}
	}
	return "", true
}

// substitute is Prefect's apply_values for known placeholders: a string
// that is one placeholder becomes its value (of any type); placeholders
// within a string become their text.
func substitute(v any, values map[string]any) any {
	switch v := v.(type) {
	case string:
		if m := placeholder.FindStringSubmatch(v); m != nil && m[0] == v {
			return values[m[1]]
		}
		return placeholder.ReplaceAllStringFunc(v, func(m string) string {
			return str(values[placeholder.FindStringSubmatch(m)[1]])
		})
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = substitute(x, values)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = substitute(x, values)
		}
		return out
	}
	return v
}
