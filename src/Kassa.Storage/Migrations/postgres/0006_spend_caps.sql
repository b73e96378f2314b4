-- Spend caps: the money limit on a customer's billed overage of a feature in the current period.
-- The balance keeps the usage price that bills its overage (JSON of the catalog price, copied from
-- the subscribed product version at attach) so the hot path prices overage without catalog reads.
ALTER TABLE feature_balances ADD COLUMN overage_price TEXT;

CREATE TABLE spend_caps (
  account_id          TEXT    NOT NULL,
  livemode            BOOLEAN NOT NULL,
  customer_id         TEXT    NOT NULL,
  feature_id          TEXT    NOT NULL,
  max_overage_amount  BIGINT  NOT NULL,
  created_at          BIGINT  NOT NULL,
  updated_at          BIGINT  NOT NULL,
  PRIMARY KEY (account_id, livemode, customer_id, feature_id)
);
