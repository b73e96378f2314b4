-- Entities (seats): each uses one unit of its feature and may carry per-entity balances.
CREATE TABLE entities (
  account_id   TEXT    NOT NULL,
  livemode     INTEGER NOT NULL,
  customer_id  TEXT    NOT NULL,
  id           TEXT    NOT NULL,
  feature_id   TEXT    NOT NULL,
  name         TEXT,
  created_at   INTEGER NOT NULL,
  deleted_at   INTEGER,
  PRIMARY KEY (account_id, livemode, customer_id, id)
);

-- Auto top-up settings: when remaining falls below threshold, buy quantity of a one-time product.
-- Stored now; the purchase itself arrives with payments.
CREATE TABLE auto_top_ups (
  account_id   TEXT    NOT NULL,
  livemode     INTEGER NOT NULL,
  customer_id  TEXT    NOT NULL,
  feature_id   TEXT    NOT NULL,
  threshold    INTEGER NOT NULL,
  quantity     INTEGER NOT NULL,
  product_id   TEXT    NOT NULL,
  enabled      INTEGER NOT NULL,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  PRIMARY KEY (account_id, livemode, customer_id, feature_id)
);
