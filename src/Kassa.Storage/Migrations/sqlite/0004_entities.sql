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
