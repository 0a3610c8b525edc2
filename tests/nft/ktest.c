/* nft-ktest: kernel tests of the nftables dataplane, and the small tools
 * tests/nft/suite.sh drives a traffic test with.
 *
 * Everything that touches nftables refuses to run unless the process is
 * inside the throwaway namespace named by $NPT_NETNS ("npt-nft-*", as
 * `ip netns exec` enters it): no test can ever change the root
 * namespace's ruleset.
 *
 *   nft-ktest                       the kernel tests (PASS/FAIL lines)
 *   nft-ktest load CASE [NS/POD:K=V|NS/POD:-K ...]
 *                                   compile CASE (with label changes) and
 *                                   converge the kernel to it (nft_sync)
 *   nft-ktest verdict [-4|-6] CASE SRC DST PORT/PROTO [NS/POD:K=V ...]
 *                                   the engine's answer: allowed/denied
 *                                   (pods by their first address, or by
 *                                   their first of that family)
 *   nft-ktest counter TEXT          packets of the rules (and elements with
 *                                   counters) containing TEXT
 *   nft-ktest serve tcp|udp PORT    answer "ok" to whoever connects, over
 *                                   IPv4 and (when the kernel has it) IPv6
 *   nft-ktest connect tcp|udp IP PORT [SRC]
 *                                   exit 0 when answered within 1s
 *                                   ($NFT_CONNECT_MS milliseconds); IPv6
 *                                   when IP has a ':'
 */
#include "case.h"
#include "util/pktinfo.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef NFT_GOLDEN_DIR
#define NFT_GOLDEN_DIR "tests/nft/golden"
#endif

/* ---- safety ------------------------------------------------------------------ */

