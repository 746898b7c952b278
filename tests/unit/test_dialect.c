/* test_dialect.c — the three dialects: quoting, DDL, the statements they
 * run, error classification, SQL Server's bulk-copy binding; then a live
 * load through the SQLite ODBC driver (and through PostgreSQL when
 * MIGRATE_TEST_PG holds an ODBC connection string, and SQL Server when
 * MIGRATE_TEST_MSSQL does: both load methods, the values SQL Server makes
 * hard, parameter-array statuses, bulk-copy errors, defaults and
 * triggers). */
#include "config.h"
#include "unit.h"

#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "db.h"
#include <odbcss.h> /* after sql.h / sqlext.h (from db.h) */
#include "dialect.h"
#include "mapping.h"
#include "settle.h"
#include "strbuf.h"

/* ---- fixtures ---- */

static const char *MAP =
    "<mapping xmlns=\"urn:migrate:mapping:1\" record=\"/a:apps/a:app\">"
    "<namespace prefix=\"a\" uri=\"urn:x\"/>"
    "<table name=\"app\" key=\"id\">"
    "<column name=\"id\" path=\"@id\" type=\"int\"/>"
    "<column name=\"name\" path=\"@n\" type=\"nvarchar(40)\"/>"
    "<column name=\"amount\" path=\"@a\" type=\"decimal(10,2)\"/>"
    "<column name=\"ok\" path=\"@o\" type=\"bit\"/>"
    "<column name=\"day\" path=\"@d\" type=\"date\"/>"
    "<column name=\"at\" path=\"@t\" type=\"datetime\"/>"
    "<column name=\"uid\" path=\"@u\" type=\"uniqueidentifier\"/>"
    "<column name=\"score\" path=\"@s\" type=\"float\"/>"
    "</table>"
    "<table name=\"contact\" key=\"app_id seq\" each=\"a:c\">"
    "<column name=\"app_id\" path=\"@id\" type=\"bigint\"/>"
    "<column name=\"seq\" path=\"@s\" type=\"int\"/>"
    "<column name=\"phone\" path=\"@p\" type=\"varchar(16)\"/>"
    "<column name=\"note\" path=\"@n\" type=\"nvarchar(max)\"/>"
    "</table></mapping>";

/* Returns the test mapping (app: one key; contact: two keys). */
static mapping *test_mapping(void)
{
    return unit_mapping(MAP);
}

static const col_type ALL_TYPES[] = {
    {CK_TINYINT, 0, 0, 0},   {CK_SMALLINT, 0, 0, 0}, {CK_INT, 0, 0, 0},
    {CK_BIGINT, 0, 0, 0},    {CK_BIT, 0, 0, 0},      {CK_DECIMAL, 0, 12, 2},
    {CK_FLOAT, 0, 0, 0},     {CK_VARCHAR, 16, 0, 0}, {CK_NVARCHAR, 40, 0, 0},
    {CK_CHAR, 2, 0, 0},      {CK_NVARCHAR_MAX, 0, 0, 0}, {CK_DATE, 0, 0, 0},
    {CK_TIME, 0, 0, 7},      {CK_DATETIME, 0, 0, 7}, {CK_UUID, 0, 0, 0},
};
#define NTYPES (sizeof ALL_TYPES / sizeof ALL_TYPES[0])

/* Check that the DDL type of every ALL_TYPES entry is want[i]. */
static void check_types(const dialect *d, const char *const *want)
{
    for (size_t i = 0; i < NTYPES; i++) {
        strbuf sb = STRBUF_INIT;
        d->type_ddl(&sb, &ALL_TYPES[i]);
        CU_ASSERT_STRING_EQUAL(sb_str(&sb), want[i]);
        sb_free(&sb);
    }
}

/* Returns the quoted form of name. */
static char *quoted(const dialect *d, const char *name)
{
    strbuf sb = STRBUF_INIT;
    d->quote_ident(&sb, name);
    return sb_detach(&sb);
}

/* ---- finding dialects ---- */

static void test_lookup(void)
{
    CU_ASSERT_PTR_EQUAL(dialect_by_name("sqlite"), &dialect_sqlite);
    CU_ASSERT_PTR_EQUAL(dialect_by_name("postgresql"), &dialect_pgsql);
    CU_ASSERT_PTR_EQUAL(dialect_by_name("pgsql"), &dialect_pgsql);
    CU_ASSERT_PTR_EQUAL(dialect_by_name("postgres"), &dialect_pgsql);
    CU_ASSERT_PTR_EQUAL(dialect_by_name("sqlserver"), &dialect_mssql);
    CU_ASSERT_PTR_EQUAL(dialect_by_name("mssql"), &dialect_mssql);
    CU_ASSERT_PTR_NULL(dialect_by_name("oracle"));
    CU_ASSERT_PTR_EQUAL(dialect_for_dbms("SQLite"), &dialect_sqlite);
    CU_ASSERT_PTR_EQUAL(dialect_for_dbms("PostgreSQL"), &dialect_pgsql);
    CU_ASSERT_PTR_EQUAL(dialect_for_dbms("Microsoft SQL Server"), &dialect_mssql);
    CU_ASSERT_PTR_NULL(dialect_for_dbms("Oracle"));
    CU_ASSERT_EQUAL(dialect_sqlite.single_writer, 1);
    CU_ASSERT_EQUAL(dialect_pgsql.single_writer, 0);
    CU_ASSERT_EQUAL(dialect_mssql.single_writer, 0);
}

/* ---- quoting ---- */

static void test_quoting(void)
{
    char *s = quoted(&dialect_sqlite, "we\"ird]");
    CU_ASSERT_STRING_EQUAL(s, "\"we\"\"ird]\"");
    free(s);
    s = quoted(&dialect_pgsql, "a\"\"b");
    CU_ASSERT_STRING_EQUAL(s, "\"a\"\"\"\"b\"");
    free(s);
    s = quoted(&dialect_mssql, "we]ird\"");
    CU_ASSERT_STRING_EQUAL(s, "[we]]ird\"]");
    free(s);
    strbuf sb = STRBUF_INIT;
    dialect_mssql_table(&sb, "app");
    CU_ASSERT_STRING_EQUAL(sb_str(&sb), "[dbo].[app]");
    sb_reset(&sb);
    dialect_mssql_table(&sb, "stage.a]b");
    CU_ASSERT_STRING_EQUAL(sb_str(&sb), "[stage].[a]]b]");
    sb_free(&sb);
}

/* ---- types ---- */

static void test_types_sqlite(void)
{
    static const char *const want[] = {
        "INTEGER", "INTEGER", "INTEGER", "INTEGER", "INTEGER", "TEXT", "REAL", "VARCHAR(16)",
        "NVARCHAR(40)", "CHAR(2)", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT"};
    check_types(&dialect_sqlite, want);
}

static void test_types_pgsql(void)
{
    static const char *const want[] = {
        "smallint", "smallint", "integer", "bigint", "boolean", "numeric(12,2)",
        "double precision", "varchar(16)", "varchar(40)", "char(2)", "text", "date", "time",
        "timestamp", "uuid"};
    check_types(&dialect_pgsql, want);
}

static void test_types_mssql(void)
{
    static const char *const want[] = {
        "tinyint", "smallint", "int", "bigint", "bit", "decimal(12,2)", "float", "varchar(16)",
        "nvarchar(40)", "char(2)", "nvarchar(max)", "date", "time(7)", "datetime2(7)",
        "uniqueidentifier"};
    check_types(&dialect_mssql, want);
}

/* ---- parameter types ---- */

/* How one column type is bound: C type, SQL type, column size, digits. */
typedef struct ptype_want {
    SQLSMALLINT ctype, sqltype;
    SQLULEN size;
    SQLSMALLINT digits;
} ptype_want;

/* Check that d->ptype binds every ALL_TYPES entry as want[i]. */
static void check_ptypes(const dialect *d, const ptype_want *want)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(d->ptype);
    for (size_t i = 0; i < NTYPES; i++) {
        SQLSMALLINT ctype = -1, sqltype = -1, digits = -1;
        SQLULEN size = 12345;
        d->ptype(&ALL_TYPES[i], &ctype, &sqltype, &size, &digits);
        CU_ASSERT_EQUAL(ctype, want[i].ctype);
        CU_ASSERT_EQUAL(sqltype, want[i].sqltype);
        CU_ASSERT_EQUAL(size, want[i].size);
        CU_ASSERT_EQUAL(digits, want[i].digits);
        if (ctype != want[i].ctype || sqltype != want[i].sqltype || size != want[i].size ||
            digits != want[i].digits)
            fprintf(stderr, "\n%s: type %zu: %d %d %lu %d", d->name, i, ctype, sqltype,
                    (unsigned long)size, digits);
    }
}

static void test_ptype_sqlite(void)
{
    /* integers and bit as int64, float as double, all else as text */
    static const ptype_want want[NTYPES] = {
        {SQL_C_SBIGINT, SQL_BIGINT, 19, 0},  {SQL_C_SBIGINT, SQL_BIGINT, 19, 0},
        {SQL_C_SBIGINT, SQL_BIGINT, 19, 0},  {SQL_C_SBIGINT, SQL_BIGINT, 19, 0},
        {SQL_C_SBIGINT, SQL_BIGINT, 19, 0},  {SQL_C_CHAR, SQL_VARCHAR, 65535, 0},
        {SQL_C_DOUBLE, SQL_DOUBLE, 15, 0},   {SQL_C_CHAR, SQL_VARCHAR, 64, 0},
        {SQL_C_CHAR, SQL_VARCHAR, 160, 0},   {SQL_C_CHAR, SQL_VARCHAR, 8, 0},
        {SQL_C_CHAR, SQL_VARCHAR, 65535, 0}, {SQL_C_CHAR, SQL_VARCHAR, 65535, 0},
        {SQL_C_CHAR, SQL_VARCHAR, 65535, 0}, {SQL_C_CHAR, SQL_VARCHAR, 65535, 0},
        {SQL_C_CHAR, SQL_VARCHAR, 65535, 0}};
    check_ptypes(&dialect_sqlite, want);
}

static void test_ptype_pgsql(void)
{
    /* typed as the column; bit travels as the text "1"/"0" */
    static const ptype_want want[NTYPES] = {
        {SQL_C_SBIGINT, SQL_SMALLINT, 5, 0},     {SQL_C_SBIGINT, SQL_SMALLINT, 5, 0},
        {SQL_C_SBIGINT, SQL_INTEGER, 10, 0},     {SQL_C_SBIGINT, SQL_BIGINT, 19, 0},
        {SQL_C_CHAR, SQL_BIT, 1, 0},             {SQL_C_CHAR, SQL_NUMERIC, 12, 2},
        {SQL_C_DOUBLE, SQL_DOUBLE, 15, 0},       {SQL_C_CHAR, SQL_VARCHAR, 16, 0},
        {SQL_C_CHAR, SQL_VARCHAR, 40, 0},        {SQL_C_CHAR, SQL_VARCHAR, 2, 0},
        {SQL_C_CHAR, SQL_LONGVARCHAR, 1u << 30, 0}, {SQL_C_CHAR, SQL_TYPE_DATE, 10, 0},
        {SQL_C_CHAR, SQL_TYPE_TIME, 16, 7},      {SQL_C_CHAR, SQL_TYPE_TIMESTAMP, 27, 7},
        {SQL_C_CHAR, SQL_GUID, 36, 0}};
    check_ptypes(&dialect_pgsql, want);
}

static void test_ptype_mssql(void)
{
    /* typed as the column (FreeTDS cannot describe parameters) */
    static const ptype_want want[NTYPES] = {
        {SQL_C_SBIGINT, SQL_TINYINT, 3, 0},  {SQL_C_SBIGINT, SQL_SMALLINT, 5, 0},
        {SQL_C_SBIGINT, SQL_INTEGER, 10, 0}, {SQL_C_SBIGINT, SQL_BIGINT, 19, 0},
        {SQL_C_SBIGINT, SQL_BIT, 1, 0},      {SQL_C_CHAR, SQL_DECIMAL, 12, 2},
        {SQL_C_DOUBLE, SQL_DOUBLE, 15, 0},   {SQL_C_CHAR, SQL_VARCHAR, 16, 0},
        {SQL_C_CHAR, SQL_WVARCHAR, 40, 0},   {SQL_C_CHAR, SQL_CHAR, 2, 0},
        {SQL_C_CHAR, SQL_WLONGVARCHAR, 1073741823, 0}, {SQL_C_CHAR, SQL_VARCHAR, 10, 0},
        {SQL_C_CHAR, SQL_VARCHAR, 16, 0},    {SQL_C_CHAR, SQL_VARCHAR, 27, 0},
        {SQL_C_CHAR, SQL_GUID, 36, 0}};
    /* dates and times as text the server converts: FreeTDS 1.3.17 sends
     * SQL_TYPE_DATE / SQL_TYPE_TIMESTAMP before about 1600 a day off */
    check_ptypes(&dialect_mssql, want);
}

/* ---- DDL and statements ---- */

static void test_create_table(void)
{
    mapping *m = test_mapping();
    const map_table *t = &m->tables[1];
    strbuf sb = STRBUF_INIT;
    dialect_sqlite.create_table_sql(&sb, t);
    CU_ASSERT_STRING_EQUAL(sb_str(&sb),
                           "CREATE TABLE IF NOT EXISTS \"contact\" (\n"
                           "    \"app_id\" INTEGER NOT NULL,\n"
                           "    \"seq\" INTEGER NOT NULL,\n"
                           "    \"phone\" VARCHAR(16),\n"
                           "    \"note\" TEXT,\n"
                           "    PRIMARY KEY (\"app_id\", \"seq\")\n"
                           ")");
    sb_reset(&sb);
    dialect_pgsql.create_table_sql(&sb, t);
    CU_ASSERT_STRING_EQUAL(sb_str(&sb),
                           "CREATE TABLE IF NOT EXISTS \"contact\" (\n"
                           "    \"app_id\" bigint NOT NULL,\n"
                           "    \"seq\" integer NOT NULL,\n"
                           "    \"phone\" varchar(16),\n"
                           "    \"note\" text,\n"
                           "    PRIMARY KEY (\"app_id\", \"seq\")\n"
                           ")");
    sb_reset(&sb);
    dialect_mssql.create_table_sql(&sb, t);
    CU_ASSERT_STRING_EQUAL(sb_str(&sb),
                           "IF OBJECT_ID(N'[dbo].[contact]', N'U') IS NULL "
                           "CREATE TABLE [dbo].[contact] (\n"
                           "    [app_id] bigint NOT NULL,\n"
                           "    [seq] int NOT NULL,\n"
                           "    [phone] varchar(16) NULL,\n"
                           "    [note] nvarchar(max) NULL,\n"
                           "    CONSTRAINT [PK_contact] PRIMARY KEY ([app_id], [seq])\n"
                           ")");
    sb_reset(&sb);
    dialect_ddl(&dialect_pgsql, m, &sb);
    CU_ASSERT_PTR_NOT_NULL(strstr(sb_str(&sb), "\n);\nCREATE TABLE IF NOT EXISTS \"contact\""));
    CU_ASSERT_EQUAL(sb.buf[sb.len - 2], ';');
    CU_ASSERT_EQUAL(sb.buf[sb.len - 1], '\n');
    sb_free(&sb);
    mapping_free(m);
}

