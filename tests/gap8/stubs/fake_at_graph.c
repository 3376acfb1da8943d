/*
 * fake_at_graph.c -- a stand-in for the AutoTiler-generated graph (<prefix>Kernels.c), host tests.
 *
 * Node names and operation counts come from fake_graph_data.h, written by the test from the
 * generated model (FAKE_NODE_NAMES, FAKE_NODE_OPS). Like the real runner, the graph brackets every
 * node with gap_cl_readhwtimer() into AT_GraphPerf[]. Its "output" is a fixed function of the input
 * (out[i] = 3 * in[i % in_bytes] + i, wrapping int8) that the test recomputes for the checksum.
 * STUB_CONSTRUCT_STATUS=<n> makes the constructor fail with n (1..4 as the AutoTiler's).
 */
#include <stdlib.h>

#include "app_config.h"
#include "fake_graph_data.h"
#include "Gap.h"
#if FMAS_IO_IN_L3
#include "bsp/ram.h"
#define FAKE_PTR(p) stub_l3_ptr((uint32_t)(uintptr_t)(p))
#else
#define FAKE_PTR(p) (p)
#endif

unsigned int AT_GraphPerf[FAKE_GRAPH_NODES];
char *AT_GraphNodeNames[FAKE_GRAPH_NODES] = {FAKE_NODE_NAMES};
unsigned int AT_GraphOperInfosNames[FAKE_GRAPH_NODES] = {FAKE_NODE_OPS};
struct pi_device HyperRam;
static int constructed;

int FAKE_CNN_CONSTRUCT(void)
{
    const char *status = getenv("STUB_CONSTRUCT_STATUS");
    if (status != NULL && atoi(status) != 0) return atoi(status);
    constructed = 1;
    return 0;
}

int FAKE_CNN_DESTRUCT(void)
{
    constructed = 0;
    return 0;
}

int FAKE_CNN(signed char *__restrict__ Input_1, signed char *__restrict__ Output_1)
{
    if (!constructed) return 1;
    signed char *in = FAKE_PTR(Input_1), *out = FAKE_PTR(Output_1);
    for (int node = 0; node < FAKE_GRAPH_NODES; node++) {
        AT_GraphPerf[node] = gap_cl_readhwtimer();
        AT_GraphPerf[node] = gap_cl_readhwtimer() - AT_GraphPerf[node];
    }
    for (unsigned int i = 0; i < FMAS_OUTPUT_BYTES; i++)
        out[i] = (signed char)(unsigned char)(3u * (unsigned char)in[i % FMAS_INPUT_BYTES] + i);
    return 0;
}
