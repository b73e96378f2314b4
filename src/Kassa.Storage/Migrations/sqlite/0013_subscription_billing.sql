-- Paid subscriptions, renewals and dunning (issue 12). A subscription bills on anniversary periods of
-- its anchor in its price's interval and currency; usage_billed_through is the cut up to which balance
-- resets' billed overage has been invoiced, so each reset's overage lands on exactly one invoice.
ALTER TABLE subscriptions ADD COLUMN billing_anchor INTEGER;
ALTER TABLE subscriptions ADD COLUMN billing_interval TEXT NOT NULL DEFAULT 'month';
ALTER TABLE subscriptions ADD COLUMN interval_count INTEGER NOT NULL DEFAULT 1;
ALTER TABLE subscriptions ADD COLUMN currency TEXT;
ALTER TABLE subscriptions ADD COLUMN cancel_reason TEXT;
ALTER TABLE subscriptions ADD COLUMN ended_at INTEGER;
ALTER TABLE subscriptions ADD COLUMN usage_billed_through INTEGER;
ALTER TABLE subscriptions ADD COLUMN latest_invoice_id TEXT;
ALTER TABLE subscriptions ADD COLUMN updated_at INTEGER;
-- A quantity lowered by PATCH takes effect at the next renewal (the period already paid keeps its quantity).
ALTER TABLE subscriptions ADD COLUMN scheduled_quantity INTEGER;
ALTER TABLE subscriptions ADD COLUMN test_clock_id TEXT;
-- The renewal worker's queue: live subscriptions by the end of their period.
CREATE INDEX subscriptions_due ON subscriptions (current_period_end) WHERE status IN ('active', 'trialing', 'past_due') AND paused = 0 AND test_clock_id IS NULL;
-- Incomplete subscriptions whose first invoice was never paid, for their expiry.
CREATE INDEX subscriptions_incomplete ON subscriptions (created_at) WHERE status = 'incomplete' AND test_clock_id IS NULL;
-- A period is billed once: a rerun, a crash mid-run or two nodes racing cannot make a second renewal
-- invoice for the same subscription and period start.
CREATE UNIQUE INDEX invoices_one_per_period ON invoices (account_id, livemode, subscription_id, period_start) WHERE billing_reason = 'subscription_cycle';

-- Test clocks (spec §11): customers created on a clock live in its time; advancing it runs their
-- renewals and dunning retries in time order. A subscription copies its customer's clock so the
-- real-time renewal worker leaves it alone.
CREATE TABLE test_clocks (
  account_id   TEXT    NOT NULL,
  livemode     INTEGER NOT NULL,
  id           TEXT    NOT NULL,
  name         TEXT,
  frozen_time  INTEGER NOT NULL,
  status       TEXT    NOT NULL,
  created_at   INTEGER NOT NULL,
  deleted_at   INTEGER,
  PRIMARY KEY (account_id, livemode, id)
);
CREATE INDEX subscriptions_on_clock ON subscriptions (account_id, livemode, test_clock_id, current_period_end) WHERE test_clock_id IS NOT NULL;