static bool inside(const char *var)
{
	const char *name = getenv(var);
	char path[256];
	struct stat a, b;
	if (!name || strncmp(name, "npt-nft-", 8) != 0)
		return false;
	snprintf(path, sizeof(path), "/run/netns/%s", name);
	return stat(path, &a) == 0 && stat("/proc/self/ns/net", &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static bool netns_ok(void)
{
	if (inside("NPT_NETNS"))
		return true;
	fprintf(stderr, "nft-ktest: not inside $NPT_NETNS (npt-nft-*): refusing to touch nftables\n");
	return false;
}

/* ---- a tiny harness ------------------------------------------------------------ */

static int nfail;
static const char *cur;

#define KCHECK(cond, ...)                                                      \
	do {                                                                   \
		if (!(cond)) {                                                 \
			printf("FAIL %s: %s:%d: %s: ", cur, __FILE__, __LINE__, #cond); \
			printf(__VA_ARGS__);                                   \
			printf("\n");                                          \
			nfail++;                                               \
			goto done;                                             \
		}                                                              \
	} while (0)

static char *diags_first(const struct diag_list *d)
{
	return d->n ? d->items[d->n - 1].msg : "";
}

static struct nft_conn *conn(void)
{
	struct nft_conn *c = NULL;
	nft_conn_new(NULL, &c);
	return c;
}

/* Reads the table back and compares it with want, by structure and by
 * the printed text. */
static bool kernel_holds(struct nft_conn *c, const struct nft_prog *want, char **why)
{
	struct diag_list d = {0};
	struct nft_prog *got = NULL;
	char *a = NULL, *b = NULL;
	bool ok = false;
	*why = NULL;
	if (nft_read(c, want->table, &got, &d) < 0) {
		if (asprintf(why, "read: %s", diags_first(&d)) < 0)
			*why = NULL;
		goto cleanup;
	}
	a = nft_prog_text(want);
	b = nft_prog_text(got);
	ok = nft_prog_equal(want, got) && a && b && strcmp(a, b) == 0;
	if (!ok) {
		FILE *f = fopen("/tmp/nft-ktest-want.nft", "w");
		if (f) {
			fputs(a ? a : "", f);
			fclose(f);
		}
		if ((f = fopen("/tmp/nft-ktest-got.nft", "w"))) {
			fputs(b ? b : "", f);
			fclose(f);
		}
		if (asprintf(why, "kernel differs (diff /tmp/nft-ktest-want.nft /tmp/nft-ktest-got.nft)") < 0)
			*why = NULL;
	}
cleanup:
	free(a);
	free(b);
	nft_prog_free(got);
	diag_list_clear(&d);
	return ok;
}

static int load_case(const char *name, struct nft_case *c)
{
	char path[4096], *err = NULL;
	snprintf(path, sizeof(path), "%s/%s.yaml", NFT_GOLDEN_DIR, name);
	int rc = nft_case_load_file(path, c, &err);
	if (rc < 0)
		printf("  %s: %s\n", path, err ? err : "");
	free(err);
	return rc;
}

/* ---- kernel tests ---------------------------------------------------------------- */

/* Each golden program loads in one transaction and lists back the same. */
static void test_golden_programs_load_and_list_back_identically(void)
{
	struct nft_conn *c = conn();
	struct diag_list d = {0};
	char *why = NULL;
	DIR *dir = opendir(NFT_GOLDEN_DIR);
	size_t n = 0;
	KCHECK(dir, "%s", NFT_GOLDEN_DIR);
	for (struct dirent *e; (e = readdir(dir));) {
		char name[256];
		size_t l = strlen(e->d_name);
		if (l <= 5 || l >= sizeof(name) || strcmp(e->d_name + l - 5, ".yaml") != 0)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(l - 5), e->d_name);
		struct nft_case k;
		KCHECK(load_case(name, &k) == 0, "%s", name);
		int rc = nft_load(c, k.prog, &d);
		bool same = rc == 0 && kernel_holds(c, k.prog, &why);
		nft_case_clear(&k);
		KCHECK(rc == 0, "%s: %s", name, diags_first(&d));
		KCHECK(same, "%s: %s", name, why ? why : "");
		n++;
	}
	KCHECK(n >= 10, "only %zu golden cases", n);
	printf("PASS %s\n", cur);
done:
	if (dir)
		closedir(dir);
	free(why);
	nft_remove(c, NULL, NULL);
	nft_conn_free(c);
	diag_list_clear(&d);
}

typedef void (*mutate_fn)(struct nft_case *k);

static void relabel_client(struct nft_case *k)
{
	labels_remove(&cluster_find_pod(k->cl, "default", "client")->meta.labels, "role");
}

static void edit_policy_port(struct nft_case *k)
{
	cluster_find_policy(k->cl, "default", "web-from-clients")->ingress[0].ports[0].port = 8080;
}

static void drop_endpoint_web(struct nft_case *k)
{
	for (size_t i = 0; i < k->neps; i++)
		if (strcmp(k->eps[i].ifname, "npweb") == 0)
			k->eps[i] = k->eps[--k->neps];
}

static void isolate_client(struct nft_case *k)
{
	struct np_policy *p = cluster_find_policy(k->cl, "default", "web-from-clients");
	selector_clear(&p->pod_sel);   /* now selects every pod of default */
}

struct change {
	const char *what;
	mutate_fn fn;
	/* expected shape of the delta */
	size_t chains_added, chains_refilled, chains_deleted, sets_added, sets_deleted;
	size_t elems_added, elems_deleted;
};

/* Applies one change as a delta and checks that it touched only what the
 * change is about, and that the kernel then holds the new program. */
static void test_deltas_touch_only_what_changed(void)
{
	static const struct change changes[] = {
		/* a label: one address leaves its class, nothing else */
		{"relabel", relabel_client, 0, 0, 0, 0, 0, 0, 1},
		/* a port of one policy: the one element that says it */
		{"edit-port", edit_policy_port, 0, 0, 0, 0, 0, 1, 1},
		/* a pod leaves the node: its dispatch, source and isolation
		 * entries, the class that only it allowed (chain, maps, its
		 * pods' entries) and the allow chain nobody else uses */
		{"drop-endpoint", drop_endpoint_web, 0, 0, 2, 0, 4, 0, 7},
		/* a policy now selects client too: its dispatch entry, its
		 * isolation entry, and what it allows (from clients, itself
		 * included); no chain */
		{"isolate", isolate_client, 0, 0, 0, 0, 0, 3, 1},
	};
	struct nft_conn *c = conn();
	struct diag_list d = {0};
	char *why = NULL;
	for (size_t i = 0; i < sizeof(changes) / sizeof(*changes); i++) {
		const struct change *ch = &changes[i];
		struct nft_case k;
		struct nft_prog *before;
		struct nft_delta *delta = NULL;
		KCHECK(load_case("pod-selector", &k) == 0, "load");
		KCHECK(nft_load(c, k.prog, &d) == 0, "%s", diags_first(&d));
		before = k.prog;
		k.prog = NULL;
		ch->fn(&k);
		int rc = nft_case_recompile(&k, NULL);
		if (rc == 0)
			rc = nft_delta_compute(before, k.prog, &delta);
		if (rc == 0)
			rc = nft_apply(c, delta, &d);
		bool same = rc == 0 && kernel_holds(c, k.prog, &why);
		struct nft_delta got = delta ? *delta : (struct nft_delta){0};
		if (rc || getenv("NPT_DEBUG"))
			printf("  delta %s:\n%s\n", ch->what, delta ? delta->text : "");
		nft_delta_free(delta);
		nft_prog_free(before);
		nft_case_clear(&k);
		KCHECK(rc == 0, "%s: %s", ch->what, diags_first(&d));
		KCHECK(same, "%s: %s", ch->what, why ? why : "");
		KCHECK(got.chains_added == ch->chains_added && got.chains_refilled == ch->chains_refilled &&
		       got.chains_deleted == ch->chains_deleted && got.sets_added == ch->sets_added &&
		       got.sets_deleted == ch->sets_deleted && got.elems_added == ch->elems_added &&
		       got.elems_deleted == ch->elems_deleted && got.sets_replaced == 0,
		       "%s: chains +%zu ~%zu -%zu sets +%zu -%zu elems +%zu -%zu", ch->what,
		       got.chains_added, got.chains_refilled, got.chains_deleted, got.sets_added,
		       got.sets_deleted, got.elems_added, got.elems_deleted);
	}
	printf("PASS %s\n", cur);
done:
	free(why);
	nft_remove(c, NULL, NULL);
	nft_conn_free(c);
	diag_list_clear(&d);
}

/* A restarted agent reads the kernel and converges: from nothing, from an
 * older program, from a table someone damaged; then nothing to do. */
static void test_sync_converges_and_then_does_nothing(void)
{
	struct nft_conn *c = conn();
	struct diag_list d = {0};
	struct nft_case k = {0}, old = {0};
	struct nft_delta *delta = NULL;
	char *why = NULL;
	KCHECK(load_case("tutorial", &k) == 0 && load_case("shared-peer", &old) == 0, "load");
	nft_remove(c, NULL, NULL);
	KCHECK(nft_sync(c, k.prog, &delta, &d) == 0, "from nothing: %s", diags_first(&d));
	KCHECK(kernel_holds(c, k.prog, &why), "from nothing: %s", why);
	nft_delta_free(delta);
	delta = NULL;
	KCHECK(nft_sync(c, k.prog, &delta, &d) == 0 && nft_delta_empty(delta),
	       "again: %s", delta ? delta->text : diags_first(&d));
	nft_delta_free(delta);
	delta = NULL;

	KCHECK(nft_load(c, old.prog, &d) == 0, "%s", diags_first(&d));
	KCHECK(nft_sync(c, k.prog, &delta, &d) == 0, "from older: %s", diags_first(&d));
	KCHECK(kernel_holds(c, k.prog, &why), "from older: %s", why);
	KCHECK(delta->sets_replaced == 0, "older program: incremental, not replaced");
	nft_delta_free(delta);
	delta = NULL;

	/* a rule and an element someone added by hand */
	KCHECK(nft_conn_run(c, "add rule inet netpol pod-ingress counter accept\n"
			    "add element inet netpol ep-ingress { \"npx\" : drop }\n", &d) == 0,
	       "%s", diags_first(&d));
	KCHECK(nft_sync(c, k.prog, &delta, &d) == 0, "damaged: %s", diags_first(&d));
	KCHECK(kernel_holds(c, k.prog, &why), "damaged: %s", why);
	KCHECK(delta->chains_refilled == 1 && delta->elems_deleted == 1,
	       "damaged: refilled %zu, elements deleted %zu", delta->chains_refilled,
	       delta->elems_deleted);
	nft_delta_free(delta);
	delta = NULL;

	/* something we never write: the table is replaced whole */
	KCHECK(nft_conn_run(c, "add counter inet netpol foreign\n",
			    &d) == 0, "%s", diags_first(&d));
	KCHECK(nft_sync(c, k.prog, &delta, &d) == 0, "foreign: %s", diags_first(&d));
	KCHECK(kernel_holds(c, k.prog, &why), "foreign: %s", why);
	printf("PASS %s\n", cur);
done:
	free(why);
	nft_delta_free(delta);
	nft_case_clear(&k);
	nft_case_clear(&old);
	nft_remove(c, NULL, NULL);
	nft_conn_free(c);
	diag_list_clear(&d);
}

/* A transaction that fails, in nft's checks or in the kernel's commit,
 * leaves the previous program entirely in place. */
static void test_failed_transaction_leaves_old_program_intact(void)
{
	static const char *poison[] = {
		/* refused by nft before anything is sent */
		"add rule inet netpol forward jump no-such-chain\n",
		/* refused by the kernel at commit: the element is not there */
		"delete element inet netpol ep-ingress { \"no-such-if\" }\n",
	};
	struct nft_conn *c = conn();
	struct diag_list d = {0};
	struct nft_case k = {0};
	struct nft_prog *before = NULL;
	struct nft_delta *delta = NULL;
	char *why = NULL, *text = NULL;
	KCHECK(load_case("pod-selector", &k) == 0, "load");
	KCHECK(nft_load(c, k.prog, &d) == 0, "%s", diags_first(&d));
	before = k.prog;
	k.prog = NULL;
	relabel_client(&k);
	edit_policy_port(&k);
	drop_endpoint_web(&k);
	KCHECK(nft_case_recompile(&k, NULL) == 0, "recompile");
	KCHECK(nft_delta_compute(before, k.prog, &delta) == 0, "delta");
	for (size_t i = 0; i < sizeof(poison) / sizeof(*poison); i++) {
		free(text);
		KCHECK(asprintf(&text, "%s%s", delta->text, poison[i]) > 0, "oom");
		KCHECK(nft_conn_run(c, text, &d) < 0, "poisoned delta %zu was accepted", i);
		KCHECK(kernel_holds(c, before, &why), "after poison %zu: %s", i, why);
	}
	if (getenv("NPT_DEBUG"))
		fprintf(stderr, "DELTA:\n%s\n", delta->text);
	KCHECK(nft_apply(c, delta, &d) == 0, "clean delta: %s", diags_first(&d));
	KCHECK(kernel_holds(c, k.prog, &why), "clean delta: %s", why);
	printf("PASS %s\n", cur);
done:
	free(why);
	free(text);
	nft_delta_free(delta);
	nft_prog_free(before);
	nft_case_clear(&k);
	nft_remove(c, NULL, NULL);
	nft_conn_free(c);
	diag_list_clear(&d);
}

/* A connection bound to another namespace programs that one only. */
static void test_conn_programs_the_namespace_it_names(void)
{
	const char *other = getenv("NPT_NETNS2");
	char path[256], *why = NULL;
	struct nft_conn *here = conn(), *there = NULL;
	struct diag_list d = {0};
	struct nft_case k = {0};
	struct nft_prog *p = NULL;
	KCHECK(other && strncmp(other, "npt-nft-", 8) == 0, "NPT_NETNS2 not set by suite.sh");
	snprintf(path, sizeof(path), "/run/netns/%s", other);
	KCHECK(nft_conn_new(path, &there) == 0, "%s", path);
	KCHECK(load_case("default-deny-ingress", &k) == 0, "load");
	nft_remove(here, NULL, NULL);
	KCHECK(nft_load(there, k.prog, &d) == 0, "%s", diags_first(&d));
	KCHECK(kernel_holds(there, k.prog, &why), "%s", why);
	KCHECK(nft_read(here, NULL, &p, NULL) == -ENOENT, "the table landed here too");
	KCHECK(inside("NPT_NETNS"), "did not come back to our namespace");
	KCHECK(nft_remove(there, NULL, &d) == 0, "%s", diags_first(&d));
	printf("PASS %s\n", cur);
done:
	free(why);
	nft_prog_free(p);
	nft_case_clear(&k);
	nft_conn_free(here);
	nft_conn_free(there);
	diag_list_clear(&d);
}

static int run_tests(void)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
#define T(n) {#n, test_##n}
		T(golden_programs_load_and_list_back_identically),
		T(deltas_touch_only_what_changed),
		T(sync_converges_and_then_does_nothing),
		T(failed_transaction_leaves_old_program_intact),
		T(conn_programs_the_namespace_it_names),
#undef T
	};
	for (size_t i = 0; i < sizeof(tests) / sizeof(*tests); i++) {
		cur = tests[i].name;
		tests[i].fn();
	}
	return nfail ? 1 : 0;
}

