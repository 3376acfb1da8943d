/*
 * fmas_resize.c -- fmas-hw's int8 resize kernels (see fmas_resize.h).
 *
 * Nearest: source index roundnorm(i * ((In - 1) << 16) / (Out - 1), 16), the corners aligned.
 * Bilinear: source position i * ((In - 1) << 16) / Out in 16.16 fixed point, 7-bit weights, the
 * four neighbours weighted and shifted right by 14. Both as the SDK's KerResize*Signed compute.
 */
#include "Gap.h"
#include "at_api.h"
#include "fmas_resize.h"

/* The (channel, row) pairs of this core: [*first, *last). */
static void fmas_share(int count, int *first, int *last)
{
    int cores = AT_NCORE(), chunk = (count + cores - 1) / cores;
    *first = AT_COREID() * chunk;
    *last = *first + chunk < count ? *first + chunk : count;
    if (*first > count) *first = count;
}

static inline int fmas_nearest(int i, unsigned int step)
{
    return (int)(((unsigned int)i * step + (1u << 15)) >> 16);
}

void FmasResizeNearest_SQ8(FmasResize_T *Arg)
{
    unsigned int step_y = Arg->Hout > 1 ? ((unsigned int)(Arg->Hin - 1) << 16) / (Arg->Hout - 1) : 0;
    unsigned int step_x = Arg->Wout > 1 ? ((unsigned int)(Arg->Win - 1) << 16) / (Arg->Wout - 1) : 0;
    int first, last;
    fmas_share(Arg->Channels * Arg->OutRows, &first, &last);
    for (int pair = first; pair < last; pair++) {
        int c = pair / Arg->OutRows, r = pair % Arg->OutRows;
        int src = fmas_nearest(Arg->FirstOutRow + r, step_y) - Arg->FirstInRow;
        const signed char *in = Arg->In + ((unsigned int)c * Arg->InRows + src) * Arg->Win;
        signed char *out = Arg->Out + ((unsigned int)c * Arg->OutRows + r) * Arg->Wout;
        for (int x = 0; x < Arg->Wout; x++) out[x] = in[fmas_nearest(x, step_x)];
    }
    gap_waitbarrier(0);
}

void FmasResizeBilinear_SQ8(FmasResize_T *Arg)
{
    unsigned int step_y = ((unsigned int)(Arg->Hin - 1) << 16) / Arg->Hout;
    unsigned int step_x = ((unsigned int)(Arg->Win - 1) << 16) / Arg->Wout;
    int first, last;
    fmas_share(Arg->Channels * Arg->OutRows, &first, &last);
    for (int pair = first; pair < last; pair++) {
        int c = pair / Arg->OutRows, r = pair % Arg->OutRows;
        unsigned int hc = (unsigned int)(Arg->FirstOutRow + r) * step_y;
        int y = (int)(hc >> 16), wy = (int)((hc >> 9) & 127);
        int below = y + 1 < Arg->Hin ? y + 1 : y;
        const signed char *row0 = Arg->In + ((unsigned int)c * Arg->InRows + (y - Arg->FirstInRow)) * Arg->Win;
        const signed char *row1 = Arg->In + ((unsigned int)c * Arg->InRows + (below - Arg->FirstInRow)) * Arg->Win;
        signed char *out = Arg->Out + ((unsigned int)c * Arg->OutRows + r) * Arg->Wout;
        for (int x = 0; x < Arg->Wout; x++) {
            unsigned int wc = (unsigned int)x * step_x;
            int x0 = (int)(wc >> 16), wx = (int)((wc >> 9) & 127);
            int x1 = x0 + 1 < Arg->Win ? x0 + 1 : x0;
            int left = row0[x0] * (128 - wy) + row1[x0] * wy;
            int right = row0[x1] * (128 - wy) + row1[x1] * wy;
            out[x] = (signed char)((left * (128 - wx) + right * wx) >> 14);
        }
    }
    gap_waitbarrier(0);
}
