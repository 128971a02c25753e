package sandbox

import "strings"

// Directory (Microsoft Entra) role assignments, read-only: GET
// /roleManagement/directory/roleAssignments, so the admin "doctor" can see a directory role held
// by the bot's service principal. Entra accepts some roles in place of application permissions —
// Identity Governance Administrator stands in for the EntitlementManagement ones — and a doctor
// that only read the token's roles claim would report such a tenant as misconfigured. The sandbox
// records the assignments; its own authorization of Graph calls still looks at app roles only.

// DirectoryRoleIdentityGovernanceAdmin is the template id (the roleDefinitionId of its
// assignments) of the built-in Identity Governance Administrator directory role.
const DirectoryRoleIdentityGovernanceAdmin = "45d8d3c5-c802-45c6-b32a-1d70b5e1e86e"

type dirRoleAssignmentRec struct {
	ID               string `json:"id"`
	PrincipalID      string `json:"principalId"`
	RoleDefinitionID string `json:"roleDefinitionId"`
	DirectoryScopeID string `json:"directoryScopeId"`
}

// permDirectoryRolesRead is what Graph documents for listing directory role assignments.
var permDirectoryRolesRead = &perm{
	app: []string{"RoleManagement.Read.Directory", "RoleManagement.Read.All", "RoleManagement.ReadWrite.Directory",
		"Directory.Read.All", "Directory.ReadWrite.All"},
	delegated: []string{"RoleManagement.Read.Directory", "RoleManagement.Read.All", "RoleManagement.ReadWrite.Directory",
		"Directory.Read.All", "Directory.ReadWrite.All"},
}

// AssignDirectoryRole assigns the directory role roleDefinitionID (a role template id such as
// DirectoryRoleIdentityGovernanceAdmin) to principalID tenant-wide and returns the assignment's
// id, as an administrator would in the Entra admin center.
func (s *Sandbox) AssignDirectoryRole(principalID, roleDefinitionID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := &dirRoleAssignmentRec{ID: newID(), PrincipalID: strings.ToLower(principalID),
		RoleDefinitionID: strings.ToLower(roleDefinitionID), DirectoryScopeID: "/"}
	s.st.DirectoryRoleAssignments = append(s.st.DirectoryRoleAssignments, a)
	s.persistLocked()
	return a.ID
}

func (s *Sandbox) listDirectoryRoleAssignments(c *reqCtx) (int, any, *graphError) {
	views := make([]map[string]any, 0, len(s.st.DirectoryRoleAssignments))
	for _, a := range s.st.DirectoryRoleAssignments {
		views = append(views, map[string]any{
			"id": a.ID, "principalId": a.PrincipalID, "roleDefinitionId": a.RoleDefinitionID, "directoryScopeId": a.DirectoryScopeID,
		})
	}
	return 200, s.collection(c, "roleManagement/directory/roleAssignments", views, nil), nil
}

// AssignEntitlementRole assigns the entitlement-management role roleDefinitionID (such as
// EMRoleCatalogOwner) to principalID at appScopeID ("/" or "/AccessPackageCatalog/{id}") and
// returns the assignment's id, as an Identity Governance Administrator would for restricted mode.
func (s *Sandbox) AssignEntitlementRole(principalID, roleDefinitionID, appScopeID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := &emRoleAssignmentRec{ID: newID(), PrincipalID: strings.ToLower(principalID), RoleDefinitionID: roleDefinitionID,
		DirectoryScopeID: "/", AppScopeID: appScopeID}
	s.st.EMRoleAssignments = append(s.st.EMRoleAssignments, a)
	s.persistLocked()
	return a.ID
}