/* ---- tools for suite.sh ------------------------------------------------------------ */

/* "NS/POD:K=V" sets a label, "NS/POD:-K" removes one. */
static int apply_label(struct nft_case *k, const char *arg)
{
	char ns[256], pod[256], kv[512];
	if (sscanf(arg, "%255[^/]/%255[^:]:%511s", ns, pod, kv) != 3)
		return -EINVAL;
	struct np_pod *p = cluster_find_pod(k->cl, ns, pod);
	if (!p)
		return -ENOENT;
	if (kv[0] == '-')
		return labels_remove(&p->meta.labels, kv + 1);
	char *eq = strchr(kv, '=');
	if (!eq)
		return -EINVAL;
	*eq = '\0';
	return labels_set(&p->meta.labels, kv, eq + 1);
}

static int cmd_load(int argc, char **argv)
{
	struct nft_case k;
	struct nft_conn *c = conn();
	struct nft_delta *delta = NULL;
	struct diag_list d = {0};
	char *err = NULL;
	int rc = nft_case_load_file(argv[0], &k, &err);
	for (int i = 1; rc == 0 && i < argc; i++)
		rc = apply_label(&k, argv[i]);
	if (rc == 0 && argc > 1)
		rc = nft_case_recompile(&k, &err);
	if (rc == 0)
		rc = nft_sync(c, k.prog, &delta, &d);
	if (rc == 0 && getenv("NPT_DEBUG"))
		fprintf(stderr, "%s", delta->text);
	if (rc == 0)
		printf("applied: chains +%zu ~%zu -%zu, sets +%zu -%zu, elements +%zu -%zu%s\n",
		       delta->chains_added, delta->chains_refilled, delta->chains_deleted,
		       delta->sets_added, delta->sets_deleted, delta->elems_added,
		       delta->elems_deleted, delta->sets_replaced ? " (replaced)" : "");
	else
		fprintf(stderr, "load: %s\n", err ? err : d.n ? diags_first(&d) : strerror(-rc));
	free(err);
	nft_delta_free(delta);
	nft_case_clear(&k);
	nft_conn_free(c);
	diag_list_clear(&d);
	return rc ? 1 : 0;
}

