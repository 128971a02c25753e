package sandbox

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The OData $filter subset understood by the sandbox. It is parsed into a small AST and evaluated
// against an entity's JSON view; nothing in a filter is ever executed or interpreted beyond these
// node types, so a hostile filter can at worst be rejected.
//
//	expr     := or
//	or       := and ('or' and)*
//	and      := unary ('and' unary)*
//	unary    := 'not' unary | primary
//	primary  := '(' expr ')' | func | lambda | operand (cmp operand | 'in' '(' literal,... ')')?
//	func     := startswith|endswith|contains '(' operand ',' operand ')'
//	operand  := path | literal | tolower(operand) | toupper(operand)
//	lambda   := path '/' ('any'|'all') '(' ident ':' expr ')'
//	cmp      := eq | ne | gt | ge | lt | le
//	literal  := 'string' ('' escapes a quote) | null | true | false | number | datetime
const (
	maxFilterLen   = 4096
	maxFilterDepth = 32
)

// filterError is a syntax or semantic error in a $filter or $search expression; handlers answer it
// with 400 BadRequest like Graph does.
type filterError struct{ msg string }

func (e *filterError) Error() string { return e.msg }

func filterErrorf(format string, args ...any) error {
	return &filterError{msg: fmt.Sprintf(format, args...)}
}

type tokenKind int

const (
	tokEOF tokenKind = iota
	tokIdent
	tokString
	tokNumber
	tokDate
	tokLParen
	tokRParen
	tokComma
	tokColon
)

type token struct {
	kind tokenKind
	text string
	num  float64
	date time.Time
	pos  int
}

func lexFilter(s string) ([]token, error) {
	if !utf8.ValidString(s) {
		return nil, filterErrorf("filter is not valid UTF-8")
	}
	var toks []token
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return nil, filterErrorf("invalid UTF-8 at position %d", i)
		case unicode.IsSpace(r):
			i += size
		case r == '(':
			toks = append(toks, token{kind: tokLParen, pos: i})
			i++
		case r == ')':
			toks = append(toks, token{kind: tokRParen, pos: i})
			i++
		case r == ',':
			toks = append(toks, token{kind: tokComma, pos: i})
			i++
		case r == ':':
			toks = append(toks, token{kind: tokColon, pos: i})
			i++
		case r == '\'':
			var b strings.Builder
			j := i + 1
			closed := false
			for j < len(s) {
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						b.WriteByte('\'')
						j += 2
						continue
					}
					closed = true
					j++
					break
				}
				b.WriteByte(s[j])
				j++
			}
			if !closed {
				return nil, filterErrorf("unterminated string literal at position %d", i)
			}
			toks = append(toks, token{kind: tokString, text: b.String(), pos: i})
			i = j
		case r == '-' || (r >= '0' && r <= '9'):
			j := i + 1
			for j < len(s) && strings.IndexByte("0123456789.:+-TZtze", s[j]) >= 0 {
				j++
			}
			lit := s[i:j]
			if n, err := strconv.ParseFloat(lit, 64); err == nil && !math.IsInf(n, 0) && !math.IsNaN(n) {
				toks = append(toks, token{kind: tokNumber, num: n, text: lit, pos: i})
			} else if t, err := time.Parse(time.RFC3339Nano, strings.ToUpper(lit)); err == nil {
				toks = append(toks, token{kind: tokDate, date: t, text: lit, pos: i})
			} else {
				return nil, filterErrorf("invalid literal %q at position %d", lit, i)
			}
			i = j
		case r == '_' || r == '@' || r == '$' || unicode.IsLetter(r):
			j := i
			for j < len(s) {
				r2, sz := utf8.DecodeRuneInString(s[j:])
				if r2 == '_' || r2 == '.' || r2 == '/' || r2 == '@' || r2 == '$' || unicode.IsLetter(r2) || unicode.IsDigit(r2) {
					j += sz
					continue
				}
				break
			}
			toks = append(toks, token{kind: tokIdent, text: s[i:j], pos: i})
			i = j
		default:
			return nil, filterErrorf("unexpected character %q at position %d", r, i)
		}
	}
	toks = append(toks, token{kind: tokEOF, pos: len(s)})
	return toks, nil
}

// node is a parsed filter expression. eval returns a Go value: bool, string, float64, time.Time,
// nil, or a JSON container ([]any, map[string]any) for paths.
type node interface {
	eval(env *filterEnv) any
}

type filterEnv struct {
	root map[string]any
	vars map[string]any
}

type (
	andNode struct{ l, r node }
	orNode  struct{ l, r node }
	notNode struct{ x node }
	cmpNode struct {
		op   string
		l, r node
	}
	inNode struct {
		x    node
		list []any
	}
	funcNode struct {
		name string
		args []node
	}
	litNode    struct{ v any }
	pathNode   struct{ segs []string }
	lambdaNode struct {
		path  []string
		all   bool
		v     string
		inner node
	}
)

