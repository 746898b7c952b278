#!/bin/sh
# bench/resume-ab/run.sh — src/resume.c as of BASE (a commit) against the work
# tree's, side by side (resume-ab.c): identical marks on every input and
# every split.  Run from a build directory (VPATH) after make:
#   sh SRC/bench/resume-ab/run.sh [BASE [DOCS [N [FILE]]]]
# BASE defaults to d3da823 (before the quick skip); DOCS 3000 generated
# documents, N 64 (reads of 1..N bytes); FILE an input to add (gen-apps).
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
base=${1:-d3da823}
out=${TMPDIR:-/tmp}/resume-ab.$$
mkdir -p "$out"
trap 'rm -rf "$out"' EXIT
git -C "$src" show "$base:src/resume.c" > "$out/resume_old.c"
cp "$src/src/resume.c" "$out/resume_new.c"
for w in old new; do
    cat > "$out/wrap_$w.c" <<EOC
#define resume_tracker_new ${w}_new
#define resume_tracker_free ${w}_free
#define resume_tracker_feed ${w}_feed
#define resume_tracker_record ${w}_record
#define resume_tracker_stop ${w}_stop
#define resume_tracker_set_quick ${w}_set_quick
#define resume_prolog ${w}_prolog
#include "resume_$w.c"
#include <stdio.h>

/* Appends t's state and queued events to out. */
void ${w}_dump(void *tv, strbuf *out);
void ${w}_dump(void *tv, strbuf *out)
{
    resume_tracker *t = tv;
    char line[512];
    snprintf(line, sizeof line, "stopped %d pos %llu line %llu col %llu seq %llu st %d"
             " skipping %d rec %d sd %zu depth %zu rc %d\n",
             t->stopped, (unsigned long long)t->pos, (unsigned long long)t->line,
             (unsigned long long)t->col, (unsigned long long)t->seq, (int)t->st, t->skipping,
             t->skip_record, t->skip_depth, t->depth, t->root_closed);
    sb_puts(out, line);
    for (size_t i = 0; i < t->ev_n; i++) {
        event *e = &t->ev[(t->ev_head + i) % t->ev_cap];
        snprintf(line, sizeof line, "ev seq %llu sl %llu off %llu line %llu col %llu q %s gen %llu pro ",
                 (unsigned long long)e->seq, (unsigned long long)e->start_line,
                 (unsigned long long)e->offset, (unsigned long long)e->line,
                 (unsigned long long)e->col, e->qname, (unsigned long long)e->prolog->gen);
        sb_puts(out, line);
        sb_append(out, e->prolog->data, e->prolog->len);
        sb_putc(out, '\n');
    }
}
EOC
done
# the old file may have no resume_tracker_set_quick: give it one that does nothing
grep -q resume_tracker_set_quick "$out/resume_old.c" ||
    printf 'void old_set_quick(resume_tracker *t, int on) { (void)t; (void)on; }\n' >> "$out/wrap_old.c"
${CC:-cc} -std=c11 -O1 -g -D_GNU_SOURCE -I. -I"$src/src" $(pkg-config --cflags libxml-2.0) \
    -o "$out/resume-ab" "$src/bench/resume-ab/resume-ab.c" "$out/wrap_old.c" "$out/wrap_new.c" \
    src/libmigrate.a $(pkg-config --libs libxml-2.0) -lodbc -lodbcinst -lpcre2-8 -lz -lcrypto \
    -lpthread -lm
"$out/resume-ab" "${2:-3000}" "${3:-64}" ${4:+"$4"}