/* The pod's first address of family (0: its first address at all). */
static const struct np_ip *pod_ip(const struct np_pod *pod, int family)
{
	for (size_t i = 0; i < pod->nips; i++)
		if (!family || pod->ips[i].family == family)
			return &pod->ips[i];
	return NULL;
}

static int cmd_verdict(int argc, char **argv)
{
	struct nft_case k;
	char *err = NULL, ns[256], name[256], proto[16] = "TCP";
	const struct np_pod *pods[2] = {0};
	const struct np_ip *ips[2] = {0};
	struct np_verdict v;
	int family = 0;
	if (argc > 0 && (strcmp(argv[0], "-4") == 0 || strcmp(argv[0], "-6") == 0)) {
		family = argv[0][1] == '6' ? AF_INET6 : AF_INET;
		argc--, argv++;
	}
	if (argc < 4) {
		fprintf(stderr, "usage: see the top of tests/nft/ktest.c\n");
		return 2;
	}
	int port = 0, rc = nft_case_load_file(argv[0], &k, &err);
	for (int i = 4; rc == 0 && i < argc; i++)
		rc = apply_label(&k, argv[i]);
	if (rc == 0 && argc > 4)
		rc = nft_case_recompile(&k, &err);
	for (int i = 0; rc == 0 && i < 2; i++) {
		if (sscanf(argv[1 + i], "%255[^/]/%255s", ns, name) != 2 ||
		    !(pods[i] = cluster_find_pod(k.cl, ns, name)) ||
		    !(ips[i] = pod_ip(pods[i], family)))
			rc = -ENOENT;
	}
	if (rc == 0 && sscanf(argv[3], "%d/%15s", &port, proto) != 2)
		rc = -EINVAL;
	enum np_proto pr = NP_TCP;
	if (rc == 0 && proto_parse(proto, &pr) < 0)
		rc = -EINVAL;
	if (rc == 0) {
		struct np_endpoint src = {pods[0], *ips[0]}, dst = {pods[1], *ips[1]};
		rc = engine_evaluate(k.e, &src, &dst, (struct np_port){port, pr}, &v);
	}
	if (rc == 0) {
		printf("%s\n", v.allowed ? "allowed" : "denied");
		verdict_clear(&v);
	} else {
		fprintf(stderr, "verdict: %s\n", err ? err : strerror(-rc));
	}
	free(err);
	nft_case_clear(&k);
	return rc ? 2 : 0;
}

