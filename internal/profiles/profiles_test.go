package profiles

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// A file as a user (or another tool) leaves it: comments everywhere, a key
// and a table praetor does not know, a quoted profile name, a multi-line
// string and an array.
const handWritten = `# my Prefect profiles
active = "work" # the one I use

[profiles.work]
# where the API is
PREFECT_API_URL = "http://old.example/api" # keep me
PREFECT_LOGGING_LEVEL = "DEBUG"
NOTES = """
[profiles.fake]
not a table
"""
TAGS = [
  "a", # first
  "b",
]

[profiles."my laptop"]
PREFECT_API_URL = "http://127.0.0.1:4200/api"

[tool.other]
keep = 1
`

func writeFile(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "profiles.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func decodeFile(t *testing.T, path string) map[string]any {
	t.Helper()
	var out map[string]any
	if _, err := toml.DecodeFile(path, &out); err != nil {
		data, _ := os.ReadFile(path)
		t.Fatalf("%s does not decode: %v\n%s", path, err, data)
	}
	return out
}

func load(t *testing.T, path string) *File {
	t.Helper()
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func save(t *testing.T, f *File) string {
	t.Helper()
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(f.Path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestEditsKeepWhatTheyDoNotTouch(t *testing.T) {
	path := writeFile(t, handWritten)
	f := load(t, path)
	f.Set("work", "PREFECT_API_URL", `http://new.example/api "quoted"`)
	f.Set("work", "PREFECT_API_KEY", "pnu_x")
	f.Unset("work", "PREFECT_LOGGING_LEVEL")
	f.Set("my laptop", "PREFECT_API_KEY", "pnu_y")
	if err := f.Create("staging", map[string]string{"PREFECT_API_URL": "http://s/api"}); err != nil {
		t.Fatal(err)
	}
	f.SetActive("staging")
	text := save(t, f)

	for _, kept := range []string{"# my Prefect profiles", "# the one I use", "# where the API is", "# keep me", "# first",
		"[profiles.fake]\nnot a table", "[tool.other]\nkeep = 1"} {
		if !strings.Contains(text, kept) {
			t.Errorf("lost %q:\n%s", kept, text)
		}
	}
	got := decodeFile(t, path)
	if got["active"] != "staging" {
		t.Errorf("active = %v", got["active"])
	}
	profiles := got["profiles"].(map[string]any)
	work := profiles["work"].(map[string]any)
	if work["PREFECT_API_URL"] != `http://new.example/api "quoted"` || work["PREFECT_API_KEY"] != "pnu_x" {
		t.Errorf("work = %v", work)
	}
	if _, ok := work["PREFECT_LOGGING_LEVEL"]; ok {
		t.Errorf("PREFECT_LOGGING_LEVEL still set: %v", work)
	}
	if len(work["TAGS"].([]any)) != 2 || !strings.Contains(work["NOTES"].(string), "not a table") {
		t.Errorf("work's unknown keys changed: %v", work)
	}
	if profiles["my laptop"].(map[string]any)["PREFECT_API_KEY"] != "pnu_y" {
		t.Errorf("my laptop = %v", profiles["my laptop"])
	}
	if profiles["staging"].(map[string]any)["PREFECT_API_URL"] != "http://s/api" {
		t.Errorf("staging = %v", profiles["staging"])
	}
	if got["tool"].(map[string]any)["other"].(map[string]any)["keep"] != int64(1) {
		t.Errorf("tool.other = %v", got["tool"])
	}

	// Rename and delete, read back by a fresh Load.
	f = load(t, path)
	if err := f.Rename("staging", "stage"); err != nil {
		t.Fatal(err)
	}
	if err := f.Delete("my laptop"); err != nil {
		t.Fatal(err)
	}
	text = save(t, f)
	f = load(t, path)
	if f.Active() != "stage" || f.Settings("stage")["PREFECT_API_URL"] != "http://s/api" || f.Has("staging") || f.Has("my laptop") {
		t.Errorf("after rename and delete: active %q, names %v:\n%s", f.Active(), f.Names(), text)
	}
	if !strings.Contains(text, "# keep me") || !strings.Contains(text, "[tool.other]") {
		t.Errorf("rename or delete lost comments or tables:\n%s", text)
	}
	if err := f.Rename("stage", "work"); err == nil {
		t.Error("renamed onto an existing profile")
	}
	if err := f.Delete("nope"); err == nil {
		t.Error("deleted a profile that does not exist")
	}
}

// A fresh home has Prefect's built-in profiles; changing one writes it with
// its built-in settings, as Prefect's client does.
func TestBuiltInProfiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "profiles.toml")
	f := load(t, path)
	if f.Active() != "ephemeral" || !f.Has("local") || f.Settings("local")["PREFECT_API_URL"] != "http://127.0.0.1:4200/api" {
		t.Fatalf("defaults: active %q, local %v", f.Active(), f.Settings("local"))
	}
	f.Set("ephemeral", "PREFECT_API_URL", "http://x/api")
	save(t, f)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("a new profiles.toml has mode %v, want 0600 (it holds API keys)", st.Mode().Perm())
	}
	got := load(t, path).Settings("ephemeral")
	if got["PREFECT_SERVER_EPHEMERAL_ENABLED"] != "true" || got["PREFECT_API_URL"] != "http://x/api" {
		t.Errorf("ephemeral = %v", got)
	}
	if err := load(t, path).Delete("local"); err == nil {
		t.Error("deleted a built-in profile")
	}
}