static void test_exists_sql(void)
{
    mapping *m = test_mapping();
    strbuf sb = STRBUF_INIT;
    /* the server names the matching parameter rows by ordinal */
    dialect_sqlite.exists_sql(&sb, &m->tables[1], 2);
    CU_ASSERT_STRING_EQUAL(sb_str(&sb),
                           "WITH v(o, k1, k2) AS (VALUES (1, ?, ?), (2, ?, ?)) SELECT v.o FROM v "
                           "WHERE EXISTS (SELECT 1 FROM \"contact\" x WHERE x.\"app_id\" = v.k1 "
                           "AND x.\"seq\" = v.k2)");
    sb_reset(&sb);
    dialect_sqlite.exists_sql(&sb, &m->tables[0], 1);
    CU_ASSERT_STRING_EQUAL(sb_str(&sb),
                           "WITH v(o, k1) AS (VALUES (1, ?)) SELECT v.o FROM v WHERE EXISTS "
                           "(SELECT 1 FROM \"app\" x WHERE x.\"id\" = v.k1)");
    sb_reset(&sb);
    dialect_pgsql.exists_sql(&sb, &m->tables[0], 3);
    CU_ASSERT_STRING_EQUAL(sb_str(&sb),
                           "SELECT v.o FROM (VALUES (1, CAST(? AS integer)), (2, CAST(? AS "
                           "integer)), (3, CAST(? AS integer))) AS v(o, k1) WHERE EXISTS (SELECT "
                           "1 FROM \"app\" x WHERE x.\"id\" = v.k1)");
    sb_reset(&sb);
    dialect_pgsql.exists_sql(&sb, &m->tables[1], 2);
    CU_ASSERT_STRING_EQUAL(sb_str(&sb),
                           "SELECT v.o FROM (VALUES (1, CAST(? AS bigint), CAST(? AS integer)), "
                           "(2, CAST(? AS bigint), CAST(? AS integer))) AS v(o, k1, k2) WHERE "
                           "EXISTS (SELECT 1 FROM \"contact\" x WHERE x.\"app_id\" = v.k1 AND "
                           "x.\"seq\" = v.k2)");
    sb_reset(&sb);
    dialect_mssql.exists_sql(&sb, &m->tables[1], 1);
    CU_ASSERT_STRING_EQUAL(sb_str(&sb),
                           "SELECT v.o FROM (VALUES (1, ?, ?)) AS v(o, k1, k2) WHERE EXISTS "
                           "(SELECT 1 FROM [dbo].[contact] x WHERE x.[app_id] = v.k1 AND "
                           "x.[seq] = v.k2)");
    sb_reset(&sb);
    dialect_mssql.exists_sql(&sb, &m->tables[0], 2);
    CU_ASSERT_STRING_EQUAL(sb_str(&sb),
                           "SELECT v.o FROM (VALUES (1, ?), (2, ?)) AS v(o, k1) WHERE EXISTS "
                           "(SELECT 1 FROM [dbo].[app] x WHERE x.[id] = v.k1)");
    sb_reset(&sb);
    /* nkeys 0: every key of the table (--preload-keys) */
    dialect_mssql.exists_sql(&sb, &m->tables[0], 0);
    CU_ASSERT_STRING_EQUAL(sb_str(&sb), "SELECT [id] FROM [dbo].[app]");
    sb_reset(&sb);
    dialect_sqlite.exists_sql(&sb, &m->tables[1], 0);
    CU_ASSERT_STRING_EQUAL(sb_str(&sb), "SELECT \"app_id\", \"seq\" FROM \"contact\"");
    sb_reset(&sb);
    dialect_pgsql.exists_sql(&sb, &m->tables[0], 0);
    CU_ASSERT_STRING_EQUAL(sb_str(&sb), "SELECT \"id\" FROM \"app\"");
    sb_free(&sb);
    mapping_free(m);
}

static void test_insert_sql(void)
{
    mapping *m = test_mapping();
    const map_table *t = &m->tables[1];
    strbuf sb = STRBUF_INIT;
    dialect_insert_on_conflict_sql(&sb, &dialect_sqlite, t, 1, DUP_ERROR, 2);
    CU_ASSERT_STRING_EQUAL(sb_str(&sb), "INSERT INTO \"contact\" (\"app_id\", \"seq\", \"phone\", "
                                        "\"note\") VALUES (?, ?, ?, ?), (?, ?, ?, ?)");
    sb_reset(&sb);
    dialect_insert_on_conflict_sql(&sb, &dialect_sqlite, t, 1, DUP_SKIP, 1);
    CU_ASSERT_STRING_EQUAL(sb_str(&sb), "INSERT INTO \"contact\" (\"app_id\", \"seq\", "
                                        "\"phone\", \"note\") VALUES (?, ?, ?, ?) ON CONFLICT "
                                        "(\"app_id\", \"seq\") DO NOTHING");
    sb_reset(&sb);
    dialect_insert_on_conflict_sql(&sb, &dialect_sqlite, t, 1, DUP_UPDATE, 1);
    CU_ASSERT_STRING_EQUAL(sb_str(&sb),
                           "INSERT INTO \"contact\" (\"app_id\", \"seq\", \"phone\", \"note\") "
                           "VALUES (?, ?, ?, ?) ON CONFLICT (\"app_id\", \"seq\") DO UPDATE SET "
                           "\"phone\" = excluded.\"phone\", \"note\" = excluded.\"note\"");
    /* SQLite: behind a CTE (the driver keeps it prepared), whose name is
     * not the table's */
    sb_reset(&sb);
    dialect_sqlite_insert_sql(&sb, &dialect_sqlite, t, 1, DUP_ERROR, 1);
    CU_ASSERT_STRING_EQUAL(sb_str(&sb), "WITH migrate_keep(x) AS (SELECT 1) INSERT INTO "
                                        "\"contact\" (\"app_id\", \"seq\", \"phone\", "
                                        "\"note\") VALUES (?, ?, ?, ?)");
    map_table named = *t;
    char nm[] = "s.Migrate_Keep";
    named.name = nm;
    sb_reset(&sb);
    dialect_sqlite_insert_sql(&sb, &dialect_sqlite, &named, 1, DUP_ERROR, 1);
    CU_ASSERT_NSTRING_EQUAL(sb_str(&sb), "WITH migrate_keep_(x) AS (SELECT 1) INSERT INTO "
                                         "\"s\".\"Migrate_Keep\" (", 58);
    sb_reset(&sb);
    dialect_insert_on_conflict_sql(&sb, &dialect_pgsql, t, 1, DUP_SKIP, 2);
    CU_ASSERT_STRING_EQUAL(sb_str(&sb),
                           "INSERT INTO \"contact\" (\"app_id\", \"seq\", \"phone\", \"note\") "
                           "VALUES (?, ?, ?, ?), (?, ?, ?, ?) ON CONFLICT (\"app_id\", \"seq\") "
                           "DO NOTHING");
    sb_reset(&sb);
    dialect_insert_on_conflict_sql(&sb, &dialect_pgsql, t, 1, DUP_UPDATE, 1);
    CU_ASSERT_STRING_EQUAL(sb_str(&sb),
                           "INSERT INTO \"contact\" (\"app_id\", \"seq\", \"phone\", \"note\") "
                           "VALUES (?, ?, ?, ?) ON CONFLICT (\"app_id\", \"seq\") DO UPDATE SET "
                           "\"phone\" = excluded.\"phone\", \"note\" = excluded.\"note\"");
    sb_reset(&sb);
    dialect_insert_on_conflict_sql(&sb, &dialect_pgsql, t, 1, DUP_ERROR, 1);
    CU_ASSERT_STRING_EQUAL(sb_str(&sb), "INSERT INTO \"contact\" (\"app_id\", \"seq\", \"phone\", "
                                        "\"note\") VALUES (?, ?, ?, ?)");
    sb_reset(&sb);
    dialect_mssql_insert_sql(&sb, &dialect_mssql, t, 1, DUP_ERROR, 1);
    CU_ASSERT_STRING_EQUAL(sb_str(&sb), "INSERT INTO [dbo].[contact] ([app_id], [seq], [phone], "
                                        "[note]) VALUES (?, ?, ?, ?)");
    sb_free(&sb);
    mapping_free(m);
}

static void test_mssql_staging(void)
{
    mapping *m = test_mapping();
    const map_table *t = &m->tables[1];
    /* the stage holds integers as bigint and text as nvarchar wide enough
     * for any accepted value (varchar(16): 32 UTF-16 units); CAST keeps a
     * text column's collation */
    static const char *const want[] = {
        "IF OBJECT_ID(N'tempdb..[#stage_1_contact]') IS NULL BEGIN SELECT TOP 0 "
        "CAST(t.[app_id] AS bigint) AS [app_id], CAST(t.[seq] AS bigint) AS [seq], "
        "CAST(t.[phone] AS nvarchar(32)) AS [phone], CAST(t.[note] AS nvarchar(max)) AS [note], "
        "CAST(NULL AS bigint) AS [__pos] INTO [#stage_1_contact] FROM [dbo].[contact] t; ALTER TABLE "
        "[#stage_1_contact] ADD [__ord] bigint IDENTITY(1,1) END ELSE TRUNCATE TABLE "
        "[#stage_1_contact]",
        "INSERT INTO [#stage_1_contact] ([app_id], [seq], [phone], [note]) VALUES (?, ?, ?, ?)",
        /* the first occurrence of each key: no earlier [__ord] with it */
        "INSERT INTO [dbo].[contact] ([app_id], [seq], [phone], [note]) SELECT s.[app_id], "
        "s.[seq], s.[phone], s.[note] FROM [#stage_1_contact] s WHERE NOT EXISTS (SELECT 1 FROM "
        "[#stage_1_contact] e WHERE e.[app_id] = s.[app_id] AND e.[seq] = s.[seq] AND "
        "e.[__ord] < s.[__ord]) AND NOT EXISTS (SELECT 1 FROM [dbo].[contact] t WITH (UPDLOCK, "
        "HOLDLOCK) WHERE t.[app_id] = s.[app_id] AND t.[seq] = s.[seq]); SELECT @@ROWCOUNT",
        /* update and the rest: the last occurrence, no later [__ord] */
        "UPDATE t SET [phone] = s.[phone], [note] = s.[note] FROM [dbo].[contact] t JOIN "
        "[#stage_1_contact] s ON t.[app_id] = s.[app_id] AND t.[seq] = s.[seq] WHERE NOT EXISTS "
        "(SELECT 1 FROM [#stage_1_contact] e WHERE e.[app_id] = s.[app_id] AND e.[seq] = "
        "s.[seq] AND e.[__ord] > s.[__ord]); SELECT @@ROWCOUNT",
        "INSERT INTO [dbo].[contact] ([app_id], [seq], [phone], [note]) SELECT s.[app_id], "
        "s.[seq], s.[phone], s.[note] FROM [#stage_1_contact] s WHERE NOT EXISTS (SELECT 1 FROM "
        "[#stage_1_contact] e WHERE e.[app_id] = s.[app_id] AND e.[seq] = s.[seq] AND "
        "e.[__ord] > s.[__ord]) AND NOT EXISTS (SELECT 1 FROM [dbo].[contact] t WITH (UPDLOCK, "
        "HOLDLOCK) WHERE t.[app_id] = s.[app_id] AND t.[seq] = s.[seq]); SELECT @@ROWCOUNT",
        "INSERT INTO [dbo].[contact] ([app_id], [seq], [phone], [note]) SELECT s.[app_id], "
        "s.[seq], s.[phone], s.[note] FROM [#stage_1_contact] s; SELECT @@ROWCOUNT",
        "DECLARE @tc int = @@TRANCOUNT; SELECT @tc, COUNT_BIG(*) FROM [#stage_1_contact]; ",
        /* the rows found stored, by position, as negative numbers (no
         * count is negative) */
        "SELECT -1 - s.[__pos] FROM [#stage_1_contact] s WHERE EXISTS (SELECT 1 FROM "
        "[dbo].[contact] t WITH (UPDLOCK, HOLDLOCK) WHERE t.[app_id] = s.[app_id] AND t.[seq] = "
        "s.[seq])",
    };
    for (int i = 0; i < 8; i++) {
        strbuf sb = STRBUF_INIT;
        dialect_mssql_stage_sql(&sb, t, 1, i);
        CU_ASSERT_STRING_EQUAL(sb_str(&sb), want[i]);
        if (strcmp(sb_str(&sb), want[i]) != 0)
            fprintf(stderr, "\nstage sql %d: %s\n", i, sb_str(&sb));
        sb_free(&sb);
    }
    /* canonical text (decimal, date, datetime, uuid) is staged as ASCII
     * text and converted by the server to the column's type */
    const map_table *a = &m->tables[0];
    strbuf sb = STRBUF_INIT;
    dialect_mssql_stage_sql(&sb, a, 0, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(sb_str(&sb), "CAST(t.[name] AS nvarchar(40)) AS [name], "
                                               "CAST(t.[amount] AS varchar(48)) AS [amount], "
                                               "CAST(t.[ok] AS bigint) AS [ok], "
                                               "CAST(t.[day] AS varchar(48)) AS [day], "
                                               "CAST(t.[at] AS varchar(48)) AS [at], "
                                               "CAST(t.[uid] AS varchar(48)) AS [uid], "
                                               "CAST(t.[score] AS float) AS [score]"));
    sb_reset(&sb);
    dialect_mssql_stage_sql(&sb, a, 0, 5);
    CU_ASSERT_STRING_EQUAL(sb_str(&sb),
                           "INSERT INTO [dbo].[app] ([id], [name], [amount], [ok], [day], [at], "
                           "[uid], [score]) SELECT s.[id], s.[name], CAST(s.[amount] AS "
                           "decimal(10,2)), s.[ok], CAST(s.[day] AS date), CAST(s.[at] AS "
                           "datetime2(7)), CAST(s.[uid] AS uniqueidentifier), s.[score] FROM "
                           "[#stage_0_app] s; SELECT @@ROWCOUNT");
    sb_free(&sb);
    mapping_free(m);
}

/* Two tables with the same bare name in different schemas get stages of
 * their own, named by table index. */
