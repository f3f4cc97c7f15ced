-- Failed soft-token refreshes are counted per serial from the audit log
-- (SECURITY.md S46): their own throttle, apart from the token's OTP lock,
-- which strangers must not be able to reach. The partial index serves that
-- count as audit_unlock_issues serves the unlock codes'.
CREATE INDEX IF NOT EXISTS audit_refresh_failures ON audit(subject, at)
    WHERE action = 'token.refresh' AND outcome = 'failure';
