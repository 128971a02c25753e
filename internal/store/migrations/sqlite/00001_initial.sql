-- Initial schema (SQLite). Timestamps are UTC text in the fixed-width form
-- 2006-01-02T15:04:05.000000Z so that text comparison is time order; JSON is TEXT.

-- +goose Up
CREATE TABLE processed_activities (
    conversation_id TEXT NOT NULL,
    activity_id     TEXT NOT NULL,
    claimed_at      TEXT NOT NULL,
    PRIMARY KEY (conversation_id, activity_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX processed_activities_claimed_at ON processed_activities (claimed_at);

CREATE TABLE conversations (
    conversation_id    TEXT NOT NULL PRIMARY KEY,
    conversation_type  TEXT NOT NULL DEFAULT '',
    service_url        TEXT NOT NULL DEFAULT '',
    tenant_id          TEXT NOT NULL DEFAULT '',
    bot_id             TEXT NOT NULL DEFAULT '',
    bot_name           TEXT NOT NULL DEFAULT '',
    user_id            TEXT NOT NULL DEFAULT '',
    user_aad_object_id TEXT NOT NULL DEFAULT '',
    user_name          TEXT NOT NULL DEFAULT '',
    team_id            TEXT NOT NULL DEFAULT '',
    channel_id         TEXT NOT NULL DEFAULT '',
    updated_at         TEXT NOT NULL
) STRICT;
CREATE INDEX conversations_user ON conversations (tenant_id, user_aad_object_id, updated_at);

CREATE TABLE dialogs (
    conversation_id TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    name            TEXT NOT NULL,
    step            TEXT NOT NULL DEFAULT '',
    state           TEXT,
    version         INTEGER NOT NULL,
    updated_at      TEXT NOT NULL,
    expires_at      TEXT,
    PRIMARY KEY (conversation_id, user_id)
) STRICT;
CREATE INDEX dialogs_expires_at ON dialogs (expires_at);

CREATE TABLE audit_log (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    at               TEXT NOT NULL,
    actor_oid        TEXT NOT NULL DEFAULT '',
    actor_name       TEXT NOT NULL DEFAULT '',
    tenant_id        TEXT NOT NULL DEFAULT '',
    action           TEXT NOT NULL,
    target           TEXT NOT NULL DEFAULT '',
    outcome          TEXT NOT NULL DEFAULT '',
    detail           TEXT NOT NULL DEFAULT '',
    activity_id      TEXT NOT NULL DEFAULT '',
    conversation_id  TEXT NOT NULL DEFAULT '',
    graph_request_id TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX audit_log_at ON audit_log (at, id);
CREATE INDEX audit_log_actor ON audit_log (actor_oid, at);
CREATE INDEX audit_log_action ON audit_log (action, at);

CREATE TABLE leases (
    name       TEXT NOT NULL PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TEXT NOT NULL
) STRICT;

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    idem_key        TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL,
    tenant_id       TEXT NOT NULL DEFAULT '',
    recipient_oid   TEXT NOT NULL DEFAULT '',
    conversation_id TEXT NOT NULL DEFAULT '',
    payload         TEXT,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'unknown', 'failed')),
    activity_id     TEXT NOT NULL DEFAULT '',
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    not_before      TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    claimed_by      TEXT NOT NULL DEFAULT '',
    claimed_until   TEXT
) STRICT;
CREATE INDEX outbox_due ON outbox (state, not_before, id);
CREATE INDEX outbox_claims ON outbox (state, claimed_until);
CREATE INDEX outbox_kind ON outbox (kind, state);

CREATE TABLE scenarios (
    id                TEXT NOT NULL PRIMARY KEY,
    tenant_id         TEXT NOT NULL,
    name              TEXT NOT NULL,
    name_key          TEXT NOT NULL,
    owner_oid         TEXT NOT NULL,
    co_owner_oids     TEXT NOT NULL DEFAULT '[]',
    catalog_id        TEXT NOT NULL DEFAULT '',
    access_package_id TEXT NOT NULL DEFAULT '',
    policy_id         TEXT NOT NULL DEFAULT '',
    connected_org_ids TEXT NOT NULL DEFAULT '[]',
    state             TEXT NOT NULL CHECK (state IN ('provisioning', 'active', 'failed', 'retired')),
    spec              TEXT,
    last_error        TEXT NOT NULL DEFAULT '',
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    retired_at        TEXT
) STRICT;
CREATE UNIQUE INDEX scenarios_tenant_name ON scenarios (tenant_id, name_key);
CREATE INDEX scenarios_owner ON scenarios (tenant_id, owner_oid);
CREATE INDEX scenarios_access_package ON scenarios (access_package_id);

CREATE TABLE scenario_co_owners (
    scenario_id TEXT NOT NULL REFERENCES scenarios (id) ON DELETE CASCADE,
    owner_oid   TEXT NOT NULL,
    PRIMARY KEY (scenario_id, owner_oid)
) STRICT, WITHOUT ROWID;
CREATE INDEX scenario_co_owners_owner ON scenario_co_owners (owner_oid);

CREATE TABLE onboardings (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id      TEXT NOT NULL,
    scenario_id    TEXT NOT NULL REFERENCES scenarios (id),
    sponsor_oid    TEXT NOT NULL,
    guest_email    TEXT NOT NULL,
    email_key      TEXT NOT NULL,
    guest_oid      TEXT NOT NULL DEFAULT '',
    channel        TEXT NOT NULL CHECK (channel IN ('mail', 'card', 'b2b')),
    state          TEXT NOT NULL CHECK (state IN ('link_sent', 'requested', 'approved', 'denied', 'delivered',
                                                  'expiring', 'expired', 'removed', 'failed')),
    request_id     TEXT NOT NULL DEFAULT '',
    assignment_id  TEXT NOT NULL DEFAULT '',
    last_error     TEXT NOT NULL DEFAULT '',
    expires_at     TEXT,
    notified_state TEXT NOT NULL DEFAULT '',
    invited_at     TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX onboardings_scenario_email ON onboardings (scenario_id, email_key);
CREATE INDEX onboardings_sponsor ON onboardings (sponsor_oid, invited_at);
CREATE INDEX onboardings_state ON onboardings (state);
CREATE INDEX onboardings_tenant_email ON onboardings (tenant_id, email_key);

CREATE TABLE kv (
    key        TEXT NOT NULL PRIMARY KEY,
    value      BLOB NOT NULL,
    expires_at TEXT,
    updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX kv_expires_at ON kv (expires_at);

-- +goose Down
DROP TABLE kv;
DROP TABLE onboardings;
DROP TABLE scenario_co_owners;
DROP TABLE scenarios;
DROP TABLE outbox;
DROP TABLE leases;
DROP TABLE audit_log;
DROP TABLE dialogs;
DROP TABLE conversations;
DROP TABLE processed_activities;
