/*
 * fmas_tiles.h -- the data movement of fmas-hw's open GAP8 backend (hand-written, shared by every
 * generated network).
 *
 * The generated <prefix>Kernels.c walks each layer's tiles and moves them with the two helpers
 * below, through the AutoTiler runtime API (at_api.h): the cluster DMA for L2 <-> L1
 * (AT_L2_COPY / AT_L2_COPY2D) and the HyperRAM driver for L3 <-> L2 (AT_HYPERRAM_CL_COPY2D). An
 * operand homed in L3 is staged through one L2 buffer, synchronously (the micro-DMA only reaches
 * L2); an operand in L2 moves asynchronously and is waited for with fmas_wait() just before its
 * buffer is used, which is what lets the next tile's input arrive while a tile computes.
 *
 * Under __EMUL__ (x86, at_api_emul.h) every transfer is checked against the arena it addresses
 * (L1, the L2 arena, the L3 arena, the graph input/output): a transfer outside the budget the
 * tile plan was made for fails the run naming the layer, and the bytes each layer moves are
 * counted, so the emulation checks the plan and not only the arithmetic.
 */
#ifndef FMAS_TILES_H
#define FMAS_TILES_H

#include <stdint.h>
#include "Gap.h"
#include "at_api.h"

#ifdef __EMUL__
#include <stdio.h>
#include <stdlib.h>
#endif

/* Largest 2D stride and row length the cluster DMA takes (16-bit fields on GAP8's MCHAN). */
#ifndef FMAS_DMA_MAX_2D
#define FMAS_DMA_MAX_2D 65535
#endif

/* Where an operand lives: an L2 address, or an L3 (HyperRAM) address, with the bytes it spans. */
typedef struct {
    signed char *l2;
    AT_HYPERRAM_EXT_ADDR_TYPE l3;
    int in_l3;
    unsigned int bytes;
} FmasRef;

/* An L2 <-> L1 transfer in flight (waited for once). */
typedef struct {
    AT_L2_EVENT event;
    int pending;
} FmasEvent;

/* Per-layer counters: bytes moved each way, and L1 the layer used. */
typedef struct {
    unsigned int dma_in;
    unsigned int dma_out;
    unsigned int l1;
} FmasLayerStats;

/* The network's memory, set up by <prefix>CNN_Construct(). */
typedef struct {
    signed char *l1;
    unsigned int l1_bytes;
    signed char *stage;          /* L2 staging buffer of the L3 operands */
    unsigned int stage_bytes;
    AT_HYPERRAM_T *hyperram;
    const char *layer;           /* the layer running, for messages */
    FmasLayerStats *stats;       /* the layer running's counters */
} FmasMem;

static inline void fmas_fail(const FmasMem *m, const char *what, unsigned int need, unsigned int have)
{
#ifdef __EMUL__
    fprintf(stderr, "fmas: layer %s: %s needs %u bytes, %u available\n", m->layer, what, need, have);
    exit(3);
#else
    (void)m; (void)what; (void)need; (void)have;
#endif
}

/* A memory the build's budget cannot hold: say which (host emulation), return `code`. */
static inline int fmas_over(const char *layer, const char *level, unsigned int need, unsigned int have, int code)
{
#ifdef __EMUL__
    fprintf(stderr, "fmas: layer %s: %s needs %u bytes, %u available\n", layer, level, need, have);
#else
    (void)layer; (void)level; (void)need; (void)have;
#endif
    return code;
}

/* Bytes a 2D transfer spans at its strided end. */
static inline unsigned int fmas_span(unsigned int size, unsigned int stride, unsigned int length)
{
    return size <= length ? size : (size / length - 1) * stride + length;
}

static inline void fmas_check(const FmasMem *m, const FmasRef *ref, unsigned int offset, unsigned int size,
                              unsigned int stride, unsigned int length, const signed char *l1)
{
#ifdef __EMUL__
    unsigned int span = fmas_span(size, stride, length);
    if (size % length) fmas_fail(m, "a 2D transfer whose size is not a multiple of its rows", size, length);
    if (offset + span > ref->bytes) fmas_fail(m, ref->in_l3 ? "an L3 transfer" : "an L2 transfer",
                                              offset + span, ref->bytes);
    if (l1 < m->l1 || l1 + size > m->l1 + m->l1_bytes)
        fmas_fail(m, "an L1 buffer", (unsigned int)(l1 - m->l1) + size, m->l1_bytes);
    if (ref->in_l3 && size > m->stage_bytes) fmas_fail(m, "the L2 staging buffer", size, m->stage_bytes);
#else
    (void)m; (void)ref; (void)offset; (void)size; (void)stride; (void)length; (void)l1;
#endif
}

