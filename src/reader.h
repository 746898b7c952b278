/* reader.h — streams the records of one input with libxml2's xmlTextReader.
 * Each record is copied node by node (entities expanded) under copies of its
 * ancestors' start tags, into an arena reset on the next call; libxml2 frees
 * its own nodes as the reader moves on, long texts reach libxml2 in pieces
 * (reader.c, "the input filter"), and a record that grows past max_bytes
 * stops being copied, so memory stays flat whatever the input.  Ancestors of
 * the record stay available (for "../@x" paths and namespace lookup).  With
 * a schema, each record element is validated alone against the XSD's global
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
    xmlNode *node;        /* the record element, a copy (owned by the reader) */
    uint64_t line;        /* line of its start tag */
    uint64_t seq;         /* 1-based record number in this input */
    const char *invalid;  /* NULL, or why the record is refused: XSD validation
                             failed, or too_big (owned by the reader) */
    int too_big;          /* larger than max_bytes: node holds its start tag
                             only, nothing to map or copy */
    int has_entities;     /* used entity references (expanded in node) */
    uint64_t bytes;       /* what it costs: XML bytes (entities expanded) plus
                             READER_NODE_COST per element, attribute and text */
    uint64_t xml_bytes;   /* bytes of XML after its start tag, to its end tag */
} reader_record;

/* Bytes counted for each element, attribute or text node a record holds, on
 * top of its text: what libxml2 allocates for one. */
#define READER_NODE_COST 120
/* Default largest record (max_bytes 0). */
#define READER_MAX_BYTES ((size_t)16 * 1024 * 1024)
/* Longest tag (its attributes), comment or processing instruction passed to
 * libxml2 whole (or max_bytes, when smaller): libxml2 holds one whole and,
 * past about 8 MB, looks for its end again at each 512 bytes pushed (a 15 MB
 * attribute took 70 s of CPU).  A longer one is cut (reader.c, "the input
 * filter") and its record rejected: no data export has attributes or
 * comments of a megabyte. */
#define READER_TAG_MAX ((size_t)1024 * 1024)
/* Most attributes of one start tag passed to libxml2 (2.9 compares each with
 * all before it: 30,000 took 6.5 s); a tag with more is cut the same way. */
#define READER_TAG_ATTRS 1024

/* Start reading in (the reader does not take ownership of in).  schema may
 * be NULL.  max_bytes: the largest record (its cost, see reader_record.bytes),
 * 0 = READER_MAX_BYTES; also bounds what libxml2 holds of one tag or text. */
reader *reader_open(input *in, const mapping *m, xmlSchemaPtr schema, size_t max_bytes,
                    mig_err *err);

/* reader_open of an input opened at a resume point (input_open_at, whose
 * prefix is the XML declaration and the ancestors' start tags: no DTD, not
 * counted against max_bytes); the records are numbered from first_seq + 1. */
reader *reader_open_at(input *in, const mapping *m, xmlSchemaPtr schema, size_t max_bytes,
                       uint64_t first_seq, mig_err *err);

/* Returns 1 while a resume point may be taken after the record handed out
 * last: the document has no DTD (entities) and no error was seen so far
 * (a rerun starting later would not see it); else 0. */
int reader_resumable(const reader *r);

/* Returns 1 with the next record, 0 at the end of the input, or -1 when the
 * input is not well-formed (MIG_EDATA, "in.xml:17:5: Opening and ending tag
 * mismatch: amount line 17 and application") or cannot be read
 * (MIG_ENOINPUT).  The record stays valid until the next call. */
int reader_next(reader *r, reader_record *rec, mig_err *err);

/* Frees the copy of the record handed out last, before the next call would:
 * its values are copied (mapped), a large one need not stay meanwhile. */
void reader_release(reader *r);

/* Serialize the current record's XML into *out (reset first), declaring on
 * the record element every namespace in scope and expanding entity
 * references, so that it stands alone; byte for byte what xmlNodeDump
 * writes for the copy.  A too_big record gives "". */
void reader_record_xml(reader *r, const reader_record *rec, strbuf *out);

void reader_close(reader *r);

/* Load an XSD file.  Returns NULL with MIG_ECONFIG and the parser's message. */
xmlSchemaPtr reader_schema_load(const char *file, mig_err *err);

#endif
