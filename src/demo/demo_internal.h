/* The tutorial demo's internals: the steps table (steps.c) and the runner
 * (cmd_demo.c). */
#ifndef NETPOL_DEMO_INTERNAL_H
#define NETPOL_DEMO_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#define DEMO_MAX_COMMANDS 4
#define DEMO_MAX_CHECKS 4

/* One check typed in the access pod, and what the tutorial says it prints. */
struct demo_check {
	const char *command;   /* verbatim, as typed at the busybox prompt */
	const char *tutorial;  /* the tutorial's expected text, shown to the reader */
	const char *must;      /* the output must contain this */
	const char *must_not;  /* ... and not this (NULL: no constraint) */
};

struct demo_step {
	const char *title;
	const char *commands[DEMO_MAX_COMMANDS];  /* shell text, heredocs included */
	const char *heading;                      /* the "Verify access" heading */
	struct demo_check checks[DEMO_MAX_CHECKS];
	bool cleanup;  /* step 7: verify the namespace left nothing behind */
};

const struct demo_step *demo_steps(size_t *n);

#endif