static void test_mssql_stage_names(void)
{
    static const char *const map2 =
        "<mapping xmlns=\"urn:migrate:mapping:1\" record=\"/r\">"
        "<table name=\"a.items\" key=\"id\">"
        "<column name=\"id\" path=\"@id\" type=\"int\"/>"
        "</table>"
        "<table name=\"b.items\" key=\"id\">"
        "<column name=\"id\" path=\"@id\" type=\"int\"/>"
        "</table>"
        "<table name=\"we]ird\" key=\"id\">"
        "<column name=\"id\" path=\"@id\" type=\"int\"/>"
        "</table></mapping>";
    mig_err err;
    mapping *m = mapping_load_memory(map2, strlen(map2), "two.xml", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_EQUAL_FATAL(m->ntables, 3);
    static const char *const want_name[] = {"[#stage_0_items]", "[#stage_1_items]",
                                            "[#stage_2_we]]ird]"};
    static const char *const want_prepare[] = {
        "IF OBJECT_ID(N'tempdb..[#stage_0_items]') IS NULL BEGIN SELECT TOP 0 CAST(t.[id] AS "
        "bigint) AS [id], CAST(NULL AS bigint) AS [__pos] INTO [#stage_0_items] FROM [a].[items] t; ALTER TABLE [#stage_0_items] ADD [__ord] bigint "
        "IDENTITY(1,1) END ELSE TRUNCATE TABLE [#stage_0_items]",
        "IF OBJECT_ID(N'tempdb..[#stage_1_items]') IS NULL BEGIN SELECT TOP 0 CAST(t.[id] AS "
        "bigint) AS [id], CAST(NULL AS bigint) AS [__pos] INTO [#stage_1_items] FROM [b].[items] t; ALTER TABLE [#stage_1_items] ADD [__ord] bigint "
        "IDENTITY(1,1) END ELSE TRUNCATE TABLE [#stage_1_items]",
        "IF OBJECT_ID(N'tempdb..[#stage_2_we]]ird]') IS NULL BEGIN SELECT TOP 0 CAST(t.[id] AS "
        "bigint) AS [id], CAST(NULL AS bigint) AS [__pos] INTO [#stage_2_we]]ird] FROM [dbo].[we]]ird] t; ALTER TABLE [#stage_2_we]]ird] ADD [__ord] "
        "bigint IDENTITY(1,1) END ELSE TRUNCATE TABLE [#stage_2_we]]ird]",
    };
    for (size_t i = 0; i < 3; i++) {
        strbuf sb = STRBUF_INIT;
        dialect_mssql_stage_name(&sb, &m->tables[i], i);
        CU_ASSERT_STRING_EQUAL(sb_str(&sb), want_name[i]);
        sb_reset(&sb);
        dialect_mssql_stage_sql(&sb, &m->tables[i], i, 0);
        CU_ASSERT_STRING_EQUAL(sb_str(&sb), want_prepare[i]);
        /* a new session's warm_up: the same creation, unguarded */
        sb_reset(&sb);
        dialect_mssql_stage_sql(&sb, &m->tables[i], i, 8);
        const char *body = strstr(want_prepare[i], "SELECT TOP 0");
        const char *end = strstr(want_prepare[i], " END ELSE");
        CU_ASSERT_FATAL(body && end);
        CU_ASSERT_EQUAL(sb.len, (size_t)(end - body));
        CU_ASSERT_EQUAL(strncmp(sb_str(&sb), body, (size_t)(end - body)), 0);
        sb_reset(&sb);
        dialect_mssql_stage_sql(&sb, &m->tables[i], i, 1);
        strbuf want = STRBUF_INIT;
        sb_printf(&want, "INSERT INTO %s ([id]) VALUES (?)", want_name[i]);
        CU_ASSERT_STRING_EQUAL(sb_str(&sb), sb_str(&want));
        sb_free(&want);
        sb_free(&sb);
    }
    /* a long name is cut to at most 80 bytes, never inside a character
     * (#temp names have at most 116 characters); the index keeps it unique */
    strbuf name = STRBUF_INIT, sb = STRBUF_INIT, want = STRBUF_INIT;
    char xs[81];
    memset(xs, 'x', 80);
    xs[80] = '\0';
    map_table lt = m->tables[0];
    sb_printf(&name, "s.%.79sé%s", xs, xs); /* the é takes bytes 80 and 81 */
    lt.name = name.buf;
    dialect_mssql_stage_name(&sb, &lt, 12);
    sb_printf(&want, "[#stage_12_%.79s]", xs);
    CU_ASSERT_STRING_EQUAL(sb_str(&sb), sb_str(&want));
    sb_reset(&name);
    sb_reset(&sb);
    sb_reset(&want);
    sb_printf(&name, "%sé", xs); /* the é starts at byte 81 */
    lt.name = name.buf;
    dialect_mssql_stage_name(&sb, &lt, 3);
    sb_printf(&want, "[#stage_3_%s]", xs);
    CU_ASSERT_STRING_EQUAL(sb_str(&sb), sb_str(&want));
    sb_free(&name);
    sb_free(&sb);
    sb_free(&want);
    mapping_free(m);
}

/* ---- classification ---- */

static void test_classify(void)
{
    const dialect *s = &dialect_sqlite, *p = &dialect_pgsql, *q = &dialect_mssql;
    CU_ASSERT_EQUAL(s->classify("HY000", 19, "[SQLite]UNIQUE constraint failed: app.id (19)"),
                    DBE_DUPLICATE);
    CU_ASSERT_EQUAL(s->classify("HY000", 19, "[SQLite]NOT NULL constraint failed: app.x (19)"),
                    DBE_DATA);
    CU_ASSERT_EQUAL(s->classify("HY000", 5, "[SQLite]database is locked (5)"), DBE_RETRY);
    CU_ASSERT_EQUAL(s->classify("HY000", 1, "[SQLite]no such table: nosuch (1)"), DBE_SCHEMA);
    CU_ASSERT_EQUAL(s->classify("HY000", 1, "[SQLite]table app has no column named x (1)"),
                    DBE_SCHEMA);
    CU_ASSERT_EQUAL(s->classify("HY000", 1, "[SQLite]near \"x\": syntax error (1)"), DBE_FATAL);

    CU_ASSERT_EQUAL(p->classify("23505", 1, "duplicate key"), DBE_DUPLICATE);
    CU_ASSERT_EQUAL(p->classify("23502", 1, "null value"), DBE_DATA);
    CU_ASSERT_EQUAL(p->classify("23503", 1, "foreign key"), DBE_DATA);
    CU_ASSERT_EQUAL(p->classify("22001", 1, "value too long"), DBE_DATA);
    CU_ASSERT_EQUAL(p->classify("22P02", 1, "invalid input syntax"), DBE_DATA);
    CU_ASSERT_EQUAL(p->classify("40001", 1, "serialization"), DBE_RETRY);
    CU_ASSERT_EQUAL(p->classify("40P01", 1, "deadlock detected"), DBE_RETRY);
    CU_ASSERT_EQUAL(p->classify("08006", 1, "connection failure"), DBE_CONNECTION);
    CU_ASSERT_EQUAL(p->classify("08S01", 1, "communication link"), DBE_CONNECTION);
    CU_ASSERT_EQUAL(p->classify("57P01", 1, "terminating connection due to administrator"),
                    DBE_CONNECTION);
    CU_ASSERT_EQUAL(p->classify("HY000", 35, "could not send data to server"), DBE_CONNECTION);
    CU_ASSERT_EQUAL(p->classify("HY000", 35, "server closed the connection unexpectedly"),
                    DBE_CONNECTION);
    CU_ASSERT_EQUAL(p->classify("42501", 1, "permission denied"), DBE_PERMISSION);
    CU_ASSERT_EQUAL(p->classify("42P01", 1, "relation does not exist"), DBE_SCHEMA);
    CU_ASSERT_EQUAL(p->classify("42703", 1, "column does not exist"), DBE_SCHEMA);
    CU_ASSERT_EQUAL(p->classify("42601", 1, "syntax error"), DBE_FATAL);

    CU_ASSERT_EQUAL(q->classify("23000", 2627, "Violation of PRIMARY KEY"), DBE_DUPLICATE);
    CU_ASSERT_EQUAL(q->classify("23000", 2601, "Cannot insert duplicate key row"), DBE_DUPLICATE);
    CU_ASSERT_EQUAL(q->classify("23000", 547, "conflicted with the FOREIGN KEY"), DBE_DATA);
    CU_ASSERT_EQUAL(q->classify("22001", 8152, "String or binary data would be truncated"),
                    DBE_DATA);
    CU_ASSERT_EQUAL(q->classify("22001", 2628, "would be truncated in table"), DBE_DATA);
    CU_ASSERT_EQUAL(q->classify("22018", 245, "Conversion failed"), DBE_DATA);
    CU_ASSERT_EQUAL(q->classify("42000", 8114, "Error converting data type"), DBE_DATA);
    CU_ASSERT_EQUAL(q->classify("22007", 241, "Conversion failed date"), DBE_DATA);
    /* with SQLSTATEs that alone would not say "data" */
    CU_ASSERT_EQUAL(q->classify("HY000", 4815, "Received an invalid column length from the bcp "
                                               "client for colid 2."),
                    DBE_DATA);
    CU_ASSERT_EQUAL(q->classify("HY000", 4816, "Invalid column type from bcp client for colid "
                                               "3."),
                    DBE_DATA);
    CU_ASSERT_EQUAL(q->classify("42000", 2402, "Error converting characters into server's "
                                               "character set. Some received characters will "
                                               "be lost."),
                    DBE_DATA);
    CU_ASSERT_EQUAL(q->classify("HY000", 2402, "Error converting characters"), DBE_DATA);
    CU_ASSERT_EQUAL(q->classify("42000", 515, "Cannot insert the value NULL into column"),
                    DBE_DATA);
    CU_ASSERT_EQUAL(q->classify("42000", 8115, "Arithmetic overflow error converting"),
                    DBE_DATA);
    CU_ASSERT_EQUAL(q->classify("HY000", 4815, ""), DBE_DATA);
    CU_ASSERT_EQUAL(q->classify("HY000", 4814, ""), DBE_FATAL);
    CU_ASSERT_EQUAL(q->classify("22003", 0, "out of range"), DBE_DATA);
    CU_ASSERT_EQUAL(q->classify("23000", 0, "integrity"), DBE_DATA);
    CU_ASSERT_EQUAL(q->classify("40001", 1205, "deadlock victim"), DBE_RETRY);
    CU_ASSERT_EQUAL(q->classify("40001", 0, "serialization"), DBE_RETRY);
    CU_ASSERT_EQUAL(q->classify("08S01", 20004, "Read from the server failed"), DBE_CONNECTION);
    CU_ASSERT_EQUAL(q->classify("08001", 0, "Unable to connect"), DBE_CONNECTION);
    CU_ASSERT_EQUAL(q->classify("42000", 229, "permission was denied"), DBE_PERMISSION);
    CU_ASSERT_EQUAL(q->classify("42000", 230, "permission was denied on column"),
                    DBE_PERMISSION);
    CU_ASSERT_EQUAL(q->classify("42000", 262, "CREATE TABLE permission denied"),
                    DBE_PERMISSION);
    CU_ASSERT_EQUAL(q->classify("42S02", 208, "Invalid object name"), DBE_SCHEMA);
    CU_ASSERT_EQUAL(q->classify("42S22", 207, "Invalid column name"), DBE_SCHEMA);
    CU_ASSERT_EQUAL(q->classify("42000", 102, "Incorrect syntax"), DBE_FATAL);
}

/* ---- SQL Server bulk copy binding ---- */

static void test_bcp_binding(void)
{
    /* integers and bit as int64, float as double, everything else as text */
    static const int want[NTYPES] = {
        BCP_TYPE_SQLINT8, BCP_TYPE_SQLINT8, BCP_TYPE_SQLINT8, BCP_TYPE_SQLINT8, BCP_TYPE_SQLINT8,
        BCP_TYPE_SQLCHAR, BCP_TYPE_SQLFLT8, BCP_TYPE_SQLCHAR, BCP_TYPE_SQLCHAR, BCP_TYPE_SQLCHAR,
        BCP_TYPE_SQLCHAR, BCP_TYPE_SQLCHAR, BCP_TYPE_SQLCHAR, BCP_TYPE_SQLCHAR, BCP_TYPE_SQLCHAR};
    for (size_t i = 0; i < NTYPES; i++) {
        int host = -1, prefix = -1, varlen = 0, termlen = -1;
        dialect_mssql_bcp_column(&ALL_TYPES[i], &host, &prefix, &varlen, &termlen);
        CU_ASSERT_EQUAL(host, want[i]);
        CU_ASSERT_EQUAL(prefix, 8);
        CU_ASSERT_EQUAL(varlen, SQL_VARLEN_DATA);
        CU_ASSERT_EQUAL(termlen, 0);
    }
    /* the bound bytes: int64 length prefix (-1 = NULL), then the value */
    mapping *m = test_mapping();
    batch *b = batch_new(m, 2);
    batch_begin_record(b, 0, 1, 1, "<a/>", 4);
    value *v = batch_add_row(b, 0);
    v[0].len = 0;
    v[0].n.i = -42;
    v[1].off = batch_put_text(b, "Zoë", 4);
    v[1].len = 4;
    v[7].len = 0;
    v[7].n.f = 2.5;
    batch_commit_record(b, 0);
    const value *row = batch_row(b, 0, 0);
    unsigned char buf[32];
    int64_t len, i;
    double f;
    CU_ASSERT_EQUAL(dialect_mssql_bcp_value(b, &row[0], &m->tables[0].cols[0].type, buf, 32), 0);
    memcpy(&len, buf, 8);
    memcpy(&i, buf + 8, 8);
    CU_ASSERT_EQUAL(len, 8);
    CU_ASSERT_EQUAL(i, -42);
    CU_ASSERT_EQUAL(dialect_mssql_bcp_value(b, &row[1], &m->tables[0].cols[1].type, buf, 32), 0);
    memcpy(&len, buf, 8);
    CU_ASSERT_EQUAL(len, 4);
    CU_ASSERT_EQUAL(memcmp(buf + 8, "Zoë", 4), 0);
    CU_ASSERT_EQUAL(dialect_mssql_bcp_value(b, &row[2], &m->tables[0].cols[2].type, buf, 32), 0);
    memcpy(&len, buf, 8);
    CU_ASSERT_EQUAL(len, -1);
    CU_ASSERT_EQUAL(dialect_mssql_bcp_value(b, &row[7], &m->tables[0].cols[7].type, buf, 32), 0);
    memcpy(&len, buf, 8);
    memcpy(&f, buf + 8, 8);
    CU_ASSERT_EQUAL(len, 8);
    CU_ASSERT_DOUBLE_EQUAL(f, 2.5, 0);
    /* text longer than the buffer is refused, not truncated */
    CU_ASSERT_EQUAL(dialect_mssql_bcp_value(b, &row[1], &m->tables[0].cols[1].type, buf, 10), -1);
    batch_free(b);
    mapping_free(m);
}

/* ---- live loads ---- */

/* Put text s into value v of batch b. */
static void put_text(batch *b, value *v, const char *s)
{
    v->len = (int32_t)strlen(s);
    v->off = batch_put_text(b, s, strlen(s));
}

/* Fill b with 3 records: apps 1..3, contacts (1,1) (1,2) (3,1). */
static void fill_batch(batch *b)
{
    static const char *const names[] = {"Zoë 漢字 😀", "O'Brien \"x\"", "plain"};
    static const char *const amounts[] = {"12.30", "-0.05", "99999999.99"};
    for (int r = 0; r < 3; r++) {
        char xml[32];
        snprintf(xml, sizeof xml, "<a:app id=\"%d\"/>", r + 1);
        batch_begin_record(b, 0, (uint64_t)(10 * r + 2), (uint64_t)r + 1, xml, strlen(xml));
        value *v = batch_add_row(b, 0);
        v[0].len = 0;
        v[0].n.i = r + 1;
        put_text(b, &v[1], names[r]);
        put_text(b, &v[2], amounts[r]);
        v[3].len = 0;
        v[3].n.i = r == 1;
        put_text(b, &v[4], "2024-02-29");
        put_text(b, &v[5], r == 2 ? "1999-12-31 23:59:59" : "2024-02-29 12:34:56.123456");
        if (r != 1)
            put_text(b, &v[6], "0123abcd-0000-4000-8000-00000000abcd");
        v[7].len = 0;
        v[7].n.f = 1.25 * r;
        int ncontacts = r == 0 ? 2 : r == 2 ? 1 : 0;
        for (int c = 0; c < ncontacts; c++) {
            value *cv = batch_add_row(b, 1);
            cv[0].len = 0;
            cv[0].n.i = r + 1;
            cv[1].len = 0;
            cv[1].n.i = c + 1;
            put_text(b, &cv[2], c ? "+49 30 1234" : "555-0100");
        }
        batch_commit_record(b, 0);
    }
}

/* Returns the rows of sql as "a|b|c\n" lines (NULL as "-"). */
static char *select_all(db_conn *c, const char *sql)
{
    strbuf out = STRBUF_INIT;
    SQLHSTMT h;
    CU_ASSERT_FATAL(SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, c->dbc, &h)));
    CU_ASSERT_FATAL(SQL_SUCCEEDED(SQLExecDirect(h, (SQLCHAR *)sql, SQL_NTS)));
    SQLSMALLINT ncols = 0;
    SQLNumResultCols(h, &ncols);
    while (SQL_SUCCEEDED(SQLFetch(h))) {
        for (SQLSMALLINT i = 1; i <= ncols; i++) {
            char buf[256];
            SQLLEN ind = 0;
            SQLGetData(h, (SQLUSMALLINT)i, SQL_C_CHAR, buf, sizeof buf, &ind);
            if (i > 1)
                sb_putc(&out, '|');
            sb_puts(&out, ind == SQL_NULL_DATA ? "-" : buf);
        }
        sb_putc(&out, '\n');
    }
    SQLFreeHandle(SQL_HANDLE_STMT, h);
    db_rollback(c);
    return sb_detach(&out);
}

/* Connects c to t (the test stops when it cannot), then runs each statement
 * of sql[] (NULL-terminated; NULL for none), committing after each; a
 * failure is printed and asserted. */
static void live_open(db_conn *c, const db_target *t, const char *const *sql)
{
    mig_err err;
    int rc = dialect_connect(c, t, &err);
    if (rc != 0)
        fprintf(stderr, "connect: %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    for (size_t i = 0; sql && sql[i]; i++) {
        rc = db_exec(c, sql[i], &err);
        if (rc != 0)
            fprintf(stderr, "\n%s: %s\n", sql[i], err.msg);
        CU_ASSERT_EQUAL(rc, 0);
        CU_ASSERT_EQUAL(db_commit(c, &err), 0);
    }
}

/* Load the 3-record batch into both tables with DUP_SKIP, then again (all
 * duplicates), compare the rows, and check that a duplicate under DUP_ERROR
 * is classified as such.  app_want / contact_want are the expected rows. */