func (n andNode) eval(e *filterEnv) any { return truthy(n.l.eval(e)) && truthy(n.r.eval(e)) }
func (n orNode) eval(e *filterEnv) any  { return truthy(n.l.eval(e)) || truthy(n.r.eval(e)) }
func (n notNode) eval(e *filterEnv) any { return !truthy(n.x.eval(e)) }
func (n litNode) eval(*filterEnv) any   { return n.v }

func (n cmpNode) eval(e *filterEnv) any {
	return compareValues(n.op, n.l.eval(e), n.r.eval(e))
}

func (n inNode) eval(e *filterEnv) any {
	v := n.x.eval(e)
	for _, item := range n.list {
		if compareValues("eq", v, item) {
			return true
		}
	}
	return false
}

func (n funcNode) eval(e *filterEnv) any {
	switch n.name {
	case "tolower", "toupper":
		s, ok := n.args[0].eval(e).(string)
		if !ok {
			return nil
		}
		if n.name == "tolower" {
			return strings.ToLower(s)
		}
		return strings.ToUpper(s)
	}
	a, okA := n.args[0].eval(e).(string)
	b, okB := n.args[1].eval(e).(string)
	if !okA || !okB {
		return false
	}
	a, b = strings.ToLower(a), strings.ToLower(b)
	switch n.name {
	case "startswith":
		return strings.HasPrefix(a, b)
	case "endswith":
		return strings.HasSuffix(a, b)
	default: // contains
		return strings.Contains(a, b)
	}
}

func (n pathNode) eval(e *filterEnv) any {
	var cur any = e.root
	segs := n.segs
	if v, ok := e.vars[strings.ToLower(segs[0])]; ok {
		cur = v
		segs = segs[1:]
	}
	return walkPath(cur, segs)
}

func (n lambdaNode) eval(e *filterEnv) any {
	coll := pathNode{segs: n.path}.eval(e)
	items, _ := coll.([]any)
	if items == nil {
		if ss, ok := coll.([]string); ok {
			for _, s := range ss {
				items = append(items, s)
			}
		}
	}
	key := strings.ToLower(n.v)
	prev, had := e.vars[key]
	defer func() {
		if had {
			e.vars[key] = prev
		} else {
			delete(e.vars, key)
		}
	}()
	for _, it := range items {
		e.vars[key] = it
		ok := truthy(n.inner.eval(e))
		if n.all && !ok {
			return false
		}
		if !n.all && ok {
			return true
		}
	}
	return n.all && len(items) > 0
}

// walkPath follows a property path through JSON values. Property names match case-insensitively
// as in Graph; a "microsoft.graph.X" segment is a type cast that yields nil on a mismatch.
func walkPath(cur any, segs []string) any {
	for _, seg := range segs {
		if strings.HasPrefix(strings.ToLower(seg), "microsoft.graph.") {
			m, ok := cur.(map[string]any)
			if !ok {
				return nil
			}
			t, _ := m["@odata.type"].(string)
			if !strings.EqualFold(strings.TrimPrefix(t, "#"), seg) {
				return nil
			}
			continue
		}
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = lookupFold(m, seg)
	}
	return cur
}

func lookupFold(m map[string]any, key string) any {
	if v, ok := m[key]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

func truthy(v any) bool {
	b, ok := v.(bool)
	return ok && b
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	}
	return 0, false
}

func toTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, true
	case string:
		t, err := time.Parse(time.RFC3339Nano, x)
		return t, err == nil
	}
	return time.Time{}, false
}

