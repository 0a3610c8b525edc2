/* Helpers for the lab's kernel tests: throwaway labs, pods, commands run in
 * pods. Labs are named from LAB_TEST_PREFIX (default "t<pid>a<n>"), and a
 * test's lab is destroyed whatever its checks do; an atexit sweep removes
 * what a crash would leave. */
#ifndef NETPOL_LAB_TEST_H
#define NETPOL_LAB_TEST_H

#include <stdbool.h>
#include <stdint.h>

#include "lab/lab.h"
#include "unit.h"

extern const char *const sleep_cmd[];
extern const uint16_t probe_ports[2];       /* 8080, 9090 */

int64_t now_ms(void);
/* Generous bounds: tests pass on a loaded machine. WAIT_MS bounds every
 * wait for a condition (a wait that succeeds costs only what it took);
 * PROMPT_MS is what "at once" may take (an answer such as a RST or an
 * ICMP error, against PROBE_TIMEOUT for silence). */
#define WAIT_MS 30000
#define PROMPT_MS 5000
#define PROBE_TIMEOUT "10"
const char *next_lab_name(void);
/* Registers the atexit sweep of every lab named so far (once). */
void lab_test_sweep_at_exit(void);
bool netns_exists(const char *name);
/* Runs body with a fresh lab; the lab goes away whatever body does. */
void with_lab(void (*body)(struct lab *));
struct lab_pod *make_pod(struct lab *lab, const char *ns, const char *name,
			 const char *image, const char *const *command,
			 const uint16_t *ports, size_t n_ports, enum lab_restart restart);
/* Runs argv in pod; returns its exit status (-1 on error); stdout and
 * stderr in out. */
int run_in(struct lab *lab, struct lab_pod *pod, const char *const *argv,
	   char *out, size_t len, int timeout_ms);
/* `probe connect IP PORT --protocol PROTO --timeout PROBE_TIMEOUT` from a pod. */
int probe_from(struct lab *lab, struct lab_pod *from, const char *ip,
	       const char *port, const char *proto, char *out, size_t len);

#endif
