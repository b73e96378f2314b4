-- A customer's credit transactions in time order moved to the index file (ADR 0018): every check with send_event,
-- track and grant inserted into credit_transactions_by_customer at the customer's place, one random page of the
-- main file written (and checkpointed) per operation by the one writer. An indexer now copies each committed
-- movement's keys there behind a watermark of its own, and a customer's list reads the movements at or above it
-- by position (rowid). Nothing else read that index but the sum of a customer's resets at renewal, which keeps
-- an index of its own over those rows only (one a period per balance, never written by a check or track). The
-- condition is a literal so SQLite can match the query's to it.
DROP INDEX IF EXISTS credit_transactions_by_customer;
CREATE INDEX credit_transactions_resets ON credit_transactions (account_id, livemode, customer_id, created_at) WHERE type = 'reset';
