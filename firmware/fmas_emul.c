/*
 * fmas_emul.c -- runs a generated network of the open route on the host (x86, -D__EMUL__), the
 * way firmware/main.c runs it on GAP8: the same generated sources, the SDK's SQ8 basic kernels
 * and its at_api_emul.h. It reads the int8 CHW input file, prints the fmas protocol's BEGIN,
 * CHECKSUM and END lines (no LAYER/TOTAL lines: the host measures no GAP8 cycles), one EMUL line
 * per kernel with the L1 it used and the bytes it moved, and writes the int8 output.
 *
 * usage: fmas_emul INPUT.bin OUTPUT.bin   (run in the folder holding the constants file)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "Gap.h"
#include "app_config.h"
#include "fmas_protocol.h"

#if FMAS_IO_IN_L3
AT_HYPERRAM_T HyperRam;
#endif
AT_HYPERFLASH_FS_EXT_ADDR_TYPE FMAS_L3_FLASH = 0;

#define FMAS_EMUL_FMT "FMAS:EMUL idx=%d name=%s l1=%u dma_in=%u dma_out=%u\n"

static signed char *read_input(const char *path)
{
    FILE *f = fopen(path, "rb");
    signed char *data = malloc(FMAS_INPUT_BYTES + 1);
    size_t got = f && data ? fread(data, 1, FMAS_INPUT_BYTES + 1, f) : 0;
    if (f) fclose(f);
    if (got != FMAS_INPUT_BYTES) {
        fprintf(stderr, "fmas_emul: %s: expected %u bytes of int8 input\n", path, FMAS_INPUT_BYTES);
        free(data);
        return NULL;
    }
    return data;
}

int main(int argc, char **argv)
{
    int count = (int)(sizeof(AT_GraphPerf) / sizeof(AT_GraphPerf[0]));
    if (argc != 3) {
        fprintf(stderr, "usage: fmas_emul INPUT.bin OUTPUT.bin\n");
        return 2;
    }
    fmas_begin(FMAS_MODEL_NAME);
    signed char *in = read_input(argv[1]), *out = malloc(FMAS_OUTPUT_BYTES);
    int status = in && out ? FMAS_CNN_CONSTRUCT() : FMAS_STATUS_INPUT;
    if (status == FMAS_STATUS_OK) {
        status = FMAS_CNN(in, out) ? FMAS_STATUS_RUN : FMAS_STATUS_OK;
        for (int i = 0; status == FMAS_STATUS_OK && i < count; i++) {
            const FmasLayerStats *s = &FMAS_LAYER_STATS[i];
            printf(FMAS_EMUL_FMT, i, AT_GraphNodeNames[i], s->l1, s->dma_in, s->dma_out);
        }
        if (status == FMAS_STATUS_OK) {
            fmas_checksum(fmas_fnv1a32(out, FMAS_OUTPUT_BYTES));
            FILE *f = fopen(argv[2], "wb");
            if (!f || fwrite(out, 1, FMAS_OUTPUT_BYTES, f) != FMAS_OUTPUT_BYTES) status = FMAS_STATUS_ALLOC;
            if (f) fclose(f);
        }
        FMAS_CNN_DESTRUCT();
    }
    fmas_end(status, count);
    free(in);
    free(out);
    return status;
}
