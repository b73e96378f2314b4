-- Product migration (issue 12, spec §3.2 POST /v1/products/{id}/migrate): the version a subscription
-- moves to at its next renewal. A per-row mark, set in one statement by the migrate call, so only the
-- subscriptions that were on the old version at that moment move; one that starts on the old version
-- later stays there until migrated again. The mark is inert once product_version has reached it.
ALTER TABLE subscriptions ADD COLUMN migrate_to_version INTEGER;
