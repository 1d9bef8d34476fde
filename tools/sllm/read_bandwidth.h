/* The machine's best-case memory read bandwidth, as `sllm bench` reports it. */
#ifndef SLLM_CLI_READ_BANDWIDTH_H
#define SLLM_CLI_READ_BANDWIDTH_H

typedef struct read_bandwidth {
    double bytes_per_s;     /* best of every configuration and repeat; 0 when not measured */
    const char *loop;       /* "AVX-512", "AVX2" or "scalar": the read loop this CPU ran */
    int huge_pages;         /* 1: the kernel backed the buffer with 2 MiB pages */
} read_bandwidth;

/* Streams through a 1 GiB buffer of huge-page memory (core_region_alloc, as the weights
 * live) on n_threads threads, each reading its slice as several independent streams
 * with wide loads and software prefetch, and keeps the best rate over a few prefetch
 * distances and repeats: what the memory can deliver, the ceiling decoding works
 * against. Takes about a second; allocates and frees the buffer itself. */
void read_bandwidth_measure(int n_threads, read_bandwidth *out);

#endif
