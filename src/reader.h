/* reader.h — streams the records of one input with libxml2's xmlTextReader.
 * Only the current record is expanded into a tree; the reader frees it when
 * moving on, so memory stays flat whatever the input size.  Ancestors of the
 * record stay available (for "../@x" paths and namespace lookup).  With a
 * schema, each record element is validated alone against the XSD's global
 * declaration of that element (streaming: the document is never built). */
#ifndef MIGRATE_READER_H
#define MIGRATE_READER_H

#include <stdint.h>
#include <libxml/tree.h>
#include <libxml/xmlschemas.h>

#include "err.h"
#include "input.h"
#include "mapping.h"
#include "strbuf.h"

typedef struct reader reader;

typedef struct reader_record {
    xmlNode *node;        /* the expanded record element (owned by the reader) */
    uint64_t line;        /* line of its start tag */
    uint64_t seq;         /* 1-based record number in this input */
    const char *invalid;  /* NULL, or why XSD validation failed (owned by the reader) */
} reader_record;

/* Start reading in (the reader does not take ownership of in).  schema may be NULL. */
reader *reader_open(input *in, const mapping *m, xmlSchemaPtr schema, mig_err *err);

/* Returns 1 with the next record, 0 at the end of the input, or -1 when the
 * input is not well-formed (MIG_EDATA, "in.xml:17:5: Opening and ending tag
 * mismatch: amount line 17 and application") or cannot be read
 * (MIG_ENOINPUT).  The record stays valid until the next call. */
int reader_next(reader *r, reader_record *rec, mig_err *err);

/* Serialize the current record's XML into *out (reset first), declaring on
 * the record element every namespace in scope, so that it stands alone. */
void reader_record_xml(reader *r, const reader_record *rec, strbuf *out);

void reader_close(reader *r);

/* Load an XSD file.  Returns NULL with MIG_ECONFIG and the parser's message. */
xmlSchemaPtr reader_schema_load(const char *file, mig_err *err);

#endif
