/* strbuf.h — a growable byte buffer, always NUL-terminated.
 * The struct owns `buf`; sb_free releases it. */
#ifndef MIGRATE_STRBUF_H
#define MIGRATE_STRBUF_H

#include <stddef.h>

typedef struct strbuf {
    char *buf;   /* NUL-terminated; NULL until the first append */
    size_t len;
    size_t cap;
} strbuf;

#define STRBUF_INIT {NULL, 0, 0}

void sb_init(strbuf *sb);
void sb_free(strbuf *sb);
void sb_reset(strbuf *sb);                 /* len = 0, keeps the memory */
void sb_grow(strbuf *sb, size_t extra);    /* room for extra more bytes + NUL */
void sb_append(strbuf *sb, const void *p, size_t n);
void sb_puts(strbuf *sb, const char *s);
void sb_putc(strbuf *sb, char c);
void sb_printf(strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Returns the contents ("" when empty), valid until the next change. */
const char *sb_str(const strbuf *sb);
/* Hands the buffer to the caller (who frees it) and resets sb. */
char *sb_detach(strbuf *sb);

#endif
