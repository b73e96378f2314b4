-- One-time purchases, prepaid usage quantities and pause that denies (issue 12).
-- A one-time purchase (a product with only one_time prices) is a subscription row that never renews:
-- it grants its features once when its invoice is paid and then ends.
ALTER TABLE subscriptions ADD COLUMN one_time INTEGER NOT NULL DEFAULT 0;
-- The prepaid usage quantities bought at subscribe, as JSON {"feature_id": qty}; null when none.
ALTER TABLE subscriptions ADD COLUMN prepaid TEXT;
-- A prepaid quantity lowered on the same product takes effect at the next renewal, like a lowered quantity.
ALTER TABLE subscriptions ADD COLUMN scheduled_prepaid TEXT;
-- A balance granted by a paused subscription is suspended: check denies it until the subscription is
-- resumed. The flag lives on the row the balance engine already loads, so check needs no other query.
ALTER TABLE feature_balances ADD COLUMN suspended INTEGER NOT NULL DEFAULT 0;
