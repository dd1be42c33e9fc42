-- Webhook bodies seen recently, so a re-delivered body is not queued twice.
CREATE TABLE webhook_dedupe (
    body_sha256  bytea PRIMARY KEY,
    message_id   text NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_dedupe_received_idx ON webhook_dedupe (received_at);

-- Messages accepted while RabbitMQ was unreachable; the relay publishes them in id order.
CREATE TABLE webhook_spool (
    id           bigserial PRIMARY KEY,
    message_id   text NOT NULL UNIQUE,
    message      jsonb NOT NULL,             -- the Dramatiq message (Message.asdict())
    received_at  timestamptz NOT NULL DEFAULT now(),
    last_error   text
);

-- Webhooks acknowledged without work (other models, job events), counted by reason.
CREATE TABLE webhook_counters (
    reason     text PRIMARY KEY,
    count      bigint NOT NULL DEFAULT 0,
    last_seen  timestamptz NOT NULL DEFAULT now()
);
