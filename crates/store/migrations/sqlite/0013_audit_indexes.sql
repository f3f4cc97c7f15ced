-- The admin console's audit filters: each set filter is a plain
-- comparison of its column (see queries::search_audit), which walks one
-- of these backwards by id, newest first, from the page's keyset. The
-- user filter goes through the subject (the user's name or a serial),
-- the serial filter too. No index for the outcome (three values) or the
-- time (ids grow with it; a range is read along the id).
CREATE INDEX audit_actor ON audit(actor, id);
CREATE INDEX audit_subject ON audit(subject, id);
CREATE INDEX audit_action ON audit(action, id);
CREATE INDEX audit_source ON audit(source, id);
