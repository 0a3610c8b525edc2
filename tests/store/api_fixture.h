/* The fixture of the API's unit tests (test_api, test_api_refuse). */
#ifndef NETPOL_TEST_API_FIXTURE_H
#define NETPOL_TEST_API_FIXTURE_H

#include "api/api_internal.h"

struct fixture {
	char dir[64], path[96];
	struct store *s;
	struct api api;
};

/* A store in a new temporary directory with the Namespace "default";
 * log_size 0 is the store's default. */
bool setup(struct fixture *f, long log_size);
void teardown(struct fixture *f);
/* query: "k=v&k2=v2" (no escaping), or NULL; ctype NULL is JSON. */
struct api_response call_full(struct fixture *f, const char *method, const char *path,
			      const char *query, const char *ctype, const char *accept,
			      const char *body);
struct api_response call(struct fixture *f, const char *method, const char *path,
			 const char *body);
/* The code of a call, freeing the response. */
int code_of(struct fixture *f, const char *method, const char *path, const char *body);
/* The value at "a.b.0.c" (numbers index arrays), or NULL. */
const char *str_at(json_t *v, const char *path);
json_t *at(json_t *v, const char *path);
/* The names of a list's items, space-separated (caller frees). */
char *item_names(json_t *list);

/* A Pod "web" with label app=web and container port 80. */
extern const char pod_web[];

#endif
