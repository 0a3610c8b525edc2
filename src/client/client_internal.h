/* client internals shared by client.c and stream.c. */
#ifndef NETPOL_CLIENT_INTERNAL_H
#define NETPOL_CLIENT_INTERNAL_H

#include "client.h"

#include <curl/curl.h>

struct client {
	CURL *easy;        /* reused: keeps the connection between requests */
	char *socket_path;
	char *server;      /* base URL: "http://lab" over the socket */
	char *ca_file;
	char *token;
	long timeout_ms;
	char *accept;      /* NULL: application/json */
};

struct client_buf {
	char *data;
	size_t len, cap;
};

int client_buf_append(struct client_buf *b, const void *data, size_t n);
int client_curl_error(struct client *c, CURLcode rc);
int client_prepare(struct client *c, const char *method, const char *path,
		   struct curl_slist **headers, const char *content_type);

#endif
