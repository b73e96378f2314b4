-- Every credit movement (a check or track that spends, a grant, an expiry) was written into two b-trees besides
-- the table: the primary key (account, livemode, id) and credit_transactions_by_customer (account, livemode,
-- customer, created_at, id). No statement reads a movement by its id — a customer's list, the lists across
-- customers and the reset sums all read by customer or by tenant — so the primary key served only to refuse a
-- repeated id, which server-made ids (80 random bits) never are. The customer order is the key now: one index
-- insert a movement instead of two (alternated with the key dropped: uniform checks 1.05, hot checks 1.10;
-- bench/README, thirty-second session). It still refuses a repeated row, since the id is its last column.
-- SQLite keeps its key: its customer order lives in the index file (ADR 0018), which joins back by id.
CREATE UNIQUE INDEX credit_transactions_customer_key ON credit_transactions (account_id, livemode, customer_id, created_at, id);
ALTER TABLE credit_transactions DROP CONSTRAINT credit_transactions_pkey;
ALTER TABLE credit_transactions ADD CONSTRAINT credit_transactions_pkey PRIMARY KEY USING INDEX credit_transactions_customer_key;
DROP INDEX credit_transactions_by_customer;
