-- Platform tables: accounts, keys, customers, audit log, idempotency records.
-- Times are INTEGER microseconds since the Unix epoch (identical on both engines);
-- livemode is 0/1. Every tenant table starts its key with (account_id, livemode).
CREATE TABLE accounts (
  id          TEXT    NOT NULL PRIMARY KEY,
  name        TEXT    NOT NULL,
  created_at  INTEGER NOT NULL
);

-- One-time markers shared by all nodes (e.g. which account the first start created).
CREATE TABLE kassa_meta (
  key    TEXT NOT NULL PRIMARY KEY,
  value  TEXT NOT NULL
);

CREATE TABLE api_keys (
  account_id  TEXT    NOT NULL,
  livemode    INTEGER NOT NULL,
  id          TEXT    NOT NULL,
  type        TEXT    NOT NULL,
  name        TEXT    NOT NULL,
  key_hash    TEXT    NOT NULL,
  masked      TEXT    NOT NULL,
  created_at  INTEGER NOT NULL,
  revoked_at  INTEGER,
  PRIMARY KEY (account_id, livemode, id)
);
CREATE UNIQUE INDEX api_keys_by_hash ON api_keys (key_hash);
CREATE INDEX api_keys_by_created ON api_keys (account_id, livemode, created_at, id);

CREATE TABLE customers (
  account_id                 TEXT    NOT NULL,
  livemode                   INTEGER NOT NULL,
  id                         TEXT    NOT NULL,
  email                      TEXT,
  name                       TEXT,
  address                    TEXT,
  metadata                   TEXT    NOT NULL,
  test_clock_id              TEXT,
  default_payment_method_id  TEXT,
  created_at                 INTEGER NOT NULL,
  updated_at                 INTEGER NOT NULL,
  deleted_at                 INTEGER,
  PRIMARY KEY (account_id, livemode, id)
);
CREATE INDEX customers_by_created ON customers (account_id, livemode, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX customers_by_email ON customers (account_id, livemode, email, created_at, id) WHERE deleted_at IS NULL;

CREATE TABLE audit_events (
  account_id      TEXT    NOT NULL,
  livemode        INTEGER NOT NULL,
  id              TEXT    NOT NULL,
  created_at      INTEGER NOT NULL,
  actor_type      TEXT    NOT NULL,
  actor_id        TEXT    NOT NULL,
  action          TEXT    NOT NULL,
  object_type     TEXT    NOT NULL,
  object_id       TEXT    NOT NULL,
  request_id      TEXT    NOT NULL,
  changed_fields  TEXT    NOT NULL,
  PRIMARY KEY (account_id, livemode, id)
);
CREATE INDEX audit_by_created ON audit_events (account_id, livemode, created_at, id);
CREATE INDEX audit_by_object ON audit_events (account_id, livemode, object_id, created_at, id);

CREATE TABLE idempotency_keys (
  account_id       TEXT    NOT NULL,
  livemode         INTEGER NOT NULL,
  key              TEXT    NOT NULL,
  fingerprint      TEXT    NOT NULL,
  completed        INTEGER NOT NULL,
  claim_token      TEXT    NOT NULL,
  request_id       TEXT    NOT NULL,
  locked_until     INTEGER NOT NULL,
  response_status  INTEGER,
  response_body    BLOB,
  created_at       INTEGER NOT NULL,
  expires_at       INTEGER NOT NULL,
  PRIMARY KEY (account_id, livemode, key)
);
CREATE INDEX idempotency_by_expiry ON idempotency_keys (expires_at);
