-- Catalog (features, products and their versions), the event outbox and webhook delivery.

CREATE TABLE features (
  account_id     TEXT    NOT NULL,
  livemode       INTEGER NOT NULL,
  id             TEXT    NOT NULL,
  name           TEXT    NOT NULL,
  type           TEXT    NOT NULL,
  unit           TEXT,
  credit_schema  TEXT,
  archived_at    INTEGER,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL,
  PRIMARY KEY (account_id, livemode, id)
);
CREATE INDEX features_by_created ON features (account_id, livemode, created_at, id);

-- A product's mutable identity; its prices and features live in versions.
CREATE TABLE products (
  account_id   TEXT    NOT NULL,
  livemode     INTEGER NOT NULL,
  id           TEXT    NOT NULL,
  name         TEXT    NOT NULL,
  grp          TEXT,
  is_add_on    INTEGER NOT NULL,
  auto_enable  INTEGER NOT NULL,
  free_trial   TEXT,
  version      INTEGER NOT NULL,
  metadata     TEXT    NOT NULL,
  archived_at  INTEGER,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  PRIMARY KEY (account_id, livemode, id)
);
CREATE INDEX products_by_created ON products (account_id, livemode, created_at, id);

-- Immutable once a subscription uses it: a change then makes version n+1.
CREATE TABLE product_versions (
  account_id  TEXT    NOT NULL,
  livemode    INTEGER NOT NULL,
  product_id  TEXT    NOT NULL,
  version     INTEGER NOT NULL,
  prices      TEXT    NOT NULL,
  features    TEXT    NOT NULL,
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (account_id, livemode, product_id, version)
);

-- Subscriptions arrive with their own capability; the catalog already needs to know whether a
-- product version has any (the versioning rule), so the table exists from here on.
CREATE TABLE subscriptions (
  account_id            TEXT    NOT NULL,
  livemode              INTEGER NOT NULL,
  id                    TEXT    NOT NULL,
  customer_id           TEXT    NOT NULL,
  product_id            TEXT    NOT NULL,
  product_version       INTEGER NOT NULL,
  status                TEXT    NOT NULL,
  quantity              INTEGER NOT NULL,
  current_period_start  INTEGER,
  current_period_end    INTEGER,
  trial_end             INTEGER,
  cancel_at_period_end  INTEGER NOT NULL,
  canceled_at           INTEGER,
  paused                INTEGER NOT NULL,
  scheduled_product_id  TEXT,
  created_at            INTEGER NOT NULL,
  PRIMARY KEY (account_id, livemode, id)
);
CREATE INDEX subscriptions_by_product ON subscriptions (account_id, livemode, product_id, product_version);
CREATE INDEX subscriptions_by_customer ON subscriptions (account_id, livemode, customer_id, created_at);

-- The outbox: written in the same transaction as the change it describes. seq orders events of
-- one object (changes to one object serialise on its row, so seq order is commit order for it).
CREATE TABLE events (
  seq                  INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id           TEXT    NOT NULL,
  livemode             INTEGER NOT NULL,
  id                   TEXT    NOT NULL,
  type                 TEXT    NOT NULL,
  object_type          TEXT    NOT NULL,
  object_id            TEXT    NOT NULL,
  data                 TEXT    NOT NULL,
  request_id           TEXT,
  created_at           INTEGER NOT NULL,
  dispatched           INTEGER NOT NULL
);
CREATE UNIQUE INDEX events_by_id ON events (account_id, livemode, id);
CREATE INDEX events_by_created ON events (account_id, livemode, created_at, id);
CREATE INDEX events_by_object ON events (account_id, livemode, object_id, created_at, id);
CREATE INDEX events_undispatched ON events (seq) WHERE dispatched = 0;

CREATE TABLE webhook_endpoints (
  account_id                   TEXT    NOT NULL,
  livemode                     INTEGER NOT NULL,
  id                           TEXT    NOT NULL,
  url                          TEXT    NOT NULL,
  description                  TEXT,
  events                       TEXT    NOT NULL,
  secret                       TEXT    NOT NULL,
  previous_secret              TEXT,
  previous_secret_expires_at   INTEGER,
  disabled                     INTEGER NOT NULL,
  disabled_reason              TEXT,
  failing_since                INTEGER,
  deleted_at                   INTEGER,
  created_at                   INTEGER NOT NULL,
  updated_at                   INTEGER NOT NULL,
  PRIMARY KEY (account_id, livemode, id)
);
CREATE INDEX webhook_endpoints_by_created ON webhook_endpoints (account_id, livemode, created_at, id);

-- One row per (event, endpoint) still to deliver or delivered: the worker's queue.
CREATE TABLE webhook_queue (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id       TEXT    NOT NULL,
  livemode         INTEGER NOT NULL,
  endpoint_id      TEXT    NOT NULL,
  event_id         TEXT    NOT NULL,
  event_seq        INTEGER NOT NULL,
  object_id        TEXT    NOT NULL,
  state            TEXT    NOT NULL,
  attempts         INTEGER NOT NULL,
  next_attempt_at  INTEGER NOT NULL,
  locked_until     INTEGER NOT NULL,
  lease            TEXT,
  created_at       INTEGER NOT NULL
);
CREATE INDEX webhook_queue_due ON webhook_queue (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_queue_order ON webhook_queue (endpoint_id, object_id, event_seq) WHERE state = 'pending';

-- Every attempt, for GET /v1/webhook_endpoints/{id}/deliveries.
CREATE TABLE webhook_attempts (
  account_id     TEXT    NOT NULL,
  livemode       INTEGER NOT NULL,
  id             TEXT    NOT NULL,
  endpoint_id    TEXT    NOT NULL,
  event_id       TEXT    NOT NULL,
  event_type     TEXT    NOT NULL,
  attempt        INTEGER NOT NULL,
  status_code    INTEGER,
  duration_ms    INTEGER NOT NULL,
  error          TEXT,
  succeeded      INTEGER NOT NULL,
  next_retry_at  INTEGER,
  created_at     INTEGER NOT NULL,
  PRIMARY KEY (account_id, livemode, id)
);
CREATE INDEX webhook_attempts_by_endpoint ON webhook_attempts (account_id, livemode, endpoint_id, created_at, id);
