package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// ClaimActivity implements Store with a single INSERT … ON CONFLICT DO NOTHING: the database
// decides the one winner, whichever replica or goroutine asks.
func (s *sqlStore) ClaimActivity(ctx context.Context, conversationID, activityID string) (bool, error) {
	if err := required("conversation id", conversationID); err != nil {
		return false, err
	}
	if err := required("activity id", activityID); err != nil {
		return false, err
	}
	n, err := s.affected(ctx, `INSERT INTO processed_activities (conversation_id, activity_id, claimed_at)
VALUES (?, ?, ?) ON CONFLICT (conversation_id, activity_id) DO NOTHING`,
		conversationID, activityID, s.ts(s.now()))
	if err != nil {
		return false, fmt.Errorf("store: claim activity: %w", err)
	}
	return n == 1, nil
}

// ReleaseActivity implements Store.
func (s *sqlStore) ReleaseActivity(ctx context.Context, conversationID, activityID string) error {
	if _, err := s.exec(ctx, `DELETE FROM processed_activities WHERE conversation_id = ? AND activity_id = ?`,
		conversationID, activityID); err != nil {
		return fmt.Errorf("store: release activity: %w", err)
	}
	return nil
}

// PruneActivities implements Store.
func (s *sqlStore) PruneActivities(ctx context.Context, olderThan time.Time) (int64, error) {
	n, err := s.affected(ctx, `DELETE FROM processed_activities WHERE claimed_at < ?`, s.ts(olderThan))
	if err != nil {
		return 0, fmt.Errorf("store: prune activities: %w", err)
	}
	return n, nil
}

const conversationCols = `conversation_id, conversation_type, service_url, tenant_id, bot_id, bot_name,
user_id, user_aad_object_id, user_name, team_id, channel_id, updated_at`

func scanConversation(r rowScanner) (ConversationRef, error) {
	var c ConversationRef
	err := r.Scan(&c.ConversationID, &c.ConversationType, &c.ServiceURL, &c.TenantID, &c.BotID, &c.BotName,
		&c.UserID, &c.UserAADObjectID, &c.UserName, &c.TeamID, &c.ChannelID, timeCol{&c.UpdatedAt})
	return c, err
}

// UpsertConversation implements Store. A non-empty new value replaces the stored one; an empty one
// keeps it (COALESCE(NULLIF(…))), so a conversationUpdate without a user does not erase the user a
// message recorded.
func (s *sqlStore) UpsertConversation(ctx context.Context, ref ConversationRef) error {
	if err := required("conversation id", ref.ConversationID); err != nil {
		return err
	}
	_, err := s.exec(ctx, `INSERT INTO conversations (`+conversationCols+`)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (conversation_id) DO UPDATE SET
  conversation_type = COALESCE(NULLIF(excluded.conversation_type, ''), conversations.conversation_type),
  service_url = COALESCE(NULLIF(excluded.service_url, ''), conversations.service_url),
  tenant_id = COALESCE(NULLIF(excluded.tenant_id, ''), conversations.tenant_id),
  bot_id = COALESCE(NULLIF(excluded.bot_id, ''), conversations.bot_id),
  bot_name = COALESCE(NULLIF(excluded.bot_name, ''), conversations.bot_name),
  user_id = COALESCE(NULLIF(excluded.user_id, ''), conversations.user_id),
  user_aad_object_id = COALESCE(NULLIF(excluded.user_aad_object_id, ''), conversations.user_aad_object_id),
  user_name = COALESCE(NULLIF(excluded.user_name, ''), conversations.user_name),
  team_id = COALESCE(NULLIF(excluded.team_id, ''), conversations.team_id),
  channel_id = COALESCE(NULLIF(excluded.channel_id, ''), conversations.channel_id),
  updated_at = excluded.updated_at`,
		ref.ConversationID, ref.ConversationType, ref.ServiceURL, ref.TenantID, ref.BotID, ref.BotName,
		ref.UserID, ref.UserAADObjectID, ref.UserName, ref.TeamID, ref.ChannelID, s.ts(s.now()))
	if err != nil {
		return fmt.Errorf("store: upsert conversation: %w", err)
	}
	return nil
}

// Conversation implements Store.
func (s *sqlStore) Conversation(ctx context.Context, conversationID string) (ConversationRef, error) {
	c, err := scanConversation(s.queryRow(ctx, `SELECT `+conversationCols+` FROM conversations WHERE conversation_id = ?`, conversationID))
	if err != nil {
		return ConversationRef{}, notFound(err, "conversation %q", conversationID)
	}
	return c, nil
}

