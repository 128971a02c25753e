package sandbox_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	kiotaauth "github.com/microsoft/kiota-authentication-azure-go"
	khttp "github.com/microsoft/kiota-http-go"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"

	"guestpass/internal/sandbox"
)

func jsonDecode(res *http.Response, v any) error {
	return json.NewDecoder(res.Body).Decode(v)
}

// selfSignedRSA makes a certificate and key for client-assertion tests.
func selfSignedRSA(t *testing.T) (*x509.Certificate, *rsa.PrivateKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "guestpass test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

const graphScope = "https://graph.microsoft.com/.default"

// newSandbox serves a fresh sandbox from an httptest TLS server.
func newSandbox(t *testing.T, opts sandbox.Options) *sandbox.Sandbox {
	t.Helper()
	sb, err := sandbox.New(opts)
	if err != nil {
		t.Fatalf("sandbox.New: %v", err)
	}
	srv := httptest.NewUnstartedServer(sb.Handler())
	srv.TLS = sb.TLSConfig()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	if err := sb.SetBaseURL(srv.URL); err != nil {
		t.Fatalf("SetBaseURL: %v", err)
	}
	return sb
}

func clientOptions(sb *sandbox.Sandbox) azcore.ClientOptions {
	return azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: sb.AuthorityHost()},
		Transport: sb.HTTPClient(),
		Retry:     policy.RetryOptions{MaxRetries: -1},
	}
}

func appCredential(t *testing.T, sb *sandbox.Sandbox) azcore.TokenCredential {
	t.Helper()
	creds := sb.AppCredentials()
	cred, err := azidentity.NewClientSecretCredential(sb.TenantID(), creds.ClientID, creds.ClientSecret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: clientOptions(sb), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatalf("NewClientSecretCredential: %v", err)
	}
	return cred
}

func oboCredential(t *testing.T, sb *sandbox.Sandbox, userOID string) azcore.TokenCredential {
	t.Helper()
	sso, err := sb.MintSSOToken(userOID)
	if err != nil {
		t.Fatalf("MintSSOToken: %v", err)
	}
	creds := sb.AppCredentials()
	cred, err := azidentity.NewOnBehalfOfCredentialWithSecret(sb.TenantID(), creds.ClientID, sso, creds.ClientSecret,
		&azidentity.OnBehalfOfCredentialOptions{ClientOptions: clientOptions(sb), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatalf("NewOnBehalfOfCredentialWithSecret: %v", err)
	}
	return cred
}

func token(t *testing.T, cred azcore.TokenCredential) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{graphScope}})
	if err != nil {
		t.Fatalf("GetToken: %v", err)
	}
	return tok.Token
}

// graphClient builds msgraph-sdk-go against the sandbox exactly as production does, except for the
// base URL, the allowed host and the trusted certificate.
func graphClient(t *testing.T, sb *sandbox.Sandbox, cred azcore.TokenCredential) *msgraphsdk.GraphServiceClient {
	t.Helper()
	u, _ := url.Parse(sb.BaseURL())
	auth, err := kiotaauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(cred, []string{graphScope}, []string{u.Hostname()})
	if err != nil {
		t.Fatalf("auth provider: %v", err)
	}
	opts := msgraphsdk.GetDefaultClientOptions()
	hc := msgraphcore.GetDefaultClient(&opts)
	hc.Transport = khttp.NewCustomTransportWithParentTransport(sb.HTTPClient().Transport, msgraphcore.GetDefaultMiddlewaresWithOptions(&opts)...)
	adapter, err := msgraphsdk.NewGraphRequestAdapterWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(auth, nil, nil, hc)
	if err != nil {
		t.Fatalf("request adapter: %v", err)
	}
	adapter.SetBaseUrl(sb.GraphURL())
	return msgraphsdk.NewGraphServiceClient(adapter)
}

// api is a plain HTTP client for the sandbox's Graph with a fixed bearer token.
type api struct {
	t     *testing.T
	sb    *sandbox.Sandbox
	hc    *http.Client
	token string
}

func newAPI(t *testing.T, sb *sandbox.Sandbox, tok string) *api {
	return &api{t: t, sb: sb, hc: sb.HTTPClient(), token: tok}
}

type resp struct {
	status int
	body   map[string]any
	header http.Header
	raw    []byte
}