static void live_load(const db_target *t, const char *app_want, const char *contact_want)
{
    mig_err err;
    db_conn c;
    mapping *m = test_mapping();
    live_open(&c, t, NULL);
    db_exec(&c, "DROP TABLE IF EXISTS app", &err);
    db_exec(&c, "DROP TABLE IF EXISTS contact", &err);
    strbuf ddl = STRBUF_INIT;
    for (size_t i = 0; i < m->ntables; i++) {
        sb_reset(&ddl);
        c.d->create_table_sql(&ddl, &m->tables[i]);
        CU_ASSERT_EQUAL(db_exec(&c, sb_str(&ddl), &err), 0);
    }
    CU_ASSERT_EQUAL(db_commit(&c, &err), 0);
    sb_free(&ddl);

    batch *b = batch_new(m, 4);
    fill_batch(b);
    dialect_table_state *st[2] = {NULL, NULL};
    for (int pass = 0; pass < 2; pass++) {
        load_result r0, r1;
        /* the rerun as the worker runs it after a fast path failed
         * (SQL Server's bulk copy straight into the table: the #stage) */
        c.no_fast_path = pass;
        CU_ASSERT_EQUAL(db_begin(&c, &err), 0);
        CU_ASSERT_EQUAL(c.d->load_rows(&c, &st[0], b, 0, 0, 3, DUP_SKIP, &r0, &err), 0);
        CU_ASSERT_EQUAL(c.d->load_rows(&c, &st[1], b, 1, 0, 3, DUP_SKIP, &r1, &err), 0);
        CU_ASSERT_EQUAL(db_commit(&c, &err), 0);
        CU_ASSERT_EQUAL(r0.inserted, pass ? 0 : 3);
        CU_ASSERT_EQUAL(r0.dup_db, pass ? 3 : 0);
        CU_ASSERT_EQUAL(r1.inserted, pass ? 0 : 3);
        CU_ASSERT_EQUAL(r1.dup_db, pass ? 3 : 0);
        CU_ASSERT_EQUAL(r0.updated + r1.updated, 0);
    }
    char *apps = select_all(&c, "SELECT id, name, amount, ok, day, at, uid, score FROM app "
                                "ORDER BY id");
    CU_ASSERT_STRING_EQUAL(apps, app_want);
    if (strcmp(apps, app_want) != 0)
        fprintf(stderr, "\ngot:\n%s", apps);
    free(apps);
    char *contacts = select_all(&c, "SELECT app_id, seq, phone, note FROM contact "
                                    "ORDER BY app_id, seq");
    CU_ASSERT_STRING_EQUAL(contacts, contact_want);
    free(contacts);

    /* update policy: records 2..3 exist, so their rows are updated (2 in
     * app, 1 in contact), none inserted, as settle_range counts what the
     * dialect did (SQL Server: its own counts; else the existence check
     * first); both records loaded */
    settler s;
    settle_result ru;
    settler_init(&s, m, DUP_UPDATE, 0, &c, st);
    settle_result_init(&ru, m->ntables, 2);
    CU_ASSERT_EQUAL(db_begin(&c, &err), 0);
    CU_ASSERT_EQUAL(settle_range(&s, b, 1, 3, 0, &ru, &err), 0);
    CU_ASSERT_EQUAL(db_commit(&c, &err), 0);
    for (size_t i = 0; i < 2; i++) {
        CU_ASSERT_EQUAL(ru.rows[i].updated, i ? 1 : 2);
        CU_ASSERT_EQUAL(ru.rows[i].inserted, 0);
        CU_ASSERT_EQUAL(ru.rows[i].dup_db, 0);
        CU_ASSERT_EQUAL(ru.rec_dup[i], 0);
    }
    settle_result_free(&ru);
    settler_free(&s);

    /* duplicate under the error policy: refused as a duplicate */
    load_result rd;
    int rc = c.d->load_rows(&c, &st[0], b, 0, 0, 1, DUP_ERROR, &rd, &err);
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT_EQUAL(c.last_class, DBE_DUPLICATE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "app: SQLSTATE "));
    CU_ASSERT_PTR_NULL(strchr(err.msg, '\n'));
    CU_ASSERT_EQUAL(db_rollback(&c), 0);

    /* after a refused statement and its rollback the connection still
     * opens transactions: a row inserted and rolled back is gone */
    CU_ASSERT_EQUAL(db_exec(&c, "INSERT INTO contact (app_id, seq) VALUES (9, 9)", &err), 0);
    CU_ASSERT_EQUAL(db_rollback(&c), 0);
    char *none = select_all(&c, "SELECT app_id FROM contact WHERE app_id = 9");
    CU_ASSERT_STRING_EQUAL(none, "");
    free(none);

    /* one refused row inside a parameter array (the SQL Server load path):
     * the whole call fails as a data error, so the worker isolates it */
    CU_ASSERT_EQUAL(db_exec(&c, "DELETE FROM contact", &err), 0);
    CU_ASSERT_EQUAL(db_commit(&c, &err), 0);
    CU_ASSERT_EQUAL(db_exec(&c, "INSERT INTO contact (app_id, seq) VALUES (3, 1)", &err), 0);
    dialect_table_state *arr = NULL;
    SQLLEN changed = 0;
    rc = dialect_load_generic(&c, &arr, b, 1, 0, 3, DUP_ERROR, 0, 0,
                              c.d == &dialect_mssql ? dialect_mssql_insert_sql
                                                    : dialect_insert_on_conflict_sql,
                              &changed, &err);
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT(c.last_class == DBE_DUPLICATE || c.last_class == DBE_DATA);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "contact"));
    CU_ASSERT_EQUAL(db_rollback(&c), 0);
    c.d->table_state_free(&c, arr);

    /* a missing table is a schema error (where the server gives SQL
     * Server's number for it: the TDS test server answers with a generic
     * native error, 33557097, and the SQLSTATE 42000) */
    CU_ASSERT_EQUAL(db_exec(&c, "SELECT * FROM no_such_table", &err), -1);
    if (c.d != &dialect_mssql || err.native == 208) {
        CU_ASSERT_EQUAL(c.last_class, DBE_SCHEMA);
        CU_ASSERT_EQUAL(err.status, MIG_EDBSCHEMA);
    }
    db_rollback(&c);

    for (int i = 0; i < 2; i++)
        c.d->table_state_free(&c, st[i]);
    batch_free(b);
    db_disconnect(&c);
    mapping_free(m);
}

/* A table keyed by (code, n) for the existence check; its code column is
 * made case-insensitive by the caller's DDL. */
static const char *MAP_FX =
    "<mapping xmlns=\"urn:migrate:mapping:1\" record=\"/r\">"
    "<table name=\"fx\" key=\"code n\">"
    "<column name=\"code\" path=\"@c\" type=\"varchar(10)\"/>"
    "<column name=\"n\" path=\"@n\" type=\"int\"/>"
    "</table></mapping>";

/* The existence check as settle.c asks it: the dialect's own (PostgreSQL:
 * the keys as arrays), else the shared one through exists_sql. */
static int find_existing(db_conn *c, dialect_table_state **st, const batch *b, size_t t,
                         const size_t *rows, size_t n, unsigned char *found, mig_err *err)
{
    if (c->d->find_existing)
        return c->d->find_existing(c, st, b, t, rows, n, found, err);
    return dialect_find_existing(c, st, b, t, rows, n, found, err);
}

/* dialect_find_existing over 250 rows (three chunks of up to 100, asked in
 * reverse order) against a table whose key text compares case-insensitively
 * (ddl: the statements that create it): the server decides what matches,
 * so "abc" finds the stored "ABC". */
static void live_find_existing(const db_target *t, const char *const *ddl)
{
    static const char *const codes[] = {"abc", "ABC", "x y", "ABC", NULL, "ZOë", "abc", "nope"};
    static const int ns[] = {1, 2, 2, 1, 1, 3, 1, 1};
    enum { NROWS = 250 };
    mig_err err;
    db_conn c;
    int rc;
    mapping *m = unit_mapping(MAP_FX);
    live_open(&c, t, ddl);
    CU_ASSERT_EQUAL(db_exec(&c, "INSERT INTO fx (code, n) VALUES ('ABC', 1), ('x y', 2), "
                                "('Zoë', 3), ('k100', 100), ('K150', 150), ('k249', 249)",
                            &err),
                    0);
    CU_ASSERT_EQUAL(db_commit(&c, &err), 0);

    batch *b = batch_new(m, NROWS);
    for (int r = 0; r < NROWS; r++) {
        char code[16];
        batch_begin_record(b, 0, 1, (uint64_t)r + 1, "<r/>", 4);
        value *v = batch_add_row(b, 0);
        v[1].len = 0;
        v[1].n.i = r < 8 ? ns[r] : r;
        snprintf(code, sizeof code, r == 150 ? "k%d" : "K%d", r);
        if (r >= 8 || codes[r])
            put_text(b, &v[0], r < 8 ? codes[r] : code);
        batch_commit_record(b, 0);
    }
    size_t rows[NROWS];
    unsigned char found[NROWS];
    for (size_t i = 0; i < NROWS; i++)
        rows[i] = NROWS - 1 - i;
    memset(found, 7, sizeof found);
    dialect_table_state *st = NULL;
    CU_ASSERT_EQUAL(db_begin(&c, &err), 0);
    rc = find_existing(&c, &st, b, 0, rows, NROWS, found, &err);
    if (rc != 0)
        fprintf(stderr, "\nfind_existing: %s\n", err.msg);
    CU_ASSERT_EQUAL(rc, 0);
    strbuf got = STRBUF_INIT;
    for (size_t i = 0; i < NROWS; i++)
        if (found[i])
            sb_printf(&got, "%zu=%u ", rows[i], found[i]);
    /* rows 0 (abc/1), 3 (ABC/1), 6 (abc/1), 2 (x y/2), 5 (ZOë/3), and the
     * K100 / k150 / K249 rows, one in each chunk; not 1 (ABC/2), 4 (NULL),
     * 7 (nope) */
    CU_ASSERT_STRING_EQUAL(sb_str(&got), "249=1 150=1 100=1 6=1 5=1 3=1 2=1 0=1 ");
    if (strcmp(sb_str(&got), "249=1 150=1 100=1 6=1 5=1 3=1 2=1 0=1 ") != 0)
        fprintf(stderr, "\nfound: %s\n", sb_str(&got));
    /* a short call reuses nothing it should not: rows 7, 0, 1 */
    size_t three[] = {7, 0, 1};
    memset(found, 7, 3);
    CU_ASSERT_EQUAL(find_existing(&c, &st, b, 0, three, 3, found, &err), 0);
    CU_ASSERT_EQUAL(found[0], 0);
    CU_ASSERT_EQUAL(found[1], 1);
    CU_ASSERT_EQUAL(found[2], 0);
    CU_ASSERT_EQUAL(db_rollback(&c), 0);
    sb_free(&got);
    c.d->table_state_free(&c, st);
    batch_free(b);
    db_disconnect(&c);
    mapping_free(m);
}

/* A table keyed by one column of every other kind. */
static const char *MAP_FT =
    "<mapping xmlns=\"urn:migrate:mapping:1\" record=\"/r\">"
    "<table name=\"ft\" key=\"t b d f c day tm at u s\">"
    "<column name=\"t\" path=\"@t\" type=\"tinyint\"/>"
    "<column name=\"b\" path=\"@b\" type=\"bit\"/>"
    "<column name=\"d\" path=\"@d\" type=\"decimal(12,2)\"/>"
    "<column name=\"f\" path=\"@f\" type=\"float\"/>"
    "<column name=\"c\" path=\"@c\" type=\"char(2)\"/>"
    "<column name=\"day\" path=\"@day\" type=\"date\"/>"
    "<column name=\"tm\" path=\"@tm\" type=\"time\"/>"
    "<column name=\"at\" path=\"@at\" type=\"datetime\"/>"
    "<column name=\"u\" path=\"@u\" type=\"uniqueidentifier\"/>"
    "<column name=\"s\" path=\"@s\" type=\"nvarchar(max)\"/>"
    "</table></mapping>";

/* The existence check with a key of every type: row 0 is stored, row 1
 * differs from it in the last key part only. */
static void live_find_typed(const db_target *t)
{
    mig_err err;
    db_conn c;
    mapping *m = unit_mapping(MAP_FT);
    live_open(&c, t, NULL);
    db_exec(&c, "DROP TABLE IF EXISTS ft", &err);
    strbuf sb = STRBUF_INIT;
    c.d->create_table_sql(&sb, &m->tables[0]);
    CU_ASSERT_EQUAL(db_exec(&c, sb_str(&sb), &err), 0);
    CU_ASSERT_EQUAL(db_commit(&c, &err), 0);
    sb_free(&sb);
    batch *b = batch_new(m, 2);
    for (int r = 0; r < 2; r++) {
        batch_begin_record(b, 0, 1, (uint64_t)r + 1, "<r/>", 4);
        value *v = batch_add_row(b, 0);
        v[0].len = v[1].len = v[3].len = 0;
        v[0].n.i = 7;
        v[1].n.i = 1;
        v[3].n.f = -2.5;
        put_text(b, &v[2], "12.30");
        put_text(b, &v[4], "ab");
        put_text(b, &v[5], "2024-02-29");
        put_text(b, &v[6], "12:34:56");
        put_text(b, &v[7], "2024-02-29 12:34:56.123456");
        put_text(b, &v[8], "0123abcd-0000-4000-8000-00000000abcd");
        put_text(b, &v[9], r ? "Zoë 2" : "Zoë 漢字");
        batch_commit_record(b, 0);
    }
    dialect_table_state *st = NULL;
    load_result res;
    CU_ASSERT_EQUAL(db_begin(&c, &err), 0);
    CU_ASSERT_EQUAL(c.d->load_rows(&c, &st, b, 0, 0, 1, DUP_ERROR, &res, &err), 0);
    CU_ASSERT_EQUAL(db_commit(&c, &err), 0);
    size_t rows[] = {1, 0};
    unsigned char found[2] = {7, 7};
    int rc = find_existing(&c, &st, b, 0, rows, 2, found, &err);
    if (rc != 0)
        fprintf(stderr, "\nfind_existing: %s\n", err.msg);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(found[0], 0);
    CU_ASSERT_EQUAL(found[1], 1);
    db_rollback(&c);
    c.d->table_state_free(&c, st);
    batch_free(b);
    db_disconnect(&c);
    mapping_free(m);
}

/* SQLite: the INSERTs are compiled once per statement size, not at every
 * execute (the driver's trace file lists each sqlite3_prepare_v2), and the
 * rows they insert are counted without a trigger's (changes(), not
 * total_changes()). */
