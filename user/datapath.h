/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The datapath handle, in three parts:
 *   lib/maps.h     read-only access to the pinned maps (xlbctl links only
 *                  this, no BPF skeleton)
 *   loader.h       the BPF skeleton: load, pin, migrate, programs to attach
 *   sync/write.h   the map writes, the only code in xlb that writes BPF maps
 */
#ifndef XLB_DATAPATH_H
#define XLB_DATAPATH_H

#include "lib/maps.h"
#include "loader.h"
#include "sync/write.h"

#endif /* XLB_DATAPATH_H */
