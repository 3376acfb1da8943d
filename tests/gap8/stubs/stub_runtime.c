/*
 * stub_runtime.c -- host implementation of the PMSIS / AutoTiler stubs (tests only).
 *
 * Knobs (environment variables): STUB_CLUSTER_OPEN_FAIL=1 makes pi_cluster_open fail;
 * STUB_L3_BYTES limits the emulated HyperRAM (default 8 MiB) to provoke allocation failures.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pmsis.h"
#include "Gap.h"
#include "bsp/ram.h"
#include "bsp/fs.h"
#include "bsp/fs/hostfs.h"

/* ---- cluster, clocks, L2 ---- */

static int env_flag(const char *name)
{
    const char *value = getenv(name);
    return value != NULL && strcmp(value, "1") == 0;
}

void pi_cluster_conf_init(struct pi_cluster_conf *conf) { conf->id = 0; }
void pi_open_from_conf(struct pi_device *device, void *conf) { device->config = conf; device->data = NULL; }
int pi_cluster_open(struct pi_device *device) { (void)device; return env_flag("STUB_CLUSTER_OPEN_FAIL") ? -1 : 0; }
int pi_cluster_close(struct pi_device *device) { (void)device; return 0; }

struct pi_cluster_task *pi_cluster_task(struct pi_cluster_task *task, void (*entry)(void *), void *arg)
{
    task->entry = entry;
    task->arg = arg;
    return task;
}

int pi_cluster_send_task_to_cl(struct pi_device *device, struct pi_cluster_task *task)
{
    (void)device;
    if (task->stack_size == 0 || task->slave_stack_size == 0) {
        fprintf(stderr, "stub: cluster task without stack sizes\n");
        exit(99);
    }
    task->entry(task->arg);
    return 0;
}

int32_t pi_freq_set(pi_freq_domain_e domain, uint32_t freq) { (void)domain; (void)freq; return 0; }
void *pi_l2_malloc(int size) { return malloc((size_t)size); }
void pi_l2_free(void *chunk, int size) { (void)size; free(chunk); }
void pmsis_exit(int err) { fflush(stdout); exit(err); }

int pmsis_kickoff(void *arg)
{
    ((void (*)(void))arg)();
    return 0;
}

/* ---- cluster timer ---- */

static int timer_started;
static unsigned int timer_value;

void gap_cl_starttimer(void) { timer_started = 1; }
void gap_cl_resethwtimer(void) { timer_value = 0; }

unsigned int gap_cl_readhwtimer(void)
{
    if (!timer_started) return 0;
    timer_value += 1000u + timer_value % 7u;  /* advances on every read, like a cycle counter */
    return timer_value;
}

/* ---- HyperRAM ---- */

static signed char *l3_pool;
static uint32_t l3_used, l3_size;

static void l3_init(void)
{
    if (l3_pool) return;
    const char *limit = getenv("STUB_L3_BYTES");
    l3_size = limit ? (uint32_t)strtoul(limit, NULL, 10) : 8u << 20;
    l3_pool = calloc(l3_size ? l3_size : 1, 1);
}

int pi_ram_alloc(struct pi_device *device, uint32_t *addr, uint32_t size)
{
    (void)device;
    l3_init();
    if (size > l3_size - l3_used) return -1;
    *addr = l3_used;       /* the first allocation is address 0, as on a real HyperRAM */
    l3_used += size;
    return 0;
}

int pi_ram_free(struct pi_device *device, uint32_t addr, uint32_t size) { (void)device; (void)addr; (void)size; return 0; }

void pi_ram_write(struct pi_device *device, uint32_t addr, void *data, uint32_t size)
{
    (void)device;
    memcpy(stub_l3_ptr(addr), data, size);
}

void pi_ram_read(struct pi_device *device, uint32_t addr, void *data, uint32_t size)
{
    (void)device;
    memcpy(data, stub_l3_ptr(addr), size);
}

signed char *stub_l3_ptr(uint32_t addr)
{
    l3_init();
    return l3_pool + addr;
}

/* ---- host file system ---- */

void pi_hostfs_conf_init(struct pi_hostfs_conf *conf) { conf->type = 0; }
int32_t pi_fs_mount(struct pi_device *device) { (void)device; return 0; }
void pi_fs_unmount(struct pi_device *device) { (void)device; }

pi_fs_file_t *pi_fs_open(struct pi_device *device, const char *file, int flags)
{
    (void)device;
    (void)flags;
    FILE *handle = fopen(file, "rb");
    if (handle == NULL) return NULL;
    pi_fs_file_t *out = malloc(sizeof *out);
    out->handle = handle;
    fseek(handle, 0, SEEK_END);
    out->size = (uint32_t)ftell(handle);
    fseek(handle, 0, SEEK_SET);
    return out;
}

void pi_fs_close(pi_fs_file_t *file)
{
    fclose((FILE *)file->handle);
    free(file);
}

int32_t pi_fs_read(pi_fs_file_t *file, void *buffer, uint32_t size)
{
    return (int32_t)fread(buffer, 1, size, (FILE *)file->handle);
}
