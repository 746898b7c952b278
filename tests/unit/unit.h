/* unit.h — the few lines every CUnit test program shares.
 *   int main(void) { UNIT_BEGIN("types"); UNIT_TEST(test_int_range); ...; UNIT_END(); }
 * Exit status: 0 when every assertion passed, 1 otherwise (automake's test
 * driver reads it). */
#ifndef MIGRATE_UNIT_H
#define MIGRATE_UNIT_H

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Returns a new private directory for this test program ($TMPDIR or /tmp,
 * made with mkdtemp), removed with its files when the program exits.  Tests
 * never assume a directory of their own exists: a fresh machine has none. */
static const char *unit_tmpdir_path_;
static void unit_tmpdir_rm_(void)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", unit_tmpdir_path_);
    if (system(cmd) != 0)
        fprintf(stderr, "unit: cannot remove %s\n", unit_tmpdir_path_);
}
static inline const char *unit_tmpdir(void)
{
    static char path[4096];
    if (!unit_tmpdir_path_) {
        const char *base = getenv("TMPDIR");
        snprintf(path, sizeof path, "%s/migrate-unit.XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(path)) {
            perror("unit: mkdtemp");
            exit(2);
        }
        unit_tmpdir_path_ = path;
        atexit(unit_tmpdir_rm_);
    }
    return unit_tmpdir_path_;
}

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
