package dialogs_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/microsoft/kiota-abstractions-go/serialization"
	igov "github.com/microsoftgraph/msgraph-sdk-go/identitygovernance"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"guestpass/internal/botframework"
	"guestpass/internal/cards"
	"guestpass/internal/sandbox"
	"guestpass/internal/store"
	"guestpass/internal/testenv"
	"guestpass/internal/testkit"
)

const (
	on  = cards.ToggleOn
	off = cards.ToggleOff
)

// toPartners starts a blank wizard and fills in the name step.
func toPartners(t *testing.T, b *bot, name string) testenv.Card {
	t.Helper()
	picker := b.say("new scenario")
	if !picker.Has("Project partner") || !picker.Has("Vendor app access") || !picker.Has("Event guest") {
		t.Fatalf("template picker misses templates:\n%s", picker.Raw)
	}
	nameCard := b.click(picker, cards.VerbNewScenario, nil)
	if !nameCard.Has("Name and description") {
		t.Fatalf("not the name step:\n%s", nameCard.Raw)
	}
	partners := b.click(nameCard, cards.VerbWizardNext, map[string]string{cards.InputName: name, cards.InputDescription: "Partners on the project"})
	if !partners.Has("Partner organisations") {
		t.Fatalf("not the partners step:\n%s", partners.Raw)
	}
	return partners
}

