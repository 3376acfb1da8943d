/*
 * fmas_protocol.h -- the fmas line protocol (version 1), firmware side.
 *
 * The GAP8 firmware reports one inference as a handful of text lines, printed with printf on the
 * console (semihosting on GVSoC / io=host, UART on a board with io=uart, 115200 8N1):
 *
 *   FMAS:BEGIN v=1 model=<name>                                   handshake, starts a run
 *   FMAS:LAYER idx=<i> name=<node> cycles=<u32> ops=<u32>         one per graph node, idx 0..n-1
 *   FMAS:TOTAL cycles=<u32> ops=<u32> freq_cl=<hz>                sum of the LAYER lines (mod 2^32)
 *   FMAS:CHECKSUM value=<8 hex digits>                            FNV-1a 32 of the output tensor
 *   FMAS:END status=<int> layers=<n>                              sentinel: the run is over
 *
 * Rules the host parser (host/fmas_hw/targets/protocol.py) relies on:
 *   - every line starts with FMAS_PREFIX and ends with '\n'; the host ignores anything else, so
 *     boot banners, SDK prints and UART noise may appear between the lines;
 *   - names (model, node) contain no whitespace (AutoTiler node names are C identifiers);
 *   - cycles are cluster-clock cycles (gap_cl_readhwtimer(), i.e. AT_GraphPerf[]); the firmware
 *     must call gap_cl_starttimer(); gap_cl_resethwtimer(); on the cluster before the graph runs,
 *     otherwise every node reads 0 cycles (gap_sdk issue 380) and the host rejects the run;
 *   - END is printed last, also on failure (status != 0, possibly with no LAYER line), so the
 *     host never has to wait for a timeout to learn that the firmware gave up.
 *
 * Each format string below is defined exactly once. tests/targets renders sample lines from these
 * strings (and from a compiled program including this header) and parses them back, so the header
 * and the Python parser cannot drift apart. Change both together and bump FMAS_PROTOCOL_VERSION on
 * any incompatible change.
 */
#ifndef FMAS_PROTOCOL_H
#define FMAS_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FMAS_PROTOCOL_VERSION 1

/* Prefix of every protocol line: upper-case tag plus colon, unlikely in boot or SDK output. */
#define FMAS_PREFIX "FMAS:"

/* ---- the format strings (single definition) ------------------------------------------------ */
#define FMAS_FMT_BEGIN    "FMAS:BEGIN v=%d model=%s\n"
#define FMAS_FMT_LAYER    "FMAS:LAYER idx=%d name=%s cycles=%u ops=%u\n"
#define FMAS_FMT_TOTAL    "FMAS:TOTAL cycles=%u ops=%u freq_cl=%u\n"
#define FMAS_FMT_CHECKSUM "FMAS:CHECKSUM value=%08x\n"
#define FMAS_FMT_END      "FMAS:END status=%d layers=%d\n"

/* ---- END status codes ---------------------------------------------------------------------- */
#define FMAS_STATUS_OK 0
/* 1..4 are the return code of the AutoTiler <prefix>CNN_Construct(), passed through unchanged. */
#define FMAS_STATUS_CONSTRUCT_OPEN 1   /* L3 device (HyperRAM / HyperFlash) could not be opened */
#define FMAS_STATUS_CONSTRUCT_L3 2     /* L3 allocation failed */
#define FMAS_STATUS_CONSTRUCT_L2 3     /* L2 allocation failed: the network does not fit L2 */
#define FMAS_STATUS_CONSTRUCT_L1 4     /* L1 allocation failed */
#define FMAS_STATUS_CLUSTER_OPEN 10    /* pi_cluster_open failed */
#define FMAS_STATUS_INPUT 11           /* the input could not be loaded */
#define FMAS_STATUS_ALLOC 12           /* an application buffer could not be allocated */
#define FMAS_STATUS_RUN 13             /* the graph returned an error */

/* ---- output hooks ---------------------------------------------------------------------------- */
#ifndef FMAS_PRINTF
#define FMAS_PRINTF printf
#endif

#ifndef FMAS_FLUSH
#if defined(__riscv) || defined(__PULP_OS__)
/* PMSIS printf writes through to the UART / semihosting channel: nothing to flush. */
#define FMAS_FLUSH() ((void)0)
#else
/* Host builds (tests) print through buffered stdio: flush so a reader sees END at once. */
#define FMAS_FLUSH() fflush(stdout)
#endif
#endif

/* ---- the five lines -------------------------------------------------------------------------- */
/* The casts to unsigned int match %u / %x whatever uint32_t is on the target (long on RISC-V). */

static inline void fmas_begin(const char *model)
{
    FMAS_PRINTF(FMAS_FMT_BEGIN, FMAS_PROTOCOL_VERSION, model);
}

static inline void fmas_layer(int idx, const char *name, uint32_t cycles, uint32_t ops)
{
    FMAS_PRINTF(FMAS_FMT_LAYER, idx, name, (unsigned int)cycles, (unsigned int)ops);
}

static inline void fmas_total(uint32_t cycles, uint32_t ops, uint32_t freq_cl_hz)
{
    FMAS_PRINTF(FMAS_FMT_TOTAL, (unsigned int)cycles, (unsigned int)ops, (unsigned int)freq_cl_hz);
}

static inline void fmas_checksum(uint32_t value)
{
    FMAS_PRINTF(FMAS_FMT_CHECKSUM, (unsigned int)value);
}

static inline void fmas_end(int status, int layers)
{
    FMAS_PRINTF(FMAS_FMT_END, status, layers);
    FMAS_FLUSH();
}

/* ---- helpers ------------------------------------------------------------------------------- */

/* FNV-1a, 32 bit, over `size` bytes: the output checksum (fmas_hw.targets.protocol.fnv1a32). */
static inline uint32_t fmas_fnv1a32(const void *data, size_t size)
{
    const unsigned char *p = (const unsigned char *)data;
    uint32_t hash = 2166136261u;
    for (size_t i = 0; i < size; i++) {
        hash ^= p[i];
        hash *= 16777619u;
    }
    return hash;
}

/*
 * Print one LAYER line per AutoTiler graph node, then the TOTAL line.
 *   count   number of nodes (the length of AT_GraphPerf)
 *   names   AT_GraphNodeNames (graph_produce_node_names)
 *   cycles  AT_GraphPerf (graph_monitor_cycles)
 *   ops     AT_GraphOperInfosNames (graph_produce_operinfos), or NULL: ops=0
 * Returns count, the value to pass as `layers` to fmas_end().
 */
static inline int fmas_report_graph(int count, char *const names[], const unsigned int cycles[],
                                    const unsigned int ops[], uint32_t freq_cl_hz)
{
    uint32_t total_cycles = 0, total_ops = 0;
    for (int i = 0; i < count; i++) {
        uint32_t node_ops = ops ? ops[i] : 0u;
        fmas_layer(i, names[i], cycles[i], node_ops);
        total_cycles += cycles[i]; /* wraps modulo 2^32, as the host expects */
        total_ops += node_ops;
    }
    fmas_total(total_cycles, total_ops, freq_cl_hz);
    return count;
}

#endif /* FMAS_PROTOCOL_H */
