/* rule.h — PCRE2 rules of a column: `pattern` (the value must match) and
 * `replace-match`/`replace-with` (a global substitution applied before
 * conversion).  Patterns are compiled once, with PCRE2_UTF, and JIT-compiled
 * where available.  Matching needs scratch space (`rule_scratch`), one per
 * thread: the rule itself is read-only after compilation and may be shared. */
#ifndef MIGRATE_RULE_H
#define MIGRATE_RULE_H

#include <stddef.h>

#include "strbuf.h"

typedef struct rule rule;               /* a compiled pattern (opaque) */
typedef struct rule_scratch rule_scratch; /* per-thread match data (opaque) */

/* Compile a pattern.  Returns NULL with "bad regex \"...\": <PCRE2 message>
 * at offset N" in err on failure. */
rule *rule_compile(const char *pattern, char *err, size_t errlen);
void rule_free(rule *r);
/* Returns the source text of the pattern. */
const char *rule_source(const rule *r);

rule_scratch *rule_scratch_new(void);
void rule_scratch_free(rule_scratch *sc);

/* Returns 1 if s[0..len) matches r (anywhere, unless the pattern anchors),
 * 0 if not, -1 on a matching error (message in err). */
int rule_match(const rule *r, rule_scratch *sc, const char *s, size_t len,
               char *err, size_t errlen);

/* Replace every match of r in s[0..len) by `with` (PCRE2 extended
 * substitution syntax: $1, ${name}), writing the result to *out (reset
 * first).  Returns 0, or -1 with a reason in err. */
int rule_replace(const rule *r, rule_scratch *sc, const char *s, size_t len,
                 const char *with, strbuf *out, char *err, size_t errlen);

#endif
