/* cmd_serve: `netpol serve`, the lab's control-plane daemon. */
#ifndef NETPOL_CMD_SERVE_H
#define NETPOL_CMD_SERVE_H

/* argv[0] is "serve". Runs until SIGTERM or SIGINT; returns the exit code. */
int cmd_serve(int argc, char **argv);

#endif
