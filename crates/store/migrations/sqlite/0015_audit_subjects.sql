-- The console's user and serial filters without a B-tree insert at a
-- random place for every audit row. 0013's index on audit(subject, id)
-- took each row as it was written: with many users, every row landed on
-- a leaf of its own, and every group commit wrote one more page to the
-- WAL for each acceptance in it (the benchmark lost a fifth of its
-- acceptances to it). Instead the writer copies the rows' subjects here
-- in bulk, sorted, once `audit_subjects_done.through` is far enough
-- behind the log (store::sqlite's SUBJECT_CATCH_UP_ROWS): each subject's
-- leaf is written once per catch-up, not once per row. A search by
-- subject reads the rows after `through` from the log itself (a short,
-- bounded walk) and the rows up to it through this table.
DROP INDEX audit_subject;
CREATE TABLE audit_subjects (
    subject TEXT NOT NULL,
    id INTEGER NOT NULL,
    PRIMARY KEY (subject, id)
) WITHOUT ROWID;
CREATE TABLE audit_subjects_done (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    through INTEGER NOT NULL
);
INSERT INTO audit_subjects (subject, id) SELECT subject, id FROM audit ORDER BY subject, id;
INSERT INTO audit_subjects_done (id, through) VALUES (1, COALESCE((SELECT MAX(id) FROM audit), 0));
