/* sha256.h — SHA-256 (FIPS 180-4), for the ledger's content hashes: a file
 * is known by the hash of its bytes, not by its name or time.  With
 * libcrypto (configure finds it) the hashing is libcrypto's, which uses the
 * CPU's SHA instructions; the plain C of sha256.c is the fallback, and the
 * unit test checks both. */
#ifndef MIGRATE_SHA256_H
#define MIGRATE_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct sha256_ctx {
    void *evp;              /* libcrypto's context (HAVE_LIBCRYPTO), or NULL */
    uint32_t h[8];
    uint64_t len;           /* bytes hashed so far */
    unsigned char buf[64];  /* a partial block */
    size_t nbuf;
} sha256_ctx;

/* Start a hash (libcrypto's when built with it). */
void sha256_init(sha256_ctx *c);
/* Start a hash with the plain C implementation. */
void sha256_init_plain(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t len);
/* Finish and write the digest as 64 lowercase hex digits and a NUL. */
void sha256_hex(sha256_ctx *c, char out[65]);

#endif
