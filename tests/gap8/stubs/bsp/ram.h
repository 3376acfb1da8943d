/* bsp/ram.h -- host stub of the PMSIS RAM API (L3 HyperRAM emulated in host memory; tests only). */
#ifndef STUB_BSP_RAM_H
#define STUB_BSP_RAM_H

#include <stdint.h>
#include "pmsis.h"

int pi_ram_alloc(struct pi_device *device, uint32_t *addr, uint32_t size);
int pi_ram_free(struct pi_device *device, uint32_t addr, uint32_t size);
void pi_ram_write(struct pi_device *device, uint32_t addr, void *data, uint32_t size);
void pi_ram_read(struct pi_device *device, uint32_t addr, void *data, uint32_t size);
/* host-only: the host address of an emulated L3 address */
signed char *stub_l3_ptr(uint32_t addr);

#endif
