package server

import (
	"context"
	"fmt"
	"sync"
	"time"

	"guestpass/internal/botframework"
	"guestpass/internal/store"
)

const (
	// refCacheSize bounds the conversations remembered; beyond it the cache starts over.
	refCacheSize = 10_000
	// refCacheTTL is how stale a stored reference may get before a message rewrites it anyway.
	refCacheTTL = 10 * time.Minute
)

// captureReference stores what proactive messages need: from installationUpdate and
// conversationUpdate always, from messages and invokes when it changed (or at most every
// refCacheTTL), so a busy conversation does not cost a database write per message.
// An uninstall (installationUpdate "remove", or the bot removed from a conversation) forgets it.
func (s *Server) captureReference(ctx context.Context, a *botframework.Activity) error {
	if a.Conversation.ID == "" || a.ServiceURL == "" {
		return nil
	}
	switch string(a.Type) {
	case botframework.TypeInstallationUpdate:
		if a.Action == "remove" {
			return s.forget(ctx, a.Conversation.ID)
		}
	case botframework.TypeConversationUpdate:
		for _, m := range a.MembersRemoved {
			if m.ID != "" && m.ID == a.Recipient.ID {
				return s.forget(ctx, a.Conversation.ID)
			}
		}
	case botframework.TypeMessage, botframework.TypeInvoke:
	default:
		return nil
	}
	ref := store.ConversationRef{
		ConversationID:   a.Conversation.ID,
		ConversationType: a.Conversation.ConversationType,
		ServiceURL:       a.ServiceURL,
		TenantID:         a.TenantID(),
		BotID:            a.Recipient.ID,
		BotName:          a.Recipient.Name,
		UserID:           a.From.ID,
		UserAADObjectID:  a.From.AadObjectID,
		UserName:         a.From.Name,
	}
	if a.ChannelData.Team != nil {
		ref.TeamID = a.ChannelData.Team.ID
	}
	if a.ChannelData.Channel != nil {
		ref.ChannelID = a.ChannelData.Channel.ID
	}
	always := string(a.Type) == botframework.TypeInstallationUpdate || string(a.Type) == botframework.TypeConversationUpdate
	now := time.Now()
	if !always && s.refs.fresh(ref, now) {
		return nil
	}
	if err := s.cfg.Store.UpsertConversation(ctx, ref); err != nil {
		s.refs.forget(ref.ConversationID)
		return fmt.Errorf("upsert conversation reference: %w", err)
	}
	s.refs.remember(ref, now)
	return nil
}

func (s *Server) forget(ctx context.Context, conversationID string) error {
	s.refs.forget(conversationID)
	if err := s.cfg.Store.DeleteConversation(ctx, conversationID); err != nil {
		return fmt.Errorf("delete conversation reference: %w", err)
	}
	return nil
}

// refCache remembers the last reference written per conversation.
type refCache struct {
	mu   sync.Mutex
	max  int
	ttl  time.Duration
	refs map[string]cachedRef
}

type cachedRef struct {
	ref store.ConversationRef
	at  time.Time
}

func newRefCache(max int, ttl time.Duration) *refCache {
	return &refCache{max: max, ttl: ttl, refs: make(map[string]cachedRef)}
}

// fresh reports whether ref equals what was written for its conversation within the TTL.
func (c *refCache) fresh(ref store.ConversationRef, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	got, ok := c.refs[ref.ConversationID]
	return ok && got.ref == ref && now.Sub(got.at) < c.ttl
}

func (c *refCache) remember(ref store.ConversationRef, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.refs) >= c.max {
		clear(c.refs)
	}
	c.refs[ref.ConversationID] = cachedRef{ref: ref, at: now}
}

func (c *refCache) forget(conversationID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.refs, conversationID)
}