// A layout the line editor would misread is refused, and the file is left
// as it was.
func TestUneditableLayoutIsNotWritten(t *testing.T) {
	const dotted = "active = \"a\"\n[profiles]\na.PREFECT_API_URL = \"http://a/api\"\n"
	path := writeFile(t, dotted)
	f := load(t, path)
	f.Set("a", "PREFECT_API_KEY", "k")
	if err := f.Save(); err == nil {
		t.Fatal("saved an edit of dotted keys")
	}
	if data, _ := os.ReadFile(path); string(data) != dotted {
		t.Errorf("the file changed:\n%s", data)
	}
}

// The writers of TestKilledWriteLeavesAWholeFile: one that stops halfway
// through its write and waits to be killed, and one that rewrites the file
// for ever, alternating two contents.
func TestMain(m *testing.M) {
	path := os.Getenv("PROFILES_TEST_WRITER")
	if path == "" {
		os.Exit(m.Run())
	}
	var files [2]*File
	for i := range files {
		f, err := Load(path)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		f.Set("p", "PREFECT_API_URL", fmt.Sprintf("http://%d/api", i))
		f.Set("p", "BIG", strings.Repeat("x", 64<<10))
		files[i] = f
	}
	if os.Getenv("PROFILES_TEST_STOP_MIDWAY") != "" {
		midWrite = func() {
			fmt.Println("ready")
			select {}
		}
	}
	for i := 0; ; i++ {
		if err := files[i%2].Save(); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		if i == 0 {
			fmt.Println("ready")
		}
	}
}

// killWriter starts a writer of path, waits for it to say it is ready,
// lets it run for up to maxDelay and kills it with SIGKILL.
func killWriter(t *testing.T, path string, midway bool, maxDelay time.Duration) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PROFILES_TEST_WRITER="+path)
	if midway {
		cmd.Env = append(cmd.Env, "PROFILES_TEST_STOP_MIDWAY=1")
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	line, _ := bufio.NewReader(out).ReadString('\n')
	if maxDelay > 0 {
		time.Sleep(time.Duration(rand.Int64N(int64(maxDelay)))) // some point of a later write
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if line != "ready\n" {
		t.Fatalf("the writer said %q", line)
	}
}

func TestKilledWriteLeavesAWholeFile(t *testing.T) {
	const old = "# mine\nactive = \"p\"\n\n[profiles.p]\nPREFECT_API_URL = \"http://old/api\"\n"
	path := writeFile(t, old)
	// Killed halfway through writing: the old file, whole.
	killWriter(t, path, true, 0)
	if data, _ := os.ReadFile(path); string(data) != old {
		t.Fatalf("a write killed halfway changed the file:\n%.300s", data)
	}
	// Killed anywhere in a run of writes: the old file or a new one.
	for range 8 {
		killWriter(t, path, false, 20*time.Millisecond)
		f := load(t, path)
		url := f.Settings("p")["PREFECT_API_URL"]
		if f.Active() != "p" || (url != "http://0/api" && url != "http://1/api") || len(f.Settings("p")["BIG"]) != 64<<10 {
			data, _ := os.ReadFile(path)
			t.Fatalf("after a kill the file is neither the old nor the new one (%d bytes):\n%.300s", len(data), data)
		}
		if data, _ := os.ReadFile(path); !strings.HasPrefix(string(data), "# mine\n") {
			t.Fatalf("the comment is gone:\n%.300s", data)
		}
	}
}
