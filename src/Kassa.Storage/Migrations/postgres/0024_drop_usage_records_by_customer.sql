-- usage_records_by_customer served no query: usage records are read only by their idempotency key
-- (usage_records_idempotency), and a customer's movements are listed from credit_transactions. Every
-- check with send_event and every track inserted into it at a random place (keyed by customer), one
-- more index page written per operation: on SQLite one of the three random pages a check dirtied in
-- the WAL, on PostgreSQL one of the four index inserts per check. The rows stay as they are.
DROP INDEX IF EXISTS usage_records_by_customer;