// PersonalConversation implements Store.
func (s *sqlStore) PersonalConversation(ctx context.Context, tenantID, userAADObjectID string) (ConversationRef, error) {
	if err := required("user object id", userAADObjectID); err != nil {
		return ConversationRef{}, err
	}
	c, err := scanConversation(s.queryRow(ctx, `SELECT `+conversationCols+` FROM conversations
WHERE tenant_id = ? AND user_aad_object_id = ? AND conversation_type = 'personal'
ORDER BY updated_at DESC, conversation_id LIMIT 1`, tenantID, userAADObjectID))
	if err != nil {
		return ConversationRef{}, notFound(err, "personal conversation of %q in tenant %q", userAADObjectID, tenantID)
	}
	return c, nil
}

// DeleteConversation implements Store.
func (s *sqlStore) DeleteConversation(ctx context.Context, conversationID string) error {
	if _, err := s.exec(ctx, `DELETE FROM conversations WHERE conversation_id = ?`, conversationID); err != nil {
		return fmt.Errorf("store: delete conversation: %w", err)
	}
	return nil
}

const dialogCols = `conversation_id, user_id, name, step, state, version, updated_at, expires_at`

// LoadDialog implements Store.
func (s *sqlStore) LoadDialog(ctx context.Context, conversationID, userID string) (Dialog, error) {
	var d Dialog
	var state []byte
	err := s.queryRow(ctx, `SELECT `+dialogCols+` FROM dialogs WHERE conversation_id = ? AND user_id = ?`,
		conversationID, userID).
		Scan(&d.ConversationID, &d.UserID, &d.Name, &d.Step, &state, &d.Version, timeCol{&d.UpdatedAt}, timeCol{&d.ExpiresAt})
	if err != nil {
		return Dialog{}, notFound(err, "dialog of %q in %q", userID, conversationID)
	}
	if state != nil {
		d.State = json.RawMessage(state)
	}
	return d, nil
}

// SaveDialog implements Store: the version check and the write are one statement, so of two
// concurrent saves from the same version exactly one succeeds.
func (s *sqlStore) SaveDialog(ctx context.Context, d Dialog) (Dialog, error) {
	if err := required("conversation id", d.ConversationID); err != nil {
		return Dialog{}, err
	}
	if err := required("user id", d.UserID); err != nil {
		return Dialog{}, err
	}
	if err := required("dialog name", d.Name); err != nil {
		return Dialog{}, err
	}
	if d.Version < 0 {
		return Dialog{}, fmt.Errorf("%w: negative dialog version %d", ErrInvalid, d.Version)
	}
	if err := validJSON("dialog state", d.State); err != nil {
		return Dialog{}, err
	}
	now := s.now()
	var (
		n   int64
		err error
	)
	if d.Version == 0 {
		n, err = s.affected(ctx, `INSERT INTO dialogs (`+dialogCols+`) VALUES (?, ?, ?, ?, ?, 1, ?, ?)
ON CONFLICT (conversation_id, user_id) DO NOTHING`,
			d.ConversationID, d.UserID, d.Name, d.Step, njson(d.State), s.ts(now), s.nts(d.ExpiresAt))
	} else {
		n, err = s.affected(ctx, `UPDATE dialogs SET name = ?, step = ?, state = ?, version = version + 1,
updated_at = ?, expires_at = ? WHERE conversation_id = ? AND user_id = ? AND version = ?`,
			d.Name, d.Step, njson(d.State), s.ts(now), s.nts(d.ExpiresAt), d.ConversationID, d.UserID, d.Version)
	}
	if err != nil {
		return Dialog{}, fmt.Errorf("store: save dialog: %w", err)
	}
	if n == 0 {
		return Dialog{}, fmt.Errorf("dialog of %q in %q changed since version %d: %w", d.UserID, d.ConversationID, d.Version, ErrConflict)
	}
	d.Version++
	d.UpdatedAt = now
	d.ExpiresAt = norm(d.ExpiresAt)
	return d, nil
}

// DeleteDialog implements Store.
func (s *sqlStore) DeleteDialog(ctx context.Context, conversationID, userID string) error {
	if _, err := s.exec(ctx, `DELETE FROM dialogs WHERE conversation_id = ? AND user_id = ?`, conversationID, userID); err != nil {
		return fmt.Errorf("store: delete dialog: %w", err)
	}
	return nil
}

// PruneDialogs implements Store.
func (s *sqlStore) PruneDialogs(ctx context.Context, now time.Time) (int64, error) {
	n, err := s.affected(ctx, `DELETE FROM dialogs WHERE expires_at <= ?`, s.ts(now))
	if err != nil {
		return 0, fmt.Errorf("store: prune dialogs: %w", err)
	}
	return n, nil
}

func validJSON(what string, v []byte) error {
	if v != nil && !json.Valid(v) {
		return fmt.Errorf("%w: %s is not valid JSON", ErrInvalid, what)
	}
	return nil
}