// compareValues implements eq/ne/gt/ge/lt/le. Strings compare case-insensitively (directory and
// entitlement-management properties behave that way in Graph); values that cannot be compared
// make the comparison false rather than an error.
func compareValues(op string, a, b any) bool {
	if a == nil || b == nil {
		switch op {
		case "eq":
			return a == nil && b == nil
		case "ne":
			return (a == nil) != (b == nil)
		}
		return false
	}
	var c int
	_, aIsTime := a.(time.Time)
	_, bIsTime := b.(time.Time)
	switch {
	case aIsTime || bIsTime:
		ta, ok1 := toTime(a)
		tb, ok2 := toTime(b)
		if !ok1 || !ok2 {
			return op == "ne"
		}
		c = ta.Compare(tb)
	default:
		if fa, ok := toFloat(a); ok {
			fb, ok := toFloat(b)
			if !ok {
				return op == "ne"
			}
			switch {
			case fa < fb:
				c = -1
			case fa > fb:
				c = 1
			}
			break
		}
		switch x := a.(type) {
		case string:
			y, ok := b.(string)
			if !ok {
				return op == "ne"
			}
			if op == "eq" || op == "ne" {
				if strings.EqualFold(x, y) {
					c = 0
				} else {
					c = 1
				}
			} else if ta, err1 := time.Parse(time.RFC3339Nano, x); err1 == nil {
				tb, err2 := time.Parse(time.RFC3339Nano, y)
				if err2 != nil {
					return false
				}
				c = ta.Compare(tb)
			} else {
				c = strings.Compare(strings.ToLower(x), strings.ToLower(y))
			}
		case bool:
			y, ok := b.(bool)
			if !ok || (op != "eq" && op != "ne") {
				return op == "ne"
			}
			if x != y {
				c = 1
			}
		default:
			return op == "ne"
		}
	}
	switch op {
	case "eq":
		return c == 0
	case "ne":
		return c != 0
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	case "lt":
		return c < 0
	default: // le
		return c <= 0
	}
}

type filterParser struct {
	toks  []token
	i     int
	depth int
	vars  map[string]bool
}

// filter is a compiled $filter expression.
type filter struct{ root node }

// parseFilter compiles an OData $filter in the supported subset, or returns a *filterError.
func parseFilter(s string) (*filter, error) {
	if len(s) > maxFilterLen {
		return nil, filterErrorf("filter longer than %d characters", maxFilterLen)
	}
	toks, err := lexFilter(s)
	if err != nil {
		return nil, err
	}
	p := &filterParser{toks: toks, vars: map[string]bool{}}
	n, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, filterErrorf("unexpected token at position %d", t.pos)
	}
	if _, isBool := boolNode(n); !isBool {
		return nil, filterErrorf("filter must be a boolean expression")
	}
	return &filter{root: n}, nil
}

// boolNode reports whether n yields a boolean (so "displayName" alone is rejected).
func boolNode(n node) (node, bool) {
	switch x := n.(type) {
	case andNode, orNode, notNode, cmpNode, inNode, lambdaNode:
		return n, true
	case funcNode:
		return n, x.name != "tolower" && x.name != "toupper"
	case litNode:
		_, ok := x.v.(bool)
		return n, ok
	}
	return n, false
}

// match evaluates the filter against an entity's JSON view.
func (f *filter) match(obj map[string]any) bool {
	if f == nil {
		return true
	}
	return truthy(f.root.eval(&filterEnv{root: obj, vars: map[string]any{}}))
}

func (p *filterParser) peek() token { return p.toks[p.i] }
func (p *filterParser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *filterParser) isKeyword(word string) bool {
	t := p.peek()
	return t.kind == tokIdent && strings.EqualFold(t.text, word)
}

func (p *filterParser) enter() error {
	p.depth++
	if p.depth > maxFilterDepth {
		return filterErrorf("filter nested deeper than %d levels", maxFilterDepth)
	}
	return nil
}

func (p *filterParser) parseOr() (node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	l, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("or") {
		p.next()
		r, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		if err := requireBool(l, r); err != nil {
			return nil, err
		}
		l = orNode{l, r}
	}
	return l, nil
}

func (p *filterParser) parseAnd() (node, error) {
	l, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("and") {
		p.next()
		r, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		if err := requireBool(l, r); err != nil {
			return nil, err
		}
		l = andNode{l, r}
	}
	return l, nil
}

func requireBool(ns ...node) error {
	for _, n := range ns {
		if _, ok := boolNode(n); !ok {
			return filterErrorf("logical operator applied to a non-boolean operand")
		}
	}
	return nil
}

func (p *filterParser) parseUnary() (node, error) {
	if p.isKeyword("not") {
		p.next()
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		if err := requireBool(x); err != nil {
			return nil, err
		}
		return notNode{x}, nil
	}
	return p.parsePrimary()
}

var cmpOps = map[string]bool{"eq": true, "ne": true, "gt": true, "ge": true, "lt": true, "le": true}

