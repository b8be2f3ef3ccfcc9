package notify

import (
	"strconv"
	"strings"
)

// Prefect's sandbox limits on loops (prefect.server.utilities.user_templates):
// a template may hold so many for loops, nested so deep, and range() may
// count so far.
const (
	maxLoops       = 10
	maxLoopDepth   = 2
	maxRange       = 100
	maxExprNesting = 64 // keeps a template of nested brackets from exhausting the stack
)

type node interface{}

type (
	textNode   struct{ text string }
	outputNode struct{ expr expr }
	ifNode     struct {
		conds  []expr
		bodies [][]node
		orElse []node
	}
	forNode struct {
		vars   []string
		iter   expr
		body   []node
		orElse []node
		line   int
	}
	setNode struct {
		name  string
		value expr
	}
)

type expr interface{}

type (
	literal  struct{ v any }
	nameExpr struct{ name string }
	attrExpr struct {
		obj  expr
		name string
	}
	indexExpr struct{ obj, index expr }
	callExpr  struct {
		fn   expr
		args []expr
		kw   map[string]expr
		line int
	}
	filterExpr struct {
		value expr
		name  string
		args  []expr
		kw    map[string]expr
		line  int
	}
	// An unknown filter or test is an error when rendered, not when
	// parsed, as in Jinja, so that templates/validate accepts what
	// Prefect's accepts.
	testExpr struct {
		value  expr
		name   string
		negate bool
		line   int
	}
	unaryExpr struct {
		op string
		x  expr
	}
	binaryExpr struct {
		op   string
		l, r expr
		line int
	}
	condExpr struct{ cond, yes, no expr }
	listExpr struct{ items []expr }
	dictExpr struct{ keys, values []expr }
)

type parser struct {
	toks  []token
	pos   int
	depth int
	loops int
}

// parse turns a template into its nodes, or a *SyntaxError.
func parse(src string) ([]node, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	nodes, end, err := p.body(0)
	if err != nil {
		return nil, err
	}
	if end != "" {
		return nil, syntaxErrorf(p.peek().line, "Encountered unknown tag '%s'.", end)
	}
	if p.loops > maxLoops {
		return nil, syntaxErrorf(1, "Contains %d for loops. Templates can contain no more than %d for loops.", p.loops, maxLoops)
	}
	return nodes, nil
}

func (p *parser) peek() token { return p.toks[p.pos] }
func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tEOF {
		p.pos++
	}
	return t
}

func (p *parser) isOp(op string) bool {
	t := p.peek()
	return t.kind == tOp && t.val == op
}

func (p *parser) isName(name string) bool {
	t := p.peek()
	return t.kind == tName && t.val == name
}

func (p *parser) expectOp(op string) error {
	t := p.next()
	if t.kind != tOp || t.val != op {
		return syntaxErrorf(t.line, "expected '%s', got %s", op, describe(t))
	}
	return nil
}

func (p *parser) expectName() (token, error) {
	t := p.next()
	if t.kind != tName {
		return t, syntaxErrorf(t.line, "expected a name, got %s", describe(t))
	}
	return t, nil
}

func (p *parser) expectBlockEnd() error {
	t := p.next()
	if t.kind != tBlockEnd {
		return syntaxErrorf(t.line, "expected end of statement block, got %s", describe(t))
	}
	return nil
}

func describe(t token) string {
	switch t.kind {
	case tEOF:
		return "end of template"
	case tVarEnd, tBlockEnd:
		return "'" + t.val + "'"
	case tString:
		return "string"
	}
	return "'" + t.val + "'"
}

// body parses nodes until a block tag it does not know (endif, else, …),
// whose name it returns with the parser past that name, or the end.
func (p *parser) body(loopDepth int) ([]node, string, error) {
	var nodes []node
	for {
		t := p.next()
		switch t.kind {
		case tEOF:
			return nodes, "", nil
		case tText:
			nodes = append(nodes, &textNode{t.val})
		case tVarBegin:
			e, err := p.expr()
			if err != nil {
				return nil, "", err
			}
			if t := p.next(); t.kind != tVarEnd {
				return nil, "", syntaxErrorf(t.line, "expected end of print statement, got %s", describe(t))
			}
			nodes = append(nodes, &outputNode{e})
		case tBlockBegin:
			name, err := p.expectName()
			if err != nil {
				return nil, "", err
			}
			var n node
			switch name.val {
			case "if":
				n, err = p.ifStmt(loopDepth)
			case "for":
				n, err = p.forStmt(loopDepth, name.line)
			case "set":
				n, err = p.setStmt()
			default:
				return nodes, name.val, nil
			}
			if err != nil {
				return nil, "", err
			}
			nodes = append(nodes, n)
		default:
			return nil, "", syntaxErrorf(t.line, "unexpected %s", describe(t))
		}
	}
}

