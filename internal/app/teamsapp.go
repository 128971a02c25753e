package app

import (
	"fmt"

	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"

	"guestpass/internal/admin"
	"guestpass/internal/proactive"
	"guestpass/internal/teamsapp"
)

// appInstaller returns, when TEAMS_APP_CATALOG_ID is set, the installer approvals and onboarding use to add the
// bot's Teams app for approvers Teams refuses a chat with, and the Graph permission doctor must
// then check; nil and none when it is not set.
func (a *App) appInstaller(appOnly *msgraphsdk.GraphServiceClient) (proactive.Installer, []admin.Requirement, error) {
	if a.cfg.TeamsAppCatalogID == "" {
		return nil, nil, nil
	}
	in, err := teamsapp.New(teamsapp.Options{Graph: appOnly, CatalogID: a.cfg.TeamsAppCatalogID, Logger: a.log})
	if err != nil {
		return nil, nil, fmt.Errorf("teams app installer: %w", err)
	}
	return in, []admin.Requirement{admin.InstallForApprovers}, nil
}
