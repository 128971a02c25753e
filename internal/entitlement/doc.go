// Package entitlement is guestpass's domain service: it maps a sponsor's guest scenario onto
// Microsoft Entra entitlement management (catalog, connected organizations, access package,
// assignment policy) and runs the operations sponsors, approvers and admins need, through Microsoft
// Graph v1.0. It has no Teams types.
//
// # One shared catalog
//
// All scenarios of a tenant live in one externally visible catalog ("guestpass guest access" by
// default) rather than a catalog each. The catalog is Entra's delegation boundary: with one
// catalog an administrator can run guestpass in restricted mode — pre-create the catalog, give the
// bot's service principal the catalog-scoped "Catalog owner" role instead of tenant-wide
// EntitlementManagement.ReadWrite.All, and set ServiceOptions.CatalogID — with a single role
// assignment. A resource (a Team, a site) used by several scenarios is added to the catalog once,
// and the catalog count stays flat as sponsors add scenarios. Scenarios stay separate where it
// matters: each has its own access package and assignment policy, and ownership is tracked in
// guestpass's store. In restricted mode guestpass never creates a catalog, and list calls that
// catalog-scoped roles require to be filtered by access package are made per scenario.
//
// # Idempotent provisioning
//
// CreateScenario looks every object up before creating it (catalog by name, resources by origin
// id, connected organizations by tenant id and by domain, the access package by name within the
// catalog, role scopes by role and scope, the policy by name within the package), so re-running it
// after a partial failure completes the scenario and duplicates nothing. Progress is written to the
// store (state provisioning → active, or failed with the error) as it goes.
//
// # Delegated operations
//
// Approval decisions, sponsor mail, B2B invitations, direct assignment and removal run with a
// credential the caller supplies (the user's on-behalf-of credential): Graph records the user as
// the actor and checks their rights. The app-only client is never used for them.
package entitlement
