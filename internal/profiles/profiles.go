// Package profiles reads and edits Prefect's profiles.toml, the settings
// file that Prefect's Python client and praetor share. Edits change only
// the lines they must: keys, tables and comments that praetor does not
// know survive every write, and a write replaces the file atomically.
package profiles

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
)

// Prefect's built-in profiles (src/prefect/settings/profiles.toml), which
// the client merges under the user's file; "ephemeral" is active when the
// file names none.
var defaults = map[string]map[string]string{
	"ephemeral": {"PREFECT_SERVER_EPHEMERAL_ENABLED": "true"},
	"local":     {"PREFECT_API_URL": "http://127.0.0.1:4200/api"},
	"test":      {"PREFECT_SERVER_EPHEMERAL_ENABLED": "true", "PREFECT_SERVER_DATABASE_CONNECTION_URL": "sqlite+aiosqlite:///:memory:"},
	"cloud":     {},
}

// DefaultActive is the profile in use when the file names none.
const DefaultActive = "ephemeral"

// Path is where the Python client reads profiles: PREFECT_PROFILES_PATH,
// else $PREFECT_HOME/profiles.toml, PREFECT_HOME defaulting to ~/.prefect.
func Path(getenv func(string) string) (string, error) {
	if p := getenv("PREFECT_PROFILES_PATH"); p != "" {
		return expandHome(p)
	}
	home := getenv("PREFECT_HOME")
	if home == "" {
		dir, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("finding the home directory for ~/.prefect: %w", err)
		}
		home = filepath.Join(dir, ".prefect")
	}
	home, err := expandHome(home)
	if err != nil {
		return "", err
	}
	return filepath.Join(home, "profiles.toml"), nil
}

func expandHome(p string) (string, error) {
	if p != "~" && !strings.HasPrefix(p, "~/") {
		return p, nil
	}
	dir, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("expanding %s: %w", p, err)
	}
	return filepath.Join(dir, p[1:]), nil
}

// File is profiles.toml: its text, edited line by line, and what it must
// decode to after the edits (checked before every write).
type File struct {
	Path  string
	lines []string
	mode  fs.FileMode

	active   *string // nil: the file has no active key
	profiles map[string]map[string]any
}

