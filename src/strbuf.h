/* strbuf.h — a growable byte buffer, always NUL-terminated.
 * The struct owns `buf`; sb_free releases it. */
#ifndef MIGRATE_STRBUF_H
#define MIGRATE_STRBUF_H

#include <stddef.h>
#include <string.h>

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
/* Appends n bytes (inline: the producer appends a few bytes at a time,
 * millions of times a run; only growing is a call). */
static inline void sb_append(strbuf *sb, const void *p, size_t n)
{
    if (sb->len + n + 1 > sb->cap)
        sb_grow(sb, n);
    if (n)
        memcpy(sb->buf + sb->len, p, n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
}
static inline void sb_puts(strbuf *sb, const char *s)
{
    sb_append(sb, s, strlen(s));
}
static inline void sb_putc(strbuf *sb, char c)
{
    if (sb->len + 2 > sb->cap)
        sb_grow(sb, 1);
    sb->buf[sb->len++] = c;
    sb->buf[sb->len] = '\0';
}
void sb_printf(strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Returns the contents ("" when empty), valid until the next change. */
const char *sb_str(const strbuf *sb);
/* Hands the buffer to the caller (who frees it) and resets sb. */
char *sb_detach(strbuf *sb);

#endif
