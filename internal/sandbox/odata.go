package sandbox

import (
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// graphError is an error answered in Graph's error shape. Handlers return it; the dispatcher
// writes it with the request ids.
type graphError struct {
	status int
	code   string
	msg    string
	header http.Header
}

func (e *graphError) Error() string { return e.code + ": " + e.msg }

func gerr(status int, code, msg string) *graphError {
	return &graphError{status: status, code: code, msg: msg}
}

func badRequest(msg string) *graphError { return gerr(http.StatusBadRequest, "BadRequest", msg) }

func notFound(what, id string) *graphError {
	return gerr(http.StatusNotFound, "ResourceNotFound", what+" with id '"+id+"' was not found.")
}

func dirNotFound(id string) *graphError {
	return gerr(http.StatusNotFound, "Request_ResourceNotFound",
		"Resource '"+id+"' does not exist or one of its queried reference-property objects are not present.")
}

func forbidden(msg string) *graphError {
	return gerr(http.StatusForbidden, "Authorization_RequestDenied", msg)
}

// reqCtx carries what one Graph request needs: ids for the error body, the caller's identity and
// the parsed query options.
type reqCtx struct {
	w         http.ResponseWriter
	r         *http.Request
	requestID string
	clientID  string
	params    map[string]string
	caller    *caller
	q         *queryOptions
	now       time.Time
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (c *reqCtx) writeError(e *graphError) {
	for k, vs := range e.header {
		for _, v := range vs {
			c.w.Header().Add(k, v)
		}
	}
	writeJSON(c.w, e.status, map[string]any{
		"error": map[string]any{
			"code":    e.code,
			"message": e.msg,
			"innerError": map[string]any{
				"date":              time.Now().UTC().Format("2006-01-02T15:04:05"),
				"request-id":        c.requestID,
				"client-request-id": c.clientID,
			},
		},
	})
}

// expandNode is one item of $expand, with its nested options.
type expandNode struct {
	name   string
	expand map[string]*expandNode
	selct  []string
}

type queryOptions struct {
	filter    *filter
	selct     []string
	expand    map[string]*expandNode
	top       int
	skip      int
	search    string
	count     bool
	orderBy   string
	orderDesc bool
}

var knownQueryOptions = map[string]bool{
	"$filter": true, "$select": true, "$expand": true, "$top": true, "$skiptoken": true,
	"$search": true, "$count": true, "$orderby": true, "$format": true,
}

// parseQuery validates the OData system query options of a request. Unknown $-options are
// rejected, as Graph does, so a client cannot silently rely on an option the sandbox ignores.
func parseQuery(r *http.Request) (*queryOptions, *graphError) {
	q := &queryOptions{}
	vals := r.URL.Query()
	for k := range vals {
		lk := strings.ToLower(k)
		if !strings.HasPrefix(lk, "$") {
			continue
		}
		if !knownQueryOptions[lk] {
			return nil, badRequest("Query option '" + k + "' is not supported.")
		}
	}
	get := func(name string) string {
		for k, v := range vals {
			if strings.EqualFold(k, name) && len(v) > 0 {
				return v[0]
			}
		}
		return ""
	}
	if f := get("$filter"); f != "" {
		pf, err := parseFilter(f)
		if err != nil {
			return nil, badRequest("Invalid filter clause: " + err.Error())
		}
		q.filter = pf
	}
	if s := get("$select"); s != "" {
		q.selct = splitTop(s, ',')
	}
	if e := get("$expand"); e != "" {
		ex, err := parseExpand(e, 0)
		if err != nil {
			return nil, badRequest("Invalid $expand: " + err.Error())
		}
		q.expand = ex
	}
	if t := get("$top"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 1 || n > 999 {
			return nil, badRequest("Invalid value for $top: it must be an integer between 1 and 999.")
		}
		q.top = n
	}
	if st := get("$skiptoken"); st != "" {
		raw, err := base64.RawURLEncoding.DecodeString(st)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(raw), "skip:"))
		if err != nil || err2 != nil || n < 0 || !strings.HasPrefix(string(raw), "skip:") {
			return nil, badRequest("Invalid $skiptoken.")
		}
		q.skip = n
	}
	q.search = get("$search")
	if c := get("$count"); c != "" {
		q.count = strings.EqualFold(c, "true")
	}
	if o := strings.TrimSpace(get("$orderby")); o != "" {
		parts := strings.Fields(o)
		if len(parts) > 2 || strings.Contains(o, ",") || (len(parts) == 2 && !strings.EqualFold(parts[1], "asc") && !strings.EqualFold(parts[1], "desc")) {
			return nil, badRequest("Unsupported $orderby: only one property with asc or desc is supported.")
		}
		q.orderBy = parts[0]
		q.orderDesc = len(parts) == 2 && strings.EqualFold(parts[1], "desc")
	}
	return q, nil
}

