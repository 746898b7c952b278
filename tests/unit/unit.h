/* unit.h — the few lines every CUnit test program shares, and the helpers
 * of tests/unit/unit.c that more than one of them needs.
 *   int main(void) { UNIT_BEGIN("types"); UNIT_TEST(test_int_range); ...; UNIT_END(); }
 * Exit status: 0 when every assertion passed, 1 otherwise (automake's test
 * driver reads it). */
#ifndef MIGRATE_UNIT_H
#define MIGRATE_UNIT_H

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- tests/unit/unit.c (tests/unit/libunit.a, in every test's UNIT_LDADD) ---- */

struct mapping;

/* Returns a new private directory for this test program ($TMPDIR or /tmp,
 * made with mkdtemp), removed with its files when the program exits.  Tests
 * never assume a directory of their own exists: a fresh machine has none. */
const char *unit_tmpdir(void);

/* Writes the text content to the file name in unit_tmpdir(); returns its
 * path, in a static buffer that the eighth call after this one reuses. */
const char *unit_put(const char *name, const char *content);

/* As unit_put, len bytes of content; gzip-compressed as gz_members
 * concatenated gzip members when gz_members > 0. */
const char *unit_put_bytes(const char *name, const void *content, size_t len, int gz_members);

/* Returns the mapping in text (its error on stderr and the test stopped
 * when it does not load). */
struct mapping *unit_mapping(const char *text);

/* Returns the mapping of the reader tests: records at the path record,
 * namespace prefix a for urn:a, one table t keyed by the int attribute @id. */
struct mapping *unit_map_for(const char *record);

#define UNIT_BEGIN(name)                                                   \
    CU_pSuite unit_suite_;                                                 \
    if (CU_initialize_registry() != CUE_SUCCESS)                           \
        return 2;                                                          \
    unit_suite_ = CU_add_suite(name, NULL, NULL);                          \
    if (!unit_suite_)                                                      \
        return 2

#define UNIT_TEST(fn) CU_add_test(unit_suite_, #fn, fn)

#define UNIT_END()                                                         \
    do {                                                                   \
        CU_basic_set_mode(CU_BRM_VERBOSE);                                 \
        CU_basic_run_tests();                                              \
        unsigned unit_failed_ = CU_get_number_of_failures() +              \
                                CU_get_number_of_tests_failed();           \
        unsigned unit_run_ = CU_get_number_of_tests_run();                 \
        CU_cleanup_registry();                                             \
        return (unit_failed_ || unit_run_ == 0) ? 1 : 0;                   \
    } while (0)

#endif