static int cmd_counter(const char *text)
{
	struct nft_conn *c = conn();
	struct nft_prog *p = NULL;
	uint64_t packets = 0;
	int rc = nft_read(c, NULL, &p, NULL);
	for (size_t i = 0; rc == 0 && i < p->nchains; i++)
		for (size_t j = 0; j < p->chains[i]->nrules; j++)
			if (strstr(p->chains[i]->rules[j].text, text))
				packets += p->chains[i]->rules[j].packets;
	/* and the elements with counters (an isolated pod's drop) */
	for (size_t i = 0; rc == 0 && i < p->nsets; i++)
		for (size_t j = 0; j < p->sets[i]->nattr; j++)
			if (strstr(p->sets[i]->attr[j].text, text))
				packets += p->sets[i]->attr[j].packets;
	if (rc == 0)
		printf("%llu\n", (unsigned long long)packets);
	nft_prog_free(p);
	nft_conn_free(c);
	return rc ? 1 : 0;
}

static int udp_or_tcp(const char *s)
{
	return strcmp(s, "udp") == 0 ? SOCK_DGRAM : SOCK_STREAM;
}

/* A listening (tcp) or bound (udp) socket on the wildcard address of
 * family; -1 when the family is not there. IPv6 sockets are IPv6 only:
 * IPv4 has its own. */
