/* bsp/fs/hostfs.h -- host stub of the PMSIS semihosting file system configuration (tests only). */
#ifndef STUB_BSP_FS_HOSTFS_H
#define STUB_BSP_FS_HOSTFS_H

struct pi_hostfs_conf {
    int type;
};

void pi_hostfs_conf_init(struct pi_hostfs_conf *conf);

#endif
