/* unit.c — what more than one unit test program needs: the private test
 * directory, files written into it (plain or gzip), and mappings loaded or
 * stopped on.  Linked into every test as tests/unit/libunit.a; the tests
 * are single-threaded, so the static buffers below need no lock. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "err.h"
#include "mapping.h"
#include "unit.h"

/* ---- the test directory ---- */

static char tmpdir[4096];

/* atexit: removes the test directory with its files. */
static void tmpdir_rm(void)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "unit: cannot remove %s\n", tmpdir);
}

const char *unit_tmpdir(void)
{
    if (!tmpdir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/migrate-unit.XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(tmpdir)) {
            perror("unit: mkdtemp");
            exit(2);
        }
        atexit(tmpdir_rm);
    }
    return tmpdir;
}

/* ---- files ---- */

/* Writes len bytes of content to f as one gzip member. */
static void put_gz_member(FILE *f, const unsigned char *content, size_t len)
{
    uLongf cap = compressBound((uLong)len) + 64;
    unsigned char *buf = malloc(cap);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    CU_ASSERT_EQUAL_FATAL(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (Bytef *)content;
    zs.avail_in = (uInt)len;
    zs.next_out = buf;
    zs.avail_out = (uInt)cap;
    CU_ASSERT_EQUAL_FATAL(deflate(&zs, Z_FINISH), Z_STREAM_END);
    CU_ASSERT_EQUAL_FATAL(fwrite(buf, 1, cap - zs.avail_out, f), cap - zs.avail_out);
    deflateEnd(&zs);
    free(buf);
}

const char *unit_put_bytes(const char *name, const void *content, size_t len, int gz_members)
{
    static char paths[8][4200];
    static unsigned next;
    char *file = paths[next++ % 8];
    snprintf(file, sizeof paths[0], "%s/%s", unit_tmpdir(), name);
    FILE *f = fopen(file, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    if (gz_members > 0) {
        const unsigned char *p = content;
        size_t part = len / (size_t)gz_members;
        for (int i = 0; i < gz_members; i++) {
            size_t off = part * (size_t)i;
            put_gz_member(f, p + off, i == gz_members - 1 ? len - off : part);
        }
    } else {
        CU_ASSERT_EQUAL_FATAL(fwrite(content, 1, len, f), len);
    }
    CU_ASSERT_EQUAL_FATAL(fclose(f), 0);
    return file;
}

const char *unit_put(const char *name, const char *content)
{
    return unit_put_bytes(name, content, strlen(content), 0);
}

/* ---- mappings ---- */

mapping *unit_mapping(const char *text)
{
    mig_err err;
    mapping *m = mapping_load_memory(text, strlen(text), "unit.xml", &err);
    if (!m)
        fprintf(stderr, "\n  mapping: %s\n", err.msg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    return m;
}

mapping *unit_map_for(const char *record)
{
    char buf[1024];
    snprintf(buf, sizeof buf,
             "<mapping xmlns='urn:migrate:mapping:1' record='%s'>"
             "<namespace prefix='a' uri='urn:a'/>"
             "<table name='t' key='id'><column name='id' path='@id' type='int'/></table>"
             "</mapping>",
             record);
    return unit_mapping(buf);
}