// TestSponsorCreatesScenario is the sponsor's whole conversation through /api/messages, from
// "new scenario" to the Entra objects in the sandbox tenant.
func TestSponsorCreatesScenario(t *testing.T) {
	tn := newTenant(t)
	b := tn.start(t, botOptions{})

	partners := toPartners(t, b, "Falcon partners")
	resources := b.click(partners, cards.VerbWizardNext, map[string]string{cards.InputPartnerDomains: "Fabrikam.com", cards.InputAnyExternalUser: off})
	found := b.click(resources, cards.VerbWizardSearch, map[string]string{cards.InputResourceQuery: "Project X"})
	pick := found.Choice(t, "Project X (Team) · Member") + "," + found.Choice(t, "Project X (SharePoint site) · Visitors")
	// Adding goes through Action.Submit: the same step function, the clicked card updated.
	added := b.submit(found, cards.VerbWizardAddResources, map[string]string{cards.InputResourcePick: pick})
	if !added.Has("Remove") {
		t.Fatalf("resources not added:\n%s", added.Raw)
	}
	approval := b.click(added, cards.VerbWizardNext, nil)
	duration := b.click(approval, cards.VerbWizardNext, map[string]string{
		cards.InputApprovalRequired: on, cards.InputSponsorApproves: on, cards.InputStage1Approvers: "",
		cards.InputStage2Approvers: "Megan Bowen", cards.InputStage3Approvers: "",
		cards.InputRequestorJustification: on, cards.InputApproverJustification: on, cards.InputAutoDenyDays: "5",
	})
	if !duration.Has("Access duration") {
		t.Fatalf("not the duration step:\n%s", duration.Raw)
	}
	questions := b.click(duration, cards.VerbWizardNext, map[string]string{cards.InputDurationDays: "60", cards.InputAllowExtension: on, cards.InputAllowB2B: off})
	review := b.click(questions, cards.VerbWizardNext, map[string]string{
		cards.InputQuestion(1): "Which project team are you in?", cards.InputQuestionChoices(1): "Design, Build", cards.InputQuestionRequired(1): on,
	})
	if !review.Has("Review") || !review.Has("Megan Bowen") || !review.Has("fabrikam.com") {
		t.Fatalf("review misses settings:\n%s", review.Raw)
	}

	progress := b.click(review, cards.VerbCreateScenario, nil)
	if !progress.Has("Creating") {
		t.Fatalf("Create did not answer with the progress card:\n%s", progress.Raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done, err := tn.Connector.WaitFor(ctx, func(c testkit.Call) bool {
		return c.Op == botframework.OpUpdate && c.ActivityID == testkit.PlaygroundCardActivityID && strings.Contains(string(c.Body), "is ready")
	})
	if err != nil {
		t.Fatalf("no result card: %v; calls: %+v", err, tn.Connector.Calls())
	}
	result := testenv.CardOf(t, done.Activity)
	if !result.Has("myaccess.microsoft.com") {
		t.Fatalf("result card has no My Access link:\n%s", result.Raw)
	}
	invite := result.Action(t, cards.VerbInviteGuests)
	if invite[cards.KeyScenarioID] == "" {
		t.Fatalf("Invite guests carries no scenario id: %v", invite)
	}
	if _, _, found := dialogOf(t, b.store); found {
		t.Fatal("the dialog survived a successful creation")
	}

	// The Entra objects, read back from the sandbox over Graph.
	rec, err := b.store.ScenarioByName(ctx, sandbox.TenantID, "Falcon partners")
	if err != nil {
		t.Fatal(err)
	}
	if rec.State != store.ScenarioActive || rec.OwnerOID != sandbox.UserAlex || rec.ID != invite[cards.KeyScenarioID] {
		t.Fatalf("scenario record = %+v", rec)
	}
	em := tn.Graph.IdentityGovernance().EntitlementManagement()
	cat, err := em.Catalogs().ByAccessPackageCatalogId(rec.CatalogID).Get(ctx, nil)
	if err != nil || !*cat.GetIsExternallyVisible() {
		t.Fatalf("catalog: %v (externally visible: %v)", err, cat.GetIsExternallyVisible())
	}
	if len(rec.ConnectedOrgIDs) != 1 {
		t.Fatalf("connected organizations = %v", rec.ConnectedOrgIDs)
	}
	org, err := em.ConnectedOrganizations().ByConnectedOrganizationId(rec.ConnectedOrgIDs[0]).Get(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.ToLower(*org.GetDisplayName()+" "+identitySources(org.GetIdentitySources())), "fabrikam.com") {
		t.Fatalf("connected organization is not fabrikam.com: %s", *org.GetDisplayName())
	}
	pkg, err := em.AccessPackages().ByAccessPackageId(rec.AccessPackageID).Get(ctx, &igov.EntitlementManagementAccessPackagesAccessPackageItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &igov.EntitlementManagementAccessPackagesAccessPackageItemRequestBuilderGetQueryParameters{Expand: []string{"resourceRoleScopes($expand=role,scope)"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var roles []string
	for _, rrs := range pkg.GetResourceRoleScopes() {
		roles = append(roles, *rrs.GetRole().GetOriginId())
	}
	slices.Sort(roles)
	if want := []string{"5", "Member_" + sandbox.GroupProjectX}; !slices.Equal(roles, want) {
		t.Fatalf("role scopes = %v, want %v", roles, want)
	}
	pol, err := em.AssignmentPolicies().ByAccessPackageAssignmentPolicyId(rec.PolicyID).Get(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := pol.GetAllowedTargetScope(); s == nil || s.String() != "specificConnectedOrganizationUsers" {
		t.Fatalf("allowedTargetScope = %v", s)
	}
	exp := pol.GetExpiration()
	if exp == nil || isoDays(exp.GetDuration()) != 60 {
		t.Fatalf("expiration = %v (additional data %v), want 60 days", exp.GetDuration(), exp.GetAdditionalData())
	}
	ras := pol.GetRequestApprovalSettings()
	if ras == nil || !*ras.GetIsApprovalRequiredForAdd() || len(ras.GetStages()) != 2 {
		t.Fatalf("approval settings = %+v", ras)
	}
	st2 := ras.GetStages()[1]
	var approver string
	if ap := st2.GetPrimaryApprovers(); len(ap) == 1 {
		if su, ok := ap[0].(*models.SingleUser); ok {
			approver = *su.GetUserId()
		}
	}
	if approver != sandbox.UserMegan {
		t.Fatalf("stage 2 approver = %q, want Megan", approver)
	}
	if d := st2.GetDurationBeforeAutomaticDenial(); isoDays(d) != 5 {
		t.Fatalf("stage 2 auto-denial = %v, want P5D", d)
	}
	if !*st2.GetIsApproverJustificationRequired() || !*ras.GetIsRequestorJustificationRequired() {
		t.Fatal("justifications are not required")
	}
	if !*pol.GetRequestorSettings().GetEnableTargetsToSelfAddAccess() {
		t.Fatal("policy does not let partners request access")
	}
	if len(pol.GetQuestions()) != 1 {
		t.Fatalf("questions = %d, want 1", len(pol.GetQuestions()))
	}
}

// identitySources lists the domains and tenant ids of a connected organization.
func identitySources(src []models.IdentitySourceable) string {
	var out []string
	for _, s := range src {
		switch x := s.(type) {
		case *models.DomainIdentitySource:
			out = append(out, *x.GetDomainName())
		case *models.AzureActiveDirectoryTenant:
			out = append(out, *x.GetTenantId())
		}
	}
	return strings.Join(out, " ")
}

// isoDays is an ISO 8601 duration in whole days (-1 when absent or not whole days).
func isoDays(d *serialization.ISODuration) int {
	if d == nil || d.GetHours() != 0 || d.GetMinutes() != 0 || d.GetSeconds() != 0 {
		return -1
	}
	return d.GetYears()*365 + d.GetWeeks()*7 + d.GetDays()
}
