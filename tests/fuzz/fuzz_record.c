/* fuzz_record.c — libFuzzer target: input -> reader -> mapper on one
 * document (the bytes given), with the example applications mapping
 * (three tables, namespaces, each="", ../@ paths, predicates, patterns,
 * replace rules, every kind of type).  Each record is serialised for the
 * reject file (and must parse again as XML), routed and mapped into a
 * batch, as the engine does.  max_bytes is small (64 KB) so that the
 * too-large path runs too; 4 KB for an input of odd length, so that the
 * reader's input filter breaks texts and cuts tags, comments and PIs
 * (past 4 KB without a start tag) in inputs of a few KB. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "batch.h"
#include "input.h"
#include "mapper.h"
#include "mapping.h"
#include "reader.h"

static mapping *map;

static const char mapping_xml[] =
    "<mapping xmlns='urn:migrate:mapping:1' record='/a:applications/a:application'>"
    "<namespace prefix='a' uri='urn:example:apps'/>"
    "<table name='app_base' key='app_id'>"
    "<column name='app_id' path='@app_id' type='int'/>"
    "<column name='received' path='@received' type='datetime'/>"
    "<column name='product' path='a:product' type='varchar(8)' pattern='^(CARD|LOAN)$'/>"
    "<column name='amount' path='a:amount' type='decimal(12,2)'/>"
    "<column name='ratio' path='a:ratio' type='float'/>"
    "<column name='flag' path='@flag' type='bit'/>"
    "<column name='uid' path='@uid' type='uniqueidentifier'/>"
    "<column name='src' var='file' type='nvarchar(260)'/>"
    "</table>"
    "<table name='contact' each='a:contact' key='con_id app_id'>"
    "<column name='con_id' path='@con_id' type='int'/>"
    "<column name='app_id' path='../@app_id' type='int'/>"
    "<column name='name' path='a:last_name' type='nvarchar(8)' required='true'/>"
    "<column name='born' path='a:birth_date' type='date'/>"
    "<column name='t' path='a:t/text()' type='time'/>"
    "<column name='phone' path='a:phone' type='varchar(16)' replace-match='[^0-9]' replace-with=''/>"
    "<column name='lang' path='@lang' type='char(2)' default='en'/>"
    "</table>"
    "<table name='addr' each=\"a:contact/a:address[@type='CURR']\" key='con_id app_id'>"
    "<column name='con_id' path='../@con_id' type='int'/>"
    "<column name='app_id' path='../../@app_id' type='int'/>"
    "<column name='city' path='a:city[1]' type='nvarchar(64)'/>"
    "</table></mapping>";

/* Memory input over the fuzzer's bytes, in short reads. */
typedef struct mem_src {
    const uint8_t *p;
    size_t left;
} mem_src;

/* Returns up to 7000 bytes of the remaining input. */
static ssize_t mem_read(input *in, char *buf, size_t len, mig_err *err)
{
    (void)err;
    mem_src *m = in->impl;
    size_t n = len < m->left ? len : m->left;
    if (n > 7000)
        n = 7000;
    memcpy(buf, m->p, n);
    m->p += n;
    m->left -= n;
    return (ssize_t)n;
}

static void mem_close(input *in)
{
    (void)in;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    xmlInitParser();
    mig_err err;
    map = mapping_load_memory(mapping_xml, sizeof mapping_xml - 1, "fuzz-map.xml", &err);
    if (!map)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mem_src src = {data, size};
    input in = {"fuzz.xml", "mem", mem_read, mem_close, &src};
    mig_err err;
    reader *r = reader_open(&in, map, NULL, size % 2 ? 4096 : 64 * 1024, &err);
    if (!r)
        return 0;
    mapper *mp = mapper_new(map, 0);
    batch *b = batch_new(map, 4);
    strbuf xml = STRBUF_INIT;
    char reason[1024];
    reader_record rec;
    while (reader_next(r, &rec, &err) == 1) {
        reader_record_xml(r, &rec, &xml);
        if (rec.too_big) {
            if (xml.len != 0)
                __builtin_trap();
            continue;
        }
        /* what goes to the reject file must stand alone */
        xmlDocPtr again = xmlReadMemory(xml.buf, (int)xml.len, "again.xml", NULL,
                                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        if (!again)
            __builtin_trap();
        xmlFreeDoc(again);
        record_ctx ctx = {"fuzz.xml", rec.line, rec.seq};
        uint64_t route = mapper_route(mp, rec.node, &ctx);
        if (b->nrec == b->cap_rec)
            batch_reset(b);
        batch_begin_record(b, 0, rec.line, rec.seq, xml.buf, xml.len);
        if (mapper_map(mp, rec.node, &ctx, b, reason, sizeof reason) != 0)
            batch_abort_record(b);
        else
            batch_commit_record(b, route);
    }
    sb_free(&xml);
    batch_free(b);
    mapper_free(mp);
    reader_close(r);
    return 0;
}
