/* The machine's best-case memory read bandwidth, as `sllm bench` reports it. */
#ifndef SLLM_CLI_READ_BANDWIDTH_H
#define SLLM_CLI_READ_BANDWIDTH_H

#include <stddef.h>

typedef struct read_bandwidth {
    double bytes_per_s;     /* best of every configuration and repeat; 0 when not measured */
    int best_config;        /* which of the probe's configurations gave it */
    const char *loop;       /* "AVX-512", "AVX2" or "scalar": the read loop this CPU ran */
    int huge_pages;         /* 1: the kernel backed the buffer with 2 MiB pages */
} read_bandwidth;

/* Streams through a 1 GiB buffer of huge-page memory (core_region_alloc, as the weights
 * live) on n_threads threads, each reading its slice as several independent streams
 * with wide loads and software prefetch, and keeps the best rate over a few prefetch
 * distances and repeats: what the memory can deliver, the ceiling decoding works
 * against. Takes about a second; allocates and frees the buffer itself. */
void read_bandwidth_measure(int n_threads, read_bandwidth *out);

/* A smaller buffer read the way read_bandwidth_measure found fastest, for short probes
 * taken between pieces of other work (`sllm bench` reads it between slices of decode, so
 * that decoding and the probe see the same moments of a VM whose bandwidth changes
 * from second to second). The buffer stays resident until closed. */
typedef struct read_sampler read_sampler;

/* NULL when the memory or threads cannot be had. `best` comes from read_bandwidth_measure. */
read_sampler *read_sampler_open(int n_threads, size_t bytes, const read_bandwidth *best);
/* Reads the buffer once; returns the seconds it took. */
double read_sampler_run(read_sampler *sampler);
/* The bytes one run reads, and the bytes the buffer keeps resident. */
size_t read_sampler_bytes_read(const read_sampler *sampler);
size_t read_sampler_resident_bytes(const read_sampler *sampler);
void read_sampler_close(read_sampler *sampler);

#endif
