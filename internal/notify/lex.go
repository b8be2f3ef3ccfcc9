package notify

import (
	"fmt"
	"strings"
)

// SyntaxError is a template that cannot be parsed, or that breaks the
// sandbox's limits on loops; Line counts from 1, as Prefect's
// templates/validate answers it.
type SyntaxError struct {
	Line    int
	Message string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Message) }

func syntaxErrorf(line int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Line: line, Message: fmt.Sprintf(format, args...)}
}

type tokenKind int

const (
	tText tokenKind = iota
	tVarBegin
	tVarEnd
	tBlockBegin
	tBlockEnd
	tName
	tString
	tNumber
	tOp
	tEOF
)

type token struct {
	kind tokenKind
	val  string
	line int
}

const whitespace = " \t\r\n"

// twoCharOps are tried before single characters.
var twoCharOps = []string{"==", "!=", "<=", ">=", "//", "**"}

const oneCharOps = ".|()[]{},:<>+-*/%~=}"

// lex splits a template into text and the tokens inside its {{ }} and
// {% %} tags; comments go, and the - of whitespace control trims the
// text beside it.
func lex(src string) ([]token, error) {
	// Jinja drops a single trailing newline of the template by default.
	src = strings.TrimSuffix(src, "\n")
	var toks []token
	line, pos := 1, 0
	trimNext := false
	for pos < len(src) {
		i := nextTag(src, pos)
		text := src[pos:i]
		if i < len(src) && i+2 < len(src) && src[i+2] == '-' {
			text = strings.TrimRight(text, whitespace)
		}
		if trimNext {
			text = strings.TrimLeft(text, whitespace)
		}
		trimNext = false
		if text != "" {
			toks = append(toks, token{tText, text, line})
		}
		line += strings.Count(src[pos:i], "\n")
		if i >= len(src) {
			break
		}
		open := src[i : i+2]
		pos = i + 2
		if pos < len(src) && src[pos] == '-' {
			pos++
		}
		if open == "{#" {
			end := strings.Index(src[pos:], "#}")
			if end < 0 {
				return nil, syntaxErrorf(line, "Missing end of comment tag")
			}
			body := src[pos : pos+end]
			trimNext = strings.HasSuffix(body, "-")
			line += strings.Count(body, "\n")
			pos += end + 2
			continue
		}
		closing, begin, endKind := "}}", tVarBegin, tVarEnd
		if open == "{%" {
			closing, begin, endKind = "%}", tBlockBegin, tBlockEnd
		}
		toks = append(toks, token{begin, open, line})
		closed := false
		for pos < len(src) {
			c := src[pos]
			if strings.IndexByte(whitespace, c) >= 0 {
				if c == '\n' {
					line++
				}
				pos++
				continue
			}
			if strings.HasPrefix(src[pos:], "-"+closing) {
				trimNext = true
				pos += 3
				closed = true
				break
			}
			if strings.HasPrefix(src[pos:], closing) {
				pos += 2
				closed = true
				break
			}
			tok, n, err := lexToken(src[pos:], line)
			if err != nil {
				return nil, err
			}
			toks = append(toks, tok)
			line += strings.Count(src[pos:pos+n], "\n")
			pos += n
		}
		if !closed {
			what := "variable"
			if open == "{%" {
				what = "block"
			}
			return nil, syntaxErrorf(line, "unexpected end of template, expected end of %s statement", what)
		}
		toks = append(toks, token{endKind, closing, line})
	}
	return append(toks, token{tEOF, "", line}), nil
}

// nextTag is the index of the next {{, {% or {# at or after pos, or
// len(src).
func nextTag(src string, pos int) int {
	for i := pos; i+1 < len(src); i++ {
		if src[i] == '{' && (src[i+1] == '{' || src[i+1] == '%' || src[i+1] == '#') {
			return i
		}
	}
	return len(src)
}

func lexToken(s string, line int) (token, int, error) {
	c := s[0]
	switch {
	case c == '_' || isLetter(c):
		n := 1
		for n < len(s) && (s[n] == '_' || isLetter(s[n]) || isDigit(s[n])) {
			n++
		}
		return token{tName, s[:n], line}, n, nil
	case isDigit(c):
		n := 1
		for n < len(s) && (isDigit(s[n]) || s[n] == '_' || (s[n] == '.' && n+1 < len(s) && isDigit(s[n+1]))) {
			n++
		}
		return token{tNumber, strings.ReplaceAll(s[:n], "_", ""), line}, n, nil
	case c == '\'' || c == '"':
		var b strings.Builder
		for n := 1; n < len(s); n++ {
			switch s[n] {
			case c:
				return token{tString, b.String(), line}, n + 1, nil
			case '\\':
				if n+1 < len(s) {
					n++
					b.WriteByte(unescape(s[n]))
					continue
				}
			}
			b.WriteByte(s[n])
		}
		return token{}, 0, syntaxErrorf(line, "unexpected end of string")
	}
	for _, op := range twoCharOps {
		if strings.HasPrefix(s, op) {
			return token{tOp, op, line}, 2, nil
		}
	}
	if strings.IndexByte(oneCharOps, c) >= 0 {
		return token{tOp, s[:1], line}, 1, nil
	}
	return token{}, 0, syntaxErrorf(line, "unexpected char %q", c)
}

func unescape(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 't':
		return '\t'
	case 'r':
		return '\r'
	}
	return c
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
