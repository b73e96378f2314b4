-- Prepaid credits sold as one-time products are deferred revenue (2100) until used (spec §9: "prepaid
-- credits consumed: DR 2100; CR 4001"). The bucket a purchase granted carries what it was sold for and how
-- much of that has been recognised as usage revenue so far; RecognizePrepaidRevenue moves the difference.
ALTER TABLE balance_buckets ADD COLUMN deferred_amount BIGINT NOT NULL DEFAULT 0;
ALTER TABLE balance_buckets ADD COLUMN deferred_currency TEXT;
ALTER TABLE balance_buckets ADD COLUMN recognized_amount BIGINT NOT NULL DEFAULT 0;
CREATE INDEX balance_buckets_deferred ON balance_buckets (account_id, livemode, customer_id, feature_id, entity_id, id)
  WHERE deferred_amount > recognized_amount;
