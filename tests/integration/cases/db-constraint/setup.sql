-- A rule the mapping does not know: only the database refuses con_id >= 1000.
CREATE TABLE contact_base (
    con_id     INTEGER NOT NULL CONSTRAINT con_id_small CHECK (con_id < 1000),
    app_id     INTEGER NOT NULL,
    last_name  VARCHAR(64) NOT NULL,
    birth_date DATE,
    phone      VARCHAR(16),
    lang       CHAR(2),
    PRIMARY KEY (con_id, app_id)
);
