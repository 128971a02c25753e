package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

const scenarioCols = `id, tenant_id, name, owner_oid, co_owner_oids, catalog_id, access_package_id, policy_id,
connected_org_ids, state, spec, last_error, created_at, updated_at, retired_at`

func scanScenario(r rowScanner) (ScenarioRecord, error) {
	var (
		rec            ScenarioRecord
		coOwners, orgs string
		spec           []byte
	)
	if err := r.Scan(&rec.ID, &rec.TenantID, &rec.Name, &rec.OwnerOID, &coOwners, &rec.CatalogID,
		&rec.AccessPackageID, &rec.PolicyID, &orgs, &rec.State, &spec, &rec.LastError,
		timeCol{&rec.CreatedAt}, timeCol{&rec.UpdatedAt}, optTimeCol{&rec.RetiredAt}); err != nil {
		return ScenarioRecord{}, err
	}
	var err error
	if rec.CoOwnerOIDs, err = parseList("scenario co-owners", coOwners); err != nil {
		return ScenarioRecord{}, err
	}
	if rec.ConnectedOrgIDs, err = parseList("scenario connected organizations", orgs); err != nil {
		return ScenarioRecord{}, err
	}
	if spec != nil {
		rec.Spec = json.RawMessage(spec)
	}
	return rec, nil
}