// Load reads the file at path; a missing file is an empty one.
func Load(path string) (*File, error) {
	f := &File{Path: path, mode: 0o600, profiles: map[string]map[string]any{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading profiles: %w", err)
	}
	if st, err := os.Stat(path); err == nil {
		f.mode = st.Mode().Perm()
	}
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	text = strings.TrimSuffix(text, "\n")
	if text != "" {
		f.lines = strings.Split(text, "\n")
	}
	if err := f.decode(text); err != nil {
		return nil, err
	}
	return f, nil
}

type fileShape struct {
	Active   *string                   `toml:"active"`
	Profiles map[string]map[string]any `toml:"profiles"`
}

func (f *File) decode(text string) error {
	var s fileShape
	if _, err := toml.Decode(text, &s); err != nil {
		return fmt.Errorf("reading %s: %w", f.Path, err)
	}
	f.active = s.Active
	f.profiles = s.Profiles
	if f.profiles == nil {
		f.profiles = map[string]map[string]any{}
	}
	for name, p := range f.profiles {
		if p == nil {
			f.profiles[name] = map[string]any{}
		}
	}
	return nil
}

// Open loads the file the Python client reads (Path) and names the
// profile in force: PREFECT_PROFILE over the file's `active`, as the
// client has it; a PREFECT_PROFILE the file does not define is an error.
func Open(getenv func(string) string) (f *File, profile string, err error) {
	path, err := Path(getenv)
	if err != nil {
		return nil, "", err
	}
	if f, err = Load(path); err != nil {
		return nil, "", err
	}
	profile = getenv("PREFECT_PROFILE")
	if profile == "" {
		return f, f.Active(), nil
	}
	if !f.Has(profile) {
		return nil, "", fmt.Errorf("PREFECT_PROFILE names the profile %q, which %s does not define", profile, path)
	}
	return f, profile, nil
}

// Active is the name of the active profile: the file's, else Prefect's
// default.
func (f *File) Active() string {
	if f.active != nil && *f.active != "" {
		return *f.active
	}
	return DefaultActive
}

// Names lists every profile, the built-in ones included, sorted.
func (f *File) Names() []string {
	names := slices.Collect(maps.Keys(f.profiles))
	for n := range defaults {
		if _, ok := f.profiles[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// Has reports whether a profile exists, in the file or built in.
func (f *File) Has(name string) bool {
	_, inFile := f.profiles[name]
	_, builtIn := defaults[name]
	return inFile || builtIn
}

// Settings are a profile's settings as strings, the built-in profile's
// under the file's, as the Python client merges them; nil when there is no
// such profile.
func (f *File) Settings(name string) map[string]string {
	if !f.Has(name) {
		return nil
	}
	out := maps.Clone(defaults[name])
	if out == nil {
		out = map[string]string{}
	}
	for k, v := range f.profiles[name] {
		out[k] = valueString(v)
	}
	return out
}

func valueString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// The line grammar the edits need: table headers and key lines.
var (
	headerRe = regexp.MustCompile(`^\s*\[`)
	// [profiles.NAME], NAME bare, "basic" or 'literal'; a comment may follow.
	profileHeaderRe = regexp.MustCompile(`^\s*\[\s*profiles\s*\.\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*\]\s*(?:#.*)?$`)
	keyRe           = regexp.MustCompile(`^\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*=\s*(.*)$`)
	bareRe          = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

// span is lines [start, end) of the file.
type span struct{ start, end int }

// table is one [profiles.NAME] table: its header line, where it ends (the
// next header, or the end of the file) and its keys.
type table struct {
	header, end int
	keys        map[string]span
	last        int // the line after the last key's value, header+1 without keys
}

// layout is where things are in the file's lines.
type layout struct {
	active      span // start -1 when absent
	firstHeader int  // len(lines) without headers
	tables      map[string]*table
}

func unquote(m []string) string {
	switch {
	case m[1] != "":
		var s string
		if _, err := toml.Decode(`k = "`+m[1]+`"`, &struct {
			K *string `toml:"k"`
		}{&s}); err == nil {
			return s
		}
		return m[1]
	case m[2] != "":
		return m[2]
	}
	return m[3]
}

// valueLines is how many lines the value starting at line i (after its
// `=`) takes: more than one for a multi-line string or array.
func valueLines(lines []string, i int, value string) int {
	v := strings.TrimSpace(value)
	for _, q := range []string{`"""`, `'''`} {
		if strings.HasPrefix(v, q) {
			if strings.Count(v[3:], q) > 0 {
				return 1
			}
			for j := i + 1; j < len(lines); j++ {
				if strings.Contains(lines[j], q) {
					return j - i + 1
				}
			}
			return len(lines) - i
		}
	}
	if !strings.HasPrefix(v, "[") && !strings.HasPrefix(v, "{") {
		return 1
	}
	depth := 0
	for j := i; j < len(lines); j++ {
		s := lines[j]
		if j == i {
			s = v
		}
		depth += bracketDepth(s)
		if depth <= 0 {
			return j - i + 1
		}
	}
	return len(lines) - i
}

// outsideStrings calls fn with each byte of a TOML line that is not in a
// string, until fn returns false.
func outsideStrings(s string, fn func(i int, c byte) bool) {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' && quote == '"' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		default:
			if !fn(i, c) {
				return
			}
		}
	}
}

// bracketDepth counts opening minus closing brackets outside strings and
// comments.
func bracketDepth(s string) int {
	depth := 0
	outsideStrings(s, func(_ int, c byte) bool {
		switch c {
		case '#':
			return false
		case '[', '{':
			depth++
		case ']', '}':
			depth--
		}
		return true
	})
	return depth
}

func (f *File) layout() layout {
	l := layout{active: span{-1, -1}, firstHeader: len(f.lines), tables: map[string]*table{}}
	var cur *table
	inProfiles := false
	for i := 0; i < len(f.lines); i++ {
		line := f.lines[i]
		if headerRe.MatchString(line) {
			if cur != nil {
				cur.end = i
			}
			cur = nil
			inProfiles = true
			if l.firstHeader == len(f.lines) {
				l.firstHeader = i
			}
			if m := profileHeaderRe.FindStringSubmatch(line); m != nil {
				cur = &table{header: i, end: len(f.lines), keys: map[string]span{}, last: i + 1}
				l.tables[unquote(m)] = cur
			}
			continue
		}
		m := keyRe.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		n := valueLines(f.lines, i, m[4])
		s := span{i, i + n}
		switch {
		case cur != nil:
			cur.keys[unquote(m)] = s
			cur.last = s.end
		case !inProfiles && unquote(m) == "active":
			l.active = s
		}
		i += n - 1
	}
	return l
}

// quote writes s as a TOML basic string.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func key(name string) string {
	if bareRe.MatchString(name) {
		return name
	}
	return quote(name)
}

func (f *File) splice(at, remove int, insert ...string) {
	f.lines = slices.Concat(f.lines[:at], insert, f.lines[at+remove:])
}

// replaceValue rewrites the key line s, keeping its indentation and a
// comment after a one-line value.
func (f *File) replaceValue(s span, name, value string) {
	line := f.lines[s.start]
	indent := line[:len(line)-len(strings.TrimLeft(line, " \t"))]
	comment := ""
	if s.end-s.start == 1 {
		comment = trailingComment(keyRe.FindStringSubmatch(line)[4])
	}
	f.splice(s.start, s.end-s.start, indent+key(name)+" = "+quote(value)+comment)
}

// trailingComment is the whitespace and comment after a one-line value.
func trailingComment(value string) string {
	at := -1
	outsideStrings(value, func(i int, c byte) bool {
		if c == '#' {
			at = i
			return false
		}
		return true
	})
	if at < 0 {
		return ""
	}
	for at > 0 && (value[at-1] == ' ' || value[at-1] == '\t') {
		at--
	}
	return value[at:]
}

// ensureTable gives a profile its own table in the file; a built-in
// profile's table starts with the built-in settings, as Prefect's client
// writes it.
func (f *File) ensureTable(name string) *table {
	if t, ok := f.layout().tables[name]; ok {
		return t
	}
	lines := []string{"[profiles." + key(name) + "]"}
	settings := map[string]any{}
	for _, k := range slices.Sorted(maps.Keys(defaults[name])) {
		lines = append(lines, key(k)+" = "+quote(defaults[name][k]))
		settings[k] = defaults[name][k]
	}
	if len(f.lines) > 0 && strings.TrimSpace(f.lines[len(f.lines)-1]) != "" {
		lines = append([]string{""}, lines...)
	}
	f.lines = append(f.lines, lines...)
	f.profiles[name] = settings
	return f.layout().tables[name]
}

// Set sets a key of a profile, creating the profile's table if needed.
func (f *File) Set(profile, name, value string) {
	t := f.ensureTable(profile)
	if s, ok := t.keys[name]; ok {
		f.replaceValue(s, name, value)
	} else {
		f.splice(t.last, 0, key(name)+" = "+quote(value))
	}
	f.profiles[profile][name] = value
}

// Unset removes a key of a profile; it reports whether the profile had it
// in the file.
func (f *File) Unset(profile, name string) bool {
	if _, ok := f.profiles[profile][name]; !ok {
		if _, builtIn := defaults[profile][name]; !builtIn {
			return false
		}
		// A built-in setting is removed by writing the profile without it.
		f.ensureTable(profile)
	}
	s := f.layout().tables[profile].keys[name]
	f.splice(s.start, s.end-s.start)
	delete(f.profiles[profile], name)
	return true
}

// SetActive makes a profile the active one.
func (f *File) SetActive(name string) {
	line := "active = " + quote(name)
	l := f.layout()
	if l.active.start >= 0 {
		f.replaceValue(l.active, "active", name)
	} else {
		insert := []string{line}
		if l.firstHeader < len(f.lines) {
			insert = append(insert, "")
		}
		f.splice(l.firstHeader, 0, insert...)
	}
	f.active = &name
}

// Create adds a profile with these settings; it fails if one exists.
func (f *File) Create(name string, settings map[string]string) error {
	if f.Has(name) {
		return fmt.Errorf("profile %q already exists", name)
	}
	lines := []string{"[profiles." + key(name) + "]"}
	stored := map[string]any{}
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		lines = append(lines, key(k)+" = "+quote(settings[k]))
		stored[k] = settings[k]
	}
	if len(f.lines) > 0 && strings.TrimSpace(f.lines[len(f.lines)-1]) != "" {
		lines = append([]string{""}, lines...)
	}
	f.lines = append(f.lines, lines...)
	f.profiles[name] = stored
	return nil
}

// Delete removes a profile's table: its header and keys, and the blank
// lines after them.
func (f *File) Delete(name string) error {
	t, ok := f.layout().tables[name]
	if !ok {
		if _, builtIn := defaults[name]; builtIn {
			return fmt.Errorf("profile %q is one of Prefect's built-in profiles and cannot be deleted", name)
		}
		return fmt.Errorf("profile %q not found", name)
	}
	end := t.last
	for end < t.end && strings.TrimSpace(f.lines[end]) == "" {
		end++
	}
	f.splice(t.header, end-t.header)
	delete(f.profiles, name)
	return nil
}

// Rename renames a profile, and the active key if it named it.
func (f *File) Rename(from, to string) error {
	if f.Has(to) {
		return fmt.Errorf("profile %q already exists", to)
	}
	if _, ok := f.profiles[from]; !ok {
		if _, builtIn := defaults[from]; !builtIn {
			return fmt.Errorf("profile %q not found", from)
		}
		f.ensureTable(from)
	}
	t := f.layout().tables[from]
	header := f.lines[t.header]
	comment := ""
	if i := strings.LastIndex(header, "]"); i >= 0 {
		comment = header[i+1:]
	}
	f.lines[t.header] = "[profiles." + key(to) + "]" + comment
	f.profiles[to] = f.profiles[from]
	delete(f.profiles, from)
	if f.Active() == from {
		f.SetActive(to)
	}
	return nil
}

// Save writes the file atomically: a temporary file beside it, synced,
// then renamed over it, so a crash leaves the old file or the new one. It
// first checks that the edited text decodes to what the edits meant, and
// writes nothing when it does not (a layout the line editor misread).
func (f *File) Save() error {
	if f.active == nil {
		// Prefect's client always writes the active profile.
		f.SetActive(DefaultActive)
	}
	text := strings.Join(f.lines, "\n") + "\n"
	check := &File{Path: f.Path}
	if err := check.decode(text); err != nil {
		return fmt.Errorf("editing %s would break it, not written: %w", f.Path, err)
	}
	if !reflect.DeepEqual(check.active, f.active) || !reflect.DeepEqual(check.profiles, f.profiles) {
		return fmt.Errorf("editing %s would change more than asked (a layout praetor cannot edit safely), not written", f.Path)
	}
	return WriteAtomic(f.Path, []byte(text), f.mode)
}

// midWrite runs halfway through writing the data; the test of a killed
// write stops the process there.
var midWrite = func() {}

// WriteAtomic replaces path with data: temporary file, fsync, rename, and
// an fsync of the directory so the rename itself is durable.
func WriteAtomic(path string, data []byte, mode fs.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // after the rename, there is nothing to remove
	half := len(data) / 2
	for i, part := range [][]byte{data[:half], data[half:]} {
		if i == 1 {
			midWrite()
		}
		if _, err := tmp.Write(part); err != nil {
			tmp.Close()
			return fmt.Errorf("writing %s: %w", path, err)
		}
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}