// do sends a request; path is relative to the Graph URL ("/users") or the base URL ("!/sandbox/…"),
// or absolute. extra are header name/value pairs.
func (a *api) do(method, path string, body any, extra ...string) resp {
	a.t.Helper()
	target := path
	switch {
	case strings.HasPrefix(path, "!"):
		target = a.sb.BaseURL() + path[1:]
	case strings.HasPrefix(path, "/"):
		target = a.sb.GraphURL() + path
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			a.t.Fatalf("marshal: %v", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, target, rd)
	if err != nil {
		a.t.Fatalf("new request: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	res, err := a.hc.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := resp{status: res.StatusCode, header: res.Header, raw: raw}
	if len(raw) > 0 && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			a.t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return out
}

// must asserts the status and returns the body.
func (a *api) must(status int, method, path string, body any, extra ...string) map[string]any {
	a.t.Helper()
	r := a.do(method, path, body, extra...)
	if r.status != status {
		a.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, status, r.raw)
	}
	return r.body
}

// all follows @odata.nextLink and returns every item and the number of pages.
func (a *api) all(path string, extra ...string) ([]map[string]any, int) {
	a.t.Helper()
	var items []map[string]any
	pages := 0
	next := path
	for next != "" {
		body := a.must(200, "GET", next, nil, extra...)
		pages++
		for _, v := range body["value"].([]any) {
			items = append(items, v.(map[string]any))
		}
		next, _ = body["@odata.nextLink"].(string)
		if pages > 100 {
			a.t.Fatal("paging did not terminate")
		}
	}
	return items, pages
}

func errCode(r resp) string {
	e, _ := r.body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func q(s string) string { return url.QueryEscape(s) }

// demo provisions a catalog, the Project X group as resource, an access package and a policy for
// Contoso users with the given approval stages, app-only, over the wire.
type demo struct {
	catalogID, packageID, policyID string
}

func provision(t *testing.T, app *api, policy map[string]any) demo {
	t.Helper()
	var d demo
	d.catalogID = app.must(201, "POST", "/identityGovernance/entitlementManagement/catalogs", map[string]any{
		"displayName": "Guests " + time.Now().Format(time.RFC3339Nano), "isExternallyVisible": true, "state": "published",
	})["id"].(string)
	app.must(201, "POST", "/identityGovernance/entitlementManagement/resourceRequests", map[string]any{
		"requestType": "adminAdd", "resource": map[string]any{"originId": sandbox.GroupProjectX, "originSystem": "AadGroup"},
		"catalog": map[string]any{"id": d.catalogID},
	})
	d.packageID = app.must(201, "POST", "/identityGovernance/entitlementManagement/accessPackages", map[string]any{
		"displayName": "Project X guests", "description": "Guest access to Project X", "catalog": map[string]any{"id": d.catalogID},
	})["id"].(string)
	res := app.must(200, "GET", "/identityGovernance/entitlementManagement/catalogs/"+d.catalogID+"/resources?$expand=roles,scopes&$filter="+q("originId eq '"+sandbox.GroupProjectX+"'"), nil)
	items := res["value"].([]any)
	if len(items) != 1 {
		t.Fatalf("catalog resources: %v", res)
	}
	r := items[0].(map[string]any)
	app.must(201, "POST", "/identityGovernance/entitlementManagement/accessPackages/"+d.packageID+"/resourceRoleScopes", map[string]any{
		"role":  map[string]any{"originId": "Member_" + sandbox.GroupProjectX, "originSystem": "AadGroup", "resource": map[string]any{"id": r["id"]}},
		"scope": map[string]any{"originId": sandbox.GroupProjectX, "originSystem": "AadGroup", "isRootScope": true},
	})
	policy["accessPackage"] = map[string]any{"id": d.packageID}
	d.policyID = app.must(201, "POST", "/identityGovernance/entitlementManagement/assignmentPolicies", policy)["id"].(string)
	return d
}

func stage(approvers ...map[string]any) map[string]any {
	list := make([]any, len(approvers))
	for i, a := range approvers {
		list[i] = a
	}
	return map[string]any{"durationBeforeAutomaticDenial": "P14D", "primaryApprovers": list}
}

func singleUser(id string) map[string]any {
	return map[string]any{"@odata.type": "#microsoft.graph.singleUser", "userId": id}
}

func groupMembers(id string) map[string]any {
	return map[string]any{"@odata.type": "#microsoft.graph.groupMembers", "groupId": id}
}

// contosoPolicy is a policy for Contoso's connected organization with the given stages.
func contosoPolicy(stages ...map[string]any) map[string]any {
	list := make([]any, len(stages))
	for i, s := range stages {
		list[i] = s
	}
	return map[string]any{
		"displayName":        "Contoso guests",
		"allowedTargetScope": "specificConnectedOrganizationUsers",
		"specificAllowedTargets": []any{map[string]any{
			"@odata.type": "#microsoft.graph.connectedOrganizationMembers", "connectedOrganizationId": sandbox.ContosoConnectedOrgID,
		}},
		"expiration":        map[string]any{"type": "afterDuration", "duration": "P90D"},
		"requestorSettings": map[string]any{"enableTargetsToSelfAddAccess": true, "enableTargetsToSelfRemoveAccess": true},
		"requestApprovalSettings": map[string]any{
			"isApprovalRequiredForAdd": len(stages) > 0, "isRequestorJustificationRequired": true, "stages": list,
		},
	}
}
