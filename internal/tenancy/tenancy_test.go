package tenancy

import "testing"

func TestHandle(t *testing.T) {
	for in, want := range map[string]string{
		"Prod":                "prod",
		"  Data Team / ETL!!": "data-team-etl",
		"ümlaut-ok":           "mlaut-ok",
		"---":                 "",
	} {
		if got := Handle(in); got != want {
			t.Errorf("Handle(%q) = %q, want %q", in, got, want)
		}
		if want != "" && !ValidHandle(Handle(in)) {
			t.Errorf("Handle(%q) is not a valid handle", in)
		}
	}
	for _, bad := range []string{"", "-a", "a-", "A", "a_b", "a/b"} {
		if ValidHandle(bad) {
			t.Errorf("ValidHandle(%q) = true", bad)
		}
	}
}