func (p *parser) ifStmt(loopDepth int) (node, error) {
	n := &ifNode{}
	for {
		cond, err := p.expr()
		if err != nil {
			return nil, err
		}
		if err := p.expectBlockEnd(); err != nil {
			return nil, err
		}
		body, end, err := p.body(loopDepth)
		if err != nil {
			return nil, err
		}
		n.conds, n.bodies = append(n.conds, cond), append(n.bodies, body)
		switch end {
		case "elif":
			continue
		case "else":
			if err := p.expectBlockEnd(); err != nil {
				return nil, err
			}
			if n.orElse, end, err = p.body(loopDepth); err != nil {
				return nil, err
			}
			if end != "endif" {
				return nil, p.unclosed("if", "'endif'", end)
			}
			return n, p.expectBlockEnd()
		case "endif":
			return n, p.expectBlockEnd()
		default:
			return nil, p.unclosed("if", "'elif' or 'else' or 'endif'", end)
		}
	}
}

func (p *parser) unclosed(block, want, got string) error {
	line := p.peek().line
	if got == "" {
		return syntaxErrorf(line, "Unexpected end of template. Jinja was looking for the following tags: %s. The innermost block that needs to be closed is '%s'.", want, block)
	}
	return syntaxErrorf(line, "Encountered unknown tag '%s'. Jinja was looking for the following tags: %s. The innermost block that needs to be closed is '%s'.", got, want, block)
}

func (p *parser) forStmt(loopDepth, line int) (node, error) {
	p.loops++
	if loopDepth+1 > maxLoopDepth {
		return nil, syntaxErrorf(line, "Contains nested for loops at a depth of %d. Templates can nest for loops no more than %d loops deep.", loopDepth+1, maxLoopDepth)
	}
	n := &forNode{line: line}
	for {
		v, err := p.expectName()
		if err != nil {
			return nil, err
		}
		n.vars = append(n.vars, v.val)
		if !p.isOp(",") {
			break
		}
		p.next()
	}
	if !p.isName("in") {
		return nil, syntaxErrorf(p.peek().line, "expected 'in', got %s", describe(p.peek()))
	}
	p.next()
	iter, err := p.orExpr()
	if err != nil {
		return nil, err
	}
	n.iter = iter
	if err := p.expectBlockEnd(); err != nil {
		return nil, err
	}
	body, end, err := p.body(loopDepth + 1)
	if err != nil {
		return nil, err
	}
	n.body = body
	if end == "else" {
		if err := p.expectBlockEnd(); err != nil {
			return nil, err
		}
		if n.orElse, end, err = p.body(loopDepth); err != nil {
			return nil, err
		}
	}
	if end != "endfor" {
		return nil, p.unclosed("for", "'endfor' or 'else'", end)
	}
	return n, p.expectBlockEnd()
}

func (p *parser) setStmt() (node, error) {
	name, err := p.expectName()
	if err != nil {
		return nil, err
	}
	if err := p.expectOp("="); err != nil {
		return nil, err
	}
	v, err := p.expr()
	if err != nil {
		return nil, err
	}
	return &setNode{name.val, v}, p.expectBlockEnd()
}

// expr parses a whole expression: `a if cond else b` over or.
func (p *parser) expr() (expr, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxExprNesting {
		return nil, syntaxErrorf(p.peek().line, "expression nested too deeply")
	}
	yes, err := p.orExpr()
	if err != nil || !p.isName("if") {
		return yes, err
	}
	p.next()
	cond, err := p.orExpr()
	if err != nil {
		return nil, err
	}
	var no expr = literal{undefined{}}
	if p.isName("else") {
		p.next()
		if no, err = p.expr(); err != nil {
			return nil, err
		}
	}
	return &condExpr{cond, yes, no}, nil
}

func (p *parser) orExpr() (expr, error) {
	return p.binaryLevel([]string{"or"}, p.andExpr)
}

func (p *parser) andExpr() (expr, error) {
	return p.binaryLevel([]string{"and"}, p.notExpr)
}

func (p *parser) notExpr() (expr, error) {
	if p.isName("not") {
		p.next()
		x, err := p.notExpr()
		if err != nil {
			return nil, err
		}
		return &unaryExpr{"not", x}, nil
	}
	return p.compare()
}

func (p *parser) compare() (expr, error) {
	l, err := p.concat()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		op := ""
		switch {
		case t.kind == tOp && strings.Contains(" == != < > <= >= ", " "+t.val+" "):
			op = t.val
			p.next()
		case t.kind == tName && t.val == "in":
			op = "in"
			p.next()
		case t.kind == tName && t.val == "not" && p.toks[p.pos+1].kind == tName && p.toks[p.pos+1].val == "in":
			op = "not in"
			p.pos += 2
		case t.kind == tName && t.val == "is":
			p.next()
			neg := false
			if p.isName("not") {
				p.next()
				neg = true
			}
			name, err := p.expectName()
			if err != nil {
				return nil, err
			}
			l = &testExpr{l, name.val, neg, name.line}
			continue
		default:
			return l, nil
		}
		r, err := p.concat()
		if err != nil {
			return nil, err
		}
		l = &binaryExpr{op: op, l: l, r: r, line: t.line}
	}
}