func (p *filterParser) parsePrimary() (node, error) {
	if p.peek().kind == tokLParen {
		p.next()
		n, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if p.next().kind != tokRParen {
			return nil, filterErrorf("missing closing parenthesis")
		}
		return n, nil
	}
	t := p.peek()
	if t.kind == tokIdent {
		lower := strings.ToLower(t.text)
		switch lower {
		case "startswith", "endswith", "contains":
			p.next()
			args, err := p.parseArgs(2)
			if err != nil {
				return nil, err
			}
			return funcNode{name: lower, args: args}, nil
		}
		if i := strings.LastIndexByte(lower, '/'); i > 0 && (lower[i+1:] == "any" || lower[i+1:] == "all") &&
			p.toks[p.i+1].kind == tokLParen {
			return p.parseLambda()
		}
	}
	l, err := p.parseOperand()
	if err != nil {
		return nil, err
	}
	if p.isKeyword("in") {
		p.next()
		if p.next().kind != tokLParen {
			return nil, filterErrorf("'in' needs a parenthesised list")
		}
		var list []any
		for {
			lit, err := p.parseOperand()
			if err != nil {
				return nil, err
			}
			ln, ok := lit.(litNode)
			if !ok {
				return nil, filterErrorf("'in' list must contain literals")
			}
			list = append(list, ln.v)
			if len(list) > 100 {
				return nil, filterErrorf("'in' list longer than 100 items")
			}
			sep := p.next()
			if sep.kind == tokRParen {
				break
			}
			if sep.kind != tokComma {
				return nil, filterErrorf("malformed 'in' list")
			}
		}
		return inNode{x: l, list: list}, nil
	}
	if p.peek().kind == tokIdent && cmpOps[strings.ToLower(p.peek().text)] {
		op := strings.ToLower(p.next().text)
		r, err := p.parseOperand()
		if err != nil {
			return nil, err
		}
		return cmpNode{op: op, l: l, r: r}, nil
	}
	return l, nil
}

func (p *filterParser) parseArgs(n int) ([]node, error) {
	if p.next().kind != tokLParen {
		return nil, filterErrorf("function call needs '('")
	}
	args := make([]node, 0, n)
	for i := 0; i < n; i++ {
		if i > 0 && p.next().kind != tokComma {
			return nil, filterErrorf("function expects %d arguments", n)
		}
		a, err := p.parseOperand()
		if err != nil {
			return nil, err
		}
		args = append(args, a)
	}
	if p.next().kind != tokRParen {
		return nil, filterErrorf("function expects %d arguments", n)
	}
	return args, nil
}

func (p *filterParser) parseLambda() (node, error) {
	t := p.next()
	i := strings.LastIndexByte(t.text, '/')
	path, err := p.splitPath(t.text[:i])
	if err != nil {
		return nil, err
	}
	all := strings.EqualFold(t.text[i+1:], "all")
	p.next() // '('
	v := p.next()
	if v.kind != tokIdent || strings.ContainsAny(v.text, "/.") {
		return nil, filterErrorf("lambda needs a range variable")
	}
	if p.next().kind != tokColon {
		return nil, filterErrorf("lambda needs ':' after its range variable")
	}
	key := strings.ToLower(v.text)
	shadowed := p.vars[key]
	p.vars[key] = true
	if err := p.enter(); err != nil {
		return nil, err
	}
	inner, err := p.parseOr()
	p.depth--
	if !shadowed {
		delete(p.vars, key)
	}
	if err != nil {
		return nil, err
	}
	if err := requireBool(inner); err != nil {
		return nil, err
	}
	if p.next().kind != tokRParen {
		return nil, filterErrorf("missing ')' after lambda")
	}
	return lambdaNode{path: path, all: all, v: v.text, inner: inner}, nil
}

func (p *filterParser) splitPath(s string) ([]string, error) {
	segs := strings.Split(s, "/")
	for _, seg := range segs {
		if seg == "" {
			return nil, filterErrorf("empty segment in property path %q", s)
		}
	}
	if len(segs) > 8 {
		return nil, filterErrorf("property path %q too long", s)
	}
	return segs, nil
}

func (p *filterParser) parseOperand() (node, error) {
	t := p.next()
	switch t.kind {
	case tokString:
		return litNode{t.text}, nil
	case tokNumber:
		return litNode{t.num}, nil
	case tokDate:
		return litNode{t.date}, nil
	case tokIdent:
		switch lower := strings.ToLower(t.text); lower {
		case "null":
			return litNode{nil}, nil
		case "true":
			return litNode{true}, nil
		case "false":
			return litNode{false}, nil
		case "tolower", "toupper":
			if p.peek().kind != tokLParen {
				break
			}
			args, err := p.parseArgs(1)
			if err != nil {
				return nil, err
			}
			return funcNode{name: lower, args: args}, nil
		case "and", "or", "not", "eq", "ne", "gt", "ge", "lt", "le", "in":
			return nil, filterErrorf("unexpected keyword %q at position %d", t.text, t.pos)
		}
		if p.peek().kind == tokLParen {
			return nil, filterErrorf("unsupported function %q", t.text)
		}
		segs, err := p.splitPath(t.text)
		if err != nil {
			return nil, err
		}
		return pathNode{segs: segs}, nil
	case tokEOF:
		return nil, filterErrorf("unexpected end of filter")
	}
	return nil, filterErrorf("unexpected token at position %d", t.pos)
}