static void live_sqlite_prepared_once(const char *file)
{
    strbuf tp = STRBUF_INIT;
    sb_printf(&tp, "%s/sqlite-trace.txt", unit_tmpdir());
    const char *trace = sb_str(&tp);
    db_target t;
    db_target_sqlite(&t, file);
    strbuf cs = STRBUF_INIT;
    sb_printf(&cs, "%s;Tracefile=%s", t.connstr, trace);
    free(t.connstr);
    t.connstr = sb_detach(&cs);
    mig_err err;
    db_conn c;
    mapping *m = test_mapping();
    live_open(&c, &t, NULL);
    db_exec(&c, "DROP TABLE IF EXISTS app", &err);
    db_exec(&c, "DROP TABLE IF EXISTS app_log", &err);
    strbuf ddl = STRBUF_INIT;
    c.d->create_table_sql(&ddl, &m->tables[0]);
    CU_ASSERT_EQUAL(db_exec(&c, sb_str(&ddl), &err), 0);
    sb_free(&ddl);
    CU_ASSERT_EQUAL(db_exec(&c, "CREATE TABLE app_log (id INTEGER)", &err), 0);
    CU_ASSERT_EQUAL(db_exec(&c, "CREATE TRIGGER app_logged AFTER INSERT ON app BEGIN "
                                "INSERT INTO app_log VALUES (new.id); "
                                "INSERT INTO app_log VALUES (new.id); END",
                            &err),
                    0);
    CU_ASSERT_EQUAL(db_commit(&c, &err), 0);
    batch *b = batch_new(m, 4);
    fill_batch(b);
    dialect_table_state *st = NULL;
    /* rows 1..2 (a 2-row statement), then 0..2 (2 + 1), then 0..2 again */
    static const size_t lo[] = {1, 0, 0};
    static const uint64_t ins[] = {2, 1, 0};
    for (int pass = 0; pass < 3; pass++) {
        load_result r;
        CU_ASSERT_EQUAL(db_begin(&c, &err), 0);
        CU_ASSERT_EQUAL(c.d->load_rows(&c, &st, b, 0, lo[pass], 3, DUP_SKIP, &r, &err), 0);
        CU_ASSERT_EQUAL(db_commit(&c, &err), 0);
        CU_ASSERT_EQUAL(r.inserted, ins[pass]);
        CU_ASSERT_EQUAL(r.dup_db, 3 - lo[pass] - ins[pass]);
    }
    char *logged = select_all(&c, "SELECT count(*) FROM app_log");
    CU_ASSERT_STRING_EQUAL(logged, "6\n");
    free(logged);
    /* existence checks of 3, 2 and 3 keys: one statement (of a full chunk,
     * the rest bound to NULL keys), compiled once, not again whenever the
     * count changes */
    static const size_t asks[][3] = {{2, 0, 1}, {1, 2, 0}, {0, 1, 2}};
    static const size_t nask[] = {3, 2, 3};
    for (int i = 0; i < 3; i++) {
        unsigned char found[3] = {7, 7, 7};
        CU_ASSERT_EQUAL(find_existing(&c, &st, b, 0, asks[i], nask[i], found, &err), 0);
        for (size_t k = 0; k < nask[i]; k++)
            CU_ASSERT_EQUAL(found[k], 1);
    }
    db_rollback(&c);
    c.d->table_state_free(&c, st);
    batch_free(b);
    db_disconnect(&c);
    mapping_free(m);
    db_target_free(&t);
    FILE *f = fopen(trace, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char line[4096];
    int prepares = 0, checks = 0;
    while (fgets(line, sizeof line, f)) {
        if (strstr(line, "sqlite3_prepare_v2") && strstr(line, "INSERT INTO \"app\""))
            prepares++;
        if (strstr(line, "sqlite3_prepare_v2") && strstr(line, "SELECT v.o FROM v"))
            checks++;
    }
    fclose(f);
    CU_ASSERT_EQUAL(checks, 1);
    if (checks != 1)
        fprintf(stderr, "\nexistence checks compiled %d times\n", checks);
    /* two statements (2 rows, 1 row), each compiled once: five executes */
    CU_ASSERT_EQUAL(prepares, 2);
    if (prepares != 2)
        fprintf(stderr, "\nINSERT compiled %d times\n", prepares);
    sb_free(&tp);
}

static void test_live_sqlite(void)
{
    char file[] = "/tmp/test_dialect_XXXXXX";
    int fd = mkstemp(file);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    db_target t;
    db_target_sqlite(&t, file);
    CU_ASSERT_PTR_NOT_NULL(strstr(t.connstr, "Database="));
    live_load(&t,
              "1|Zoë 漢字 😀|12.30|0|2024-02-29|2024-02-29 12:34:56.123456|"
              "0123abcd-0000-4000-8000-00000000abcd|0.0\n"
              "2|O'Brien \"x\"|-0.05|1|2024-02-29|2024-02-29 12:34:56.123456|-|1.25\n"
              "3|plain|99999999.99|0|2024-02-29|1999-12-31 23:59:59|"
              "0123abcd-0000-4000-8000-00000000abcd|2.5\n",
              "1|1|555-0100|-\n1|2|+49 30 1234|-\n3|1|555-0100|-\n");
    static const char *const ddl[] = {
        "DROP TABLE IF EXISTS fx",
        "CREATE TABLE fx (code VARCHAR(10) COLLATE NOCASE, n INTEGER NOT NULL, "
        "PRIMARY KEY (code, n))",
        NULL};
    live_find_existing(&t, ddl);
    live_find_typed(&t);
    db_target_free(&t);
    live_sqlite_prepared_once(file);
    char wal[64];
    unlink(file);
    snprintf(wal, sizeof wal, "%s-wal", file);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", file);
    unlink(wal);
}

static void test_live_pgsql(void)
{
    const char *cs = getenv("MIGRATE_TEST_PG");
    if (!cs || !*cs) {
        printf("\n  (MIGRATE_TEST_PG not set: PostgreSQL live test skipped) ");
        return;
    }
    db_target t;
    memset(&t, 0, sizeof t);
    t.connstr = xstrdup(cs);
    t.connect_timeout = 10;
    t.load = LOAD_INSERT;
    /* psqlODBC spells a uuid read as SQL_C_CHAR in upper case */
    live_load(&t,
              "1|Zoë 漢字 😀|12.30|0|2024-02-29|2024-02-29 12:34:56.123456|"
              "0123ABCD-0000-4000-8000-00000000ABCD|0\n"
              "2|O'Brien \"x\"|-0.05|1|2024-02-29|2024-02-29 12:34:56.123456|-|1.25\n"
              "3|plain|99999999.99|0|2024-02-29|1999-12-31 23:59:59|"
              "0123ABCD-0000-4000-8000-00000000ABCD|2.5\n",
              "1|1|555-0100|-\n1|2|+49 30 1234|-\n3|1|555-0100|-\n");
    /* a nondeterministic ICU collation: case-insensitive like SQL Server's
     * default */
    static const char *const ddl[] = {
        "DROP TABLE IF EXISTS fx",
        "DROP COLLATION IF EXISTS mig_ci",
        "CREATE COLLATION mig_ci (provider = icu, locale = 'und-u-ks-level2', "
        "deterministic = false)",
        "CREATE TABLE fx (code varchar(10) COLLATE mig_ci, n integer NOT NULL, "
        "PRIMARY KEY (code, n))",
        NULL};
    live_find_existing(&t, ddl);
    live_find_typed(&t);
    db_target_free(&t);
}

/* ---- SQL Server, live (MIGRATE_TEST_MSSQL: an ODBC connection string to a
 * TDS server in its database, e.g. the one ../shared/tds-server starts) ---- */

/* Returns 1 after filling *t for the SQL Server in MIGRATE_TEST_MSSQL,
 * loading by `load`; 0 (test skipped, said on stdout) when it is not set. */
static int mssql_target(db_target *t, load_method load)
{
    const char *cs = getenv("MIGRATE_TEST_MSSQL");
    if (!cs || !*cs) {
        printf("\n  (MIGRATE_TEST_MSSQL not set: SQL Server live test skipped) ");
        return 0;
    }
    memset(t, 0, sizeof *t);
    t->connstr = xstrdup(cs);
    t->connect_timeout = 30;
    t->load = load;
    t->dialect_name = "sqlserver";
    return 1;
}

/* Returns 1 after connecting c to the SQL Server of MIGRATE_TEST_MSSQL,
 * loading by load, and running sql[] there as live_open does (drop a table
 * with "DROP TABLE IF EXISTS" among them); 0 (test skipped) when it is not
 * set.  mssql_close ends it. */
static int mssql_open(db_target *t, db_conn *c, load_method load, const char *const *sql)
{
    if (!mssql_target(t, load))
        return 0;
    live_open(c, t, sql);
    return 1;
}

/* Disconnects c and frees t, as mssql_open made them. */
static void mssql_close(db_target *t, db_conn *c)
{
    db_disconnect(c);
    db_target_free(t);
}

static void test_live_mssql(void)
{
    for (int bcp = 0; bcp < 2; bcp++) {
        db_target t;
        if (!mssql_target(&t, bcp ? LOAD_BCP : LOAD_INSERT))
            return;
        live_load(&t,
                  "1|Zoë 漢字 😀|12.30|0|2024-02-29|2024-02-29 12:34:56.1234560|"
                  "0123ABCD-0000-4000-8000-00000000ABCD|0\n"
                  "2|O'Brien \"x\"|-0.05|1|2024-02-29|2024-02-29 12:34:56.1234560|-|1.25\n"
                  "3|plain|99999999.99|0|2024-02-29|1999-12-31 23:59:59.0000000|"
                  "0123ABCD-0000-4000-8000-00000000ABCD|2.5\n",
                  "1|1|555-0100|-\n1|2|+49 30 1234|-\n3|1|555-0100|-\n");
        db_target_free(&t);
    }
}

/* Every kind of value SQL Server makes hard, one row each: the date range
 * ends and the early dates FreeTDS mis-sends as date parameters, 6 fraction
 * digits (a datetime would keep 3), 8 characters of 2 UTF-8 bytes in a
 * varchar(8), 4 UTF-16 units of 4-byte characters in an nvarchar(4), 38
 * digits of decimal, and an nvarchar(max) of 1,048,576 characters. */
static const char *MAP_TV =
    "<mapping xmlns=\"urn:migrate:mapping:1\" record=\"/r\">"
    "<table name=\"tv\" key=\"id\">"
    "<column name=\"id\" path=\"@id\" type=\"int\"/>"
    "<column name=\"d\" path=\"@d\" type=\"date\"/>"
    "<column name=\"at\" path=\"@at\" type=\"datetime\"/>"
    "<column name=\"tm\" path=\"@tm\" type=\"time\"/>"
    "<column name=\"v\" path=\"@v\" type=\"varchar(8)\"/>"
    "<column name=\"n\" path=\"@n\" type=\"nvarchar(4)\"/>"
    "<column name=\"dec\" path=\"@dec\" type=\"decimal(38,10)\"/>"
    "<column name=\"big\" path=\"@big\" type=\"nvarchar(max)\"/>"
    "</table></mapping>";

#define TV_BIG_REPEAT 262144 /* "ab漢字" x 262144 = 1,048,576 characters */

/* Fill b with the MAP_TV rows (ids base+1 ..). */
static void tv_fill(batch *b, int base, strbuf *big)
{
    static const char *const rows[][7] = {
        {"0001-01-01", "0001-01-01 00:00:00", "00:00:00", "éééééééé", "😀😀",
         "1234567890123456789012345678.0123456789", NULL},
        {"1582-10-15", "1582-10-15 12:00:00.5", "23:59:59.123456", "abcdefgh", "漢字漢字",
         "-0.0000000001", ""},
        {"1600-01-01", "1600-01-01 00:00:00", "12:00:00", "", "", "0.0000000000", "x"},
        {"1599-12-31", "1000-06-15 06:30:00.25", "01:02:03", "ÀÉÎÕÜ", "a😀b", "1.5", NULL},
        {"9999-12-31", "9999-12-31 23:59:59.999999", "23:59:59.999999", "zzzzzzzz", "zzzz",
         "-9999999999999999999999999999.9999999999", NULL},
        {"2024-02-29", "2024-02-29 12:34:56.123456", "12:34:56.123456", NULL, NULL, NULL, NULL},
    };
    for (int r = 0; r < 6; r++) {
        batch_begin_record(b, 0, 1, (uint64_t)r + 1, "<r/>", 4);
        value *v = batch_add_row(b, 0);
        v[0].len = 0;
        v[0].n.i = base + r + 1;
        for (int k = 0; k < 6; k++) {
            if (rows[r][k])
                put_text(b, &v[k + 1], rows[r][k]);
            else
                v[k + 1].len = -1;
        }
        if (r == 0) {
            v[7].len = (int32_t)big->len;
            v[7].off = batch_put_text(b, big->buf, big->len);
        } else if (rows[r][6]) {
            put_text(b, &v[7], rows[r][6]);
        } else {
            v[7].len = -1;
        }
        batch_commit_record(b, 0);
    }
}

/* The MAP_TV rows as the server holds them, for ids base+1 .. base+6. */
static void tv_want(strbuf *out, int base)
{
    static const char *const rows[] = {
        "0001-01-01|0001-01-01|00:00:00.0000000|00:00:00.0000000|éééééééé|😀😀|"
        "1234567890123456789012345678.0123456789|1048576|1",
        "1582-10-15|1582-10-15|12:00:00.5000000|23:59:59.1234560|abcdefgh|漢字漢字|"
        "-0.0000000001|0|0",
        "1600-01-01|1600-01-01|00:00:00.0000000|12:00:00.0000000|||0.0000000000|1|0",
        "1599-12-31|1000-06-15|06:30:00.2500000|01:02:03.0000000|ÀÉÎÕÜ|a😀b|1.5000000000|-|-",
        "9999-12-31|9999-12-31|23:59:59.9999990|23:59:59.9999990|zzzzzzzz|zzzz|"
        "-9999999999999999999999999999.9999999999|-|-",
        "2024-02-29|2024-02-29|12:34:56.1234560|12:34:56.1234560|-|-|-|-|-",
    };
    for (int r = 0; r < 6; r++)
        sb_printf(out, "%d|%s\n", base + r + 1, rows[r]);
}

/* Load the MAP_TV rows by insert and by bulk copy, under the error policy
 * (plain INSERT) and the skip policy (the #stage), and read them back:
 * every value exactly as sent (the server's own spelling of it). */
static void test_live_mssql_values(void)
{
    mig_err err;
    mapping *m = unit_mapping(MAP_TV);
    strbuf big = STRBUF_INIT, want = STRBUF_INIT, ddl = STRBUF_INIT;
    for (int i = 0; i < TV_BIG_REPEAT; i++)
        sb_puts(&big, "ab漢字");
    dialect_mssql.create_table_sql(&ddl, &m->tables[0]);
    const char *const sql[] = {"DROP TABLE IF EXISTS tv", sb_str(&ddl), NULL};
    for (int bcp = 0; bcp < 2; bcp++) {
        db_target t;
        db_conn c;
        if (!mssql_open(&t, &c, bcp ? LOAD_BCP : LOAD_INSERT, bcp ? NULL : sql))
            break;
        for (int pol = 0; pol < 2; pol++) {
            int base = 100 * (2 * bcp + pol);
            batch *b = batch_new(m, 8);
            tv_fill(b, base, &big);
            dialect_table_state *st = NULL;
            load_result res;
            CU_ASSERT_EQUAL(db_begin(&c, &err), 0);
            int rc = c.d->load_rows(&c, &st, b, 0, 0, 6, pol ? DUP_SKIP : DUP_ERROR, &res, &err);
            if (rc != 0)
                fprintf(stderr, "\nload (bcp %d, policy %d): %s\n", bcp, pol, err.msg);
            CU_ASSERT_EQUAL(rc, 0);
            CU_ASSERT_EQUAL(res.inserted, 6);
            CU_ASSERT_EQUAL(db_commit(&c, &err), 0);
            tv_want(&want, base);
            c.d->table_state_free(&c, st);
            batch_free(b);
        }
        mssql_close(&t, &c);
    }
    db_target t;
    db_conn c;
    if (mssql_open(&t, &c, LOAD_INSERT, NULL)) {
        char *got = select_all(
            /* dates as the server spells them: FreeTDS prints a fetched
             * year below 1000 without its leading zeros ("1-01-01") */
            &c, "SELECT id, CAST(d AS varchar(10)), CAST(CAST(at AS date) AS varchar(10)), "
                "CAST(at AS time), tm, v, n, dec, LEN(big), CASE WHEN big IS NULL THEN NULL "
                "WHEN big = REPLICATE(CAST(N'ab漢字' AS nvarchar(max)), 262144) THEN 1 ELSE 0 "
                "END FROM tv ORDER BY id");
        CU_ASSERT_STRING_EQUAL(got, sb_str(&want));
        if (strcmp(got, sb_str(&want)) != 0)
            fprintf(stderr, "\ngot:\n%swant:\n%s", got, sb_str(&want));
        free(got);
        mssql_close(&t, &c);
    }
    sb_free(&big);
    sb_free(&want);
    sb_free(&ddl);
    mapping_free(m);
}

/* One int column, for the parameter-array status checks. */
static const char *MAP_TP =
    "<mapping xmlns=\"urn:migrate:mapping:1\" record=\"/r\">"
    "<table name=\"tp\" key=\"id\">"
    "<column name=\"id\" path=\"@id\" type=\"int\"/>"
    "</table></mapping>";

/* FreeTDS's parameter status array: every good set reads SQL_PARAM_SUCCESS
 * (never SQL_PARAM_DIAG_UNAVAILABLE), a refused one SQL_PARAM_ERROR; and a
 * parameter array bound from row 2 of the buffers (row0 > 0) is judged by
 * its own sets: the refused second set fails the call. */
static void test_live_mssql_param_status(void)
{
    db_target t;
    db_conn c;
    const char *const ddl[] = {"DROP TABLE IF EXISTS tp",
                               "CREATE TABLE tp (id int NOT NULL PRIMARY KEY)", NULL};
    if (!mssql_open(&t, &c, LOAD_INSERT, ddl))
        return;
    mig_err err;
    mapping *m = unit_mapping(MAP_TP);
    batch *b = batch_new(m, 4);
    static const int ids[] = {1, 2, 3, 2};
    for (int r = 0; r < 4; r++) {
        batch_begin_record(b, 0, 1, (uint64_t)r + 1, "<r/>", 4);
        value *v = batch_add_row(b, 0);
        v[0].len = 0;
        v[0].n.i = ids[r];
        batch_commit_record(b, 0);
    }
    db_params p;
    memset(&p, 0, sizeof p);
    CU_ASSERT_EQUAL(db_params_fill(&p, b, 0, NULL, 1, 0, 4, 0, c.d->ptype), 4);
    SQLHSTMT h = db_prepare(&c, "INSERT INTO tp (id) VALUES (?)", &err);
    CU_ASSERT_FATAL(h != SQL_NULL_HSTMT);
    /* rows 0..2 (ids 1, 2, 3): all good */
    CU_ASSERT_EQUAL(db_params_bind(&c, h, &p, &m->tables[0], NULL, 1, 0, 3, 1, c.d->ptype, &err),
                    0);
    SQLLEN n = 0;
    int rc = db_execute_array(&c, h, &p, 3, &n, &err, "tp");
    if (rc != 0)
        fprintf(stderr, "\narray: %s\n", err.msg);
    CU_ASSERT_EQUAL(rc, 0);
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(p.status[i], SQL_PARAM_SUCCESS);
    CU_ASSERT_EQUAL(db_rollback(&c), 0);
    /* rows 2..3 (ids 3, 2) after id 2 is in: the second set is refused */
    CU_ASSERT_EQUAL(db_exec(&c, "INSERT INTO tp (id) VALUES (2)", &err), 0);
    CU_ASSERT_EQUAL(db_params_bind(&c, h, &p, &m->tables[0], NULL, 1, 2, 2, 1, c.d->ptype, &err),
                    0);
    rc = db_execute_array(&c, h, &p, 2, &n, &err, "tp");
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "tp: parameter set 2 of 2 refused"));
    CU_ASSERT(c.last_class == DBE_DUPLICATE);
    CU_ASSERT_EQUAL(p.status[0], SQL_PARAM_SUCCESS);
    CU_ASSERT_EQUAL(p.status[1], SQL_PARAM_ERROR);
    db_rollback(&c);
    db_stmt_free(h);
    db_params_free(&p);
    batch_free(b);
    mapping_free(m);
    mssql_close(&t, &c);
}

