-- A clean-up of an account (a password reset or change, a disable)
-- revokes every OIDC grant of the user at once (S48): found by the user.
CREATE INDEX oidc_grants_user ON oidc_grants(user_id);