// splitTop splits s on sep outside parentheses and trims the parts.
func splitTop(s string, sep byte) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		case sep:
			if depth == 0 {
				if p := strings.TrimSpace(s[start:i]); p != "" {
					out = append(out, p)
				}
				start = i + 1
			}
		}
	}
	if p := strings.TrimSpace(s[start:]); p != "" {
		out = append(out, p)
	}
	return out
}

func parseExpand(s string, depth int) (map[string]*expandNode, error) {
	if depth > 4 {
		return nil, filterErrorf("nested too deeply")
	}
	out := map[string]*expandNode{}
	for _, item := range splitTop(s, ',') {
		n := &expandNode{name: item}
		if i := strings.IndexByte(item, '('); i >= 0 {
			if !strings.HasSuffix(item, ")") {
				return nil, filterErrorf("malformed item %q", item)
			}
			n.name = strings.TrimSpace(item[:i])
			for _, opt := range splitTop(item[i+1:len(item)-1], ';') {
				k, v, ok := strings.Cut(opt, "=")
				if !ok {
					return nil, filterErrorf("malformed option %q", opt)
				}
				switch strings.ToLower(strings.TrimSpace(k)) {
				case "$expand":
					sub, err := parseExpand(v, depth+1)
					if err != nil {
						return nil, err
					}
					n.expand = sub
				case "$select":
					n.selct = splitTop(v, ',')
				default:
					return nil, filterErrorf("unsupported nested option %q", k)
				}
			}
		}
		if n.name == "" || strings.ContainsAny(n.name, "()=;$") {
			return nil, filterErrorf("malformed item %q", item)
		}
		out[strings.ToLower(n.name)] = n
	}
	return out, nil
}

// expanded reports whether nav is requested in ex and returns its node.
func expanded(ex map[string]*expandNode, nav string) (*expandNode, bool) {
	if ex == nil {
		return nil, false
	}
	n, ok := ex[strings.ToLower(nav)]
	if !ok {
		n, ok = ex["*"]
	}
	return n, ok
}

// checkExpand rejects $expand items the entity does not support.
func checkExpand(ex map[string]*expandNode, allowed ...string) *graphError {
	for k, n := range ex {
		ok := k == "*"
		for _, a := range allowed {
			if strings.EqualFold(a, k) {
				ok = true
			}
		}
		if !ok {
			return badRequest("Could not find a navigation property named '" + n.name + "' to expand.")
		}
	}
	return nil
}

// applySelect keeps the selected properties (plus id and the OData annotations).
func applySelect(obj map[string]any, sel []string, expandedNavs map[string]*expandNode) map[string]any {
	if len(sel) == 0 {
		return obj
	}
	out := map[string]any{}
	for k, v := range obj {
		if k == "id" || strings.HasPrefix(k, "@odata.") {
			out[k] = v
			continue
		}
		if _, ok := expandedNavs[strings.ToLower(k)]; ok {
			out[k] = v
			continue
		}
		for _, s := range sel {
			if strings.EqualFold(s, k) {
				out[k] = v
			}
		}
	}
	return out
}

// collection applies $filter, $orderby and paging to views and builds the collection response with
// @odata.context, @odata.count and @odata.nextLink (an absolute URL carrying $skiptoken). render,
// when set, turns a full (filterable) view into the output shape.
func (s *Sandbox) collection(c *reqCtx, contextPath string, views []map[string]any, render func(map[string]any) map[string]any) map[string]any {
	filtered := views[:0:0]
	for _, v := range views {
		if c.q.filter.match(v) {
			filtered = append(filtered, v)
		}
	}
	if c.q.orderBy != "" {
		key := strings.Split(c.q.orderBy, "/")
		sort.SliceStable(filtered, func(i, j int) bool {
			a, b := walkPath(filtered[i], key), walkPath(filtered[j], key)
			if c.q.orderDesc {
				return compareValues("gt", a, b)
			}
			return compareValues("lt", a, b)
		})
	}
	size := s.opts.PageSize
	if c.q.top > 0 && c.q.top < size {
		size = c.q.top
	}
	start := min(c.q.skip, len(filtered))
	end := min(start+size, len(filtered))
	items := make([]any, 0, end-start)
	for _, v := range filtered[start:end] {
		if render != nil {
			v = render(v)
		}
		items = append(items, applySelect(v, c.q.selct, c.q.expand))
	}
	body := map[string]any{
		"@odata.context": s.GraphURL() + "/$metadata#" + contextPath,
		"value":          items,
	}
	if c.q.count {
		body["@odata.count"] = len(filtered)
	}
	if end < len(filtered) {
		u := *c.r.URL
		vals := u.Query()
		for k := range vals {
			if strings.EqualFold(k, "$skiptoken") {
				vals.Del(k)
			}
		}
		vals.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte("skip:"+strconv.Itoa(end))))
		next, _ := url.Parse(s.BaseURL())
		next.Path = u.Path
		next.RawPath = u.RawPath
		next.RawQuery = vals.Encode()
		body["@odata.nextLink"] = next.String()
	}
	return body
}

