-- Initial schema (PostgreSQL). The same tables as the SQLite schema with native types:
-- TIMESTAMPTZ, JSON (kept byte for byte, unlike JSONB, so both dialects round-trip the same
-- documents), BYTEA and identity columns.

-- +goose Up
CREATE TABLE processed_activities (
    conversation_id TEXT NOT NULL,
    activity_id     TEXT NOT NULL,
    claimed_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (conversation_id, activity_id)
);
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
    updated_at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX conversations_user ON conversations (tenant_id, user_aad_object_id, updated_at);

CREATE TABLE dialogs (
    conversation_id TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    name            TEXT NOT NULL,
    step            TEXT NOT NULL DEFAULT '',
    state           JSON,
    version         BIGINT NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    expires_at      TIMESTAMPTZ,
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX dialogs_expires_at ON dialogs (expires_at);

CREATE TABLE audit_log (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at               TIMESTAMPTZ NOT NULL,
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
);
CREATE INDEX audit_log_at ON audit_log (at, id);
CREATE INDEX audit_log_actor ON audit_log (actor_oid, at);
CREATE INDEX audit_log_action ON audit_log (action, at);

CREATE TABLE leases (
    name       TEXT NOT NULL PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE outbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idem_key        TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL,
    tenant_id       TEXT NOT NULL DEFAULT '',
    recipient_oid   TEXT NOT NULL DEFAULT '',
    conversation_id TEXT NOT NULL DEFAULT '',
    payload         JSON,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'unknown', 'failed')),
    activity_id     TEXT NOT NULL DEFAULT '',
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    not_before      TIMESTAMPTZ NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    claimed_by      TEXT NOT NULL DEFAULT '',
    claimed_until   TIMESTAMPTZ
);
CREATE INDEX outbox_due ON outbox (state, not_before, id);
CREATE INDEX outbox_claims ON outbox (state, claimed_until);
CREATE INDEX outbox_kind ON outbox (kind, state);

CREATE TABLE scenarios (
    id                TEXT NOT NULL PRIMARY KEY,
    tenant_id         TEXT NOT NULL,
    name              TEXT NOT NULL,
    name_key          TEXT NOT NULL,
    owner_oid         TEXT NOT NULL,
    co_owner_oids     JSON NOT NULL DEFAULT '[]',
    catalog_id        TEXT NOT NULL DEFAULT '',
    access_package_id TEXT NOT NULL DEFAULT '',
    policy_id         TEXT NOT NULL DEFAULT '',
    connected_org_ids JSON NOT NULL DEFAULT '[]',
    state             TEXT NOT NULL CHECK (state IN ('provisioning', 'active', 'failed', 'retired')),
    spec              JSON,
    last_error        TEXT NOT NULL DEFAULT '',
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    retired_at        TIMESTAMPTZ
);
CREATE UNIQUE INDEX scenarios_tenant_name ON scenarios (tenant_id, name_key);
CREATE INDEX scenarios_owner ON scenarios (tenant_id, owner_oid);
CREATE INDEX scenarios_access_package ON scenarios (access_package_id);

CREATE TABLE scenario_co_owners (
    scenario_id TEXT NOT NULL REFERENCES scenarios (id) ON DELETE CASCADE,
    owner_oid   TEXT NOT NULL,
    PRIMARY KEY (scenario_id, owner_oid)
);
CREATE INDEX scenario_co_owners_owner ON scenario_co_owners (owner_oid);

CREATE TABLE onboardings (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
    expires_at     TIMESTAMPTZ,
    notified_state TEXT NOT NULL DEFAULT '',
    invited_at     TIMESTAMPTZ NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX onboardings_scenario_email ON onboardings (scenario_id, email_key);
CREATE INDEX onboardings_sponsor ON onboardings (sponsor_oid, invited_at);
CREATE INDEX onboardings_state ON onboardings (state);
CREATE INDEX onboardings_tenant_email ON onboardings (tenant_id, email_key);

CREATE TABLE kv (
    key        TEXT NOT NULL PRIMARY KEY,
    value      BYTEA NOT NULL,
    expires_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ NOT NULL
);
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
