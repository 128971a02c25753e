package store

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

const outboxCols = `id, idem_key, kind, tenant_id, recipient_oid, conversation_id, payload, state, activity_id,
attempts, last_error, not_before, created_at, updated_at, claimed_by, claimed_until`

func scanOutbox(r rowScanner) (OutboxItem, error) {
	var it OutboxItem
	var payload []byte
	err := r.Scan(&it.ID, &it.Key, &it.Kind, &it.TenantID, &it.RecipientOID, &it.ConversationID, &payload,
		&it.State, &it.ActivityID, &it.Attempts, &it.LastError, timeCol{&it.NotBefore}, timeCol{&it.CreatedAt},
		timeCol{&it.UpdatedAt}, &it.ClaimedBy, timeCol{&it.ClaimedUntil})
	if payload != nil {
		it.Payload = json.RawMessage(payload)
	}
	return it, err
}

// EnqueueOutbox implements Store.
func (s *sqlStore) EnqueueOutbox(ctx context.Context, it OutboxItem) (bool, error) {
	if err := required("outbox key", it.Key); err != nil {
		return false, err
	}
	if err := required("outbox kind", it.Kind); err != nil {
		return false, err
	}
	if err := validJSON("outbox payload", it.Payload); err != nil {
		return false, err
	}
	now := s.now()
	notBefore := it.NotBefore
	if notBefore.IsZero() {
		notBefore = now
	}
	n, err := s.affected(ctx, `INSERT INTO outbox (idem_key, kind, tenant_id, recipient_oid, conversation_id, payload,
state, activity_id, attempts, last_error, not_before, created_at, updated_at, claimed_by, claimed_until)
VALUES (?, ?, ?, ?, ?, ?, 'pending', '', 0, '', ?, ?, ?, '', NULL)
ON CONFLICT (idem_key) DO NOTHING`,
		it.Key, it.Kind, it.TenantID, it.RecipientOID, it.ConversationID, njson(it.Payload),
		s.ts(notBefore), s.ts(now), s.ts(now))
	if err != nil {
		return false, fmt.Errorf("store: enqueue outbox %q: %w", it.Key, err)
	}
	return n == 1, nil
}