/* db_params_fill fills rows up to the piece that fits in max_bytes (each
 * column as wide as its widest value in it, at least one row), and binds a
 * large text alone in its piece where it lies in the batch, NUL-terminated
 * there, instead of copying it. */
static void test_params_fill(void)
{
    static const char *map =
        "<mapping xmlns=\"urn:migrate:mapping:1\" record=\"/r/x\">"
        "<table name=\"tn\" key=\"id\">"
        "<column name=\"id\" path=\"@id\" type=\"int\"/>"
        "<column name=\"note\" path=\"n\" type=\"nvarchar(max)\"/>"
        "</table></mapping>";
    mig_err err;
    mapping *m = mapping_load_memory(map, strlen(map), "tn.xml", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    batch *b = batch_new(m, 8);
    size_t big = DB_PARAMS_DIRECT + 10;
    char *large = malloc(big);
    CU_ASSERT_PTR_NOT_NULL_FATAL(large);
    memset(large, 'L', big);
    const char *notes[] = {"a", "bb", large, "ccc", "d"};
    for (int r = 0; r < 5; r++) {
        batch_begin_record(b, 0, 1, (uint64_t)r + 1, "<x/>", 4);
        value *v = batch_add_row(b, 0);
        v[0].len = 0;
        v[0].n.i = r + 1;
        size_t n = notes[r] == large ? big : strlen(notes[r]);
        v[1].off = batch_put_text(b, notes[r], n);
        v[1].len = (int32_t)n;
        batch_commit_record(b, 0);
    }
    free(large);
    db_params p;
    memset(&p, 0, sizeof p);
    p.text_nts = 1;
    db_ptype_fn ptype = dialect_sqlite.ptype;
    /* 64 bytes: rows 0 and 1 (8 + 3 bytes each), not the large one */
    CU_ASSERT_EQUAL(db_params_fill(&p, b, 0, NULL, 2, 0, 5, 64, ptype), 2);
    CU_ASSERT_PTR_NULL(p.direct[1]);
    CU_ASSERT_EQUAL(p.width[1], 3);
    CU_ASSERT_STRING_EQUAL((char *)p.data[1] + 3, "bb");
    CU_ASSERT_EQUAL(p.ind[1][1], SQL_NTS);
    /* the large one alone, bound in the batch, no buffer as wide */
    CU_ASSERT_EQUAL(db_params_fill(&p, b, 0, NULL, 2, 2, 5, 64, ptype), 3);
    const value *v = &batch_row(b, 0, 2)[1];
    CU_ASSERT_PTR_EQUAL(p.direct[1], batch_text(b, v));
    CU_ASSERT_EQUAL(p.direct_len[1], big);
    CU_ASSERT_EQUAL(p.direct[1][big], '\0');
    CU_ASSERT_EQUAL(p.ind[1][0], SQL_NTS);
    CU_ASSERT(p.width[1] < big);
    /* the rest, copied again; without a limit, every row */
    CU_ASSERT_EQUAL(db_params_fill(&p, b, 0, NULL, 2, 3, 5, 64, ptype), 5);
    CU_ASSERT_PTR_NULL(p.direct[1]);
    CU_ASSERT_STRING_EQUAL((char *)p.data[1] + p.width[1], "d");
    p.text_nts = 0;
    CU_ASSERT_EQUAL(db_params_fill(&p, b, 0, NULL, 2, 0, 5, 0, ptype), 5);
    CU_ASSERT_PTR_NULL(p.direct[1]);
    CU_ASSERT_EQUAL(p.ind[1][2], (SQLLEN)big);
    CU_ASSERT_EQUAL(memcmp((char *)p.data[1] + 2 * p.width[1], batch_text(b, v), big), 0);
    db_params_free(&p);
    batch_free(b);
    mapping_free(m);
}

/* A bulk-copy call that fails names the table, the call and the driver's
 * message: here a #stage made beforehand with a tinyint where migrate's
 * would hold a bigint (tp has a column the mapping lacks: no bulk copy
 * straight into it), so that FreeTDS's conversion of 1000 fails in
 * bcp_sendrow on the client; the stream is then broken, so the failure
 * stops the run (DBE_FATAL) instead of being retried on that connection. */
static void test_live_mssql_bcp_error(void)
{
    db_target t;
    db_conn c;
    const char *const ddl[] = {
        "DROP TABLE IF EXISTS tp", "CREATE TABLE tp (id int NOT NULL PRIMARY KEY, x int NULL)",
        "CREATE TABLE [#stage_0_tp] (id tinyint NULL, [__ord] int IDENTITY(1,1))", NULL};
    if (!mssql_open(&t, &c, LOAD_BCP, ddl))
        return;
    mig_err err;
    mapping *m = unit_mapping(MAP_TP);
    batch *b = batch_new(m, 1);
    batch_begin_record(b, 0, 1, 1, "<r/>", 4);
    value *v = batch_add_row(b, 0);
    v[0].len = 0;
    v[0].n.i = 1000;
    batch_commit_record(b, 0);
    dialect_table_state *st = NULL;
    load_result res;
    CU_ASSERT_EQUAL(db_begin(&c, &err), 0);
    int rc = c.d->load_rows(&c, &st, b, 0, 0, 1, DUP_ERROR, &res, &err);
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "tp: bcp_sendrow: SQLSTATE "));
    CU_ASSERT_PTR_NULL(strstr(err.msg, "no message"));
    CU_ASSERT_PTR_NULL(strstr(err.msg, "unknown error"));
    CU_ASSERT_EQUAL(c.last_class, DBE_FATAL);
    if (!strstr(err.msg, "tp: bcp_sendrow: SQLSTATE "))
        fprintf(stderr, "\nbcp error: %s\n", err.msg);
    c.d->table_state_free(&c, st);
    batch_free(b);
    mapping_free(m);
    mssql_close(&t, &c);
}

/* Load ids [from, from + n) of MAP_TP's tp under policy p; returns
 * load_rows' result. */
static int tp_load(db_conn *c, dialect_table_state **st, const mapping *m, int from, int n,
                   dup_policy p, mig_err *err)
{
    load_result res;
    batch *b = batch_new(m, (size_t)n);
    for (int r = 0; r < n; r++) {
        batch_begin_record(b, 0, 1, (uint64_t)r + 1, "<r/>", 4);
        value *v = batch_add_row(b, 0);
        v[0].len = 0;
        v[0].n.i = from + r;
        batch_commit_record(b, 0);
    }
    int rc = c->d->load_rows(c, st, b, 0, 0, (size_t)n, p, &res, err);
    if (rc == 0)
        CU_ASSERT_EQUAL(res.inserted, (uint64_t)n);
    batch_free(b);
    return rc;
}

/* Returns a batch of n records of m's first table, a row each: id keys[r]
 * and (texts not NULL) the text texts[r] as its second column. */
static batch *keyed_batch(const mapping *m, const int *keys, const char *const *texts, size_t n)
{
    batch *b = batch_new(m, n);
    for (size_t r = 0; r < n; r++) {
        batch_begin_record(b, 0, 1, (uint64_t)r + 1, "<r/>", 4);
        value *v = batch_add_row(b, 0);
        v[0].len = 0;
        v[0].n.i = keys[r];
        if (texts)
            put_text(b, &v[1], texts[r]);
        batch_commit_record(b, 0);
    }
    return b;
}

/* Loads the keys keys[0..n) into tp, rows [lo,n) through load_rows_found;
 * returns its rc, with found[] and *res filled. */
static int tp_load_found(db_conn *c, dialect_table_state **st, const mapping *m,
                         const int *keys, size_t n, size_t lo, unsigned char *found,
                         load_result *res, mig_err *err)
{
    batch *b = keyed_batch(m, keys, NULL, n);
    memset(found, 0, n - lo);
    int rc = c->d->load_rows_found(c, st, b, 0, lo, n, found, res, err);
    batch_free(b);
    return rc;
}

/* load_rows_found names exactly the rows whose key was stored (by bulk
 * copy from the move statement itself, on the insert path from the
 * existence check), inserts the others, and counts no row twice; positions
 * are relative to the range's first row. */
static void test_live_mssql_found(void)
{
    mig_err err;
    mapping *m = unit_mapping(MAP_TP);
    for (int bcp = 0; bcp < 2; bcp++) {
        db_target t;
        db_conn c;
        /* x, a column the mapping lacks, keeps bulk copy on the #stage */
        const char *const ddl[] = {"DROP TABLE IF EXISTS tp",
                                   "CREATE TABLE tp (id int NOT NULL PRIMARY KEY, x int NULL)",
                                   "INSERT INTO tp (id) VALUES (2), (5), (7)", NULL};
        if (!mssql_open(&t, &c, bcp ? LOAD_BCP : LOAD_INSERT, ddl))
            break;
        dialect_table_state *st = NULL;
        load_result res;
        unsigned char found[6];
        static const int k1[] = {1, 2, 3, 5, 7, 8};
        int rc = tp_load_found(&c, &st, m, k1, 6, 0, found, &res, &err);
        if (rc != 0)
            fprintf(stderr, "\nload_rows_found (bcp %d): %s\n", bcp, err.msg);
        CU_ASSERT_EQUAL(rc, 0);
        CU_ASSERT(memcmp(found, (unsigned char[]){0, 1, 0, 1, 1, 0}, 6) == 0);
        CU_ASSERT_EQUAL(res.inserted, 3);
        CU_ASSERT_EQUAL(res.dup_db, 0);
        CU_ASSERT_EQUAL(db_commit(&c, &err), 0);
        /* rows [2,6) of a batch: found[i] is row 2 + i */
        static const int k2[] = {9, 10, 3, 11, 8, 12};
        rc = tp_load_found(&c, &st, m, k2, 6, 2, found, &res, &err);
        CU_ASSERT_EQUAL(rc, 0);
        CU_ASSERT(memcmp(found, (unsigned char[]){1, 0, 1, 0}, 4) == 0);
        CU_ASSERT_EQUAL(res.inserted, 2);
        CU_ASSERT_EQUAL(res.dup_db, 0);
        CU_ASSERT_EQUAL(db_commit(&c, &err), 0);
        char *got = select_all(&c, "SELECT id FROM tp ORDER BY id");
        CU_ASSERT_STRING_EQUAL(got, "1\n2\n3\n5\n7\n8\n11\n12\n");
        free(got);
        c.d->table_state_free(&c, st);
        mssql_close(&t, &c);
    }
    mapping_free(m);
}

/* Rows the bulk copy cannot take (a value over FreeTDS's 4 KB buffer) fill
 * their stage by INSERT, without [__pos]: load_rows_found still names the
 * stored rows exactly (by the existence check), on a rerun all of them. */
static const char *MAP_TQ =
    "<mapping xmlns=\"urn:migrate:mapping:1\" record=\"/r\">"
    "<table name=\"tq\" key=\"id\">"
    "<column name=\"id\" path=\"@id\" type=\"int\"/>"
    "<column name=\"v\" path=\"@v\" type=\"nvarchar(max)\"/>"
    "</table></mapping>";

static void test_live_mssql_found_long(void)
{
    mig_err err;
    mapping *m = unit_mapping(MAP_TQ);
    strbuf big = STRBUF_INIT;
    for (int i = 0; i < 3000; i++)
        sb_puts(&big, "\xc3\xa9"); /* 3000 x U+00E9: 6000 bytes in UTF-16 */
    for (int bcp = 0; bcp < 2; bcp++) {
        db_target t;
        db_conn c;
        const char *const ddl[] = {"DROP TABLE IF EXISTS tq",
                                   "CREATE TABLE tq (id int NOT NULL PRIMARY KEY, v nvarchar(max))",
                                   "INSERT INTO tq VALUES (2, N'x')", NULL};
        if (!mssql_open(&t, &c, bcp ? LOAD_BCP : LOAD_INSERT, ddl))
            break;
        dialect_table_state *st = NULL;
        for (int pass = 0; pass < 2; pass++) {
            batch *b = batch_new(m, 3);
            for (int r = 0; r < 3; r++) {
                batch_begin_record(b, 0, 1, (uint64_t)r + 1, "<r/>", 4);
                value *v = batch_add_row(b, 0);
                v[0].len = 0;
                v[0].n.i = r + 1;
                put_text(b, &v[1], sb_str(&big));
                batch_commit_record(b, 0);
            }
            unsigned char found[3] = {0, 0, 0};
            load_result res;
            int rc = c.d->load_rows_found(&c, &st, b, 0, 0, 3, found, &res, &err);
            if (rc != 0)
                fprintf(stderr, "\nload_rows_found, long values (bcp %d): %s\n", bcp, err.msg);
            CU_ASSERT_EQUAL(rc, 0);
            /* the first pass finds 2 only, the rerun every row */
            CU_ASSERT(memcmp(found, pass ? (unsigned char[]){1, 1, 1}
                                         : (unsigned char[]){0, 1, 0}, 3) == 0);
            CU_ASSERT_EQUAL(res.inserted, pass ? 0 : 2);
            CU_ASSERT_EQUAL(res.dup_db, 0);
            CU_ASSERT_EQUAL(db_commit(&c, &err), 0);
            batch_free(b);
        }
        char *got = select_all(&c, "SELECT id, LEN(v) FROM tq ORDER BY id");
        CU_ASSERT_STRING_EQUAL(got, "1|3000\n2|1\n3|3000\n");
        free(got);
        c.d->table_state_free(&c, st);
        mssql_close(&t, &c);
    }
    sb_free(&big);
    mapping_free(m);
}

/* Loads rows of MAP_TQ's tq, id keys[r] and v texts[r], through
 * load_rows_found and commits; returns its rc, with found[] and *res. */
static int tq_load_found(db_conn *c, dialect_table_state **st, const mapping *m,
                         const int *keys, const char *const *texts, size_t n,
                         unsigned char *found, load_result *res)
{
    mig_err err;
    batch *b = keyed_batch(m, keys, texts, n);
    memset(found, 0, n);
    int rc = c->d->load_rows_found(c, st, b, 0, 0, n, found, res, &err);
    if (rc != 0)
        fprintf(stderr, "\nload_rows_found: %s\n", err.msg);
    else if (db_commit(c, &err) != 0)
        rc = -1;
    batch_free(b);
    return rc;
}

/* PostgreSQL: load_rows_found names exactly the rows whose key was stored
 * (its INSERT returns the keys it inserted), inserts the others and counts
 * no row twice, whether the existence check went first (the table's first
 * range, and after a range found mostly stored; a range found whole is not
 * sent again) or not; a row with a text over
 * 4 MB goes alone, the text in pieces cut between UTF-8 characters, and
 * arrives byte for byte. */
