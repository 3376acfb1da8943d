/*
 * fake_at_graph.h -- what an AutoTiler-generated <prefix>Kernels.h declares, for host tests.
 *
 * The test writes <prefix>Kernels.h as:  #define FAKE_GRAPH_NODES n, FAKE_CNN, FAKE_CNN_CONSTRUCT,
 * FAKE_CNN_DESTRUCT (the prefixed entry points), then #include "fake_at_graph.h".
 */
#ifndef FAKE_AT_GRAPH_H
#define FAKE_AT_GRAPH_H

#include "pmsis.h"

#ifndef FAKE_GRAPH_NODES
#error "define FAKE_GRAPH_NODES before including fake_at_graph.h"
#endif

extern unsigned int AT_GraphPerf[FAKE_GRAPH_NODES];
extern char *AT_GraphNodeNames[FAKE_GRAPH_NODES];
extern unsigned int AT_GraphOperInfosNames[FAKE_GRAPH_NODES];
extern struct pi_device HyperRam;

int FAKE_CNN_CONSTRUCT(void);
int FAKE_CNN_DESTRUCT(void);
int FAKE_CNN(signed char *__restrict__ Input_1, signed char *__restrict__ Output_1);

#endif
