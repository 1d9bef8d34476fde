/* core_region: 2 MiB-aligned anonymous mappings with MADV_HUGEPAGE (see hugemem.h). */
#include "core/hugemem.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static size_t round_up(size_t bytes, size_t unit) { return (bytes + unit - 1) / unit * unit; }

/* MADV_HUGEPAGE succeeds even when the kernel's THP mode is "never"; the mode says
 * whether huge pages can back the range at all. */
static int thp_mode_allows_madvise(void) {
    FILE *file = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (file == NULL) return 1;    /* unknown: trust madvise */
    char mode[128] = { 0 };
    size_t n = fread(mode, 1, sizeof mode - 1, file);
    fclose(file);
    mode[n] = 0;
    return strstr(mode, "[never]") == NULL;
}

sllm_status core_region_alloc(size_t bytes, core_region *out) {
    memset(out, 0, sizeof *out);
    if (bytes == 0 || bytes > SIZE_MAX - 2 * (size_t)CORE_HUGE_PAGE_BYTES)
        return core_fail(SLLM_ERR_INVALID_ARGUMENT, "cannot map a region of %zu bytes", bytes);
    size_t mapped = round_up(bytes, CORE_HUGE_PAGE_BYTES);
    /* Over-map by one huge page, then trim both ends so the region starts on a huge-page
     * boundary: only aligned 2 MiB ranges can be backed by huge pages. */
    size_t span = mapped + CORE_HUGE_PAGE_BYTES;
    uint8_t *raw = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
        return core_fail(SLLM_ERR_OUT_OF_MEMORY, "cannot map %zu bytes: %s", bytes, strerror(errno));
    uint8_t *aligned = (uint8_t *)round_up((uintptr_t)raw, CORE_HUGE_PAGE_BYTES);
    if (aligned > raw) munmap(raw, (size_t)(aligned - raw));
    size_t tail = (size_t)(raw + span - (aligned + mapped));
    if (tail > 0) munmap(aligned + mapped, tail);
#ifdef MADV_HUGEPAGE
    out->huge = madvise(aligned, mapped, MADV_HUGEPAGE) == 0 && thp_mode_allows_madvise();
#endif
    out->data = aligned;
    out->bytes = bytes;
    out->mapped = mapped;
    return SLLM_OK;
}

void core_region_free(core_region *region) {
    if (region->data != NULL) munmap(region->data, region->mapped);
    memset(region, 0, sizeof *region);
}
