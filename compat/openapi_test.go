package compat

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// The list of Prefect's operations that internal/api's coverage test reads
// is the pinned Prefect server's: its OpenAPI document lists the same.
func TestPrefectOperationsListIsTheServers(t *testing.T) {
	requirePython(t)
	api := oracle.client(t)
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	// The document is served beside /api, not below it.
	root := &apiClient{base: strings.TrimSuffix(api.base, "/api"), http: api.http}
	if err := root.call(t.Context(), "GET", "/openapi.json", nil, &doc); err != nil {
		t.Fatal(err)
	}
	var got []string
	for path, item := range doc.Paths {
		for method := range item {
			switch method {
			case "get", "post", "put", "patch", "delete":
				got = append(got, strings.ToUpper(method)+" "+strings.TrimPrefix(path, "/api"))
			}
		}
	}
	b, err := os.ReadFile("../internal/api/testdata/prefect-operations.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimSpace(string(b)), "\n")
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Prefect's server lists %d operations, testdata/prefect-operations.txt %d: regenerate the file from the server's /openapi.json", len(got), len(want))
	}
}