static void test_live_pgsql_found(void)
{
    const char *cs = getenv("MIGRATE_TEST_PG");
    if (!cs || !*cs) {
        printf("\n  (MIGRATE_TEST_PG not set: PostgreSQL live test skipped) ");
        return;
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(dialect_pgsql.load_rows_found);
    db_target t;
    memset(&t, 0, sizeof t);
    t.connstr = xstrdup(cs);
    t.connect_timeout = 10;
    t.load = LOAD_INSERT;
    db_conn c;
    const char *const ddl[] = {"DROP TABLE IF EXISTS tq",
                               "CREATE TABLE tq (id integer PRIMARY KEY, v text)",
                               "INSERT INTO tq VALUES (2, 'x'), (5, 'x'), (7, 'x')", NULL};
    live_open(&c, &t, ddl);
    mapping *m = unit_mapping(MAP_TQ);
    dialect_table_state *st = NULL;
    load_result res;
    unsigned char found[6];
    static const char *const a[] = {"a", "a", "a", "a", "a", "a"};
    static const int k1[] = {1, 2, 3, 5, 7, 8};
    CU_ASSERT_EQUAL(tq_load_found(&c, &st, m, k1, a, 6, found, &res), 0);
    CU_ASSERT(memcmp(found, (unsigned char[]){0, 1, 0, 1, 1, 0}, 6) == 0);
    CU_ASSERT(res.inserted == 3 && res.dup_db == 0);
    /* every row stored (by the INSERT), again (by the existence check
     * alone), then the existence check first, which finds 5 */
    static const int k2[] = {1, 2, 3}, k3[] = {5, 13};
    for (int again = 0; again < 2; again++) {
        CU_ASSERT_EQUAL(tq_load_found(&c, &st, m, k2, a, 3, found, &res), 0);
        CU_ASSERT(memcmp(found, (unsigned char[]){1, 1, 1}, 3) == 0);
        CU_ASSERT(res.inserted == 0 && res.dup_db == 0);
    }
    CU_ASSERT_EQUAL(tq_load_found(&c, &st, m, k3, a, 2, found, &res), 0);
    CU_ASSERT(memcmp(found, (unsigned char[]){1, 0}, 2) == 0);
    CU_ASSERT(res.inserted == 1 && res.dup_db == 0);
    /* "a" and 2,500,000 x U+00E9: a 2 MB piece would end inside one */
    strbuf big = STRBUF_INIT;
    sb_putc(&big, 'a');
    for (int i = 0; i < 2500000; i++)
        sb_puts(&big, "\xc3\xa9");
    const char *bt[] = {sb_str(&big), "b", sb_str(&big)};
    static const int k4[] = {14, 15, 2};
    CU_ASSERT_EQUAL(tq_load_found(&c, &st, m, k4, bt, 3, found, &res), 0);
    CU_ASSERT(memcmp(found, (unsigned char[]){0, 0, 1}, 3) == 0);
    CU_ASSERT(res.inserted == 2 && res.dup_db == 0);
    char *got = select_all(&c, "SELECT id, octet_length(v), CASE WHEN v = 'a' || "
                               "repeat(U&'\\00E9', 2500000) THEN 'same' END FROM tq "
                               "WHERE octet_length(v) > 1 ORDER BY id");
    CU_ASSERT_STRING_EQUAL(got, "14|5000001|same\n");
    free(got);
    got = select_all(&c, "SELECT string_agg(id::text || v, ',' ORDER BY id) FROM tq "
                         "WHERE octet_length(v) = 1");
    CU_ASSERT_STRING_EQUAL(got, "1a,2x,3a,5x,7x,8a,13a,15b\n");
    free(got);
    sb_free(&big);
    c.d->table_state_free(&c, st);
    mapping_free(m);
    db_disconnect(&c);
    db_target_free(&t);
}

/* The #stage is emptied by the move statement itself, and created or
 * emptied by a statement of its own only when that is not known to hold:
 * after a successful load it is empty; a rollback that undid its creation
 * (first load of a session rolled back) or a failed move (a duplicate under
 * the error policy) followed by a rollback leaves the next load exact. */
static void test_live_mssql_stage_reuse(void)
{
    mig_err err;
    mapping *m = unit_mapping(MAP_TP);
    for (int bcp = 0; bcp < 2; bcp++) {
        db_target t;
        db_conn c;
        /* x, a column the mapping lacks, keeps bulk copy on the #stage */
        const char *const ddl[] = {"DROP TABLE IF EXISTS tp",
                                   "CREATE TABLE tp (id int NOT NULL PRIMARY KEY, x int NULL)",
                                   NULL};
        if (!mssql_open(&t, &c, bcp ? LOAD_BCP : LOAD_INSERT, ddl))
            break;
        dialect_table_state *st = NULL;
        /* the first load of the session creates the stage; rolled back */
        CU_ASSERT_EQUAL(tp_load(&c, &st, m, 100, 2, DUP_SKIP, &err), 0);
        CU_ASSERT_EQUAL(db_rollback(&c), 0);
        /* so this one must create it again */
        int rc = tp_load(&c, &st, m, 1, 3, DUP_SKIP, &err);
        if (rc != 0)
            fprintf(stderr, "\nload after rollback (bcp %d): %s\n", bcp, err.msg);
        CU_ASSERT_EQUAL(rc, 0);
        CU_ASSERT_EQUAL(db_commit(&c, &err), 0);
        /* select_all rolls back: nothing to undo after the commit */
        char *got = select_all(&c, "SELECT COUNT(*) FROM [#stage_0_tp]");
        CU_ASSERT_STRING_EQUAL(got, "0\n");
        free(got);
        /* a good load, then a refused move in the same transaction */
        CU_ASSERT_EQUAL(tp_load(&c, &st, m, 10, 2, DUP_ERROR, &err), 0);
        CU_ASSERT_EQUAL(tp_load(&c, &st, m, 3, 2, DUP_ERROR, &err), -1);
        CU_ASSERT_EQUAL(db_rollback(&c), 0);
        CU_ASSERT_EQUAL(tp_load(&c, &st, m, 20, 2, DUP_ERROR, &err), 0);
        CU_ASSERT_EQUAL(tp_load(&c, &st, m, 30, 1, DUP_SKIP, &err), 0);
        CU_ASSERT_EQUAL(db_commit(&c, &err), 0);
        got = select_all(&c, "SELECT id FROM tp ORDER BY id");
        CU_ASSERT_STRING_EQUAL(got, "1\n2\n3\n20\n21\n30\n");
        free(got);
        got = select_all(&c, "SELECT COUNT(*) FROM [#stage_0_tp]");
        CU_ASSERT_STRING_EQUAL(got, "0\n");
        free(got);
        c.d->table_state_free(&c, st);
        mssql_close(&t, &c);
    }
    mapping_free(m);
}

/* Bulk copy straight into the table (the table is the mapping's own, as
 * create_table_sql makes it): new rows go in without a #stage; a stored key
 * or a row the table's CHECK constraint refuses fails the copy with
 * DBE_AGAIN (the constraint is checked: without CHECK_CONSTRAINTS the row
 * would be stored) and changes nothing; the range run again on a new
 * session without the fast path, as the worker runs it, settles the
 * duplicate and isolates the refused row with the server's message. */
static const char *MAP_TK =
    "<mapping xmlns=\"urn:migrate:mapping:1\" record=\"/r\">"
    "<table name=\"tk\" key=\"id\">"
    "<column name=\"id\" path=\"@id\" type=\"int\"/>"
    "<column name=\"v\" path=\"@v\" type=\"int\"/>"
    "</table></mapping>";

/* Loads rows (ids[i], ids[i] * vmul) i < n into tk by load_rows_found;
 * returns its rc, with found[] and *res filled. */
static int tk_load(db_conn *c, dialect_table_state **st, const mapping *m, const int *ids,
                   size_t n, int vmul, unsigned char *found, load_result *res, mig_err *err)
{
    batch *b = batch_new(m, n);
    for (size_t r = 0; r < n; r++) {
        batch_begin_record(b, 0, 1, (uint64_t)r + 1, "<r/>", 4);
        value *v = batch_add_row(b, 0);
        v[0].len = v[1].len = 0;
        v[0].n.i = ids[r];
        v[1].n.i = (int64_t)ids[r] * vmul;
        batch_commit_record(b, 0);
    }
    memset(found, 0, n);
    int rc = c->d->load_rows_found(c, st, b, 0, 0, n, found, res, err);
    batch_free(b);
    return rc;
}

/* Ends c's session after a failed fast path and opens a new one without
 * it, as the worker does (the TDS test server drops the old one). */
static void tk_reconnect(db_target *t, db_conn *c, dialect_table_state **st)
{
    c->d->table_state_free(c, *st);
    *st = NULL;
    db_rollback(c);
    mssql_close(t, c);
    CU_ASSERT_FATAL(mssql_open(t, c, LOAD_BCP, NULL));
    c->no_fast_path = 1;
}

static void test_live_mssql_direct(void)
{
    mig_err err;
    mapping *m = unit_mapping(MAP_TK);
    strbuf ddl = STRBUF_INIT;
    dialect_mssql.create_table_sql(&ddl, &m->tables[0]);
    const char *const sql[] = {"DROP TABLE IF EXISTS tk", sb_str(&ddl),
                               "ALTER TABLE tk ADD CONSTRAINT ck_tk CHECK (v < 100)",
                               "INSERT INTO tk VALUES (5, 5)", NULL};
    db_target t;
    db_conn c;
    if (!mssql_open(&t, &c, LOAD_BCP, sql)) {
        sb_free(&ddl);
        mapping_free(m);
        return;
    }
    dialect_table_state *st = NULL;
    load_result res;
    unsigned char found[3];
    /* all new: straight in, no #stage made */
    int rc = tk_load(&c, &st, m, (const int[]){1, 2, 3}, 3, 1, found, &res, &err);
    if (rc != 0)
        fprintf(stderr, "\ndirect load: %s\n", err.msg);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT(memcmp(found, (unsigned char[]){0, 0, 0}, 3) == 0);
    CU_ASSERT_EQUAL(res.inserted, 3);
    CU_ASSERT_EQUAL(db_commit(&c, &err), 0);
    char *got = select_all(&c, "SELECT COUNT(*) FROM tempdb.sys.objects WHERE object_id = "
                               "OBJECT_ID(N'tempdb..[#stage_0_tk]')");
    CU_ASSERT_STRING_EQUAL(got, "0\n");
    free(got);
    /* 5 is stored: the copy fails as a whole, the stage settles it */
    rc = tk_load(&c, &st, m, (const int[]){4, 5, 6}, 3, 1, found, &res, &err);
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT_EQUAL(c.last_class, DBE_AGAIN);
    tk_reconnect(&t, &c, &st);
    rc = tk_load(&c, &st, m, (const int[]){4, 5, 6}, 3, 1, found, &res, &err);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT(memcmp(found, (unsigned char[]){0, 1, 0}, 3) == 0);
    CU_ASSERT_EQUAL(res.inserted, 2);
    CU_ASSERT_EQUAL(db_commit(&c, &err), 0);
    /* v = 100 * id breaks the CHECK constraint: refused in the copy, then
     * by the stage's move, a data error with the server's message (the
     * worker isolates the record by splitting) */
    c.no_fast_path = 0;
    rc = tk_load(&c, &st, m, (const int[]){7, 8, 9}, 3, 100, found, &res, &err);
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT_EQUAL(c.last_class, DBE_AGAIN);
    tk_reconnect(&t, &c, &st);
    rc = tk_load(&c, &st, m, (const int[]){7, 8, 9}, 3, 100, found, &res, &err);
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT_EQUAL(c.last_class, DBE_DATA);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "tk: "));
    db_rollback(&c);
    got = select_all(&c, "SELECT id, v FROM tk ORDER BY id");
    CU_ASSERT_STRING_EQUAL(got, "1|1\n2|2\n3|3\n4|4\n5|5\n6|6\n");
    free(got);
    c.d->table_state_free(&c, st);
    mssql_close(&t, &c);
    sb_free(&ddl);
    mapping_free(m);
}

/* What the fast path learns of a table (dialect inspect, direct_layout)
 * for the mapping's own table and for tables that differ from it in one
 * thing each: the decision the catalog query over sys.columns, sys.indexes,
 * sys.index_columns and sys.triggers gave (this test passed on it too, on
 * the TDS test server, but for MAP_TI2's capitals), now from three cheaper
 * statements.  Every table but the own one must keep the batches on the
 * #stage path. */
static const char *MAP_TI =
    "<mapping xmlns=\"urn:migrate:mapping:1\" record=\"/r\">"
    "<table name=\"ti\" key=\"id\">"
    "<column name=\"id\" path=\"@id\" type=\"int\"/>"
    "<column name=\"a\" path=\"@a\" type=\"nvarchar(20)\"/>"
    "<column name=\"b\" path=\"@b\" type=\"nvarchar(max)\"/>"
    "<column name=\"c\" path=\"@c\" type=\"decimal(12,2)\"/>"
    "<column name=\"d\" path=\"@d\" type=\"datetime\"/>"
    "<column name=\"e\" path=\"@e\" type=\"time\"/>"
    "<column name=\"f\" path=\"@f\" type=\"varchar(10)\"/>"
    "<column name=\"g\" path=\"@g\" type=\"char(3)\"/>"
    "<column name=\"h\" path=\"@h\" type=\"float\"/>"
    "<column name=\"i\" path=\"@i\" type=\"bit\"/>"
    "<column name=\"k\" path=\"@k\" type=\"date\"/>"
    "<column name=\"u\" path=\"@u\" type=\"uniqueidentifier\"/>"
    "<column name=\"l\" path=\"@l\" type=\"bigint\"/>"
    "</table></mapping>";

/* A name to quote, in a schema, with a two-column key, one column in
 * capitals: the old query said -1 for this one on the TDS test server only,
 * whose sys.columns spells every name in lower case (SQL Server's keeps the
 * case, and so does the result metadata now read). */
static const char *MAP_TI2 =
    "<mapping xmlns=\"urn:migrate:mapping:1\" record=\"/r\">"
    "<table name=\"dbo.odd ti\" key=\"k2 K1\">"
    "<column name=\"K1\" path=\"@a\" type=\"int\"/>"
    "<column name=\"k2\" path=\"@b\" type=\"nvarchar(5)\"/>"
    "<column name=\"v\" path=\"@c\" type=\"smallint\"/>"
    "<column name=\"w\" path=\"@d\" type=\"tinyint\"/>"
    "</table></mapping>";

/* ti's columns as --create-tables makes them, in parts to vary */
#define TI_ID "id int NOT NULL, "
#define TI_A "a nvarchar(20) NULL, "
#define TI_B "b nvarchar(max) NULL, "
#define TI_C "c decimal(12,2) NULL, "
#define TI_D "d datetime2(7) NULL, "
#define TI_E "e time(7) NULL, "
#define TI_REST                                                                            \
    "f varchar(10) NULL, g char(3) NULL, h float NULL, i bit NULL, k date NULL, "           \
    "u uniqueidentifier NULL, l bigint NULL"
#define TI_PK ", CONSTRAINT pk_ti PRIMARY KEY (id))"
#define TI_DROP "DROP TABLE IF EXISTS ti"

/* Runs sql[] on c (NULL-terminated, each committed), then the dialect's
 * inspect of table t; checks rc 0, the layout and, when it is 1, frac. */
static void inspect_case(db_conn *c, const map_table *t, const char *what,
                         const char *const *sql, int layout, int frac)
{
    mig_err err;
    for (size_t i = 0; sql[i]; i++) {
        int rc = db_exec(c, sql[i], &err);
        if (rc != 0)
            fprintf(stderr, "\n%s: %s: %s\n", what, sql[i], err.msg);
        CU_ASSERT_EQUAL(rc, 0);
        CU_ASSERT_EQUAL(db_commit(c, &err), 0);
    }
    dialect_direct dd = {0, 0};
    int rc = c->d->inspect(c, t, &dd, &err);
    if (rc != 0)
        fprintf(stderr, "\n%s: inspect: %s\n", what, err.msg);
    CU_ASSERT_EQUAL(rc, 0);
    if (dd.layout != layout || (layout > 0 && dd.frac != frac))
        fprintf(stderr, "\n%s: layout %d frac %d, want %d %d\n", what, dd.layout, dd.frac,
                layout, frac);
    CU_ASSERT_EQUAL(dd.layout, layout);
    if (layout > 0)
        CU_ASSERT_EQUAL(dd.frac, frac);
    db_rollback(c);
}

