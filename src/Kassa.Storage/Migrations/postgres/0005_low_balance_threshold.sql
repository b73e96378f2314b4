-- A per-feature threshold: crossing below it emits balance.low.
ALTER TABLE features ADD COLUMN low_balance_threshold BIGINT;
