-- Target DDL for mappings/applications.xml (sqlite), as printed by:
--   migrate --print-ddl --dialect sqlite -m mappings/applications.xml
CREATE TABLE IF NOT EXISTS "app_base" (
    "app_id" INTEGER NOT NULL,
    "received" TEXT,
    "product" VARCHAR(8),
    "amount" TEXT,
    "source" NVARCHAR(260),
    PRIMARY KEY ("app_id")
);
CREATE TABLE IF NOT EXISTS "contact_base" (
    "con_id" INTEGER NOT NULL,
    "app_id" INTEGER NOT NULL,
    "last_name" NVARCHAR(64) NOT NULL,
    "birth_date" TEXT,
    "phone" VARCHAR(16),
    "lang" CHAR(2),
    PRIMARY KEY ("con_id", "app_id")
);
CREATE TABLE IF NOT EXISTS "contact_address" (
    "con_id" INTEGER NOT NULL,
    "app_id" INTEGER NOT NULL,
    "city" NVARCHAR(64),
    PRIMARY KEY ("con_id", "app_id")
);
