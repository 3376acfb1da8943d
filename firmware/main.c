/*
 * main.c -- the fmas-hw GAP8 application (PMSIS): run one candidate network once, report cycles.
 *
 * Hand-written and shared by every candidate; `fmas-hw export` copies it into the project next to
 * the generated glue it includes:
 *   app_config.h   model prefix macros (<prefix>CNN...), I/O sizes and placement, clocks, stacks
 *   input.h        the int8 test input when it is embedded (small inputs)
 *   fmas_protocol.h  the fmas line protocol (FMAS:BEGIN/LAYER/TOTAL/CHECKSUM/END)
 *
 * Sequence (gap8-toolchain.md §3.2): BEGIN; open the cluster and set the FC/cluster clocks;
 * with I/O in L3, open the HyperRAM (the application owns it, see below);
 * <prefix>CNN_Construct() (after the cluster is on: it allocates L1 and loads the constants);
 * allocate the input/output (L2, or L3 HyperRAM when they do not fit L2); load the input
 * (embedded array, or a file written to HyperRAM: read over semihosting from the host, or, in the
 * flashed build, from the flash's readfs partition next to the constants); run the graph on the
 * cluster after starting and resetting the cluster timer; print one LAYER line per node from
 * AT_GraphPerf / AT_GraphNodeNames / AT_GraphOperInfosNames, TOTAL and the FNV-1a checksum of the
 * int8 output; destruct; END with the status (also on every failure path); pmsis_exit(status).
 *
 * The same file serves both code-generation routes (fmas-hw's AutoTiler model or NNTool's): it only
 * relies on the graph's entry points and on the AutoTiler's perf arrays, whose length it takes from
 * their declarations in <prefix>Kernels.h.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pmsis.h"
#include "Gap.h"
#include "app_config.h"
#include "input.h"
#include "fmas_protocol.h"

#if FMAS_IO_IN_L3
#include "bsp/ram.h"
#include "bsp/ram/hyperram.h"
#include "bsp/fs.h"
#if FMAS_INPUT_IN_FLASH
#include "bsp/flash.h"
#include "bsp/flash/hyperflash.h"
#include "bsp/fs/readfs.h"
#else
#include "bsp/fs/hostfs.h"
#endif
#endif

/* Base of the constants in flash, which the kernels add to every constant's offset: 0, the start
 * of the readfs file. The application defines it (declared in <prefix>.h), as NNTool's mains do. */
AT_HYPERFLASH_FS_EXT_ADDR_TYPE FMAS_L3_FLASH = 0;

#if FMAS_IO_IN_L3
/* The HyperRAM device, owned here because the input and output live in it: main.c fills and reads
 * them. The model declares L3 RAM externally managed (SetMemoryDeviceInfos ExtManaged=1, NNTool's
 * l3_ram_ext_managed), so the kernels refer to `extern AT_HYPERRAM_T HyperRam` (the AutoTiler's
 * name) and <prefix>CNN_Construct() allocates its L3 arena from it. With the graph managing L3,
 * the device is static to <prefix>Kernels.c and out of the application's reach. */
AT_HYPERRAM_T HyperRam;
#endif

/* Number of graph nodes the AutoTiler monitors: the length of its perf array. */
#define FMAS_GRAPH_NODES ((int)(sizeof(AT_GraphPerf) / sizeof(AT_GraphPerf[0])))

#if FMAS_IO_IN_L3
static uint32_t input_l3, output_l3;     /* HyperRAM addresses (0 is a valid one) */
static int input_l3_ok, output_l3_ok;
#define FMAS_IO_PTR(addr) ((signed char *)(uintptr_t)(addr))
#else
static signed char *output_l2;
#endif
static volatile int run_status;

/* Runs on the cluster: without the timer start/reset every node reads 0 cycles (gap_sdk #380). */
static void run_network(void *arg)
{
    (void)arg;
    gap_cl_starttimer();
    gap_cl_resethwtimer();
#if FMAS_IO_IN_L3
    run_status = FMAS_CNN(FMAS_IO_PTR(input_l3), FMAS_IO_PTR(output_l3));
#else
    run_status = FMAS_CNN(fmas_input, output_l2);
#endif
}

#if FMAS_IO_IN_L3

/* FNV-1a 32 continued over another chunk: fmas_fnv1a32(d, n) == fnv1a32_update(2166136261u, d, n). */
static uint32_t fnv1a32_update(uint32_t hash, const unsigned char *data, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        hash ^= data[i];
        hash *= 16777619u;
    }
    return hash;
}

/* The file system holding the input file, with the configurations it was opened from (PMSIS
 * keeps a pointer to them in the device). */
struct input_fs {
    struct pi_device fs;
#if FMAS_INPUT_IN_FLASH
    struct pi_readfs_conf fs_conf;
    struct pi_device flash;
    struct pi_hyperflash_conf flash_conf;
#else
    struct pi_hostfs_conf fs_conf;
#endif
};

