-- Hosted checkout sessions (spec §8, issue 13 item 1). A session is what a customer's browser opens
-- through a signed link: it names what is bought (an invoice, a subscription, or a card to save) and
-- completes at most once. The page's POST handlers lock the row; the partial unique indexes keep one
-- open session per invoice (and per invoiceless trial subscription) whatever the code above does.
CREATE TABLE checkout_sessions (
  account_id          TEXT    NOT NULL,
  livemode            INTEGER NOT NULL,
  id                  TEXT    NOT NULL,
  customer_id         TEXT    NOT NULL,
  mode                TEXT    NOT NULL,
  status              TEXT    NOT NULL,
  product_id          TEXT,
  quantity            INTEGER,
  amount_total        INTEGER NOT NULL,
  currency            TEXT,
  description         TEXT,
  invoice_id          TEXT,
  subscription_id     TEXT,
  payment_id          TEXT,
  -- A charge that answered 3-D Secure and waits for the customer to confirm it on the page.
  pending_payment_id  TEXT,
  payment_method_id   TEXT,
  -- Why the last attempt on the page did not pay (shown to the customer), or null.
  last_failure_code   TEXT,
  success_url         TEXT,
  cancel_url          TEXT,
  -- The per-session secret every form post must echo (CSRF), never returned by the API.
  form_nonce          TEXT    NOT NULL,
  expires_at          INTEGER NOT NULL,
  completed_at        INTEGER,
  created_at          INTEGER NOT NULL,
  PRIMARY KEY (account_id, livemode, id)
);
CREATE UNIQUE INDEX checkout_sessions_open_invoice ON checkout_sessions (account_id, livemode, invoice_id)
  WHERE status = 'open' AND invoice_id IS NOT NULL;
CREATE UNIQUE INDEX checkout_sessions_open_subscription ON checkout_sessions (account_id, livemode, subscription_id)
  WHERE status = 'open' AND subscription_id IS NOT NULL AND invoice_id IS NULL;
CREATE INDEX checkout_sessions_customer ON checkout_sessions (account_id, livemode, customer_id, created_at, id);
CREATE INDEX checkout_sessions_recent ON checkout_sessions (account_id, livemode, created_at, id);
-- The expiry worker's scan: open sessions by expiry, across tenants.
CREATE INDEX checkout_sessions_expiring ON checkout_sessions (expires_at) WHERE status = 'open';

-- A session a provider hosts (Stripe Checkout, issue 13 item 2): Kassa's page sends the customer to
-- `url`; the provider's completion event names the Kassa session back (client_reference_id). One per
-- Kassa session: the provider session is opened with the Kassa session id as its idempotency key.
CREATE TABLE checkout_provider_sessions (
  account_id           TEXT    NOT NULL,
  livemode             INTEGER NOT NULL,
  checkout_session_id  TEXT    NOT NULL,
  provider             TEXT    NOT NULL,
  provider_session_id  TEXT    NOT NULL,
  url                  TEXT    NOT NULL,
  created_at           INTEGER NOT NULL,
  PRIMARY KEY (account_id, livemode, checkout_session_id)
);
