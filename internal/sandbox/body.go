package sandbox

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// readObject decodes a JSON object body.
func readObject(c *reqCtx) (map[string]any, *graphError) {
	var m map[string]any
	if err := decodeBody(c.r, &m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, badRequest("The request body must be a JSON object.")
	}
	return m, nil
}

// checkProps rejects properties the resource does not have, as Graph does ("Invalid property"),
// which also catches beta-only names sent to v1.0. OData annotations and read-only properties a
// client may echo (id, createdDateTime, modifiedDateTime) are tolerated.
func checkProps(m map[string]any, typ string, allowed ...string) *graphError {
	for k := range m {
		if strings.HasPrefix(k, "@odata.") || strings.Contains(k, "@odata.") || k == "id" || k == "createdDateTime" || k == "modifiedDateTime" {
			continue
		}
		ok := false
		for _, a := range allowed {
			if a == k {
				ok = true
				break
			}
		}
		if !ok {
			return badRequest(fmt.Sprintf("Invalid property '%s': it does not exist on type 'microsoft.graph.%s'.", k, typ))
		}
	}
	return nil
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func obj(m map[string]any, k string) map[string]any {
	o, _ := m[k].(map[string]any)
	return o
}

func arr(m map[string]any, k string) []any {
	a, _ := m[k].([]any)
	return a
}

func optBool(m map[string]any, k string, def bool) (bool, *graphError) {
	v, ok := m[k]
	if !ok || v == nil {
		return def, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, badRequest("Property '" + k + "' must be a boolean.")
	}
	return b, nil
}

// refID returns m[k].id for navigation references such as {"catalog": {"id": "…"}}.
func refID(m map[string]any, k string) string {
	return str(obj(m, k), "id")
}

// requiredName validates a display name the way the sandbox does for every entity.
func requiredName(m map[string]any, k string, max int) (string, *graphError) {
	v, ok := m[k].(string)
	if !ok || strings.TrimSpace(v) == "" {
		return "", badRequest("Property '" + k + "' is required and must be a non-empty string.")
	}
	if len([]rune(v)) > max {
		return "", badRequest(fmt.Sprintf("Property '%s' must be at most %d characters.", k, max))
	}
	return v, nil
}

func optString(m map[string]any, k string) (string, *graphError) {
	v, ok := m[k]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", badRequest("Property '" + k + "' must be a string.")
	}
	if len(s) > 4000 {
		return "", badRequest("Property '" + k + "' is too long.")
	}
	return s, nil
}

func oneOf(v string, allowed ...string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}

// enumValue validates an enum property (OData enum members are case-sensitive in v1.0; the sandbox
// accepts any casing and normalises it, like the service does in practice).
func enumValue(m map[string]any, k, def string, allowed ...string) (string, *graphError) {
	v, ok := m[k]
	if !ok || v == nil {
		return def, nil
	}
	s, _ := v.(string)
	for _, a := range allowed {
		if strings.EqualFold(a, s) {
			return a, nil
		}
	}
	return "", badRequest(fmt.Sprintf("Invalid value '%v' for property '%s'; expected one of: %s.", v, k, strings.Join(allowed, ", ")))
}

var isoDurationRE = regexp.MustCompile(`^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$`)

// addISODuration adds an ISO 8601 duration (PnYnMnWnDTnHnMnS) to t.
func addISODuration(t time.Time, d string) (time.Time, error) {
	m := isoDurationRE.FindStringSubmatch(d)
	if m == nil || d == "P" || d == "PT" || strings.HasSuffix(d, "T") {
		return time.Time{}, fmt.Errorf("invalid ISO 8601 duration %q", d)
	}
	n := make([]int, 8)
	for i := 1; i < 8; i++ {
		if m[i] == "" {
			continue
		}
		v, err := strconv.Atoi(m[i])
		if err != nil || v > 100000 {
			return time.Time{}, fmt.Errorf("invalid ISO 8601 duration %q", d)
		}
		n[i] = v
	}
	t = t.AddDate(n[1], n[2], 7*n[3]+n[4])
	return t.Add(time.Duration(n[5])*time.Hour + time.Duration(n[6])*time.Minute + time.Duration(n[7])*time.Second), nil
}

func validDuration(m map[string]any, k string) *graphError {
	v, ok := m[k]
	if !ok || v == nil {
		return nil
	}
	s, _ := v.(string)
	if _, err := addISODuration(time.Time{}, s); err != nil {
		return badRequest(fmt.Sprintf("Property '%s' must be an ISO 8601 duration such as P14D: %v.", k, v))
	}
	return nil
}

var domainRE = regexp.MustCompile(`^(?i)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$`)

func validDomain(d string) bool { return len(d) <= 253 && domainRE.MatchString(d) }

func emailDomain(email string) string {
	i := strings.LastIndexByte(email, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(email[i+1:])
}

func conflict(msg string) *graphError { return gerr(http.StatusConflict, "Conflict", msg) }
