-- Columns the billing capability needs on invoices and their lines (issue 12): when an invoice was
-- paid and is due, how much customer credit it used, why it was created, which coupon and tax rate
-- priced it, and the dunning state of its payment. Lines say which period, product and feature they
-- bill, and carry their share of the invoice discount and their tax, so ledger postings and the
-- hosted page never recompute them.
ALTER TABLE invoices ADD COLUMN paid_at INTEGER;
ALTER TABLE invoices ADD COLUMN due_at INTEGER;
ALTER TABLE invoices ADD COLUMN credit_applied INTEGER NOT NULL DEFAULT 0;
ALTER TABLE invoices ADD COLUMN billing_reason TEXT NOT NULL DEFAULT 'manual';
ALTER TABLE invoices ADD COLUMN coupon_id TEXT;
ALTER TABLE invoices ADD COLUMN tax_rate_id TEXT;
ALTER TABLE invoices ADD COLUMN attempt_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE invoices ADD COLUMN next_attempt_at INTEGER;
CREATE INDEX invoices_retry ON invoices (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX invoices_subscription ON invoices (account_id, livemode, subscription_id, period_start) WHERE subscription_id IS NOT NULL;

ALTER TABLE invoice_lines ADD COLUMN period_start INTEGER;
ALTER TABLE invoice_lines ADD COLUMN period_end INTEGER;
ALTER TABLE invoice_lines ADD COLUMN product_id TEXT;
ALTER TABLE invoice_lines ADD COLUMN feature_id TEXT;
ALTER TABLE invoice_lines ADD COLUMN discount INTEGER NOT NULL DEFAULT 0;
ALTER TABLE invoice_lines ADD COLUMN tax INTEGER NOT NULL DEFAULT 0;
