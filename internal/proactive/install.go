package proactive

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"guestpass/internal/botframework"
	"guestpass/internal/teamsapp"
)

const (
	// installFailureTTL is how long a recipient the app could not be installed for (or whom Teams
	// refuses even with the app) is not tried again. Such failures are permissions, the catalog
	// id or the directory, which an admin fixes; without the pause every card, update and note to
	// the recipient would repeat the Graph call.
	installFailureTTL = time.Hour
	// installSettle is how long after installing the app a refused conversation counts as Teams
	// not having caught up with the installation yet (the row is retried, the install is not
	// repeated) rather than as an unreachable recipient. It outlasts the outbox's retries of one
	// row, after which an undelivered card is reported as unreachable anyway.
	installSettle = 15 * time.Minute
)

// installState is what this replica remembers about installing the app for one recipient.
type installState struct {
	at time.Time
	// installed: this replica installed the app at "at"; otherwise the attempt failed with reason.
	installed bool
	reason    string
}

// installCache remembers installations per recipient (lower-case object id). The zero value is
// ready to use; entries expire, so it stays as small as the recent failures.
type installCache struct {
	mu sync.Mutex
	m  map[string]installState
}

func (f *installCache) get(key string, now time.Time) (installState, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.m[key]
	if !ok || now.Sub(st.at) >= st.ttl() {
		return installState{}, false
	}
	return st, true
}

func (f *installCache) put(key string, st installState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[string]installState{}
	}
	for k, old := range f.m {
		if st.at.Sub(old.at) >= old.ttl() {
			delete(f.m, k)
		}
	}
	f.m[key] = st
}

func (s installState) ttl() time.Duration {
	if s.installed {
		return installSettle
	}
	return installFailureTTL
}

// installAndCreate runs when Teams refused to create oid's conversation (refusal) and installing
// is configured: it installs the bot's app for the user through Graph, once, and creates the
// conversation again. Errors wrap ErrUnreachable when trying again cannot help, with the reason.
func (c *Conversations) installAndCreate(ctx context.Context, tenantID, oid string, refusal error) (botframework.ConversationResource, error) {
	key := strings.ToLower(oid)
	st, known := c.installs.get(key, c.o.Now())
	switch {
	case known && !st.installed:
		return botframework.ConversationResource{}, fmt.Errorf("%w: create conversation: %v; %s (not tried again before %s)",
			ErrUnreachable, refusal, st.reason, st.at.Add(installFailureTTL).UTC().Format(time.RFC3339))
	case !known:
		installed, err := c.o.Installer.InstallForUser(ctx, oid)
		if err != nil {
			var ie *teamsapp.Error
			if errors.As(err, &ie) && ie.Permanent {
				c.installs.put(key, installState{at: c.o.Now(), reason: err.Error()})
				return botframework.ConversationResource{}, fmt.Errorf("%w: create conversation: %v; %v", ErrUnreachable, refusal, err)
			}
			// Throttled or Graph unavailable: the row is retried later.
			return botframework.ConversationResource{}, fmt.Errorf("create conversation: %v; %v", refusal, err)
		}
		if installed {
			c.o.Logger.Info("installed the app for a recipient Teams had refused a conversation with", "user_oid", oid)
			st = installState{at: c.o.Now(), installed: true}
			c.installs.put(key, st)
		}
	}
	res, err := c.create(ctx, tenantID, oid)
	switch {
	case err == nil:
		return res, nil
	case !refused(err):
		return botframework.ConversationResource{}, fmt.Errorf("create conversation after installing the app: %s", err.Error())
	case st.installed:
		// Teams can lag behind a fresh installation; retry the row without installing again.
		return botframework.ConversationResource{}, fmt.Errorf("the app was just installed for the user but Teams did not accept the conversation yet: %s", err.Error())
	}
	reason := "the app is installed for the user, but Teams refused the conversation: " + err.Error()
	c.installs.put(key, installState{at: c.o.Now(), reason: reason})
	return botframework.ConversationResource{}, fmt.Errorf("%w: %s", ErrUnreachable, reason)
}