func (p *parser) concat() (expr, error) { return p.binaryLevel([]string{"~"}, p.additive) }
func (p *parser) additive() (expr, error) {
	return p.binaryLevel([]string{"+", "-"}, p.multiplicative)
}
func (p *parser) multiplicative() (expr, error) {
	return p.binaryLevel([]string{"*", "/", "//", "%"}, p.unary)
}

func (p *parser) binaryLevel(ops []string, operand func() (expr, error)) (expr, error) {
	l, err := operand()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if (t.kind != tOp && t.kind != tName) || !contains(ops, t.val) {
			return l, nil
		}
		p.next()
		r, err := operand()
		if err != nil {
			return nil, err
		}
		l = &binaryExpr{op: t.val, l: l, r: r, line: t.line}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (p *parser) unary() (expr, error) {
	if p.isOp("-") || p.isOp("+") {
		op := p.next().val
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &unaryExpr{op, x}, nil
	}
	return p.filtered()
}

func (p *parser) filtered() (expr, error) {
	x, err := p.postfix()
	if err != nil {
		return nil, err
	}
	for p.isOp("|") {
		p.next()
		name, err := p.expectName()
		if err != nil {
			return nil, err
		}
		f := &filterExpr{value: x, name: name.val, line: name.line}
		if p.isOp("(") {
			if f.args, f.kw, err = p.callArgs(); err != nil {
				return nil, err
			}
		}
		x = f
	}
	return x, nil
}

func (p *parser) postfix() (expr, error) {
	x, err := p.primary()
	if err != nil {
		return nil, err
	}
	for {
		switch {
		case p.isOp("."):
			p.next()
			t := p.next()
			if t.kind != tName && t.kind != tNumber {
				return nil, syntaxErrorf(t.line, "expected name or number, got %s", describe(t))
			}
			x = &attrExpr{x, t.val}
		case p.isOp("["):
			p.next()
			idx, err := p.expr()
			if err != nil {
				return nil, err
			}
			if err := p.expectOp("]"); err != nil {
				return nil, err
			}
			x = &indexExpr{x, idx}
		case p.isOp("("):
			line := p.peek().line
			args, kw, err := p.callArgs()
			if err != nil {
				return nil, err
			}
			x = &callExpr{fn: x, args: args, kw: kw, line: line}
		default:
			return x, nil
		}
	}
}

func (p *parser) callArgs() ([]expr, map[string]expr, error) {
	if err := p.expectOp("("); err != nil {
		return nil, nil, err
	}
	var args []expr
	var kw map[string]expr
	for !p.isOp(")") {
		if t := p.peek(); t.kind == tName && p.toks[p.pos+1].kind == tOp && p.toks[p.pos+1].val == "=" {
			p.pos += 2
			v, err := p.expr()
			if err != nil {
				return nil, nil, err
			}
			if kw == nil {
				kw = map[string]expr{}
			}
			kw[t.val] = v
		} else {
			v, err := p.expr()
			if err != nil {
				return nil, nil, err
			}
			args = append(args, v)
		}
		if !p.isOp(",") {
			break
		}
		p.next()
	}
	return args, kw, p.expectOp(")")
}

func (p *parser) primary() (expr, error) {
	t := p.next()
	switch t.kind {
	case tString:
		s := t.val
		// Adjacent string literals join, as in Python.
		for p.peek().kind == tString {
			s += p.next().val
		}
		return literal{s}, nil
	case tNumber:
		if strings.Contains(t.val, ".") {
			f, err := strconv.ParseFloat(t.val, 64)
			if err != nil {
				return nil, syntaxErrorf(t.line, "bad number %q", t.val)
			}
			return literal{f}, nil
		}
		n, err := strconv.ParseInt(t.val, 10, 64)
		if err != nil {
			return nil, syntaxErrorf(t.line, "bad number %q", t.val)
		}
		return literal{n}, nil
	case tName:
		switch t.val {
		case "true", "True":
			return literal{true}, nil
		case "false", "False":
			return literal{false}, nil
		case "none", "None":
			return literal{nil}, nil
		}
		return &nameExpr{t.val}, nil
	case tOp:
		switch t.val {
		case "(":
			x, err := p.expr()
			if err != nil {
				return nil, err
			}
			return x, p.expectOp(")")
		case "[":
			l := &listExpr{}
			for !p.isOp("]") {
				x, err := p.expr()
				if err != nil {
					return nil, err
				}
				l.items = append(l.items, x)
				if !p.isOp(",") {
					break
				}
				p.next()
			}
			return l, p.expectOp("]")
		case "{":
			d := &dictExpr{}
			for !p.isOp("}") {
				k, err := p.expr()
				if err != nil {
					return nil, err
				}
				if err := p.expectOp(":"); err != nil {
					return nil, err
				}
				v, err := p.expr()
				if err != nil {
					return nil, err
				}
				d.keys, d.values = append(d.keys, k), append(d.values, v)
				if !p.isOp(",") {
					break
				}
				p.next()
			}
			return d, p.expectOp("}")
		}
	}
	return nil, syntaxErrorf(t.line, "unexpected %s", describe(t))
}