#if FMAS_INPUT_IN_FLASH

/* Flashed build (FMAS_INPUT=flash): a board that boots from flash has no host to read from, so the
 * Makefile adds the input to READFS_FILES and `make flash` packs it into the readfs partition of
 * the HyperFlash with the constants (gap_sdk utils/rules/pmsis_rules.mk; gapy's gen_readfs.py names
 * each file by its base name). Read it the way <prefix>CNN_Construct() reads the constants
 * (AT_HYPERFLASH_FS_OPEN, tools/autotiler_v3/Emulation/at_api_pmsis.h): open the HyperFlash, mount
 * readfs on it, open the file by name. The constructor's own mount is still open: readfs allows
 * several mounts at once (rtos/pmsis/bsp/fs/read_fs/read_fs.c, __pi_read_fs_mount) and the hyper
 * driver counts its opens (gap8 pulp-os drivers/hyper, __rt_hyper_open_count). */
#define FMAS_INPUT_NAME FMAS_INPUT_FLASH_NAME

static int input_fs_mount(struct input_fs *in)
{
    pi_hyperflash_conf_init(&in->flash_conf);
    pi_open_from_conf(&in->flash, &in->flash_conf);
    if (pi_flash_open(&in->flash)) return -1;
    pi_readfs_conf_init(&in->fs_conf);
    in->fs_conf.fs.flash = &in->flash;
    pi_open_from_conf(&in->fs, &in->fs_conf);
    if (pi_fs_mount(&in->fs)) {
        pi_flash_close(&in->flash);
        return -1;
    }
    return 0;
}

static void input_fs_unmount(struct input_fs *in)
{
    pi_fs_unmount(&in->fs);
    pi_flash_close(&in->flash);
}

/* readfs knows each file's size: one of another size was packed from another project. */
static int input_size_ok(const pi_fs_file_t *file)
{
    return file->size == FMAS_INPUT_BYTES;
}

#else

/* GVSoC / JTAG build (FMAS_INPUT=host): the file stays on the host and is read over semihosting
 * (hostfs), which needs GVSoC or a debugger (OpenOCD) attached. */
#define FMAS_INPUT_NAME FMAS_INPUT_PATH

static int input_fs_mount(struct input_fs *in)
{
    pi_hostfs_conf_init(&in->fs_conf);
    pi_open_from_conf(&in->fs, &in->fs_conf);
    return pi_fs_mount(&in->fs) ? -1 : 0;
}

static void input_fs_unmount(struct input_fs *in)
{
    pi_fs_unmount(&in->fs);
}

/* Semihosting tells no size; a short file is caught by the reads. */
static int input_size_ok(const pi_fs_file_t *file)
{
    (void)file;
    return 1;
}

#endif

/* Copy the input file (int8 CHW, model/input.bin) to HyperRAM through an L2 bounce buffer. */
static int load_input(signed char *chunk)
{
    struct input_fs in;
    if (input_fs_mount(&in)) return FMAS_STATUS_INPUT;
    pi_fs_file_t *file = pi_fs_open(&in.fs, FMAS_INPUT_NAME, PI_FS_FLAGS_READ);
    int status = file && input_size_ok(file) ? FMAS_STATUS_OK : FMAS_STATUS_INPUT;
    for (uint32_t done = 0; status == FMAS_STATUS_OK && done < FMAS_INPUT_BYTES;) {
        uint32_t want = FMAS_INPUT_BYTES - done < FMAS_IO_CHUNK_BYTES ? FMAS_INPUT_BYTES - done
                                                                       : FMAS_IO_CHUNK_BYTES;
        int got = pi_fs_read(file, chunk, want);
        if (got != (int)want) {
            status = FMAS_STATUS_INPUT;   /* short file: not this candidate's input */
            break;
        }
        pi_ram_write(&HyperRam, input_l3 + done, chunk, want);
        done += want;
    }
    if (file) pi_fs_close(file);
    input_fs_unmount(&in);
    return status;
}

static uint32_t output_checksum(signed char *chunk)
{
    uint32_t hash = 2166136261u;
    for (uint32_t done = 0; done < FMAS_OUTPUT_BYTES; done += FMAS_IO_CHUNK_BYTES) {
        uint32_t size = FMAS_OUTPUT_BYTES - done < FMAS_IO_CHUNK_BYTES ? FMAS_OUTPUT_BYTES - done
                                                                      : FMAS_IO_CHUNK_BYTES;
        pi_ram_read(&HyperRam, output_l3 + done, chunk, size);
        hash = fnv1a32_update(hash, (const unsigned char *)chunk, size);
    }
    return hash;
}

