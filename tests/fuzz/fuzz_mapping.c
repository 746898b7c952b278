/* fuzz_mapping.c — libFuzzer target: the mapping loader (mapping_load_memory)
 * on arbitrary bytes: XML parsing, namespaces, types, paths, PCRE2 rules,
 * keys and routing analysis.  Every input must load or fail with a message;
 * nothing may crash, leak or trip a sanitizer. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <libxml/parser.h>

#include "mapping.h"

/* Silences libxml2's generic error printing (the loader has its own handler). */
static void quiet(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    xmlInitParser();
    xmlSetGenericErrorFunc(NULL, quiet);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mig_err err;
    err_clear(&err);
    mapping *m = mapping_load_memory((const char *)data, size, "fuzz.xml", &err);
    if (m)
        mapping_free(m);
    else if (!err.msg[0] || strchr(err.msg, '\n'))
        __builtin_trap(); /* a refusal must say why, on one line */
    return 0;
}