static int serve_socket(int family, int type, int port)
{
	int one = 1, s = socket(family, type, 0);
	struct sockaddr_storage a = {0};
	socklen_t alen;
	if (s < 0)
		return -1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&a;
		setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		alen = sizeof(*a6);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&a;
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		alen = sizeof(*a4);
	}
	/* UDP answers from the address each request was sent to (see
	 * udp_answer): ask for that address with every datagram */
	if (type == SOCK_DGRAM)
		setsockopt(s, family == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP,
			   family == AF_INET6 ? IPV6_RECVPKTINFO : IP_PKTINFO, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&a, alen) < 0 ||
	    (type == SOCK_STREAM && listen(s, 64) < 0)) {
		close(s);
		return -1;
	}
	return s;
}

/* Answers one datagram of fd with "ok", from the address it was sent to.
 * A socket bound to the wildcard address would otherwise answer from
 * whatever address the route back prefers, and a client's connected UDP
 * socket drops an answer from any other address than the one it asked:
 * the node of suite.sh, which has only link-local IPv6 addresses, asks a
 * pod's global address from fe80::1, and once the pod's own link-local
 * address has left DAD (a second or so after its link came up) the
 * answer to fe80::1 would leave from that link-local address. */
static void udp_answer(int fd)
{
	char buf[64], ctl[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	struct sockaddr_storage from;
	struct iovec iov = {buf, sizeof(buf)};
	struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov,
			   .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)};
	if (recvmsg(fd, &m, 0) < 0)
		return;
	pktinfo_reply_from_destination(&m);
	iov.iov_base = "ok\n";
	iov.iov_len = 3;
	sendmsg(fd, &m, 0);
}

