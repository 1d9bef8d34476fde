/* Helpers shared by the Check suites: locating test data and models, temp files. */
#ifndef SLLM_TESTS_TESTUTIL_H
#define SLLM_TESTS_TESTUTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

/* Path of `relative` under ../shared/testdata (or $SLLM_TESTDATA) in a static
 * per-call buffer, or NULL (after printing "SKIP: ...") when it does not exist. */
const char *testutil_data_path(const char *relative, char *buf, size_t cap);

/* Path of SmolLM2-135M-Instruct's GGUF, or NULL (after printing "SKIP: ...") when
 * `make models` has not fetched it. */
const char *testutil_smollm_path(char *buf, size_t cap);

/* Reads a whole file into a malloc'd buffer (NUL-terminated); NULL on failure. */
uint8_t *testutil_read_file(const char *path, size_t *size);

/* Creates a unique temp file path under $TMPDIR (the file is created empty). */
void testutil_temp_path(char *buf, size_t cap, const char *suffix);

/* Runs a suite, prints its summary, returns the number of failures. */
int testutil_run_suite(Suite *suite);

#endif
