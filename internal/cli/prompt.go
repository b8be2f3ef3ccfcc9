package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// errInterrupted is Ctrl-C at a prompt.
var errInterrupted = errors.New("interrupted")

// rawMode puts the terminal in into raw mode (no echo, no line editing, no
// signals: the prompt reads each key) and returns what restores it.
func rawMode(in *os.File) (func(), error) {
	fd := int(in.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, fmt.Errorf("reading the terminal's mode: %w", err)
	}
	raw := *old
	raw.Lflag &^= unix.ECHO | unix.ICANON | unix.ISIG | unix.IEXTEN
	raw.Iflag &^= unix.ICRNL | unix.IXON
	raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &raw); err != nil {
		return nil, fmt.Errorf("setting the terminal's mode: %w", err)
	}
	return func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, old) }, nil
}

// key is one key press read from a terminal in raw mode.
type key int

const (
	keyRune key = iota
	keyUp
	keyDown
	keyEnter
	keyBackspace
	keyInterrupt
	keyOther
)

// keyReader splits what the terminal sends into key presses; a paste
// arrives as many at once.
type keyReader struct {
	in  io.Reader
	buf []byte
}

func (k *keyReader) next() (key, rune, error) {
	for len(k.buf) == 0 {
		b := make([]byte, 256)
		n, err := k.in.Read(b)
		if n == 0 && err != nil {
			return 0, 0, err
		}
		k.buf = b[:n]
	}
	c := k.buf[0]
	switch {
	case c == 0x1b && len(k.buf) >= 3 && (k.buf[1] == '[' || k.buf[1] == 'O'):
		seq := k.buf[2]
		k.buf = k.buf[3:]
		switch seq {
		case 'A':
			return keyUp, 0, nil
		case 'B':
			return keyDown, 0, nil
		}
		return keyOther, 0, nil
	case c == '\r' || c == '\n':
		k.buf = k.buf[1:]
		return keyEnter, 0, nil
	case c == 0x7f || c == 0x08:
		k.buf = k.buf[1:]
		return keyBackspace, 0, nil
	case c == 0x03 || c == 0x04:
		k.buf = k.buf[1:]
		return keyInterrupt, 0, nil
	case c == 0x10: // Ctrl-P
		k.buf = k.buf[1:]
		return keyUp, 0, nil
	case c == 0x0e: // Ctrl-N
		k.buf = k.buf[1:]
		return keyDown, 0, nil
	case c < 0x20:
		k.buf = k.buf[1:]
		return keyOther, 0, nil
	}
	r := []rune(string(k.buf))[0]
	k.buf = k.buf[len(string(r)):]
	return keyRune, r, nil
}

// pick shows options on out, moved through with the arrow keys and
// narrowed by typing, and returns the index of the one chosen with Enter.
func pick(in *os.File, out io.Writer, question string, options []string, start int) (int, error) {
	restore, err := rawMode(in)
	if err != nil {
		return 0, err
	}
	defer restore()
	keys := &keyReader{in: in}
	filter := ""
	cursor := start // an index into the shown options
	drawn := 0
	for {
		shown := []int{}
		for i, o := range options {
			if strings.Contains(strings.ToLower(o), strings.ToLower(filter)) {
				shown = append(shown, i)
			}
		}
		cursor = min(max(cursor, 0), max(len(shown)-1, 0))
		var b strings.Builder
		if drawn > 0 {
			fmt.Fprintf(&b, "\x1b[%dA", drawn)
		}
		b.WriteString("\r\x1b[J")
		fmt.Fprintf(&b, "? %s (arrow keys to move, type to filter, Enter to choose)\r\n", question)
		if filter != "" {
			fmt.Fprintf(&b, "  filter: %s\r\n", filter)
		}
		for j, i := range shown {
			mark := "  "
			if j == cursor {
				mark = "> "
			}
			b.WriteString(mark + options[i] + "\r\n")
		}
		if len(shown) == 0 {
			b.WriteString("  (nothing matches)\r\n")
		}
		drawn = strings.Count(b.String(), "\r\n")
		io.WriteString(out, b.String())

		k, r, err := keys.next()
		if err != nil {
			return 0, fmt.Errorf("reading the terminal: %w", err)
		}
		switch k {
		case keyUp:
			cursor--
		case keyDown:
			cursor++
		case keyRune:
			filter += string(r)
			cursor = 0
		case keyBackspace:
			if filter != "" {
				filter = string([]rune(filter)[:len([]rune(filter))-1])
			}
		case keyInterrupt:
			return 0, errInterrupted
		case keyEnter:
			if len(shown) > 0 {
				fmt.Fprintf(out, "%s %s\r\n", question, options[shown[cursor]])
				return shown[cursor], nil
			}
		}
	}
}

