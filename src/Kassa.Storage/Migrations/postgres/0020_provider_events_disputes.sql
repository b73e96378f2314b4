-- Provider webhooks and disputes (issue 13 items 3 and 4).
-- provider_events: one row per provider delivery Kassa applied, written in the same transaction as
-- its effect. The primary key is the deduplication: a repeated delivery (a retry, or the same event
-- sent to two nodes at once) loses the insert and has no effect.
CREATE TABLE provider_events (
  account_id   TEXT    NOT NULL,
  livemode     BOOLEAN NOT NULL,
  provider     TEXT    NOT NULL,
  event_id     TEXT    NOT NULL,
  type         TEXT    NOT NULL,
  -- The normalized effect's name (charge_succeeded, dispute_changed…), null when Kassa had nothing to do.
  effect       TEXT,
  -- What applying it did: applied, or why it was only recorded (ignored_unknown_payment…).
  outcome      TEXT    NOT NULL,
  received_at  BIGINT  NOT NULL,
  PRIMARY KEY (account_id, livemode, provider, event_id)
);

-- Provider events name charges and refunds by the provider's ids.
CREATE INDEX payments_provider_charge ON payments (account_id, livemode, provider_charge_id) WHERE provider_charge_id IS NOT NULL;
-- A refund the provider made (also one made in its dashboard) is recorded once.
CREATE UNIQUE INDEX refunds_provider_refund ON refunds (account_id, livemode, provider_refund_id) WHERE provider_refund_id IS NOT NULL;
CREATE INDEX payment_methods_token ON payment_methods (account_id, livemode, provider_token);

CREATE TABLE disputes (
  account_id           TEXT    NOT NULL,
  livemode             BOOLEAN NOT NULL,
  id                   TEXT    NOT NULL,
  payment_id           TEXT    NOT NULL,
  customer_id          TEXT    NOT NULL,
  amount               BIGINT  NOT NULL,
  currency             TEXT    NOT NULL,
  reason               TEXT    NOT NULL,
  -- needs_response | under_review | won | lost; never moves back from won or lost.
  status               TEXT    NOT NULL,
  provider             TEXT    NOT NULL,
  provider_dispute_id  TEXT    NOT NULL,
  created_at           BIGINT  NOT NULL,
  updated_at           BIGINT  NOT NULL,
  closed_at            BIGINT,
  PRIMARY KEY (account_id, livemode, id)
);
CREATE UNIQUE INDEX disputes_provider ON disputes (account_id, livemode, provider, provider_dispute_id);
CREATE INDEX disputes_payment ON disputes (account_id, livemode, payment_id, created_at, id);
CREATE INDEX disputes_recent ON disputes (account_id, livemode, created_at, id);
