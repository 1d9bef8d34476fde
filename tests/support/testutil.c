/* Test helpers: where the shared test data and fetched models live. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int file_exists(const char *path) { return access(path, R_OK) == 0; }

const char *testutil_data_path(const char *relative, char *buf, size_t cap) {
    const char *dir = getenv("SLLM_TESTDATA");
    if (dir == NULL) dir = "../shared/testdata";
    snprintf(buf, cap, "%s/%s", dir, relative);
    if (file_exists(buf)) return buf;
    printf("SKIP: test data %s not found (set SLLM_TESTDATA or provide ../shared/testdata)\n", buf);
    return NULL;
}

const char *testutil_smollm_path(char *buf, size_t cap) {
    const char *dir = getenv("SLLM_MODELS_DIR");
    if (dir == NULL) dir = "models";
    snprintf(buf, cap, "%s/SmolLM2-135M-Instruct.Q4_1.gguf", dir);
    if (file_exists(buf)) return buf;
    printf("SKIP: %s not found (run `make models` to fetch SmolLM2-135M-Instruct)\n", buf);
    return NULL;
}

uint8_t *testutil_read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    uint8_t *data = NULL;
    if (fseek(f, 0, SEEK_END) != 0) goto done;
    long len = ftell(f);
    if (len < 0 || fseek(f, 0, SEEK_SET) != 0) goto done;
    data = malloc((size_t)len + 1);
    if (data == NULL) goto done;
    if (fread(data, 1, (size_t)len, f) != (size_t)len) { free(data); data = NULL; goto done; }
    data[len] = 0;
    *size = (size_t)len;
done:
    fclose(f);
    return data;
}

void testutil_temp_path(char *buf, size_t cap, const char *suffix) {
    const char *dir = getenv("TMPDIR");
    if (dir == NULL) dir = "/tmp";
    snprintf(buf, cap, "%s/sllm-test-XXXXXX%s", dir, suffix);
    int fd = mkstemps(buf, (int)strlen(suffix));
    if (fd >= 0) close(fd);
}

int testutil_run_suite(Suite *suite) {
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failures = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failures;
}
