/* reject.h — the reject file: every record that was not loaded, as its
 * original XML, preceded by an XML comment giving the reason, inside a root
 * element that makes the file loadable again with the same mapping:
 *
 *   <?xml version="1.0" encoding="UTF-8"?>
 *   <a:applications xmlns:a="urn:example:apps">
 *   <!-- migrate reject: in.xml:12 record 3: table contact_base column phone:
 *        value "..." is 19 characters, longer than varchar(16) -->
 *   <a:application app_id="3">...</a:application>
 *   </a:applications>
 *
 * The root is the record path's ancestors (for "//p:x" a <migrate-rejects>
 * element), declaring every namespace of the mapping.  It is written under a
 * temporary name beside its own and renamed into place by reject_close: a
 * run with rejects replaces an old file at the end, a run without rejects
 * leaves an old file as it was (and creates none), a killed run leaves
 * "NAME.PID.N.tmp" and never a half-written NAME.  A record too large to copy
 * gets only a comment, "<!-- migrate reject, not copied: FILE:LINE ...".
 * reject_write is safe from any thread (named lock `lock` inside). */
#ifndef MIGRATE_REJECT_H
#define MIGRATE_REJECT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "mapping.h"

typedef struct reject_writer reject_writer;

/* Returns 0 if path may be the reject file of a run reading inputs ("-" =
 * standard input), or -1: MIG_EUSAGE when an existing path is one of the
 * inputs (same device and inode), MIG_ECANTCREAT when it is not a regular
 * file. */
int reject_check(const char *path, const char *const *inputs, size_t ninputs, mig_err *err);

/* Prepare a reject file at path: creates the temporary file beside it (an
 * existing file at path is left alone).  Fails with MIG_ECANTCREAT if the
 * directory is not writable. */
reject_writer *reject_open(const char *path, const mapping *m, mig_err *err);

/* Append one rejected record (xml_len 0: a comment only, for a record too
 * large to copy).  Returns 0, or -1 with MIG_ECANTCREAT. */
int reject_write(reject_writer *rw, const char *file, uint64_t line, uint64_t seq,
                 const char *reason, const char *xml, size_t xml_len, mig_err *err);

/* Finish the file and rename it into place (if nothing was written: remove
 * the temporary file, leave path alone); frees rw.  Returns 0 or -1 with
 * MIG_ECANTCREAT. */
int reject_close(reject_writer *rw, mig_err *err);

uint64_t reject_count(reject_writer *rw);
const char *reject_path(const reject_writer *rw);

#endif