// cleanList drops empty and repeated ids, keeping the first occurrence's order; nil when empty.
func cleanList(v []string) []string {
	var out []string
	for _, s := range v {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// stringList encodes a list as a JSON array, never null.
func stringList(v []string) string {
	if v == nil {
		v = []string{}
	}
	b, _ := json.Marshal(v) // a []string always marshals
	return string(b)
}

// parseList decodes a JSON array column; an empty array is nil, as cleanList would make it.
func parseList(what, v string) ([]string, error) {
	var out []string
	if err := json.Unmarshal([]byte(v), &out); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// PutScenario implements Store. The co-owner index table is rewritten in the same transaction, so
// ListScenarios' owner filter always matches the stored CoOwnerOIDs.
func (s *sqlStore) PutScenario(ctx context.Context, rec ScenarioRecord) error {
	for _, f := range []struct{ what, v string }{{"scenario id", rec.ID}, {"tenant id", rec.TenantID},
		{"scenario name", rec.Name}, {"scenario owner", rec.OwnerOID}} {
		if err := required(f.what, f.v); err != nil {
			return err
		}
	}
	if err := oneOf("scenario state", rec.State, ScenarioProvisioning, ScenarioActive, ScenarioFailed, ScenarioRetired); err != nil {
		return err
	}
	if err := validJSON("scenario spec", rec.Spec); err != nil {
		return err
	}
	now := s.now()
	created := rec.CreatedAt
	if created.IsZero() {
		created = now
	}
	retired := optTime(rec.RetiredAt)
	if rec.State == ScenarioRetired && retired == nil {
		retired = &now
	}
	var retiredArg any
	if retired != nil {
		retiredArg = s.ts(*retired)
	}
	coOwners := cleanList(rec.CoOwnerOIDs)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.d.bind(`INSERT INTO scenarios (`+scenarioCols+`, name_key)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET tenant_id = excluded.tenant_id, name = excluded.name,
  name_key = excluded.name_key, owner_oid = excluded.owner_oid, co_owner_oids = excluded.co_owner_oids,
  catalog_id = excluded.catalog_id, access_package_id = excluded.access_package_id,
  policy_id = excluded.policy_id, connected_org_ids = excluded.connected_org_ids, state = excluded.state,
  spec = excluded.spec, last_error = excluded.last_error, updated_at = excluded.updated_at,
  retired_at = excluded.retired_at`),
			rec.ID, rec.TenantID, rec.Name, rec.OwnerOID, stringList(coOwners), rec.CatalogID,
			rec.AccessPackageID, rec.PolicyID, stringList(cleanList(rec.ConnectedOrgIDs)), rec.State, njson(rec.Spec),
			rec.LastError, s.ts(created), s.ts(now), retiredArg, stringsKey(rec.Name)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.d.bind(`DELETE FROM scenario_co_owners WHERE scenario_id = ?`), rec.ID); err != nil {
			return err
		}
		for _, oid := range coOwners {
			if _, err := tx.ExecContext(ctx, s.d.bind(`INSERT INTO scenario_co_owners (scenario_id, owner_oid) VALUES (?, ?)`),
				rec.ID, oid); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		if s.d.isUnique(err) {
			return fmt.Errorf("scenario name %q is already used in tenant %q: %w", rec.Name, rec.TenantID, ErrConflict)
		}
		return fmt.Errorf("store: put scenario %q: %w", rec.ID, err)
	}
	return nil
}

// GetScenario implements Store.
func (s *sqlStore) GetScenario(ctx context.Context, id string) (ScenarioRecord, error) {
	rec, err := scanScenario(s.queryRow(ctx, `SELECT `+scenarioCols+` FROM scenarios WHERE id = ?`, id))
	if err != nil {
		return ScenarioRecord{}, notFound(err, "scenario %q", id)
	}
	return rec, nil
}

// ScenarioByName implements Store.
func (s *sqlStore) ScenarioByName(ctx context.Context, tenantID, name string) (ScenarioRecord, error) {
	rec, err := scanScenario(s.queryRow(ctx, `SELECT `+scenarioCols+` FROM scenarios WHERE tenant_id = ? AND name_key = ?`,
		tenantID, stringsKey(name)))
	if err != nil {
		return ScenarioRecord{}, notFound(err, "scenario %q in tenant %q", name, tenantID)
	}
	return rec, nil
}

// ScenarioByAccessPackage implements Store.
func (s *sqlStore) ScenarioByAccessPackage(ctx context.Context, accessPackageID string) (ScenarioRecord, error) {
	if err := required("access package id", accessPackageID); err != nil {
		return ScenarioRecord{}, err
	}
	rec, err := scanScenario(s.queryRow(ctx, `SELECT `+scenarioCols+` FROM scenarios WHERE access_package_id = ?
ORDER BY created_at LIMIT 1`, accessPackageID))
	if err != nil {
		return ScenarioRecord{}, notFound(err, "scenario of access package %q", accessPackageID)
	}
	return rec, nil
}

// ListScenarios implements Store.
func (s *sqlStore) ListScenarios(ctx context.Context, q ScenarioQuery) ([]ScenarioRecord, error) {
	var f filter
	if q.TenantID != "" {
		f.add("tenant_id = ?", q.TenantID)
	}
	if q.OwnerOID != "" {
		f.add("(owner_oid = ? OR id IN (SELECT scenario_id FROM scenario_co_owners WHERE owner_oid = ?))", q.OwnerOID, q.OwnerOID)
	}
	if !q.IncludeRetired {
		f.add("state <> 'retired'")
	}
	rows, err := s.query(ctx, `SELECT `+scenarioCols+` FROM scenarios`+f.where()+` ORDER BY name_key, id`, f.args...)
	if err != nil {
		return nil, fmt.Errorf("store: list scenarios: %w", err)
	}
	defer rows.Close()
	var out []ScenarioRecord
	for rows.Next() {
		rec, err := scanScenario(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list scenarios: %w", err)
		}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list scenarios: %w", err)
	}
	return out, nil
}

const onboardingCols = `id, tenant_id, scenario_id, sponsor_oid, guest_email, guest_oid, channel, state, request_id,
assignment_id, last_error, expires_at, notified_state, invited_at, created_at, updated_at`

func scanOnboarding(r rowScanner) (Onboarding, error) {
	var o Onboarding
	err := r.Scan(&o.ID, &o.TenantID, &o.ScenarioID, &o.SponsorOID, &o.GuestEmail, &o.GuestOID, &o.Channel, &o.State,
		&o.RequestID, &o.AssignmentID, &o.LastError, optTimeCol{&o.ExpiresAt}, &o.NotifiedState,
		timeCol{&o.InvitedAt}, timeCol{&o.CreatedAt}, timeCol{&o.UpdatedAt})
	return o, err
}

var onboardingStates = []string{OnboardingLinkSent, OnboardingRequested, OnboardingApproved, OnboardingDenied,
	OnboardingDelivered, OnboardingExpiring, OnboardingExpired, OnboardingRemoved, OnboardingFailed}

func validOnboardingState(state string) error {
	return oneOf("onboarding state", state, onboardingStates...)
}

// UpsertOnboarding implements Store.
func (s *sqlStore) UpsertOnboarding(ctx context.Context, o Onboarding) (Onboarding, error) {
	for _, f := range []struct{ what, v string }{{"tenant id", o.TenantID}, {"scenario id", o.ScenarioID},
		{"sponsor", o.SponsorOID}, {"guest email", o.GuestEmail}} {
		if err := required(f.what, f.v); err != nil {
			return Onboarding{}, err
		}
	}
	if err := oneOf("onboarding channel", o.Channel, ChannelMail, ChannelCard, ChannelB2B); err != nil {
		return Onboarding{}, err
	}
	if err := validOnboardingState(o.State); err != nil {
		return Onboarding{}, err
	}
	now := s.now()
	var expires any
	if e := optTime(o.ExpiresAt); e != nil {
		expires = s.ts(*e)
	}
	out, err := scanOnboarding(s.queryRowOn(ctx, s.w, `INSERT INTO onboardings (tenant_id, scenario_id,
sponsor_oid, guest_email, email_key, guest_oid, channel, state, request_id, assignment_id, last_error, expires_at,
notified_state, invited_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (scenario_id, email_key) DO UPDATE SET tenant_id = excluded.tenant_id,
  sponsor_oid = excluded.sponsor_oid, guest_email = excluded.guest_email, guest_oid = excluded.guest_oid,
  channel = excluded.channel, state = excluded.state, request_id = excluded.request_id,
  assignment_id = excluded.assignment_id, last_error = excluded.last_error, expires_at = excluded.expires_at,
  notified_state = excluded.notified_state, invited_at = excluded.invited_at, updated_at = excluded.updated_at
RETURNING `+onboardingCols,
		o.TenantID, o.ScenarioID, o.SponsorOID, o.GuestEmail, stringsKey(o.GuestEmail), o.GuestOID, o.Channel, o.State,
		o.RequestID, o.AssignmentID, o.LastError, expires, o.NotifiedState, s.ts(now), s.ts(now), s.ts(now)))
	if err != nil {
		if s.d.isForeignKey(err) {
			return Onboarding{}, fmt.Errorf("onboarding for scenario %q: scenario %w", o.ScenarioID, ErrNotFound)
		}
		return Onboarding{}, fmt.Errorf("store: upsert onboarding: %w", err)
	}
	return out, nil
}

// GetOnboarding implements Store.
func (s *sqlStore) GetOnboarding(ctx context.Context, id int64) (Onboarding, error) {
	o, err := scanOnboarding(s.queryRow(ctx, `SELECT `+onboardingCols+` FROM onboardings WHERE id = ?`, id))
	if err != nil {
		return Onboarding{}, notFound(err, "onboarding %d", id)
	}
	return o, nil
}

// ListOnboardings implements Store.
func (s *sqlStore) ListOnboardings(ctx context.Context, q OnboardingQuery) ([]Onboarding, error) {
	var f filter
	if q.TenantID != "" {
		f.add("tenant_id = ?", q.TenantID)
	}
	if q.SponsorOID != "" {
		f.add("sponsor_oid = ?", q.SponsorOID)
	}
	if q.ScenarioID != "" {
		f.add("scenario_id = ?", q.ScenarioID)
	}
	if q.GuestEmail != "" {
		f.add("email_key = ?", stringsKey(q.GuestEmail))
	}
	if q.State != "" {
		f.add("state = ?", q.State)
	}
	if len(q.States) > 0 {
		args := make([]any, len(q.States))
		for i, st := range q.States {
			args[i] = st
		}
		f.add("state IN ("+placeholders(len(q.States))+")", args...)
	}
	rows, err := s.query(ctx, `SELECT `+onboardingCols+` FROM onboardings`+f.where()+
		` ORDER BY invited_at DESC, id DESC LIMIT ?`, append(f.args, clampLimit(q.Limit))...)
	if err != nil {
		return nil, fmt.Errorf("store: list onboardings: %w", err)
	}
	defer rows.Close()
	var out []Onboarding
	for rows.Next() {
		o, err := scanOnboarding(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list onboardings: %w", err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list onboardings: %w", err)
	}
	return out, nil
}

// UpdateOnboardingState implements Store.
func (s *sqlStore) UpdateOnboardingState(ctx context.Context, id int64, state string, fl OnboardingFields) (Onboarding, error) {
	if err := validOnboardingState(state); err != nil {
		return Onboarding{}, err
	}
	set := "state = ?, updated_at = ?"
	args := []any{state, s.ts(s.now())}
	for _, f := range []struct {
		col string
		v   *string
	}{{"guest_oid", fl.GuestOID}, {"request_id", fl.RequestID}, {"assignment_id", fl.AssignmentID},
		{"last_error", fl.LastError}, {"notified_state", fl.NotifiedState}} {
		if f.v != nil {
			set += ", " + f.col + " = ?"
			args = append(args, *f.v)
		}
	}
	if fl.ExpiresAt != nil {
		set += ", expires_at = ?"
		args = append(args, s.nts(*fl.ExpiresAt))
	}
	o, err := scanOnboarding(s.queryRowOn(ctx, s.w, `UPDATE onboardings SET `+set+` WHERE id = ? RETURNING `+onboardingCols,
		append(args, id)...))
	if err != nil {
		return Onboarding{}, notFound(err, "onboarding %d", id)
	}
	return o, nil
}

// CountInvitesSince implements Store.
func (s *sqlStore) CountInvitesSince(ctx context.Context, sponsorOID string, since time.Time) (int, error) {
	var n int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM onboardings WHERE sponsor_oid = ? AND invited_at >= ?`,
		sponsorOID, s.ts(since)).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count invites: %w", err)
	}
	return n, nil
}
