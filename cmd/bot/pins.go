//go:build pins

// This file only keeps modules in go.mod that no package imports yet, so that `go mod tidy`
// (which considers every build tag) does not drop them before the code that needs them lands.
// It is never built: nothing sets the "pins" tag.

package main

import (
	_ "github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	_ "github.com/coder/websocket"
	_ "github.com/gin-gonic/gin"
	_ "github.com/go-jose/go-jose/v4"
	_ "github.com/golang-jwt/jwt/v5"
	_ "github.com/infracloudio/msbotbuilder-go/schema"
	_ "github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/microsoft/kiota-abstractions-go"
	_ "github.com/microsoft/kiota-authentication-azure-go"
	_ "github.com/microsoft/kiota-http-go"
	_ "github.com/microsoftgraph/msgraph-sdk-go"
	_ "github.com/microsoftgraph/msgraph-sdk-go-core"
	_ "github.com/microsoftgraph/msgraph-sdk-go/groups"
	_ "github.com/microsoftgraph/msgraph-sdk-go/identitygovernance"
	_ "github.com/microsoftgraph/msgraph-sdk-go/invitations"
	_ "github.com/microsoftgraph/msgraph-sdk-go/models"
	_ "github.com/microsoftgraph/msgraph-sdk-go/users"
	_ "github.com/pressly/goose/v3"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "golang.org/x/time/rate"
	_ "modernc.org/sqlite"
)
