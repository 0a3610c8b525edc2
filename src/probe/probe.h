/* netpol-probe internals shared by its two halves. */
#ifndef NETPOL_PROBE_H
#define NETPOL_PROBE_H

#include <stdint.h>

/* `serve PORT...`: answers on every port over TCP, UDP and SCTP until
 * SIGTERM. Returns the exit code. */
int probe_serve(int argc, char **argv);

uint32_t probe_random32(void);

#endif