// readSecret reads a line from the terminal without echoing it.
func readSecret(in *os.File, out io.Writer, prompt string) (string, error) {
	restore, err := rawMode(in)
	if err != nil {
		return "", err
	}
	defer restore()
	io.WriteString(out, prompt)
	keys := &keyReader{in: in}
	var line []rune
	for {
		k, r, err := keys.next()
		if err != nil {
			return "", fmt.Errorf("reading the terminal: %w", err)
		}
		switch k {
		case keyRune:
			line = append(line, r)
		case keyBackspace:
			if len(line) > 0 {
				line = line[:len(line)-1]
			}
		case keyInterrupt:
			return "", errInterrupted
		case keyEnter:
			io.WriteString(out, "\r\n")
			if s := strings.TrimSpace(string(line)); s != "" {
				return s, nil
			}
			io.WriteString(out, prompt)
		}
	}
}

// browserLoginTimeout is how long the browser login waits for the page.
const browserLoginTimeout = 5 * time.Minute

// browserLogin opens the UI's authorisation page and waits for it to hand
// a key to a one-shot listener on this machine's loopback, as the page
// does for Prefect's CLI: POST /success {"api_key"} or /failure {"reason"}.
func browserLogin(ctx context.Context, ui string, out io.Writer) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listening for the browser's answer: %w", err)
	}
	type answer struct {
		key string
		err error
	}
	answers := make(chan answer, 1)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The page posts from the UI's origin.
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Access-Control-Allow-Methods", "POST")
		w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
		if r.Method == http.MethodOptions {
			return
		}
		if r.Method != http.MethodPost || (r.URL.Path != "/success" && r.URL.Path != "/failure") {
			http.NotFound(w, r)
			return
		}
		var body struct {
			APIKey string `json:"api_key"`
			Reason string `json:"reason"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&body); err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		a := answer{key: body.APIKey}
		if r.URL.Path == "/failure" || body.APIKey == "" {
			a = answer{err: fmt.Errorf("the browser login failed: %s", strOr(&body.Reason, "no key was sent"))}
		}
		select {
		case answers <- a:
		default: // one-shot: a second answer is ignored
		}
	})}
	go srv.Serve(l)
	// Shutdown, not Close: the page says the terminal is logged in only
	// once its POST is answered, and that answer is written after the
	// handler hands the key over.
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
	}()

	page := ui + "/auth/client?callback=" + url.QueryEscape("http://"+l.Addr().String())
	fmt.Fprintf(out, "Opening the login page in your browser. If it does not open, visit:\r\n  %s\r\n", page)
	openBrowser(page)
	timer := time.NewTimer(browserLoginTimeout)
	defer timer.Stop()
	select {
	case a := <-answers:
		return a.key, a.err
	case <-timer.C:
		return "", fmt.Errorf("no answer from the browser within %v: log in with --key instead", browserLoginTimeout)
	case <-ctx.Done():
		return "", errInterrupted
	}
}

// openBrowser opens url with $BROWSER (its %s replaced by the URL, or the
// URL appended), else xdg-open; a failure is not an error: the URL is
// printed.
func openBrowser(url string) {
	command := []string{"xdg-open", url}
	if b := os.Getenv("BROWSER"); b != "" {
		first, _, _ := strings.Cut(b, ":")
		if strings.Contains(first, "%s") {
			command = strings.Fields(strings.ReplaceAll(first, "%s", url))
		} else {
			command = append(strings.Fields(first), url)
		}
	}
	cmd := exec.Command(command[0], command[1:]...)
	if err := cmd.Start(); err == nil {
		go cmd.Wait()
	}
}
