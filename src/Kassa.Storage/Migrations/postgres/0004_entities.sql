-- Entities (seats): each uses one unit of its feature and may carry per-entity balances.
CREATE TABLE entities (
  account_id   TEXT    NOT NULL,
  livemode     BOOLEAN NOT NULL,
  customer_id  TEXT    NOT NULL,
  id           TEXT    NOT NULL,
  feature_id   TEXT    NOT NULL,
  name         TEXT,
  created_at   BIGINT NOT NULL,
  deleted_at   BIGINT,
  PRIMARY KEY (account_id, livemode, customer_id, id)
);

-- Auto top-up settings: when remaining falls below threshold, buy quantity of a one-time product.
-- Stored now; the purchase itself arrives with payments.
CREATE TABLE auto_top_ups (
  account_id   TEXT    NOT NULL,
  livemode     BOOLEAN NOT NULL,
  customer_id  TEXT    NOT NULL,
  feature_id   TEXT    NOT NULL,
  threshold    BIGINT NOT NULL,
  quantity     BIGINT NOT NULL,
  product_id   TEXT    NOT NULL,
  enabled      BOOLEAN NOT NULL,
  created_at   BIGINT NOT NULL,
  updated_at   BIGINT NOT NULL,
  PRIMARY KEY (account_id, livemode, customer_id, feature_id)
);
