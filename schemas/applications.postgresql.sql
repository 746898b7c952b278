-- Target DDL for mappings/applications.xml (postgresql), as printed by:
--   migrate --print-ddl --dialect postgresql -m mappings/applications.xml
CREATE TABLE IF NOT EXISTS "app_base" (
    "app_id" integer NOT NULL,
    "received" timestamp,
    "product" varchar(8),
    "amount" numeric(12,2),
    "source" varchar(260),
    PRIMARY KEY ("app_id")
);
CREATE TABLE IF NOT EXISTS "contact_base" (
    "con_id" integer NOT NULL,
    "app_id" integer NOT NULL,
    "last_name" varchar(64) NOT NULL,
    "birth_date" date,
    "phone" varchar(16),
    "lang" char(2),
    PRIMARY KEY ("con_id", "app_id")
);
CREATE TABLE IF NOT EXISTS "contact_address" (
    "con_id" integer NOT NULL,
    "app_id" integer NOT NULL,
    "city" varchar(64),
    PRIMARY KEY ("con_id", "app_id")
);
