/*
 * fmas_resize.h -- fmas-hw's int8 resize kernels (nearest neighbour and bilinear) for the GAP8
 * cluster, with the index and weight arithmetic of the SDK's signed resizes
 * (Generators/BilinearResizes), which the host int8 reference (fmas_hw.gap8.int8_reference)
 * follows. A call computes one tile: `OutRows` output rows of `Channels` channels, from an input
 * tile holding rows `FirstInRow .. FirstInRow + InRows - 1` of the whole map; the cores of the
 * cluster share the (channel, row) pairs, as the SQ8 kernels share their work.
 */
#ifndef FMAS_RESIZE_H
#define FMAS_RESIZE_H

typedef struct {
    signed char *__restrict__ In;   /* Channels x InRows x Win */
    signed char *__restrict__ Out;  /* Channels x OutRows x Wout */
    unsigned short Win, Hin;        /* the whole input map */
    unsigned short Wout, Hout;      /* the whole output map */
    unsigned short Channels;
    unsigned short FirstOutRow, OutRows;
    unsigned short FirstInRow, InRows;
} FmasResize_T;

void FmasResizeNearest_SQ8(FmasResize_T *Arg);
void FmasResizeBilinear_SQ8(FmasResize_T *Arg);

#endif /* FMAS_RESIZE_H */
