package graph

import (
	"context"
	"errors"
	"fmt"

	"github.com/microsoft/kiota-abstractions-go/serialization"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
)

// Stop, returned by an Each callback, ends the iteration early; Each then returns nil.
var Stop = errors.New("graph: stop iteration")

// Each calls fn for every item of a collection response and of every page after it, following
// @odata.nextLink with the client's adapter (so retries, auth and the call hook apply to every
// page). A non-nil error from fn stops the iteration and is returned (nil for Stop).
// factory is the collection response's constructor, e.g.
// models.CreateAccessPackageAssignmentRequestCollectionResponseFromDiscriminatorValue.
func Each[T any](ctx context.Context, client *msgraphsdk.GraphServiceClient, op string, firstPage serialization.Parsable,
	factory serialization.ParsableFactory, fn func(T) error) error {
	if firstPage == nil {
		return nil
	}
	it, err := msgraphcore.NewPageIterator[T](firstPage, client.GetAdapter(), factory)
	if err != nil {
		return fmt.Errorf("graph: %s: page iterator: %w", op, err)
	}
	var cbErr error
	err = it.Iterate(ctx, func(item T) bool {
		cbErr = fn(item)
		return cbErr == nil
	})
	if cbErr != nil {
		if errors.Is(cbErr, Stop) {
			return nil
		}
		return cbErr
	}
	if err != nil {
		return Wrap(op+" (next page)", err)
	}
	return nil
}
