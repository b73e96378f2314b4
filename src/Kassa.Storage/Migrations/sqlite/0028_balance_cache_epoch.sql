-- The balance writer keeps the balances it wrote in memory between batches on SQLite (ADR 0021). It may use
-- them only while no other transaction has changed what a book loads: balance headers, buckets, locks,
-- spend caps or a customer's deletion. Every such change, by any connection of any process, moves this one
-- row (value + 1); the balance writer sets it to a random token of its own as the last write of each batch
-- and trusts its memory in the next batch only if it still reads that token. Triggers rather than code:
-- a write path added later, an operator's sqlite3 session or another process cannot forget to move it.
CREATE TABLE balance_cache_epoch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO balance_cache_epoch (id, value) VALUES (1, 0);

CREATE TRIGGER feature_balances_moves_epoch_on_insert AFTER INSERT ON feature_balances BEGIN UPDATE balance_cache_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER feature_balances_moves_epoch_on_update AFTER UPDATE ON feature_balances BEGIN UPDATE balance_cache_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER feature_balances_moves_epoch_on_delete AFTER DELETE ON feature_balances BEGIN UPDATE balance_cache_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER balance_buckets_moves_epoch_on_insert AFTER INSERT ON balance_buckets BEGIN UPDATE balance_cache_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER balance_buckets_moves_epoch_on_update AFTER UPDATE ON balance_buckets BEGIN UPDATE balance_cache_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER balance_buckets_moves_epoch_on_delete AFTER DELETE ON balance_buckets BEGIN UPDATE balance_cache_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER locks_moves_epoch_on_insert AFTER INSERT ON locks BEGIN UPDATE balance_cache_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER locks_moves_epoch_on_update AFTER UPDATE ON locks BEGIN UPDATE balance_cache_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER locks_moves_epoch_on_delete AFTER DELETE ON locks BEGIN UPDATE balance_cache_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER spend_caps_moves_epoch_on_insert AFTER INSERT ON spend_caps BEGIN UPDATE balance_cache_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER spend_caps_moves_epoch_on_update AFTER UPDATE ON spend_caps BEGIN UPDATE balance_cache_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER spend_caps_moves_epoch_on_delete AFTER DELETE ON spend_caps BEGIN UPDATE balance_cache_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER customers_moves_epoch_on_delete_mark AFTER UPDATE OF deleted_at ON customers BEGIN UPDATE balance_cache_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER customers_moves_epoch_on_delete AFTER DELETE ON customers BEGIN UPDATE balance_cache_epoch SET value = value + 1 WHERE id = 1; END;
