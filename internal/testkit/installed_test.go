package testkit_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"testing"

	"guestpass/internal/testkit"
)

func TestFakeConnectorRefusesUsersWithoutTheApp(t *testing.T) {
	var mu sync.Mutex
	installed := map[string]bool{}
	fake := testkit.NewConnector(t, testkit.WithoutRateLimit(), testkit.WithInstalledApps(func(oid string) bool {
		mu.Lock()
		defer mu.Unlock()
		return installed[oid]
	}))
	create := func(member string) (*http.Response, string) {
		resp := post(t, fake.Client(), fake.ServiceURL+"v3/conversations",
			`{"bot":{"id":"28:bot"},"members":[`+member+`],"tenantId":"t1"}`)
		var body struct {
			ID    string                `json:"id"`
			Error struct{ Code string } `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		if body.ID != "" {
			return resp, body.ID
		}
		return resp, body.Error.Code
	}

	resp, code := create(`{"id":"u1","aadObjectId":"u1"}`)
	if resp.StatusCode != http.StatusForbidden || code != "BotNotInConversationRoster" {
		t.Fatalf("create without the app: %d %q, want 403 BotNotInConversationRoster", resp.StatusCode, code)
	}
	mu.Lock()
	installed["u1"] = true
	mu.Unlock()
	if resp, id := create(`{"id":"u1","aadObjectId":"u1"}`); resp.StatusCode != http.StatusCreated || id == "" {
		t.Fatalf("create after installing: %d %q", resp.StatusCode, id)
	}
	// A member given only by object id is checked by that id; a "29:" id is known to the bot already.
	if resp, _ := create(`{"id":"u2"}`); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("create for u2 without the app: %d", resp.StatusCode)
	}
	if resp, _ := create(`{"id":"29:pairwise-u2"}`); resp.StatusCode != http.StatusCreated {
		t.Fatalf("create by pairwise id: %d", resp.StatusCode)
	}
	statuses := []int{}
	for _, c := range fake.Calls() {
		statuses = append(statuses, c.Status)
	}
	if want := []int{403, 201, 403, 201}; !slices.Equal(statuses, want) {
		t.Fatalf("recorded statuses %v, want %v", statuses, want)
	}
}

func TestFakeConnectorEveryoneHasTheAppByDefault(t *testing.T) {
	fake := testkit.NewConnector(t)
	resp := post(t, fake.Client(), fake.ServiceURL+"v3/conversations", `{"bot":{"id":"28:bot"},"members":[{"id":"u1","aadObjectId":"u1"}],"tenantId":"t1"}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d, want 201", resp.StatusCode)
	}
}