// entity builds one entity response with @odata.context, honouring $select.
func (s *Sandbox) entity(c *reqCtx, contextPath string, obj map[string]any) map[string]any {
	out := applySelect(obj, c.q.selct, c.q.expand)
	out["@odata.context"] = s.GraphURL() + "/$metadata#" + contextPath + "/$entity"
	return out
}

// decodeBody decodes a JSON request body into v, answering Graph-like 400s on bad input.
func decodeBody(r *http.Request, v any) *graphError {
	if r.Body == nil {
		return badRequest("Empty Payload. JSON content expected.")
	}
	var body io.Reader = http.MaxBytesReader(nil, r.Body, 1<<20)
	// msgraph-sdk-go compresses request bodies (kiota's CompressionHandler); Graph accepts gzip.
	switch enc := strings.ToLower(r.Header.Get("Content-Encoding")); enc {
	case "":
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			return badRequest("Invalid gzip request body.")
		}
		defer zr.Close()
		body = io.LimitReader(zr, 1<<20)
	default:
		return gerr(http.StatusUnsupportedMediaType, "BadRequest", "Unsupported Content-Encoding '"+enc+"'.")
	}
	dec := json.NewDecoder(body)
	if err := dec.Decode(v); err != nil {
		return badRequest("Invalid request body: " + err.Error())
	}
	return nil
}

// searchTerm is one "property:term" clause of a $search expression.
type searchTerm struct{ prop, term string }

// parseSearch parses the directory $search syntax: quoted "property:term" clauses joined by OR
// or AND. Like Graph it needs the ConsistencyLevel: eventual header.
func parseSearch(r *http.Request, s string) (terms []searchTerm, all bool, err *graphError) {
	if !strings.EqualFold(r.Header.Get("ConsistencyLevel"), "eventual") {
		return nil, false, badRequest("Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'")
	}
	rest := strings.TrimSpace(s)
	op := ""
	for rest != "" {
		if !strings.HasPrefix(rest, "\"") {
			return nil, false, badRequest("Syntax error: $search clauses must be quoted \"property:term\".")
		}
		end := strings.IndexByte(rest[1:], '"')
		if end < 0 {
			return nil, false, badRequest("Syntax error: unterminated $search clause.")
		}
		clause := rest[1 : end+1]
		prop, term, ok := strings.Cut(clause, ":")
		if !ok || strings.TrimSpace(prop) == "" {
			return nil, false, badRequest("Syntax error: $search clauses must be \"property:term\".")
		}
		terms = append(terms, searchTerm{prop: strings.TrimSpace(prop), term: strings.ToLower(strings.TrimSpace(term))})
		rest = strings.TrimSpace(rest[end+2:])
		if rest == "" {
			break
		}
		word, tail, _ := strings.Cut(rest, " ")
		w := strings.ToUpper(word)
		if (w != "OR" && w != "AND") || (op != "" && op != w) {
			return nil, false, badRequest("Syntax error: $search clauses must be joined by one kind of OR / AND.")
		}
		op = w
		rest = strings.TrimSpace(tail)
		if len(terms) > 10 {
			return nil, false, badRequest("Too many $search clauses.")
		}
	}
	if len(terms) == 0 {
		return nil, false, badRequest("Empty $search.")
	}
	return terms, op == "AND", nil
}

// searchMatch applies tokenised prefix matching like the directory search index: a term matches
// when some word of the property value starts with it (or the whole value does).
func searchMatch(view map[string]any, terms []searchTerm, all bool) bool {
	for _, t := range terms {
		v, _ := lookupFold(view, t.prop).(string)
		ok := matchWords(strings.ToLower(v), t.term)
		if all && !ok {
			return false
		}
		if !all && ok {
			return true
		}
	}
	return all
}

func matchWords(value, term string) bool {
	if term == "" || strings.HasPrefix(value, term) {
		return true
	}
	for _, w := range strings.FieldsFunc(value, func(r rune) bool {
		return r == ' ' || r == '.' || r == '@' || r == '-' || r == '_'
	}) {
		if strings.HasPrefix(w, term) {
			return true
		}
	}
	return false
}
