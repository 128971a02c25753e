package sandbox_test

import (
	"slices"
	"testing"

	"guestpass/internal/sandbox"
)

// TestDirectoryRoleAssignments: the bot's directory roles are listed by principal, with the
// permission Graph documents for reading them.
func TestDirectoryRoleAssignments(t *testing.T) {
	sb := newSandbox(t, sandbox.Options{})
	id := sb.AssignDirectoryRole(sandbox.BotServicePrincipalID, sandbox.DirectoryRoleIdentityGovernanceAdmin)
	sb.AssignDirectoryRole(sandbox.UserPatti, sandbox.DirectoryRoleIdentityGovernanceAdmin)
	path := "/roleManagement/directory/roleAssignments?$filter=" + q("principalId eq '"+sandbox.BotServicePrincipalID+"'")

	// The default permissions do not include reading directory roles.
	if r := appAPI(t, sb).do("GET", path, nil); r.status != 403 || errCode(r) != "Authorization_RequestDenied" {
		t.Fatalf("without RoleManagement.Read.Directory: %d %s", r.status, r.raw)
	}

	sb.SetAppRoles(append(slices.Clone(sandbox.DefaultAppRoles), "RoleManagement.Read.Directory"))
	list, _ := appAPI(t, sb).all(path)
	if len(list) != 1 || list[0]["id"] != id || list[0]["roleDefinitionId"] != sandbox.DirectoryRoleIdentityGovernanceAdmin ||
		list[0]["principalId"] != sandbox.BotServicePrincipalID || list[0]["directoryScopeId"] != "/" {
		t.Fatalf("assignments of the bot = %v", list)
	}
	if list, _ := appAPI(t, sb).all("/roleManagement/directory/roleAssignments?$filter=" + q("principalId eq 'o''brien'")); len(list) != 0 {
		t.Errorf("an escaped quote matched %v", list)
	}
}
