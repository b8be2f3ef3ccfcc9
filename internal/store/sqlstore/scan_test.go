package sqlstore

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestJSONColDecodesAsUnmarshal checks that jsonCol's shortcut for empty
// objects and arrays leaves the same value json.Unmarshal does (an empty,
// non-nil map or slice), and that a set destination is still decoded into.
func TestJSONColDecodesAsUnmarshal(t *testing.T) {
	for _, col := range []any{"{}", []byte("{}"), "[]", `{"a": 1}`, `["x"]`, "null", " {}"} {
		var gotMap, wantMap map[string]any
		var gotTags, wantTags []string
		for _, p := range []struct{ got, want any }{{&gotMap, &wantMap}, {&gotTags, &wantTags}} {
			gotErr := jsonCol{p.got}.Scan(col)
			var b []byte
			switch c := col.(type) {
			case string:
				b = []byte(c)
			case []byte:
				b = c
			}
			wantErr := json.Unmarshal(b, p.want)
			if (gotErr == nil) != (wantErr == nil) || !reflect.DeepEqual(p.got, p.want) {
				t.Errorf("scan %q into %T: %#v (%v), json.Unmarshal: %#v (%v)", col, p.got, reflect.ValueOf(p.got).Elem(), gotErr,
					reflect.ValueOf(p.want).Elem(), wantErr)
			}
			if gotErr == nil && reflect.ValueOf(p.got).Elem().IsNil() != reflect.ValueOf(p.want).Elem().IsNil() {
				t.Errorf("scan %q into %T: nil is %v, json.Unmarshal's %v", col, p.got, reflect.ValueOf(p.got).Elem().IsNil(), reflect.ValueOf(p.want).Elem().IsNil())
			}
		}
	}
	// Into a map that holds keys already, "{}" keeps them, as a decode does.
	m := map[string]any{"kept": true}
	if err := (jsonCol{&m}).Scan("{}"); err != nil || m["kept"] != true {
		t.Errorf("scan {} into a set map: %v, %v", m, err)
	}
}
