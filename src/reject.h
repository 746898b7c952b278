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
 * element), declaring every namespace of the mapping.  The file is created on
 * the first reject and finished by reject_close; a run without rejects
 * leaves no file (a stale one from an earlier run is removed at open).
 * reject_write is safe from any thread (named lock `lock` inside). */
#ifndef MIGRATE_REJECT_H
#define MIGRATE_REJECT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "mapping.h"

typedef struct reject_writer reject_writer;

/* Prepare a reject file at path (nothing is created until the first reject,
 * but an existing file there is removed).  Fails with MIG_ECANTCREAT if the
 * directory is not writable. */
reject_writer *reject_open(const char *path, const mapping *m, mig_err *err);

/* Append one rejected record.  Returns 0, or -1 with MIG_ECANTCREAT. */
int reject_write(reject_writer *rw, const char *file, uint64_t line, uint64_t seq,
                 const char *reason, const char *xml, size_t xml_len, mig_err *err);

/* Finish and close the file (remove it if nothing was written); frees rw.
 * Returns 0 or -1 with MIG_ECANTCREAT. */
int reject_close(reject_writer *rw, mig_err *err);

uint64_t reject_count(reject_writer *rw);
const char *reject_path(const reject_writer *rw);

#endif
