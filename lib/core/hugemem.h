/* Large buffers in anonymous memory backed by 2 MiB transparent huge pages where the
 * kernel allows (its "madvise" mode is enough). Streaming reads from 4 KiB pages are
 * TLB-bound, badly so in virtual machines (two-level page walks): on the project's VM a
 * 2-thread read of 4 KiB pages gives ~31 GB/s and of huge pages ~54 GB/s. Weights and
 * the K/V pool, read once per token, live here. */
#ifndef SLLM_CORE_HUGEMEM_H
#define SLLM_CORE_HUGEMEM_H

#include <stddef.h>

#include "core/error.h"

enum { CORE_HUGE_PAGE_BYTES = 2 << 20 };

typedef struct core_region {
    void *data;         /* CORE_HUGE_PAGE_BYTES-aligned, zero-filled; NULL when empty */
    size_t bytes;       /* what was asked for */
    size_t mapped;      /* bytes rounded up to whole huge pages */
    int huge;           /* 1: the kernel accepted MADV_HUGEPAGE for the range */
} core_region;

/* Maps `bytes` (> 0) of zeroed memory. OUT_OF_MEMORY when the kernel refuses. */
sllm_status core_region_alloc(size_t bytes, core_region *out);
/* Unmaps; an empty region (data NULL) is allowed. Leaves *region empty. */
void core_region_free(core_region *region);

#endif
