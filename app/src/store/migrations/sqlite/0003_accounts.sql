-- Accounts and security (issue 4): login by phone, last login, the client
-- address in the audit trail, and failed-login counters that several server
-- processes share.

ALTER TABLE users ADD COLUMN phone TEXT;
ALTER TABLE users ADD COLUMN last_login_at BIGINT;
CREATE UNIQUE INDEX users_phone ON users(phone) WHERE phone IS NOT NULL;

ALTER TABLE audit_log ADD COLUMN ip TEXT;
CREATE INDEX audit_log_at ON audit_log(at);

-- One row per failed login, per scope ('account' or 'address'). Rows older than
-- the window are deleted as new ones are written.
CREATE TABLE login_failures (
    scope TEXT NOT NULL,
    key   TEXT NOT NULL,
    at    BIGINT NOT NULL
);
CREATE INDEX login_failures_key ON login_failures(scope, key, at);

CREATE INDEX sessions_device ON sessions(device_id);
CREATE INDEX devices_user ON devices(user_id);
