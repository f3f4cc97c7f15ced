-- SQLite's 0015 moves the audit subject's index to a table its writer
-- fills in bulk (see that file). PostgreSQL writes its index pages in
-- shared buffers, not into a WAL frame per page and commit, and keeps
-- 0013's index on audit(subject, id); this version only keeps the two
-- backends' versions the same.
COMMENT ON INDEX audit_subject IS 'The admin console''s user and serial filters (SQLite: audit_subjects)';
