-- The audit log counted per hour, action and outcome, so the console's
-- dashboard reads a few hundred rows whatever the log's length. Each
-- backend's audit append bumps it in the transaction that writes the
-- audit row; the rows written before this migration are counted here.
CREATE TABLE audit_hourly (
    hour BIGINT NOT NULL,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (hour, action, outcome)
);
INSERT INTO audit_hourly (hour, action, outcome, count)
    SELECT at - (at % 3600), action, outcome, COUNT(*) FROM audit
    GROUP BY at - (at % 3600), action, outcome;