const auditCols = `id, at, actor_oid, actor_name, tenant_id, action, target, outcome, detail,
activity_id, conversation_id, graph_request_id`

// AppendAudit implements Store.
func (s *sqlStore) AppendAudit(ctx context.Context, e AuditEntry) error {
	if err := required("audit action", e.Action); err != nil {
		return err
	}
	at := e.At
	if at.IsZero() {
		at = s.now()
	}
	_, err := s.exec(ctx, `INSERT INTO audit_log (at, actor_oid, actor_name, tenant_id, action, target, outcome,
detail, activity_id, conversation_id, graph_request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ts(at), e.ActorOID, e.ActorName, e.TenantID, e.Action, e.Target, e.Outcome, e.Detail,
		e.ActivityID, e.ConversationID, e.GraphRequestID)
	if err != nil {
		return fmt.Errorf("store: append audit: %w", err)
	}
	return nil
}

// ListAudit implements Store.
func (s *sqlStore) ListAudit(ctx context.Context, q AuditQuery) ([]AuditEntry, error) {
	var f filter
	if q.ActorOID != "" {
		f.add("actor_oid = ?", q.ActorOID)
	}
	if q.Action != "" {
		f.add("action = ?", q.Action)
	}
	if !q.Before.IsZero() {
		f.add("at < ?", s.ts(q.Before))
	}
	rows, err := s.query(ctx, `SELECT `+auditCols+` FROM audit_log`+f.where()+` ORDER BY at DESC, id DESC LIMIT ?`,
		append(f.args, clampLimit(q.Limit))...)
	if err != nil {
		return nil, fmt.Errorf("store: list audit: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		if err := rows.Scan(&e.ID, timeCol{&e.At}, &e.ActorOID, &e.ActorName, &e.TenantID, &e.Action, &e.Target,
			&e.Outcome, &e.Detail, &e.ActivityID, &e.ConversationID, &e.GraphRequestID); err != nil {
			return nil, fmt.Errorf("store: list audit: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list audit: %w", err)
	}
	return out, nil
}

// AcquireLease implements Store in one upsert whose update only applies when the lease is
// expired or already the holder's, so two replicas can never both hold it.
func (s *sqlStore) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if err := required("lease name", name); err != nil {
		return false, err
	}
	if err := required("lease holder", holder); err != nil {
		return false, err
	}
	if ttl <= 0 {
		return false, fmt.Errorf("%w: lease ttl %s is not positive", ErrInvalid, ttl)
	}
	now := s.now()
	n, err := s.affected(ctx, `INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
WHERE leases.holder = excluded.holder OR leases.expires_at <= ?`,
		name, holder, s.ts(now.Add(ttl)), s.ts(now))
	if err != nil {
		return false, fmt.Errorf("store: acquire lease %q: %w", name, err)
	}
	return n == 1, nil
}

// ReleaseLease implements Store.
func (s *sqlStore) ReleaseLease(ctx context.Context, name, holder string) error {
	if _, err := s.exec(ctx, `DELETE FROM leases WHERE name = ? AND holder = ?`, name, holder); err != nil {
		return fmt.Errorf("store: release lease %q: %w", name, err)
	}
	return nil
}

// GetKV implements Store.
func (s *sqlStore) GetKV(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	err := s.queryRow(ctx, `SELECT value FROM kv WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)`,
		key, s.ts(s.now())).Scan(&v)
	if err != nil {
		return nil, notFound(err, "key %q", key)
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// PutKV implements Store.
func (s *sqlStore) PutKV(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := required("key", key); err != nil {
		return err
	}
	if value == nil {
		value = []byte{}
	}
	now := s.now()
	var exp time.Time
	if ttl > 0 {
		exp = now.Add(ttl)
	}
	_, err := s.exec(ctx, `INSERT INTO kv (key, value, expires_at, updated_at) VALUES (?, ?, ?, ?)
ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
		key, value, s.nts(exp), s.ts(now))
	if err != nil {
		return fmt.Errorf("store: put key %q: %w", key, err)
	}
	return nil
}

// DeleteKV implements Store.
func (s *sqlStore) DeleteKV(ctx context.Context, key string) error {
	if _, err := s.exec(ctx, `DELETE FROM kv WHERE key = ?`, key); err != nil {
		return fmt.Errorf("store: delete key %q: %w", key, err)
	}
	return nil
}

// PruneKV implements Store.
func (s *sqlStore) PruneKV(ctx context.Context, now time.Time) (int64, error) {
	n, err := s.affected(ctx, `DELETE FROM kv WHERE expires_at <= ?`, s.ts(now))
	if err != nil {
		return 0, fmt.Errorf("store: prune keys: %w", err)
	}
	return n, nil
}