static int cmd_serve(const char *proto, int port)
{
	int type = udp_or_tcp(proto);
	struct pollfd pfd[2];
	nfds_t n = 0;
	pfd[n].fd = serve_socket(AF_INET, type, port);
	if (pfd[n].fd < 0) {
		perror("serve");
		return 1;
	}
	pfd[n++].events = POLLIN;
	/* IPv6 when the kernel has it */
	if ((pfd[n].fd = serve_socket(AF_INET6, type, port)) >= 0)
		pfd[n++].events = POLLIN;
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("poll");
			return 1;
		}
		for (nfds_t i = 0; i < n; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			if (type == SOCK_DGRAM) {
				udp_answer(pfd[i].fd);
				continue;
			}
			int fd = accept(pfd[i].fd, NULL, NULL);
			if (fd >= 0) {
				if (write(fd, "ok\n", 3) < 0)
					perror("write");
				close(fd);
			}
		}
	}
}

/* ip (with port) as a socket address: IPv6 when it has a ':'. */
static int sockaddr_of(const char *ip, int port, struct sockaddr_storage *out, socklen_t *len)
{
	memset(out, 0, sizeof(*out));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)out;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a6);
		return inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1 ? 0 : -EINVAL;
	}
	struct sockaddr_in *a4 = (struct sockaddr_in *)out;
	a4->sin_family = AF_INET;
	a4->sin_port = htons((uint16_t)port);
	*len = sizeof(*a4);
	return inet_pton(AF_INET, ip, &a4->sin_addr) == 1 ? 0 : -EINVAL;
}

static int cmd_connect(const char *proto, const char *ip, int port, const char *src)
{
	struct sockaddr_storage a, b;
	socklen_t alen = 0, blen = 0;
	char buf[8] = {0};
	if (sockaddr_of(ip, port, &a, &alen) < 0 ||
	    (src && (sockaddr_of(src, 0, &b, &blen) < 0 || b.ss_family != a.ss_family)))
		return 2;
	int type = udp_or_tcp(proto), s = socket(a.ss_family, type | SOCK_NONBLOCK, 0);
	struct pollfd pfd = {.fd = s, .events = POLLIN};
	if (s < 0)
		return 2;
	if (src && bind(s, (struct sockaddr *)&b, blen) < 0)
		return 2;
	if (connect(s, (struct sockaddr *)&a, alen) < 0 && errno != EINPROGRESS)
		return 1;
	if (type == SOCK_DGRAM && send(s, "hi\n", 3, 0) < 0)
		return 1;
	const char *ms = getenv("NFT_CONNECT_MS");
	if (poll(&pfd, 1, ms ? atoi(ms) : 1000) != 1 || read(s, buf, sizeof(buf) - 1) < 2)
		return 1;
	close(s);
	return strncmp(buf, "ok", 2) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 3 && strcmp(argv[1], "serve") == 0)
		return cmd_serve(argv[2], argc > 3 ? atoi(argv[3]) : 80);
	if (argc >= 5 && strcmp(argv[1], "connect") == 0)
		return cmd_connect(argv[2], argv[3], atoi(argv[4]), argc > 5 ? argv[5] : NULL);
	if (argc >= 6 && strcmp(argv[1], "verdict") == 0)
		return cmd_verdict(argc - 2, argv + 2);
	if (!netns_ok())
		return 2;
	if (argc >= 3 && strcmp(argv[1], "load") == 0)
		return cmd_load(argc - 2, argv + 2);
	if (argc == 3 && strcmp(argv[1], "counter") == 0)
		return cmd_counter(argv[2]);
	if (argc == 1)
		return run_tests();
	fprintf(stderr, "usage: see the top of tests/nft/ktest.c\n");
	return 2;
}