// ClaimOutbox implements Store. Both steps are single statements: the expiry sweep is idempotent,
// and the claim selects and updates in one statement (with SKIP LOCKED on PostgreSQL, under
// SQLite's single write lock otherwise), so no row is ever handed to two holders.
func (s *sqlStore) ClaimOutbox(ctx context.Context, holder string, limit int, lease time.Duration) ([]OutboxItem, error) {
	if err := required("outbox holder", holder); err != nil {
		return nil, err
	}
	if lease <= 0 {
		return nil, fmt.Errorf("%w: outbox lease %s is not positive", ErrInvalid, lease)
	}
	if limit <= 0 {
		return nil, fmt.Errorf("%w: outbox claim limit %d is not positive", ErrInvalid, limit)
	}
	limit = min(limit, maxListLimit)
	now := s.now()
	if _, err := s.exec(ctx, `UPDATE outbox SET state = 'unknown', updated_at = ?,
last_error = 'send outcome unknown: the claim expired before the send was confirmed'
WHERE state = 'sending' AND claimed_until <= ?`, s.ts(now), s.ts(now)); err != nil {
		return nil, fmt.Errorf("store: expire outbox claims: %w", err)
	}
	rows, err := s.queryOn(ctx, s.w, `UPDATE outbox
SET state = 'sending', claimed_by = ?, claimed_until = ?, attempts = attempts + 1, updated_at = ?
WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' AND not_before <= ?
  ORDER BY not_before, id LIMIT ?`+s.d.skipLocked+`)
RETURNING `+outboxCols,
		holder, s.ts(now.Add(lease)), s.ts(now), s.ts(now), limit)
	if err != nil {
		return nil, fmt.Errorf("store: claim outbox: %w", err)
	}
	defer rows.Close()
	var out []OutboxItem
	for rows.Next() {
		it, err := scanOutbox(rows)
		if err != nil {
			return nil, fmt.Errorf("store: claim outbox: %w", err)
		}
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: claim outbox: %w", err)
	}
	// RETURNING does not promise an order.
	sort.Slice(out, func(i, j int) bool {
		if !out[i].NotBefore.Equal(out[j].NotBefore) {
			return out[i].NotBefore.Before(out[j].NotBefore)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// markOutbox applies an update to one outbox row, reporting ErrNotFound when there is none.
func (s *sqlStore) markOutbox(ctx context.Context, id int64, set string, args ...any) error {
	args = append(append(args, s.ts(s.now())), id)
	n, err := s.affected(ctx, `UPDATE outbox SET `+set+`, updated_at = ? WHERE id = ?`, args...)
	if err != nil {
		return fmt.Errorf("store: update outbox item %d: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("outbox item %d: %w", id, ErrNotFound)
	}
	return nil
}

// MarkOutboxSent implements Store. It applies in any state: a late confirmation of a send that
// was already written off as unknown is still the truth.
func (s *sqlStore) MarkOutboxSent(ctx context.Context, id int64, activityID string) error {
	return s.markOutbox(ctx, id, `state = 'sent', activity_id = ?, last_error = ''`, activityID)
}

// MarkOutboxUnknown implements Store.
func (s *sqlStore) MarkOutboxUnknown(ctx context.Context, id int64, reason string) error {
	return s.markOutbox(ctx, id, `state = 'unknown', last_error = ?`, reason)
}

// MarkOutboxFailed implements Store.
func (s *sqlStore) MarkOutboxFailed(ctx context.Context, id int64, reason string, retryAt time.Time) error {
	if retryAt.IsZero() {
		return s.markOutbox(ctx, id, `state = 'failed', last_error = ?`, reason)
	}
	return s.markOutbox(ctx, id, `state = 'pending', last_error = ?, not_before = ?`, reason, s.ts(retryAt))
}

// OutboxByKey implements Store.
func (s *sqlStore) OutboxByKey(ctx context.Context, key string) (OutboxItem, error) {
	it, err := scanOutbox(s.queryRow(ctx, `SELECT `+outboxCols+` FROM outbox WHERE idem_key = ?`, key))
	if err != nil {
		return OutboxItem{}, notFound(err, "outbox item %q", key)
	}
	return it, nil
}

// ListOutbox implements Store.
func (s *sqlStore) ListOutbox(ctx context.Context, q OutboxQuery) ([]OutboxItem, error) {
	var f filter
	if q.Kind != "" {
		f.add("kind = ?", q.Kind)
	}
	if q.State != "" {
		f.add("state = ?", q.State)
	}
	if q.KeyPrefix != "" {
		// substr instead of LIKE: SQLite's LIKE ignores ASCII case and both need escaping.
		f.add("substr(idem_key, 1, ?) = ?", utf8.RuneCountInString(q.KeyPrefix), q.KeyPrefix)
	}
	rows, err := s.query(ctx, `SELECT `+outboxCols+` FROM outbox`+f.where()+` ORDER BY id LIMIT ?`,
		append(f.args, clampLimit(q.Limit))...)
	if err != nil {
		return nil, fmt.Errorf("store: list outbox: %w", err)
	}
	defer rows.Close()
	var out []OutboxItem
	for rows.Next() {
		it, err := scanOutbox(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list outbox: %w", err)
		}
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list outbox: %w", err)
	}
	return out, nil
}

// stringsKey normalises a name or address for case-insensitive uniqueness. Go's Unicode case
// mapping is used on both dialects so SQLite (ASCII-only lower()) and PostgreSQL (collation-
// dependent lower()) agree.
func stringsKey(v string) string { return strings.ToLower(strings.TrimSpace(v)) }
