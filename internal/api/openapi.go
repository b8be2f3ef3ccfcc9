package api

import (
	"encoding/json"
	"html/template"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// The OpenAPI document describes exactly the routes Praetor serves: it is
// built from the route table, so it cannot list a route that is not served
// or miss one that is. Bodies are described as JSON of Prefect's shapes
// (named in each operation's description) rather than schema by schema.

// docs is the OpenAPI document and its HTML rendering, built on first use
// (after Register has added the account routes).
type docs struct {
	once sync.Once
	json []byte
	page []byte
}

func (a *API) docsRoutes() {
	a.route("GET", "/openapi.json", public, func(w http.ResponseWriter, r *http.Request) error {
		a.docs.once.Do(a.buildDocs)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(a.docs.json)
		return nil
	})
	a.route("GET", "/docs", public, func(w http.ResponseWriter, r *http.Request) error {
		a.docs.once.Do(a.buildDocs)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(a.docs.page)
		return nil
	})
}

var pathParamRE = regexp.MustCompile(`\{([^}.]+)(\.\.\.)?\}`)

// operation is one documented operation.
type operation struct {
	Method, Path string
	Tag          string
	Permission   string // "" for public routes
	Account      bool   // an account route, served at /api
	Socket       bool
}

// operations lists the documented operations, sorted by path and method.
func (a *API) operations() []operation {
	var ops []operation
	for _, e := range a.table {
		ops = append(ops, operation{Method: e.method, Path: e.path, Tag: tagOf(e.path), Permission: string(e.perm), Socket: e.socket})
	}
	for _, c := range a.cloud {
		method, path, _ := strings.Cut(c.pattern, " ")
		path = strings.TrimSuffix(strings.TrimPrefix(path, "/api"), "{$}")
		perm := string(c.need.perm)
		if perm == "" {
			perm = "a valid API key"
			if c.need.account {
				perm = "membership of the account"
			}
		}
		ops = append(ops, operation{Method: method, Path: path, Tag: "Cloud: " + tagOf(path), Permission: perm, Account: true})
	}
	slices.SortFunc(ops, func(x, y operation) int {
		return strings.Compare(x.Path+" "+x.Method, y.Path+" "+y.Method)
	})
	return ops
}

// tagOf groups a path by its first segment.
func tagOf(path string) string {
	seg, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if seg == "" {
		return "root"
	}
	return seg
}

func (a *API) buildDocs() {
	ops := a.operations()
	paths := map[string]map[string]any{}
	for _, op := range ops {
		item := paths[op.Path]
		if item == nil {
			item = map[string]any{}
			paths[op.Path] = item
			if op.Account {
				item["servers"] = []map[string]any{{"url": "/api"}}
			}
		}
		var params []map[string]any
		for _, m := range pathParamRE.FindAllStringSubmatch(op.Path, -1) {
			schema := map[string]any{"type": "string"}
			if m[1] == "id" || strings.HasSuffix(m[1], "_id") {
				schema["format"] = "uuid"
			}
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": schema})
		}
		desc := "Requires " + op.Permission + "."
		if op.Permission == "" {
			desc = "Public."
		} else if !op.Account {
			desc = "Requires the workspace permission " + op.Permission + "."
		}
		o := map[string]any{
			"operationId": strings.ToLower(op.Method) + strings.NewReplacer("/", "_", "{", "", "}", "", "-", "_", ".", "_").Replace(op.Path),
			"tags":        []string{op.Tag},
			"summary":     op.Method + " " + op.Path,
			"description": desc,
			"responses": map[string]any{
				"default": map[string]any{"description": "Prefect's answer for the route", "content": map[string]any{"application/json": map[string]any{}}},
				"4XX":     map[string]any{"description": "Refused", "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}},
			},
		}
		if op.Permission != "" {
			o["x-praetor-permission"] = op.Permission
		}
		if op.Socket {
			o["description"] = desc + " A websocket: the client upgrades the connection."
		}
		if params != nil {
			o["parameters"] = params
		}
		if op.Method == "POST" || op.Method == "PATCH" || op.Method == "PUT" {
			o["requestBody"] = map[string]any{"required": false, "content": map[string]any{"application/json": map[string]any{}}}
		}
		item[strings.ToLower(op.Method)] = o
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "Praetor", "version": PrefectVersion,
			"description": "Prefect's REST API (version " + APIVersion + ") as Praetor serves it, with Prefect Cloud's account routes."},
		"servers": []map[string]any{
			{"url": "/api/accounts/{account_id}/workspaces/{workspace_id}", "description": "a workspace",
				"variables": map[string]any{"account_id": map[string]any{"default": ""}, "workspace_id": map[string]any{"default": ""}}},
			{"url": "/api", "description": "the server's default workspace"},
		},
		"paths": paths,
		"components": map[string]any{
			"schemas": map[string]any{"Error": map[string]any{"type": "object", "properties": map[string]any{"detail": map[string]any{}}}},
			"securitySchemes": map[string]any{"apiKey": map[string]any{"type": "http", "scheme": "bearer",
				"description": "A Praetor API key (pnu_…), as PREFECT_API_KEY sends it."}},
		},
		"security": []map[string]any{{"apiKey": []string{}}},
	}
	a.docs.json, _ = json.Marshal(doc)
	var b strings.Builder
	if err := docsPage.Execute(&b, ops); err != nil {
		panic(err) // the template and its data are ours
	}
	a.docs.page = []byte(b.String())
}

var docsPage = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Praetor API reference</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #8884}code{font-size:90%}</style>
</head><body>
<h1>Praetor API reference</h1>
<p>Every route this server serves, from its route table; the same list as <a href="openapi.json">openapi.json</a>.
Workspace routes are served below <code>/api/accounts/{account_id}/workspaces/{workspace_id}</code> and, for the default workspace, below <code>/api</code>;
account routes (marked Cloud) below <code>/api</code>. Requests carry an API key as <code>Authorization: Bearer …</code>.</p>
<table><thead><tr><th>Method</th><th>Path</th><th>Group</th><th>Requires</th></tr></thead><tbody>
{{range .}}<tr><td>{{.Method}}</td><td><code>{{.Path}}</code></td><td>{{.Tag}}</td><td>{{if .Permission}}{{.Permission}}{{else}}nothing{{end}}</td></tr>
{{end}}</tbody></table>
</body></html>
`))