static int io_open(signed char **chunk)
{
    *chunk = (signed char *)pi_l2_malloc(FMAS_IO_CHUNK_BYTES);
    if (*chunk == NULL) return FMAS_STATUS_ALLOC;
    input_l3_ok = pi_ram_alloc(&HyperRam, &input_l3, FMAS_INPUT_BYTES) == 0;
    output_l3_ok = pi_ram_alloc(&HyperRam, &output_l3, FMAS_OUTPUT_BYTES) == 0;
    if (!input_l3_ok || !output_l3_ok) return FMAS_STATUS_ALLOC;
    return load_input(*chunk);
}

static void io_close(signed char *chunk)
{
    if (output_l3_ok) pi_ram_free(&HyperRam, output_l3, FMAS_OUTPUT_BYTES);
    if (input_l3_ok) pi_ram_free(&HyperRam, input_l3, FMAS_INPUT_BYTES);
    output_l3_ok = input_l3_ok = 0;
    if (chunk) pi_l2_free(chunk, FMAS_IO_CHUNK_BYTES);
}

/* Open the HyperRAM before the constructor allocates from it; 1 (as the constructor's own
 * "L3 device open failed") when it cannot be opened. */
static int ram_open(void)
{
    struct pi_hyperram_conf conf;
    pi_hyperram_conf_init(&conf);
    pi_open_from_conf(&HyperRam, &conf);
    return pi_ram_open(&HyperRam) ? FMAS_STATUS_CONSTRUCT_OPEN : FMAS_STATUS_OK;
}

static void ram_close(void)
{
    pi_ram_close(&HyperRam);
}

#else /* input and output in L2, the input embedded in input.h */

static uint32_t output_checksum(signed char *chunk)
{
    (void)chunk;
    return fmas_fnv1a32(output_l2, FMAS_OUTPUT_BYTES);
}

static int io_open(signed char **chunk)
{
    *chunk = NULL;
    output_l2 = (signed char *)pi_l2_malloc(FMAS_OUTPUT_BYTES);
    return output_l2 ? FMAS_STATUS_OK : FMAS_STATUS_ALLOC;
}

static void io_close(signed char *chunk)
{
    (void)chunk;
    if (output_l2) pi_l2_free(output_l2, FMAS_OUTPUT_BYTES);
}

/* The generated constructor opens the HyperRAM itself. */
static int ram_open(void)
{
    return FMAS_STATUS_OK;
}

static void ram_close(void)
{
}

#endif

/* Send the network to the cluster and wait; returns an FMAS status. */
static int run_on_cluster(struct pi_device *cluster)
{
    struct pi_cluster_task task;
    memset(&task, 0, sizeof task);
    pi_cluster_task(&task, run_network, NULL);
    task.stack_size = FMAS_CL_STACK_SIZE;
    task.slave_stack_size = FMAS_CL_SLAVE_STACK_SIZE;
    run_status = 0;
    pi_cluster_send_task_to_cl(cluster, &task);
    return run_status ? FMAS_STATUS_RUN : FMAS_STATUS_OK;
}

/* Inference with the graph constructed; returns the status and sets *layers. */
static int infer(struct pi_device *cluster, int *layers)
{
    signed char *chunk = NULL;
    int status = io_open(&chunk);
    if (status == FMAS_STATUS_OK) status = run_on_cluster(cluster);
    if (status == FMAS_STATUS_OK) {
        *layers = fmas_report_graph(FMAS_GRAPH_NODES, AT_GraphNodeNames, AT_GraphPerf,
                                    AT_GraphOperInfosNames, FMAS_FREQ_CL_HZ);
        fmas_checksum(output_checksum(chunk));
    }
    io_close(chunk);
    return status;
}

static int fmas_main(void)
{
    int layers = 0;
    fmas_begin(FMAS_MODEL_NAME);   /* early: the host's handshake does not wait for the run */

    struct pi_device cluster;
    struct pi_cluster_conf conf;
    pi_cluster_conf_init(&conf);
    pi_open_from_conf(&cluster, &conf);
    if (pi_cluster_open(&cluster)) {
        fmas_end(FMAS_STATUS_CLUSTER_OPEN, 0);
        return FMAS_STATUS_CLUSTER_OPEN;
    }
    pi_freq_set(PI_FREQ_DOMAIN_FC, FMAS_FREQ_FC_HZ);
    pi_freq_set(PI_FREQ_DOMAIN_CL, FMAS_FREQ_CL_HZ);

    /* Must run after the cluster is on; 1..4 = device open / L3 / L2 / L1 allocation failed. */
    int status = ram_open();
    if (status == FMAS_STATUS_OK) {
        status = FMAS_CNN_CONSTRUCT();
        if (status == FMAS_STATUS_OK) {
            status = infer(&cluster, &layers);
            FMAS_CNN_DESTRUCT();
        }
        ram_close();
    }
    pi_cluster_close(&cluster);
    fmas_end(status, layers);
    return status;
}

static void start(void)
{
    pmsis_exit(fmas_main());
}

int main(void)
{
    return pmsis_kickoff((void *)start);
}
