/*
 * pmsis.h -- host stub of the PMSIS API used by firmware/main.c (tests only).
 *
 * Just enough of GreenWaves' PMSIS to compile and run firmware/main.c with the host gcc: the
 * cluster runs the task synchronously, L2 allocation is malloc, pmsis_exit() exits the process
 * with the status. State shared across translation units lives in stub_runtime.c.
 */
#ifndef STUB_PMSIS_H
#define STUB_PMSIS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct pi_device {
    void *config;
    void *data;
};

struct pi_cluster_conf {
    int id;
};

struct pi_cluster_task {
    void (*entry)(void *arg);
    void *arg;
    void *stacks;
    uint32_t stack_size;
    uint32_t slave_stack_size;
    int nb_cores;
};

typedef enum { PI_FREQ_DOMAIN_FC = 0, PI_FREQ_DOMAIN_CL = 1 } pi_freq_domain_e;

void pi_cluster_conf_init(struct pi_cluster_conf *conf);
void pi_open_from_conf(struct pi_device *device, void *conf);
int pi_cluster_open(struct pi_device *device);
int pi_cluster_close(struct pi_device *device);
struct pi_cluster_task *pi_cluster_task(struct pi_cluster_task *task, void (*entry)(void *), void *arg);
int pi_cluster_send_task_to_cl(struct pi_device *device, struct pi_cluster_task *task);
int32_t pi_freq_set(pi_freq_domain_e domain, uint32_t freq);
void *pi_l2_malloc(int size);
void pi_l2_free(void *chunk, int size);
void pmsis_exit(int err);
int pmsis_kickoff(void *arg);

#endif
