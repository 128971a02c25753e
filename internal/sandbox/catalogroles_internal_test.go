package sandbox

import "testing"

// TestCatalogScopedRoutesExist keeps the catalog-role rules in step with the routes: every rule
// names an existing GET route whose permission admits app-only callers, so renaming a route
// cannot silently drop its rule.
func TestCatalogScopedRoutesExist(t *testing.T) {
	routes := map[string]route{}
	for _, rt := range (&Sandbox{}).buildRoutes() {
		routes[rt.key()] = rt
	}
	for key := range catalogScopedRoutes {
		rt, ok := routes[key]
		if !ok {
			t.Errorf("catalogScopedRoutes names %q, which is no route", key)
			continue
		}
		if rt.mutates || rt.perm == nil || rt.perm.app == nil {
			t.Errorf("%q: catalog roles are modelled for app-only reads only", key)
		}
	}
}
