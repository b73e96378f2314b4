-- Payment providers configured per account and mode (issue 13: Stripe). The secrets are stored only as
-- AES-GCM ciphertexts (base64 of nonce, ciphertext and tag), never in clear: the key is KASSA_SECRETS_KEY
-- or a key file next to the SQLite database, never the database itself.
CREATE TABLE provider_configs (
  account_id             TEXT    NOT NULL,
  livemode               INTEGER NOT NULL,
  provider               TEXT    NOT NULL,
  secret_key_cipher      TEXT    NOT NULL,
  -- The last four characters of the secret key, so an operator can tell which key is configured.
  secret_key_last4       TEXT    NOT NULL,
  webhook_secret_cipher  TEXT,
  created_at             INTEGER  NOT NULL,
  updated_at             INTEGER  NOT NULL,
  PRIMARY KEY (account_id, livemode, provider)
);

-- The provider's customer made for a Kassa customer (Stripe's cus_…), made once and reused: the unique
-- keys make a second one impossible even when two nodes sync the same customer at once, and let a
-- webhook find Kassa's customer from the provider's.
CREATE TABLE provider_customers (
  account_id            TEXT    NOT NULL,
  livemode              INTEGER NOT NULL,
  provider              TEXT    NOT NULL,
  customer_id           TEXT    NOT NULL,
  provider_customer_id  TEXT    NOT NULL,
  created_at            INTEGER  NOT NULL,
  PRIMARY KEY (account_id, livemode, provider, customer_id)
);
CREATE UNIQUE INDEX provider_customers_by_provider_id ON provider_customers (account_id, livemode, provider, provider_customer_id);