/* Events with no transfer in flight. */
static inline void fmas_idle(FmasEvent *ev, int count)
{
    for (int i = 0; i < count; i++) ev[i].pending = 0;
}

static inline void fmas_wait(FmasEvent *ev)
{
    if (ev->pending) {
        AT_L2_WAIT(0, &ev->event);
        ev->pending = 0;
    }
}

/* One cluster-DMA transfer between L2 and L1; rows longer or further apart than the DMA takes are
 * moved one by one (synchronously). */
static inline void fmas_l2_copy(signed char *l2, signed char *l1, unsigned int size, unsigned int stride,
                                unsigned int length, int dir, FmasEvent *ev)
{
    fmas_wait(ev);
    if (size == length || stride == length) {
        AT_L2_COPY(0, l2, l1, size, dir, &ev->event);
    } else if (stride <= FMAS_DMA_MAX_2D && length <= FMAS_DMA_MAX_2D) {
        AT_L2_COPY2D(0, l2, l1, size, stride, length, dir, &ev->event);
    } else {
        for (unsigned int done = 0; done < size; done += length) {
            AT_L2_COPY(0, l2 + done / length * stride, l1 + done, length, dir, &ev->event);
            if (done + length < size) {
                AT_L2_WAIT(0, &ev->event);
            }
        }
    }
    ev->pending = 1;
}

/* Fetch `size` bytes, in rows of `length` bytes `stride` apart from `offset` of `src`, into the
 * contiguous L1 buffer `l1`. */
static inline void fmas_get(FmasMem *m, const FmasRef *src, unsigned int offset, signed char *l1,
                            unsigned int size, unsigned int stride, unsigned int length, FmasEvent *ev)
{
    fmas_check(m, src, offset, size, stride, length, l1);
    m->stats->dma_in += size;
    if (src->in_l3) {
        AT_HYPERRAM_CL_EVENT ram;
        (void)ram;
        fmas_wait(ev);
        AT_HYPERRAM_CL_COPY2D(m->hyperram, src->l3 + offset, m->stage, size, stride, length,
                              AT_HYPERRAM_EXT2LOC, &ram);
        AT_HYPERRAM_CL_WAIT(m->hyperram, &ram);
        fmas_l2_copy(m->stage, l1, size, size, size, AT_L2_EXT2LOC, ev);
        fmas_wait(ev);
    } else {
        fmas_l2_copy(src->l2 + offset, l1, size, stride, length, AT_L2_EXT2LOC, ev);
    }
}

/* Write the contiguous L1 buffer `l1` back to `dst`, the mirror of fmas_get(). */
static inline void fmas_put(FmasMem *m, const FmasRef *dst, unsigned int offset, signed char *l1,
                            unsigned int size, unsigned int stride, unsigned int length, FmasEvent *ev)
{
    fmas_check(m, dst, offset, size, stride, length, l1);
    m->stats->dma_out += size;
    if (dst->in_l3) {
        AT_HYPERRAM_CL_EVENT ram;
        (void)ram;
        fmas_l2_copy(m->stage, l1, size, size, size, AT_L2_LOC2EXT, ev);
        fmas_wait(ev);
        AT_HYPERRAM_CL_COPY2D(m->hyperram, dst->l3 + offset, m->stage, size, stride, length,
                              AT_HYPERRAM_LOC2EXT, &ram);
        AT_HYPERRAM_CL_WAIT(m->hyperram, &ram);
    } else {
        fmas_l2_copy(dst->l2 + offset, l1, size, stride, length, AT_L2_LOC2EXT, ev);
    }
}

/* Start a layer: its name for messages, its counters, and the L1 its buffers need. */
static inline void fmas_layer_start(FmasMem *m, const char *name, FmasLayerStats *stats, unsigned int l1_bytes)
{
    m->layer = name;
    m->stats = stats;
    stats->l1 = l1_bytes;
    if (l1_bytes > m->l1_bytes) fmas_fail(m, "L1", l1_bytes, m->l1_bytes);
}

/* Zero an L1 buffer (the padding of an explicitly padded tile). */
static inline void fmas_zero(signed char *l1, unsigned int size)
{
    for (unsigned int i = 0; i < size; i++) l1[i] = 0;
}

static inline int fmas_min(int a, int b)
{
    return a < b ? a : b;
}

static inline int fmas_max(int a, int b)
{
    return a > b ? a : b;
}

#endif /* FMAS_TILES_H */
