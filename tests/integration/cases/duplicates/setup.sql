-- The table exists and already holds application 1.
CREATE TABLE app_base (
    app_id   INTEGER NOT NULL PRIMARY KEY,
    received TIMESTAMP,
    product  VARCHAR(8),
    amount   DECIMAL(12,2),
    source   VARCHAR(260)
);
INSERT INTO app_base VALUES (1, '2020-01-01 00:00:00', 'AUTO', 5, 'setup');
