-- A credit grant wrote its bucket into two customer-ordered indexes besides the id's: the primary key (account,
-- livemode, customer, feature, entity, id) and balance_buckets_grants (account, livemode, customer, created_at,
-- id). One customer order now serves every reader that seeks by customer (the balance book's load, a customer's
-- grant list and totals, a test clock's due instants), and the id's unique index becomes the primary key: buckets
-- are updated and read by (account, livemode, id). A grant inserts into three indexes instead of four (SQLite's
-- side of the same change, where it matters most, is its migration 0029).
ALTER TABLE balance_buckets DROP CONSTRAINT balance_buckets_pkey;
ALTER TABLE balance_buckets ADD CONSTRAINT balance_buckets_pkey PRIMARY KEY USING INDEX balance_buckets_by_id;
DROP INDEX balance_buckets_grants;
CREATE INDEX balance_buckets_by_customer ON balance_buckets (account_id, livemode, customer_id, created_at, id);