static void test_live_mssql_inspect(void)
{
    mapping *m = unit_mapping(MAP_TI), *m2 = unit_mapping(MAP_TI2);
    const map_table *t = &m->tables[0];
    strbuf own = STRBUF_INIT, own2 = STRBUF_INIT;
    dialect_mssql.create_table_sql(&own, t);
    dialect_mssql.create_table_sql(&own2, &m2->tables[0]);
    db_target tg;
    db_conn c;
    if (!mssql_open(&tg, &c, LOAD_BCP, NULL)) {
        sb_free(&own);
        sb_free(&own2);
        mapping_free(m);
        mapping_free(m2);
        return;
    }
    const char *const make_own[] = {TI_DROP, sb_str(&own), NULL};
    for (size_t i = 0; make_own[i]; i++) {
        mig_err err;
        CU_ASSERT_EQUAL(db_exec(&c, make_own[i], &err), 0);
        CU_ASSERT_EQUAL(db_commit(&c, &err), 0);
    }
    /* the fraction digits the server keeps of datetime2(7) and time(7), as
     * its catalog says (SQL Server 7, the TDS test server 6) */
    char *keep = select_all(&c, "SELECT MIN(scale) FROM sys.columns WHERE object_id = "
                                "OBJECT_ID(N'ti') AND name IN ('d', 'e')");
    int frac = atoi(keep);
    free(keep);
    CU_ASSERT(frac == 6 || frac == 7);
    inspect_case(&c, t, "own", (const char *const[]){NULL}, 1, frac);
    /* datetime2(3) and time(0): fewer digits kept, the path still taken */
    inspect_case(&c, t, "datetime2(3)",
                 (const char *const[]){TI_DROP,
                                       "CREATE TABLE ti (" TI_ID TI_A TI_B TI_C
                                       "d datetime2(3) NULL, " TI_E TI_REST TI_PK,
                                       NULL},
                 1, 3);
    inspect_case(&c, t, "time(0)",
                 (const char *const[]){TI_DROP,
                                       "CREATE TABLE ti (" TI_ID TI_A TI_B TI_C TI_D
                                       "e time(0) NULL, " TI_REST TI_PK,
                                       NULL},
                 1, 0);
    /* a bare CREATE TABLE with the same columns is the mapping's own too */
    inspect_case(&c, t, "same columns",
                 (const char *const[]){TI_DROP,
                                       "CREATE TABLE ti (" TI_ID TI_A TI_B TI_C TI_D TI_E
                                       TI_REST TI_PK,
                                       NULL},
                 1, frac);
    static const struct {
        const char *what, *ddl;
    } other[] = {
        {"other order", "CREATE TABLE ti (" TI_ID TI_B TI_A TI_C TI_D TI_E TI_REST TI_PK},
        {"extra column", "CREATE TABLE ti (" TI_ID TI_A TI_B TI_C TI_D TI_E TI_REST
                         ", z int NULL" TI_PK},
        {"extra column first", "CREATE TABLE ti (z int NULL, " TI_ID TI_A TI_B TI_C TI_D TI_E
                               TI_REST TI_PK},
        {"missing column", "CREATE TABLE ti (" TI_ID TI_A TI_B TI_C TI_D TI_E
                           "f varchar(10) NULL, g char(3) NULL, h float NULL, i bit NULL, "
                           "k date NULL, u uniqueidentifier NULL" TI_PK},
        {"other name", "CREATE TABLE ti (" TI_ID "aa nvarchar(20) NULL, " TI_B TI_C TI_D TI_E
                       TI_REST TI_PK},
        {"varchar for nvarchar", "CREATE TABLE ti (" TI_ID "a varchar(20) NULL, " TI_B TI_C TI_D
                                 TI_E TI_REST TI_PK},
        {"nvarchar length", "CREATE TABLE ti (" TI_ID "a nvarchar(21) NULL, " TI_B TI_C TI_D
                            TI_E TI_REST TI_PK},
        {"nvarchar(max) for nvarchar(20)", "CREATE TABLE ti (" TI_ID "a nvarchar(max) NULL, "
                                           TI_B TI_C TI_D TI_E TI_REST TI_PK},
        {"nvarchar(4000) for nvarchar(max)", "CREATE TABLE ti (" TI_ID TI_A
                                             "b nvarchar(4000) NULL, " TI_C TI_D TI_E TI_REST
                                             TI_PK},
        {"ntext for nvarchar(max)", "CREATE TABLE ti (" TI_ID TI_A "b ntext NULL, " TI_C TI_D
                                    TI_E TI_REST TI_PK},
        {"decimal precision", "CREATE TABLE ti (" TI_ID TI_A TI_B "c decimal(13,2) NULL, " TI_D
                              TI_E TI_REST TI_PK},
        {"decimal scale", "CREATE TABLE ti (" TI_ID TI_A TI_B "c decimal(12,3) NULL, " TI_D
                          TI_E TI_REST TI_PK},
        {"datetime for datetime2", "CREATE TABLE ti (" TI_ID TI_A TI_B TI_C "d datetime NULL, "
                                   TI_E TI_REST TI_PK},
        {"datetimeoffset", "CREATE TABLE ti (" TI_ID TI_A TI_B TI_C "d datetimeoffset NULL, "
                           TI_E TI_REST TI_PK},
        {"real for float", "CREATE TABLE ti (" TI_ID TI_A TI_B TI_C TI_D TI_E
                           "f varchar(10) NULL, g char(3) NULL, h real NULL, i bit NULL, "
                           "k date NULL, u uniqueidentifier NULL, l bigint NULL" TI_PK},
        {"varchar length", "CREATE TABLE ti (" TI_ID TI_A TI_B TI_C TI_D TI_E
                           "f varchar(11) NULL, g char(3) NULL, h float NULL, i bit NULL, "
                           "k date NULL, u uniqueidentifier NULL, l bigint NULL" TI_PK},
        {"int for bigint", "CREATE TABLE ti (" TI_ID TI_A TI_B TI_C TI_D TI_E
                           "f varchar(10) NULL, g char(3) NULL, h float NULL, i bit NULL, "
                           "k date NULL, u uniqueidentifier NULL, l int NULL" TI_PK},
        {"key of two columns", "CREATE TABLE ti (" TI_ID TI_A TI_B TI_C TI_D TI_E TI_REST
                               ", CONSTRAINT pk_ti PRIMARY KEY (id, l))"},
        {"other key", "CREATE TABLE ti (id int NOT NULL, a nvarchar(20) NOT NULL, " TI_B TI_C
                      TI_D TI_E TI_REST ", CONSTRAINT pk_ti PRIMARY KEY (a))"},
        {"no key", "CREATE TABLE ti (" TI_ID TI_A TI_B TI_C TI_D TI_E TI_REST ")"},
        {"unique, no key", "CREATE TABLE ti (" TI_ID TI_A TI_B TI_C TI_D TI_E TI_REST
                           ", CONSTRAINT uq_ti UNIQUE (id))"},
    };
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        inspect_case(&c, t, other[i].what, (const char *const[]){TI_DROP, other[i].ddl, NULL}, -1,
                     0);
    /* a trigger: the bulk copy would not fire it on the TDS test server */
    inspect_case(&c, t, "trigger",
                 (const char *const[]){TI_DROP, sb_str(&own),
                                       "CREATE TRIGGER tg_ti ON ti AFTER INSERT AS "
                                       "UPDATE ti SET l = 0 WHERE 1 = 0",
                                       NULL},
                 -1, 0);
    /* a view of that name over the mapping's own table (the TDS test
     * server's OBJECT_ID finds it as a table too), and no table */
    inspect_case(&c, t, "view",
                 (const char *const[]){TI_DROP,
                                       "DROP TABLE IF EXISTS ti_base",
                                       "CREATE TABLE ti_base (" TI_ID TI_A TI_B TI_C TI_D TI_E
                                       TI_REST TI_PK,
                                       "CREATE VIEW ti AS SELECT * FROM ti_base", NULL},
                 -1, 0);
    inspect_case(&c, t, "missing table",
                 (const char *const[]){"DROP VIEW ti", "DROP TABLE ti_base", NULL}, -1, 0);
    /* the own table again after all that: nothing left over on the session */
    inspect_case(&c, t, "own again", (const char *const[]){sb_str(&own), NULL}, 1, frac);
    /* a quoted name in a schema, a key of two columns in another order */
    inspect_case(&c, &m2->tables[0], "odd name",
                 (const char *const[]){"DROP TABLE IF EXISTS [odd ti]", sb_str(&own2), NULL}, 1,
                 7);
    inspect_case(&c, &m2->tables[0], "odd name, one key column",
                 (const char *const[]){"DROP TABLE IF EXISTS [odd ti]",
                                       "CREATE TABLE [odd ti] (K1 int NOT NULL, k2 nvarchar(5) "
                                       "NOT NULL PRIMARY KEY, v smallint NULL, w tinyint NULL)",
                                       NULL},
                 -1, 0);
    inspect_case(&c, &m2->tables[0], "cleanup",
                 (const char *const[]){TI_DROP, "DROP TABLE IF EXISTS [odd ti]", NULL}, -1, 0);
    mssql_close(&tg, &c);
    sb_free(&own);
    sb_free(&own2);
    mapping_free(m);
    mapping_free(m2);
}

/* A table whose name needs quoting (a space; a ']' the TDS test server
 * cannot parse even doubled, "[a]]b]"), with a DEFAULT on
 * a nullable column and an INSERT trigger, loaded by both methods under
 * both policies: the names reach bcp_init quoted, a NULL stays NULL (the
 * insert path inserts it explicitly; a bulk copy without KEEPNULLS would
 * take the default) and the trigger fires for every row (a bulk copy
 * without FIRE_TRIGGERS would not fire it). */
static const char *MAP_TG =
    "<mapping xmlns=\"urn:migrate:mapping:1\" record=\"/r\">"
    "<table name=\"odd tg\" key=\"id\">"
    "<column name=\"id\" path=\"@id\" type=\"int\"/>"
    "<column name=\"v\" path=\"@v\" type=\"nvarchar(10)\"/>"
    "</table></mapping>";

static void test_live_mssql_defaults_triggers(void)
{
    mig_err err;
    mapping *m = unit_mapping(MAP_TG);
    const char *const ddl[] = {
        "DROP TABLE IF EXISTS [odd tg]", "DROP TABLE IF EXISTS tga",
        "CREATE TABLE [odd tg] (id int NOT NULL PRIMARY KEY, v nvarchar(10) NULL DEFAULT N'dflt')",
        "CREATE TABLE tga (n int NOT NULL)",
        "CREATE TRIGGER tg_count ON [odd tg] AFTER INSERT AS "
        "INSERT INTO tga (n) SELECT COUNT(*) FROM inserted",
        NULL};
    for (int bcp = 0; bcp < 2; bcp++) {
        db_target t;
        db_conn c;
        if (!mssql_open(&t, &c, bcp ? LOAD_BCP : LOAD_INSERT, bcp ? NULL : ddl))
            break;
        for (int pol = 0; pol < 2; pol++) {
            batch *b = batch_new(m, 2);
            for (int r = 0; r < 2; r++) {
                batch_begin_record(b, 0, 1, (uint64_t)r + 1, "<r/>", 4);
                value *v = batch_add_row(b, 0);
                v[0].len = 0;
                v[0].n.i = 10 * (2 * bcp + pol) + r + 1;
                if (r)
                    put_text(b, &v[1], "x");
                else
                    v[1].len = -1;
                batch_commit_record(b, 0);
            }
            dialect_table_state *st = NULL;
            load_result res;
            CU_ASSERT_EQUAL(db_begin(&c, &err), 0);
            int rc = c.d->load_rows(&c, &st, b, 0, 0, 2, pol ? DUP_SKIP : DUP_ERROR, &res, &err);
            if (rc != 0)
                fprintf(stderr, "\nload (bcp %d, policy %d): %s\n", bcp, pol, err.msg);
            CU_ASSERT_EQUAL(rc, 0);
            CU_ASSERT_EQUAL(db_commit(&c, &err), 0);
            c.d->table_state_free(&c, st);
            batch_free(b);
        }
        mssql_close(&t, &c);
    }
    db_target t;
    db_conn c;
    if (mssql_open(&t, &c, LOAD_INSERT, NULL)) {
        char *got = select_all(&c, "SELECT id, v FROM [odd tg] ORDER BY id");
        CU_ASSERT_STRING_EQUAL(got, "1|-\n2|x\n11|-\n12|x\n21|-\n22|x\n31|-\n32|x\n");
        free(got);
        /* every one of the 8 rows fired it exactly once */
        got = select_all(&c, "SELECT SUM(n) FROM tga");
        CU_ASSERT_STRING_EQUAL(got, "8\n");
        free(got);
        mssql_close(&t, &c);
    }
    mapping_free(m);
}

static void test_connect_errors(void)
{
    mig_err err;
    db_conn c;
    db_target t;
    memset(&t, 0, sizeof t);
    t.connstr = xstrdup("DSN=migrate_no_such_dsn");
    t.password = xstrdup("s3cret}");
    t.connect_timeout = 2;
    CU_ASSERT_EQUAL(dialect_connect(&c, &t, &err), -1);
    CU_ASSERT_EQUAL(err.status, MIG_ECONNECT);
    CU_ASSERT_STRING_EQUAL(err.sqlstate, "IM002");
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "cannot connect: SQLSTATE IM002: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "(is the ODBC driver installed? see odbcinst -q -d)"));
    CU_ASSERT_PTR_NULL(strstr(err.msg, "s3cret"));
    db_target_free(&t);

    memset(&t, 0, sizeof t);
    t.connstr = xstrdup("Driver=SQLite3;Database=/tmp/x.db");
    t.dialect_name = "oracle";
    CU_ASSERT_EQUAL(dialect_connect(&c, &t, &err), -1);
    CU_ASSERT_EQUAL(err.status, MIG_EUSAGE);
    db_target_free(&t);
}

/* FreeTDS connections get ClientCharset=UTF-8 unless they set one, psqlODBC
 * ones Protocol=7.4-1. */
static void test_connstr_freetds_charset(void)
{
    strbuf sb = STRBUF_INIT;
    db_target t = {0};
    t.connstr = "Driver=FreeTDS;Server=127.0.0.1;Port=1433;TDS_Version=7.4";
    db_connstr(&t, &sb);
    CU_ASSERT_STRING_EQUAL(sb_str(&sb),
                           "Driver=FreeTDS;Server=127.0.0.1;Port=1433;TDS_Version=7.4;"
                           "ClientCharset=UTF-8");
    t.connstr = "driver={FreeTDS};Server=h;clientcharset=ISO-8859-1";
    db_connstr(&t, &sb);
    CU_ASSERT_STRING_EQUAL(sb_str(&sb), "driver={FreeTDS};Server=h;clientcharset=ISO-8859-1");
    t.connstr = "Driver=/usr/lib/x86_64-linux-gnu/odbc/libtdsodbc.so;Server=h;";
    db_connstr(&t, &sb);
    CU_ASSERT_STRING_EQUAL(sb_str(&sb),
                           "Driver=/usr/lib/x86_64-linux-gnu/odbc/libtdsodbc.so;Server=h;"
                           "ClientCharset=UTF-8");
    /* psqlODBC: no savepoint around every statement unless the user asks */
    t.connstr = "Driver=PostgreSQL Unicode;Server=h";
    db_connstr(&t, &sb);
    CU_ASSERT_STRING_EQUAL(sb_str(&sb), "Driver=PostgreSQL Unicode;Server=h;Protocol=7.4-1");
    t.connstr = "Driver={/usr/lib/x86_64-linux-gnu/odbc/psqlodbcw.so};Server=h;";
    db_connstr(&t, &sb);
    CU_ASSERT_STRING_EQUAL(sb_str(&sb),
                           "Driver={/usr/lib/x86_64-linux-gnu/odbc/psqlodbcw.so};Server=h;"
                           "Protocol=7.4-1");
    t.connstr = "Driver=PostgreSQL Unicode;Server=h;protocol=7.4-2";
    db_connstr(&t, &sb);
    CU_ASSERT_STRING_EQUAL(sb_str(&sb), "Driver=PostgreSQL Unicode;Server=h;protocol=7.4-2");
    t.connstr = "DSN=no-such-dsn-here";
    db_connstr(&t, &sb);
    CU_ASSERT_STRING_EQUAL(sb_str(&sb), "DSN=no-such-dsn-here");
    sb_free(&sb);
}

int main(void)
{
    UNIT_BEGIN("dialect");
    UNIT_TEST(test_connstr_freetds_charset);
    UNIT_TEST(test_lookup);
    UNIT_TEST(test_quoting);
    UNIT_TEST(test_types_sqlite);
    UNIT_TEST(test_types_pgsql);
    UNIT_TEST(test_types_mssql);
    UNIT_TEST(test_ptype_sqlite);
    UNIT_TEST(test_ptype_pgsql);
    UNIT_TEST(test_ptype_mssql);
    UNIT_TEST(test_create_table);
    UNIT_TEST(test_exists_sql);
    UNIT_TEST(test_insert_sql);
    UNIT_TEST(test_mssql_staging);
    UNIT_TEST(test_mssql_stage_names);
    UNIT_TEST(test_classify);
    UNIT_TEST(test_bcp_binding);
    UNIT_TEST(test_params_fill);
    UNIT_TEST(test_connect_errors);
    UNIT_TEST(test_live_sqlite);
    UNIT_TEST(test_live_pgsql);
    UNIT_TEST(test_live_mssql);
    UNIT_TEST(test_live_mssql_values);
    UNIT_TEST(test_live_mssql_param_status);
    UNIT_TEST(test_live_mssql_bcp_error);
    UNIT_TEST(test_live_mssql_stage_reuse);
    UNIT_TEST(test_live_mssql_found);
    UNIT_TEST(test_live_mssql_found_long);
    UNIT_TEST(test_live_pgsql_found);
    UNIT_TEST(test_live_mssql_direct);
    UNIT_TEST(test_live_mssql_inspect);
    UNIT_TEST(test_live_mssql_defaults_triggers);
    UNIT_END();
}
