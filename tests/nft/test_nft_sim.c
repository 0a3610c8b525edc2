/* The compiled program against the engine, without a kernel: a small
 * interpreter of struct nft_prog (sets with their element texts, chains with
 * their rule texts, nft's jump/goto/return semantics) runs every flow of
 * random clusters as the node would see it, and must reach the verdict
 * engine_evaluate gives for the directions this node enforces, with the
 * packet counted on exactly the rule (or iso element) that
 * nft_prog_attribute names for the engine's verdict.
 *
 * The interpreter knows exactly the shapes the compiler emits (compile.c):
 * a rule text or a set type it does not know makes the test fail, so a new
 * shape cannot be skipped silently. It also refuses what nft itself would
 * refuse or leave ambiguous: a range in a map without "flags interval",
 * two elements of one map that overlap, a jump to a missing chain. */
#include "unit.h"
#include "case.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

typedef unsigned __int128 u128;

/* ==== the interpreter ===================================================== */

#define MAXF 4          /* fields of a concatenation */
#define MAXOPS 8        /* expressions of a rule */
#define MAXTOK 48
#define TOKLEN 192
#define STACK 16        /* NFT_JUMP_STACK_SIZE */

enum fld { F_IIF, F_OIF, F_PROTO, F_DPORT, F_SADDR4, F_DADDR4, F_SADDR6, F_DADDR6 };
enum ctype { T_IFNAME, T_PROTO, T_PORT, T_IP4, T_IP6 };
static const enum ctype fld_type[] = {T_IFNAME, T_IFNAME, T_PROTO, T_PORT,
				      T_IP4,    T_IP4,    T_IP6,   T_IP6};
static const char *const fld_name[] = {"iifname", "oifname", "meta l4proto", "th dport",
				       "ip saddr", "ip daddr", "ip6 saddr", "ip6 daddr"};

enum vkind { V_NONE, V_ACCEPT, V_DROP, V_JUMP, V_GOTO, V_RETURN };

struct vd {
	enum vkind k;
	int chain;
};

struct comp {
	u128 lo, hi;
	char ifname[17];
};

struct selem {
	struct comp c[MAXF];
	struct vd v;
	const char *text;
	const void *counted;   /* what counts a match: the attr record, else the text */
};

struct sset {
	const struct nft_set *s;
	int n;
	enum ctype t[MAXF];
	bool interval;
	int dir;               /* 0 "in-", 1 "eg-", -1 */
	struct selem *e;
	size_t ne;
};

enum opkind { O_COUNTER, O_CT, O_LIT, O_LOOKUP, O_VMAP };

struct op {
	enum opkind k;
	bool neg, ctnew, wild;
	int nf;
	enum fld f[MAXF];
	int set;
	char lit[17];
};

struct srule {
	struct op op[MAXOPS];
	int nop;
	struct vd v;
	const struct nft_rule *r;
};

struct schain {
	const struct nft_chain *c;
	struct srule *r;
	size_t nr;
	int dir;               /* 0 "in/", 1 "eg/", -1 */
};

struct sim {
	const struct nft_prog *p;
	struct sset *sets;
	size_t nsets;
	struct schain *ch;
	size_t nch;
	int base;
	enum vkind policy;
	char err[1024];
};

struct pkt {
	int family;
	u128 saddr, daddr;
	int proto;             /* 6, 17, 132 */
	int dport;
	const char *iif, *oif;
};

struct sres {
	enum vkind verdict;
	const void *last[2];   /* the last counter of each direction */
	bool tracing;
	char trace[2048];
	size_t tlen;
};

static int sim_fail(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sim_fail(struct sim *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	return -1;
}

static void sim_free(struct sim *s)
{
	for (size_t i = 0; i < s->nsets; i++)
		free(s->sets[i].e);
	free(s->sets);
	for (size_t i = 0; i < s->nch; i++)
		free(s->ch[i].r);
	free(s->ch);
	memset(s, 0, sizeof(*s));
}

/* Splits on blanks; a quoted string is one token, quotes kept. */
static int tokenize(const char *s, char tok[MAXTOK][TOKLEN])
{
	int n = 0;
	while (*s) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		if (n == MAXTOK)
			return -1;
		const char *st = s;
		if (*s == '"') {
			s++;
			while (*s && *s != '"')
				s++;
			if (*s != '"')
				return -1;
			s++;
		} else {
			while (*s && *s != ' ' && *s != '\t')
				s++;
		}
		if ((size_t)(s - st) >= TOKLEN)
			return -1;
		memcpy(tok[n], st, (size_t)(s - st));
		tok[n][s - st] = '\0';
		n++;
	}
	return n;
}

static int chain_index(const struct sim *s, const char *name)
{
	for (size_t i = 0; i < s->nch; i++)
		if (strcmp(s->ch[i].c->name, name) == 0)
			return (int)i;
	return -1;
}

static int set_index(const struct sim *s, const char *name)
{
	for (size_t i = 0; i < s->nsets; i++)
		if (strcmp(s->sets[i].s->name, name) == 0)
			return (int)i;
	return -1;
}

static bool parse_u128(const char *t, u128 *out, u128 max)
{
	u128 v = 0;
	if (!*t)
		return false;
	for (; *t; t++) {
		if (*t < '0' || *t > '9')
			return false;
		v = v * 10 + (u128)(*t - '0');
		if (v > max)
			return false;
	}
	*out = v;
	return true;
}

static bool addr_value(const char *t, int family, u128 *out)
{
	unsigned char b[16];
	if (inet_pton(family, t, b) != 1)
		return false;
	u128 v = 0;
	for (int i = 0; i < (family == AF_INET ? 4 : 16); i++)
		v = v << 8 | b[i];
	*out = v;
	return true;
}

/* One field of an element: an address, prefix or range; a protocol; a
 * port or port range; an interface. */
static bool parse_comp(const char *t, enum ctype ty, bool interval, struct comp *c, char *why,
		       size_t wl)
{
	memset(c, 0, sizeof(*c));
	switch (ty) {
	case T_IFNAME: {
		size_t n = strlen(t);
		if (n < 3 || t[0] != '"' || t[n - 1] != '"' || n - 2 > 16 || memchr(t, '*', n)) {
			snprintf(why, wl, "interface %.80s", t);
			return false;
		}
		memcpy(c->ifname, t + 1, n - 2);
		return true;
	}
	case T_PROTO:
		if (strcmp(t, "tcp") == 0)
			c->lo = 6;
		else if (strcmp(t, "udp") == 0)
			c->lo = 17;
		else if (strcmp(t, "sctp") == 0)
			c->lo = 132;
		else {
			snprintf(why, wl, "protocol %.80s", t);
			return false;
		}
		c->hi = c->lo;
		return true;
	case T_PORT: {
		char buf[TOKLEN], *dash;
		snprintf(buf, sizeof(buf), "%s", t);
		if ((dash = strchr(buf, '-'))) {
			*dash = '\0';
			if (!interval || !parse_u128(buf, &c->lo, 65535) ||
			    !parse_u128(dash + 1, &c->hi, 65535) || c->hi <= c->lo) {
				snprintf(why, wl, "port range %.80s%s", t,
					 interval ? "" : " in a map without flags interval");
				return false;
			}
			return true;
		}
		if (!parse_u128(buf, &c->lo, 65535)) {
			snprintf(why, wl, "port %.80s", t);
			return false;
		}
		c->hi = c->lo;
		return true;
	}
	case T_IP4:
	case T_IP6: {
		int fam = ty == T_IP4 ? AF_INET : AF_INET6;
		unsigned bits = ty == T_IP4 ? 32 : 128;
		u128 top = ty == T_IP4 ? ((u128)1 << 32) - 1 : ~(u128)0;
		char buf[TOKLEN], *sep;
		snprintf(buf, sizeof(buf), "%s", t);
		if ((sep = strchr(buf, '/'))) {
			u128 plen;
			*sep = '\0';
			if (!interval || !addr_value(buf, fam, &c->lo) ||
			    !parse_u128(sep + 1, &plen, bits)) {
				snprintf(why, wl, "prefix %.80s%s", t,
					 interval ? "" : " in a map without flags interval");
				return false;
			}
			u128 host = plen == 0 ? top : plen == bits ? 0 : (top >> plen);
			if (c->lo & host) {
				snprintf(why, wl, "prefix %.80s has host bits", t);
				return false;
			}
			c->hi = c->lo | host;
			return true;
		}
		/* a range: the dash splits two addresses (neither has one) */
		if ((sep = strchr(buf, '-'))) {
			*sep = '\0';
			if (!interval || !addr_value(buf, fam, &c->lo) ||
			    !addr_value(sep + 1, fam, &c->hi) || c->hi <= c->lo) {
				snprintf(why, wl, "address range %.80s%s", t,
					 interval ? "" : " in a map without flags interval");
				return false;
			}
			return true;
		}
		if (!addr_value(buf, fam, &c->lo)) {
			snprintf(why, wl, "address %.80s", t);
			return false;
		}
		c->hi = c->lo;
		return true;
	}
	}
	return false;
}

/* "accept", "drop", "return", "jump X", "goto X" at tok[*i]. */
static int parse_verdict(struct sim *s, char tok[MAXTOK][TOKLEN], int n, int *i, struct vd *v,
			 const char *where)
{
	const char *t = tok[*i];
	if (strcmp(t, "accept") == 0 || strcmp(t, "drop") == 0 || strcmp(t, "return") == 0) {
		v->k = t[0] == 'a' ? V_ACCEPT : t[0] == 'd' ? V_DROP : V_RETURN;
		(*i)++;
		return 0;
	}
	if (strcmp(t, "jump") == 0 || strcmp(t, "goto") == 0) {
		if (*i + 1 >= n)
			return sim_fail(s, "%s: %s without a chain", where, t);
		v->k = t[0] == 'j' ? V_JUMP : V_GOTO;
		if ((v->chain = chain_index(s, tok[*i + 1])) < 0)
			return sim_fail(s, "%s: %s to a missing chain %s", where, t, tok[*i + 1]);
		*i += 2;
		return 0;
	}
	return sim_fail(s, "%s: unknown verdict \"%s\"", where, t);
}

static bool is_verdict_word(const char *t)
{
	return !strcmp(t, "accept") || !strcmp(t, "drop") || !strcmp(t, "return") ||
	       !strcmp(t, "jump") || !strcmp(t, "goto");
}

/* The type of a set: "ifname . inet_proto . inet_service : verdict". */
static int parse_set_type(struct sim *s, struct sset *ss)
{
	char tok[MAXTOK][TOKLEN];
	int n = tokenize(ss->s->type, tok), i = 0;
	if (n <= 0)
		return sim_fail(s, "set %s: type \"%s\"", ss->s->name, ss->s->type);
	for (;;) {
		const char *t = tok[i];
		enum ctype ty;
		if (!strcmp(t, "ifname"))
			ty = T_IFNAME;
		else if (!strcmp(t, "inet_proto"))
			ty = T_PROTO;
		else if (!strcmp(t, "inet_service"))
			ty = T_PORT;
		else if (!strcmp(t, "ipv4_addr"))
			ty = T_IP4;
		else if (!strcmp(t, "ipv6_addr"))
			ty = T_IP6;
		else
			return sim_fail(s, "set %s: unknown type \"%s\"", ss->s->name, t);
		if (ss->n == MAXF)
			return sim_fail(s, "set %s: too many fields", ss->s->name);
		ss->t[ss->n++] = ty;
		i++;
		if (i < n && !strcmp(tok[i], ".")) {
			i++;
			if (i >= n)
				return sim_fail(s, "set %s: type \"%s\"", ss->s->name, ss->s->type);
			continue;
		}
		break;
	}
	if (ss->s->map) {
		if (!(i + 2 == n && !strcmp(tok[i], ":") && !strcmp(tok[i + 1], "verdict")))
			return sim_fail(s, "map %s: type \"%s\" is not a verdict map", ss->s->name,
					ss->s->type);
	} else if (i != n) {
		return sim_fail(s, "set %s: type \"%s\"", ss->s->name, ss->s->type);
	}
	if (ss->s->flags && strcmp(ss->s->flags, "interval"))
		return sim_fail(s, "set %s: unknown flags \"%s\"", ss->s->name, ss->s->flags);
	ss->interval = ss->s->flags != NULL;
	return 0;
}

static bool comps_overlap(const struct sset *ss, const struct selem *a, const struct selem *b)
{
	for (int k = 0; k < ss->n; k++) {
		if (ss->t[k] == T_IFNAME) {
			if (strcmp(a->c[k].ifname, b->c[k].ifname))
				return false;
		} else if (a->c[k].hi < b->c[k].lo || b->c[k].hi < a->c[k].lo) {
			return false;
		}
	}
	return true;
}

static int parse_set(struct sim *s, struct sset *ss)
{
	const struct nft_set *set = ss->s;
	char tok[MAXTOK][TOKLEN];
	int err;
	ss->dir = !strncmp(set->name, "in-", 3) ? 0 : !strncmp(set->name, "eg-", 3) ? 1 : -1;
	if ((err = parse_set_type(s, ss)) < 0)
		return err;
	if (set->nelems && !(ss->e = calloc(set->nelems, sizeof(*ss->e))))
		return sim_fail(s, "out of memory");
	for (size_t j = 0; j < set->nelems; j++) {
		struct selem *e = &ss->e[ss->ne++];
		char why[256];
		int n = tokenize(set->elems[j], tok), i = 0;
		e->text = set->elems[j];
		if (n <= 0)
			return sim_fail(s, "set %s: element \"%s\"", set->name, set->elems[j]);
		for (int k = 0; k < ss->n; k++) {
			if (k && (i >= n || strcmp(tok[i++], ".")))
				return sim_fail(s, "set %s: element \"%s\": expected %d fields", set->name,
						set->elems[j], ss->n);
			if (i >= n || !parse_comp(tok[i], ss->t[k], ss->interval, &e->c[k], why, sizeof(why)))
				return sim_fail(s, "set %s: element \"%s\": %s", set->name, set->elems[j],
						i < n ? why : "too short");
			i++;
		}
		if (set->map) {
			if (i >= n || strcmp(tok[i], ":"))
				return sim_fail(s, "map %s: element \"%s\" has no verdict", set->name,
						set->elems[j]);
			i++;
			if (i >= n)
				return sim_fail(s, "map %s: element \"%s\" has no verdict", set->name,
						set->elems[j]);
			if ((err = parse_verdict(s, tok, n, &i, &e->v, set->name)) < 0)
				return err;
			if (e->v.k == V_RETURN)
				return sim_fail(s, "map %s: element \"%s\": return", set->name, set->elems[j]);
		}
		if (i < n && !strcmp(tok[i], "counter"))
			i++;
		if (i + 1 < n && !strcmp(tok[i], "comment") && tok[i + 1][0] == '"')
			i += 2;
		if (i != n)
			return sim_fail(s, "set %s: element \"%s\": unknown \"%s\"", set->name,
					set->elems[j], tok[i]);
		if (set->counter) {
			e->counted = e->text;
			for (size_t a = 0; a < set->nattr; a++)
				if (!strcmp(set->attr[a].text, e->text)) {
					e->counted = &set->attr[a];
					break;
				}
		}
	}
	/* nft refuses overlapping elements; the lookup would be ambiguous */
	for (size_t a = 0; a < ss->ne; a++)
		for (size_t b = a + 1; b < ss->ne; b++)
			if (comps_overlap(ss, &ss->e[a], &ss->e[b]))
				return sim_fail(s, "set %s: elements \"%s\" and \"%s\" overlap", set->name,
						ss->e[a].text, ss->e[b].text);
	return 0;
}

/* A key: field (. field)*; returns the token after it, or -1. */
static int parse_key(char tok[MAXTOK][TOKLEN], int n, int i, struct op *o)
{
	for (;;) {
		enum fld f;
		if (i >= n)
			return -1;
		if (!strcmp(tok[i], "iifname"))
			f = F_IIF, i += 1;
		else if (!strcmp(tok[i], "oifname"))
			f = F_OIF, i += 1;
		else if (i + 1 < n && !strcmp(tok[i], "meta") && !strcmp(tok[i + 1], "l4proto"))
			f = F_PROTO, i += 2;
		else if (i + 1 < n && !strcmp(tok[i], "th") && !strcmp(tok[i + 1], "dport"))
			f = F_DPORT, i += 2;
		else if (i + 1 < n && !strcmp(tok[i], "ip") && !strcmp(tok[i + 1], "saddr"))
			f = F_SADDR4, i += 2;
		else if (i + 1 < n && !strcmp(tok[i], "ip") && !strcmp(tok[i + 1], "daddr"))
			f = F_DADDR4, i += 2;
		else if (i + 1 < n && !strcmp(tok[i], "ip6") && !strcmp(tok[i + 1], "saddr"))
			f = F_SADDR6, i += 2;
		else if (i + 1 < n && !strcmp(tok[i], "ip6") && !strcmp(tok[i + 1], "daddr"))
			f = F_DADDR6, i += 2;
		else
			return -1;
		if (o->nf == MAXF)
			return -1;
		o->f[o->nf++] = f;
		if (i < n && !strcmp(tok[i], ".")) {
			i++;
			continue;
		}
		return i;
	}
}

static int key_matches_set(struct sim *s, const struct op *o, const char *where)
{
	const struct sset *ss = &s->sets[o->set];
	if (ss->n != o->nf)
		return sim_fail(s, "%s: key of %d fields looks up %s of %d", where, o->nf, ss->s->name,
				ss->n);
	for (int k = 0; k < o->nf; k++)
		if (fld_type[o->f[k]] != ss->t[k])
			return sim_fail(s, "%s: field %s does not fit the type of %s (\"%s\")", where,
					fld_name[o->f[k]], ss->s->name, ss->s->type);
	return 0;
}

static int parse_rule(struct sim *s, const struct nft_chain *c, const struct nft_rule *r,
		      struct srule *sr)
{
	char tok[MAXTOK][TOKLEN], where[300];
	int n = tokenize(r->text, tok), i = 0, err;
	bool has_vmap = false;
	snprintf(where, sizeof(where), "chain %s, rule \"%s\"", c->name, r->text);
	sr->r = r;
	if (n <= 0)
		return sim_fail(s, "%s: cannot split", where);
	while (i < n) {
		const char *t = tok[i];
		if (sr->v.k != V_NONE && strcmp(t, "comment"))
			return sim_fail(s, "%s: \"%s\" after the verdict", where, t);
		if (!strcmp(t, "comment")) {
			if (i + 1 >= n || tok[i + 1][0] != '"')
				return sim_fail(s, "%s: comment without text", where);
			i += 2;
			continue;
		}
		if (is_verdict_word(t)) {
			if (has_vmap)
				return sim_fail(s, "%s: a verdict after a vmap", where);
			if ((err = parse_verdict(s, tok, n, &i, &sr->v, where)) < 0)
				return err;
			continue;
		}
		if (sr->nop == MAXOPS)
			return sim_fail(s, "%s: too many expressions", where);
		struct op *o = &sr->op[sr->nop++];
		memset(o, 0, sizeof(*o));
		if (!strcmp(t, "counter")) {
			o->k = O_COUNTER;
			i++;
			continue;
		}
		if (has_vmap)
			return sim_fail(s, "%s: \"%s\" after a vmap", where, t);
		if (!strcmp(t, "ct")) {
			/* every flow is new: only "new" matches */
			if (i + 2 >= n || strcmp(tok[i + 1], "state"))
				return sim_fail(s, "%s: unknown ct expression", where);
			char states[TOKLEN], *save = NULL;
			snprintf(states, sizeof(states), "%s", tok[i + 2]);
			o->k = O_CT;
			for (char *st = strtok_r(states, ",", &save); st; st = strtok_r(NULL, ",", &save)) {
				if (!strcmp(st, "new"))
					o->ctnew = true;
				else if (strcmp(st, "established") && strcmp(st, "related") &&
					 strcmp(st, "invalid") && strcmp(st, "untracked"))
					return sim_fail(s, "%s: unknown ct state %s", where, st);
			}
			i += 3;
			continue;
		}
		int j = parse_key(tok, n, i, o);
		if (j < 0 || j >= n)
			return sim_fail(s, "%s: unknown expression at \"%s\"", where, t);
		i = j;
		if (!strcmp(tok[i], "vmap")) {
			if (i + 1 >= n || tok[i + 1][0] != '@' ||
			    (o->set = set_index(s, tok[i + 1] + 1)) < 0)
				return sim_fail(s, "%s: vmap of a missing map", where);
			if (!s->sets[o->set].s->map)
				return sim_fail(s, "%s: vmap of set %s", where, tok[i + 1]);
			o->k = O_VMAP;
			has_vmap = true;
			i += 2;
			if ((err = key_matches_set(s, o, where)) < 0)
				return err;
			continue;
		}
		if (!strcmp(tok[i], "!=")) {
			o->neg = true;
			if (++i >= n)
				return sim_fail(s, "%s: != of nothing", where);
		}
		if (tok[i][0] == '@') {
			if ((o->set = set_index(s, tok[i] + 1)) < 0)
				return sim_fail(s, "%s: lookup in a missing set %s", where, tok[i]);
			if (s->sets[o->set].s->map)
				return sim_fail(s, "%s: plain lookup in map %s", where, tok[i]);
			o->k = O_LOOKUP;
			i++;
			if ((err = key_matches_set(s, o, where)) < 0)
				return err;
			continue;
		}
		if (tok[i][0] == '"' && o->nf == 1 && fld_type[o->f[0]] == T_IFNAME) {
			size_t l = strlen(tok[i]);
			if (l < 3 || l - 2 > 16)
				return sim_fail(s, "%s: interface %s", where, tok[i]);
			memcpy(o->lit, tok[i] + 1, l - 2);
			o->lit[l - 2] = '\0';
			/* a trailing * is a prefix match */
			if (o->lit[l - 3] == '*') {
				o->wild = true;
				o->lit[l - 3] = '\0';
			}
			if (strchr(o->lit, '*'))
				return sim_fail(s, "%s: interface pattern %s", where, tok[i]);
			o->k = O_LIT;
			i++;
			continue;
		}
		return sim_fail(s, "%s: unknown expression at \"%s\"", where, tok[i]);
	}
	return 0;
}

static int sim_build(const struct nft_prog *p, struct sim *s)
{
	int err;
	memset(s, 0, sizeof(*s));
	s->p = p;
	s->base = -1;
	if (!(s->sets = calloc(p->nsets + 1, sizeof(*s->sets))) ||
	    !(s->ch = calloc(p->nchains + 1, sizeof(*s->ch))))
		return sim_fail(s, "out of memory");
	s->nch = p->nchains;
	for (size_t i = 0; i < p->nchains; i++) {
		const struct nft_chain *c = p->chains[i];
		s->ch[i].c = c;
		s->ch[i].dir = !strncmp(c->name, "in/", 3) ? 0 : !strncmp(c->name, "eg/", 3) ? 1 : -1;
		if (c->hook) {
			if (s->base >= 0)
				return sim_fail(s, "two base chains: %s and %s", s->ch[s->base].c->name,
						c->name);
			if (!strstr(c->hook, "type filter hook forward "))
				return sim_fail(s, "base chain %s: hook \"%s\"", c->name, c->hook);
			if (strstr(c->hook, "policy accept;"))
				s->policy = V_ACCEPT;
			else if (strstr(c->hook, "policy drop;"))
				s->policy = V_DROP;
			else
				return sim_fail(s, "base chain %s: no policy in \"%s\"", c->name, c->hook);
			s->base = (int)i;
		}
	}
	if (s->base < 0)
		return sim_fail(s, "no base chain");
	s->nsets = p->nsets;
	for (size_t i = 0; i < p->nsets; i++) {
		s->sets[i].s = p->sets[i];
		if ((err = parse_set(s, &s->sets[i])) < 0)
			return err;
	}
	for (size_t i = 0; i < p->nchains; i++) {
		const struct nft_chain *c = p->chains[i];
		if (c->nrules && !(s->ch[i].r = calloc(c->nrules, sizeof(*s->ch[i].r))))
			return sim_fail(s, "out of memory");
		s->ch[i].nr = c->nrules;
		for (size_t j = 0; j < c->nrules; j++)
			if ((err = parse_rule(s, c, &c->rules[j], &s->ch[i].r[j])) < 0)
				return err;
	}
	return 0;
}

static void tr(struct sres *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tr(struct sres *r, const char *fmt, ...)
{
	va_list ap;
	if (!r->tracing || r->tlen >= sizeof(r->trace) - 1)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(r->trace + r->tlen, sizeof(r->trace) - r->tlen, fmt, ap);
	va_end(ap);
	if (n > 0)
		r->tlen += (size_t)n;
	if (r->tlen > sizeof(r->trace) - 1)
		r->tlen = sizeof(r->trace) - 1;
}

/* Whether the packet has the field (ip saddr needs IPv4: nft adds the
 * dependency), and its value. */
static bool field_value(const struct pkt *k, enum fld f, u128 *v, const char **s)
{
	switch (f) {
	case F_IIF: *s = k->iif; return true;
	case F_OIF: *s = k->oif; return true;
	case F_PROTO: *v = (u128)k->proto; return true;
	case F_DPORT: *v = (u128)k->dport; return true;
	case F_SADDR4: *v = k->saddr; return k->family == AF_INET;
	case F_DADDR4: *v = k->daddr; return k->family == AF_INET;
	case F_SADDR6: *v = k->saddr; return k->family == AF_INET6;
	case F_DADDR6: *v = k->daddr; return k->family == AF_INET6;
	}
	return false;
}

/* The element of the set matching the packet's key: 0 none, 1 found (*out),
 * 2 the packet has no such field, -1 ambiguous. */
static int lookup(struct sim *s, const struct op *o, const struct pkt *k, const struct selem **out)
{
	const struct sset *ss = &s->sets[o->set];
	u128 v[MAXF];
	const char *str[MAXF];
	const struct selem *found = NULL;
	for (int f = 0; f < o->nf; f++)
		if (!field_value(k, o->f[f], &v[f], &str[f]))
			return 2;
	for (size_t i = 0; i < ss->ne; i++) {
		const struct selem *e = &ss->e[i];
		bool m = true;
		for (int f = 0; f < o->nf && m; f++)
			m = ss->t[f] == T_IFNAME ? !strcmp(e->c[f].ifname, str[f])
						 : v[f] >= e->c[f].lo && v[f] <= e->c[f].hi;
		if (!m)
			continue;
		if (found) {
			sim_fail(s, "lookup in %s matches \"%s\" and \"%s\"", ss->s->name, found->text,
				 e->text);
			return -1;
		}
		found = e;
	}
	*out = found;
	return found ? 1 : 0;
}

static void count_elem(const struct sim *s, const struct op *o, const struct selem *e,
		       struct sres *r)
{
	const struct sset *ss = &s->sets[o->set];
	if (e->counted && ss->dir >= 0)
		r->last[ss->dir] = e->counted;
}

/* Runs the packet through the program from the base chain. 0, or -1 with
 * s->err (an ambiguous lookup, a loop, a stack overflow). */
static int sim_run(struct sim *s, const struct pkt *k, struct sres *r)
{
	struct {
		int chain;
		size_t idx;
	} stack[STACK];
	int sp = 0, chain = s->base, steps = 0;
	size_t idx = 0;
	r->verdict = V_NONE;
	r->last[0] = r->last[1] = NULL;
	r->tlen = 0;
	r->trace[0] = '\0';
	for (;;) {
		if (++steps > 10000)
			return sim_fail(s, "more than 10000 rules for one packet: a loop");
		const struct schain *c = &s->ch[chain];
		if (idx >= c->nr) {
			if (sp) {
				sp--;
				chain = stack[sp].chain;
				idx = stack[sp].idx;
				tr(r, " <return to %s>", s->ch[chain].c->name);
				continue;
			}
			tr(r, " <end of %s: policy>", c->c->name);
			r->verdict = s->policy;
			return 0;
		}
		const struct srule *rl = &c->r[idx++];
		struct vd v = rl->v;
		bool matched = true;
		for (int i = 0; i < rl->nop && matched; i++) {
			const struct op *o = &rl->op[i];
			const struct selem *e = NULL;
			int m;
			switch (o->k) {
			case O_COUNTER:
				if (c->dir >= 0)
					r->last[c->dir] = rl->r;
				break;
			case O_CT:
				matched = o->ctnew;
				break;
			case O_LIT: {
				u128 dummy;
				const char *name = NULL;
				field_value(k, o->f[0], &dummy, &name);
				bool eq = o->wild ? !strncmp(name, o->lit, strlen(o->lit))
						  : !strcmp(name, o->lit);
				matched = eq != o->neg;
				break;
			}
			case O_LOOKUP:
				if ((m = lookup(s, o, k, &e)) < 0)
					return -1;
				if (m == 2) {
					matched = false;
					break;
				}
				if (e)
					count_elem(s, o, e, r);
				matched = (e != NULL) != o->neg;
				if (matched && e)
					tr(r, " [%s: %s]", s->sets[o->set].s->name, e->text);
				break;
			case O_VMAP:
				if ((m = lookup(s, o, k, &e)) < 0)
					return -1;
				if (m == 2 || !e) {
					matched = false;
					break;
				}
				count_elem(s, o, e, r);
				tr(r, " [%s: %s]", s->sets[o->set].s->name, e->text);
				v = e->v;
				break;
			}
		}
		if (!matched)
			continue;
		if (v.k != V_NONE)
			tr(r, " %s#%zu", c->c->name, idx - 1);
		switch (v.k) {
		case V_NONE:
			break;
		case V_ACCEPT:
		case V_DROP:
			r->verdict = v.k;
			tr(r, " => %s", v.k == V_ACCEPT ? "accept" : "drop");
			return 0;
		case V_JUMP:
			if (sp == STACK)
				return sim_fail(s, "jump stack overflow at %s", c->c->name);
			stack[sp].chain = chain;
			stack[sp].idx = idx;
			sp++;
			/* fall through */
		case V_GOTO:
			chain = v.chain;
			idx = 0;
			break;
		case V_RETURN:
			if (sp) {
				sp--;
				chain = stack[sp].chain;
				idx = stack[sp].idx;
			} else {
				r->verdict = s->policy;
				return 0;
			}
			break;
		}
	}
}

/* ==== flows ================================================================ */

/* unit_rnd (tests/unit): a seed gives the same cluster (and sample of
 * flows) anywhere */

static u128 ip_u128(const struct np_ip *ip)
{
	u128 v = 0;
	for (int i = 0; i < (ip->family == AF_INET ? 4 : 16); i++)
		v = v << 8 | ip->addr[i];
	return v;
}

/* Addresses outside the pods, as sources and destinations: in and out of
 * the blocks the generator and the golden cases use. */
static const char *const outside_addrs[] = {
	"203.0.113.5", "203.0.113.200", "198.18.250.9", "192.0.2.7",  "8.8.8.8",
	"10.0.9.99",   "2001:db8:1::99", "2001:db8:7::1", "2001:db9::1", "2001:db8:3:ff::9",
	"fd00::99",
};
#define NOUTSIDE (sizeof(outside_addrs) / sizeof(*outside_addrs))

/* Addresses at the edges of the ipBlocks of the cluster's policies (first,
 * last, and their neighbours outside, for every cidr and except), where
 * the compiler cuts the address space into classes: up to MAX_EDGES of
 * them, a random choice when there are more. */
#define MAX_EDGES 12

static struct np_ip ip_of(u128 v, int family)
{
	struct np_ip ip = {.family = family};
	for (int i = (family == AF_INET ? 4 : 16) - 1; i >= 0; i--, v >>= 8)
		ip.addr[i] = (uint8_t)v;
	return ip;
}

static void edge_add(struct np_ip *v, size_t *n, size_t cap, const struct np_cidr *c)
{
	unsigned bits = c->ip.family == AF_INET ? 32 : 128;
	u128 top = bits == 32 ? ((u128)1 << 32) - 1 : ~(u128)0;
	u128 host = c->prefix == 0 ? top : c->prefix >= bits ? 0 : top >> c->prefix;
	u128 lo = ip_u128(&c->ip) & ~host & top, hi = lo | host;
	u128 pts[4] = {lo, hi, lo - 1, hi + 1};
	bool ok[4] = {true, true, lo > 0, hi < top};
	for (int i = 0; i < 4; i++) {
		if (!ok[i])
			continue;
		struct np_ip ip = ip_of(pts[i], c->ip.family);
		bool seen = false;
		for (size_t j = 0; j < *n && !seen; j++)
			seen = ip_equal(&v[j], &ip);
		if (!seen && *n < cap)
			v[(*n)++] = ip;
	}
}

static size_t block_edges(const struct np_cluster *cl, struct np_ip *out)
{
	struct np_ip all[512];
	size_t n = 0;
	for (size_t i = 0; i < cl->npolicies; i++) {
		const struct np_policy *pol = cl->policies[i];
		for (int d = 0; d < 2; d++) {
			const struct np_rule *rs = d ? pol->egress : pol->ingress;
			size_t nr = d ? pol->negress : pol->ningress;
			for (size_t r = 0; r < nr; r++)
				for (size_t j = 0; j < rs[r].npeers; j++) {
					const struct np_ipblock *b = &rs[r].peers[j].ipblock;
					if (!rs[r].peers[j].has_ipblock)
						continue;
					edge_add(all, &n, 512, &b->cidr);
					for (size_t k = 0; k < b->nexcept; k++)
						edge_add(all, &n, 512, &b->except[k]);
				}
		}
	}
	/* a random choice of MAX_EDGES (the generator's seed goes on) */
	for (size_t i = 0; i < n && i < MAX_EDGES; i++) {
		size_t j = i + unit_rnd((unsigned)(n - i));
		struct np_ip t = all[i];
		all[i] = all[j];
		all[j] = t;
	}
	n = n < MAX_EDGES ? n : MAX_EDGES;
	memcpy(out, all, n * sizeof(*out));
	return n;
}

struct end {
	const struct np_pod *pod;     /* NULL: outside */
	const char *ifname;           /* NULL: not an endpoint of this node */
	struct np_ip ip;
};

/* What the attributed verdicts exercised, per direction (ingress, egress),
 * so that the generator cannot drift into trivial clusters unnoticed. */
enum cover { CV_DROP, CV_PEERLESS, CV_SELECTOR, CV_IPBLOCK, CV_ALLPORTS, CV_PORT, CV_RANGE,
	     CV_PROTO, CV_NAMED, NCOVER };
static const char *const cover_name[NCOVER] = {"isolation drops", "rules without peers",
					       "selector peers", "ipBlock peers", "rules without ports",
					       "single ports", "port ranges", "whole protocols",
					       "named ports"};

struct stats {
	size_t rounds, flows, v6flows, allowed, denied, attributed, mismatches, fail_closed;
	size_t cover[2][NCOVER];
};

static void cover(struct stats *st, bool egress, const struct np_dir_verdict *d)
{
	size_t *c = st->cover[egress];
	if (!d->allowed) {
		c[CV_DROP]++;
		return;
	}
	const struct np_rule *r = &(egress ? d->policy->egress : d->policy->ingress)[d->rule];
	if (d->peer < 0)
		c[CV_PEERLESS]++;
	else
		c[r->peers[d->peer].has_ipblock ? CV_IPBLOCK : CV_SELECTOR]++;
	if (d->port < 0) {
		c[CV_ALLPORTS]++;
		return;
	}
	const struct np_port_spec *sp = &r->ports[d->port];
	c[sp->kind == PORT_ANY	   ? CV_PROTO
	  : sp->kind == PORT_NAMED ? CV_NAMED
	  : sp->end_port > sp->port ? CV_RANGE
				   : CV_PORT]++;
}

static void print_cover(const struct stats *st)
{
	for (int d = 0; d < 2; d++) {
		printf("  %s:", d ? "egress" : "ingress");
		for (int k = 0; k < NCOVER; k++)
			printf("%s %zu %s", k ? "," : "", st->cover[d][k], cover_name[k]);
		printf("\n");
	}
}

#define MAX_REPORTS 6

static int port_cmp(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static void add_port(int *v, size_t *n, size_t cap, int p)
{
	if (p < 1 || p > 65535 || *n >= cap)
		return;
	for (size_t i = 0; i < *n; i++)
		if (v[i] == p)
			return;
	v[(*n)++] = p;
}

/* The ports worth trying: those the rules say, their neighbours, the
 * middle of ranges, the numbers of named ports, and two far away. */
static size_t ports_of(const struct np_cluster *cl, int *v, size_t cap)
{
	size_t n = 0;
	add_port(v, &n, cap, 1);
	add_port(v, &n, cap, 65535);
	for (size_t i = 0; i < cl->npolicies; i++) {
		const struct np_policy *pol = cl->policies[i];
		for (int d = 0; d < 2; d++) {
			const struct np_rule *rs = d ? pol->egress : pol->ingress;
			size_t nr = d ? pol->negress : pol->ningress;
			for (size_t r = 0; r < nr; r++)
				for (size_t q = 0; q < rs[r].nports; q++) {
					const struct np_port_spec *sp = &rs[r].ports[q];
					if (sp->kind != PORT_NUMBER)
						continue;
					int lo = sp->port, hi = sp->end_port > lo ? sp->end_port : lo;
					add_port(v, &n, cap, lo - 1);
					add_port(v, &n, cap, lo);
					add_port(v, &n, cap, lo + 1);
					add_port(v, &n, cap, (lo + hi) / 2);
					add_port(v, &n, cap, hi - 1);
					add_port(v, &n, cap, hi);
					add_port(v, &n, cap, hi + 1);
				}
		}
	}
	for (size_t i = 0; i < cl->npods; i++)
		for (size_t j = 0; j < cl->pods[i]->nports; j++) {
			int p = cl->pods[i]->ports[j].port;
			add_port(v, &n, cap, p - 1);
			add_port(v, &n, cap, p);
			add_port(v, &n, cap, p + 1);
		}
	qsort(v, n, sizeof(*v), port_cmp);
	return n;
}

static const char *ifname_of(const struct nft_case *c, const struct np_pod *pod)
{
	for (size_t i = 0; i < c->neps; i++)
		if (c->eps[i].pod == pod)
			return c->eps[i].ifname;
	return NULL;
}

static const char *end_text(const struct end *e, char *buf, size_t len)
{
	char ip[64];
	ip_to_string(&e->ip, ip, sizeof(ip));
	if (e->pod)
		snprintf(buf, len, "%s/%s (%s, %s)", e->pod->meta.namespace ? e->pod->meta.namespace : "default",
			 e->pod->meta.name, ip, e->ifname ? e->ifname : "not on this node");
	else
		snprintf(buf, len, "outside %s", ip);
	return buf;
}

static void dir_text(const struct np_dir_verdict *d, char *buf, size_t len)
{
	if (!d->applies)
		snprintf(buf, len, "n/a");
	else if (!d->isolated)
		snprintf(buf, len, "not isolated");
	else if (!d->allowed)
		snprintf(buf, len, "denied (isolated by %zu)", d->nisolating);
	else
		snprintf(buf, len, "allowed by %s/%s rule %d peer %d port %d",
			 d->policy->meta.namespace ? d->policy->meta.namespace : "default",
			 d->policy->meta.name, d->rule, d->peer, d->port);
}

static const char *counted_text(const void *p, const struct sim *s)
{
	if (!p)
		return "(nothing)";
	/* a rule or element record (struct nft_rule), else an element text */
	for (size_t i = 0; i < s->nsets; i++)
		for (size_t j = 0; j < s->sets[i].ne; j++)
			if (s->sets[i].e[j].text == p)
				return s->sets[i].e[j].text;
	return ((const struct nft_rule *)p)->text;
}

struct ctx {
	const char *label;
	struct stats *st;
	const char *yaml;       /* printed with the first mismatch of a case */
	bool yaml_shown;
	unsigned sample;        /* > 1: one (source, destination) pair in sample */
};

static void report(struct ctx *x, struct sim *s, const struct pkt *k, const struct end *src,
		   const struct end *dst, const char *proto, const struct np_verdict *v,
		   const char *what)
{
	char a[160], b[160], e[200], i[200];
	struct sres r = {.tracing = true};
	x->st->mismatches++;
	if (x->st->mismatches > MAX_REPORTS)
		return;
	sim_run(s, k, &r);
	dir_text(&v->egress, e, sizeof(e));
	dir_text(&v->ingress, i, sizeof(i));
	printf("  %s: %s\n    flow %s -> %s %s/%d\n    engine: egress %s; ingress %s\n"
	       "    program: %s, counted egress on %s, ingress on %s\n    path:%s\n",
	       x->label, what, end_text(src, a, sizeof(a)), end_text(dst, b, sizeof(b)), proto,
	       k->dport, e, i, r.verdict == V_ACCEPT ? "accept" : "drop",
	       counted_text(r.last[1], s), counted_text(r.last[0], s), r.trace);
	if (x->yaml && !x->yaml_shown) {
		x->yaml_shown = true;
		printf("    input:\n%s\n", x->yaml);
	}
}

/* The attribution check of one direction the node enforced. */
static bool attribution_ok(const struct nft_prog *p, const struct np_pod *pod, bool egress,
			   const struct np_dir_verdict *d, const void *counted, char *why, size_t wl)
{
	const struct nft_rule *out[4];
	size_t n = nft_prog_attribute(p, pod, egress, d, out, 4);
	if (n != 1) {
		snprintf(why, wl, "nft_prog_attribute gave %zu rules for the %s verdict", n,
			 egress ? "egress" : "ingress");
		return false;
	}
	if ((const void *)out[0] != counted) {
		snprintf(why, wl, "%s counted elsewhere than on nft_prog_attribute's \"%s\"",
			 egress ? "egress" : "ingress", out[0]->text);
		return false;
	}
	return true;
}

/* What no policy decides: a pod sending from an address not its own, and
 * an interface of the pod prefix that has no program, are dropped, and
 * counted in no direction. false: the interpreter stopped. */
static bool fail_closed(struct ctx *x, struct sim *s, const struct pkt *flow, const struct end *src,
			const struct end *dst)
{
	struct pkt k[2] = {*flow, *flow};
	const char *what[2] = {NULL, NULL};
	int n = 0;
	k[0].proto = k[1].proto = 6;
	k[0].dport = k[1].dport = 80;
	if (src->ifname) {
		/* spoofed: the next address, never the pod's own */
		k[n].saddr = flow->saddr + 1;
		what[n++] = "a spoofed source address was not dropped";
	} else if (!dst->ifname) {
		k[n].iif = "npghost";
		what[n++] = "a pod interface without a program was not dropped (from)";
	}
	/* (from a pod of the node, its egress would count first) */
	if (!src->ifname && !dst->ifname) {
		k[n].oif = "npghost";
		what[n++] = "a pod interface without a program was not dropped (to)";
	}
	for (int i = 0; i < n; i++) {
		struct sres r = {0};
		if (sim_run(s, &k[i], &r) < 0)
			return false;
		x->st->fail_closed++;
		if (r.verdict != V_DROP || r.last[0] || r.last[1]) {
			struct np_verdict none = {0};
			report(x, s, &k[i], src, dst, "tcp", &none, what[i]);
		}
	}
	return true;
}

/* Every flow of the case: sources (pods of each address, outside
 * addresses) x destinations x ports x protocols. Returns false when the
 * interpreter could not run (s->err says why); mismatches are counted. */
static bool diff_case(struct nft_case *c, struct sim *s, struct ctx *x)
{
	static const int proto_num[NP_NPROTO] = {6, 17, 132};
	static const char *const proto_txt[NP_NPROTO] = {"tcp", "udp", "sctp"};
	const struct np_cluster *cl = c->cl;
	size_t nend = 0, cap = NOUTSIDE + MAX_EDGES + 1;
	int ports[512];
	size_t nports = ports_of(cl, ports, sizeof(ports) / sizeof(*ports));
	for (size_t i = 0; i < cl->npods; i++)
		cap += cl->pods[i]->nips;
	struct end *ends = calloc(cap, sizeof(*ends));
	bool ok = false;
	if (!ends)
		return false;
	for (size_t i = 0; i < cl->npods; i++)
		for (size_t j = 0; j < cl->pods[i]->nips; j++)
			ends[nend++] = (struct end){cl->pods[i], ifname_of(c, cl->pods[i]), cl->pods[i]->ips[j]};
	struct np_ip edges[MAX_EDGES];
	size_t nedges = block_edges(cl, edges);
	for (size_t i = 0; i < NOUTSIDE + nedges; i++) {
		struct end e = {0};
		if (i >= NOUTSIDE)
			e.ip = edges[i - NOUTSIDE];
		else if (ip_parse(outside_addrs[i], &e.ip) < 0)
			goto cleanup;
		bool taken = false;
		for (size_t j = 0; j < nend && !taken; j++)
			taken = ip_equal(&ends[j].ip, &e.ip);
		if (!taken)
			ends[nend++] = e;
	}
	for (size_t a = 0; a < nend; a++)
		for (size_t b = 0; b < nend; b++) {
			const struct end *src = &ends[a], *dst = &ends[b];
			if (x->sample > 1 && unit_rnd(x->sample))
				continue;
			if (src->ip.family != dst->ip.family || (!src->pod && !dst->pod) ||
			    (src->pod && src->pod == dst->pod))
				continue;
			struct np_endpoint es = {src->pod, src->ip}, ed = {dst->pod, dst->ip};
			struct pkt k = {src->ip.family, ip_u128(&src->ip), ip_u128(&dst->ip), 0, 0,
					src->ifname ? src->ifname : "eth0",
					dst->ifname ? dst->ifname : "eth1"};
			if (!fail_closed(x, s, &k, src, dst))
				goto cleanup;
			for (int pr = 0; pr < NP_NPROTO; pr++)
				for (size_t q = 0; q < nports; q++) {
					struct np_verdict v;
					struct sres r = {0};
					char why[400];
					k.proto = proto_num[pr];
					k.dport = ports[q];
					if (engine_evaluate(c->e, &es, &ed, (struct np_port){ports[q], (enum np_proto)pr},
							    &v) < 0) {
						snprintf(s->err, sizeof(s->err), "engine_evaluate failed");
						goto cleanup;
					}
					if (sim_run(s, &k, &r) < 0) {
						verdict_clear(&v);
						goto cleanup;
					}
					x->st->flows++;
					x->st->v6flows += k.family == AF_INET6;
					/* what this node enforces: the source's egress when the
					 * source is its endpoint, the destination's ingress alike */
					bool eg_on = src->ifname && v.egress.applies;
					bool in_on = dst->ifname && v.ingress.applies;
					bool eg_ok = !eg_on || v.egress.allowed;
					bool want = eg_ok && (!in_on || v.ingress.allowed);
					bool got = r.verdict == V_ACCEPT;
					want ? x->st->allowed++ : x->st->denied++;
					if (want != got) {
						snprintf(why, sizeof(why), "verdicts differ: engine %s, program %s",
							 want ? "allows" : "denies", got ? "accepts" : "drops");
						report(x, s, &k, src, dst, proto_txt[pr], &v, why);
						verdict_clear(&v);
						continue;
					}
					/* attribution: egress when enforced and isolated; ingress
					 * when the packet got there */
					bool eg_att = eg_on && v.egress.isolated;
					bool in_att = eg_ok && in_on && v.ingress.isolated;
					if (eg_att && !attribution_ok(c->prog, src->pod, true, &v.egress, r.last[1],
								      why, sizeof(why)))
						report(x, s, &k, src, dst, proto_txt[pr], &v, why);
					else if (!eg_att && r.last[1])
						report(x, s, &k, src, dst, proto_txt[pr], &v,
						       "counted in egress though the node does not police it");
					else if (in_att && !attribution_ok(c->prog, dst->pod, false, &v.ingress,
									   r.last[0], why, sizeof(why)))
						report(x, s, &k, src, dst, proto_txt[pr], &v, why);
					else if (!in_att && r.last[0])
						report(x, s, &k, src, dst, proto_txt[pr], &v,
						       "counted in ingress though the node does not police it");
					else {
						x->st->attributed += (size_t)eg_att + (size_t)in_att;
						if (eg_att)
							cover(x->st, true, &v.egress);
						if (in_att)
							cover(x->st, false, &v.ingress);
					}
					verdict_clear(&v);
				}
		}
	ok = true;
cleanup:
	free(ends);
	return ok;
}

/* Loads, builds the interpreter, runs every flow. false: could not run. */
static bool diff_text(const char *label, const char *yaml, struct stats *st, bool show_yaml,
		      unsigned sample)
{
	struct nft_case c;
	struct sim s;
	char *err = NULL;
	struct ctx x = {label, st, show_yaml ? yaml : NULL, false, sample};
	if (nft_case_load(label, yaml, &c, &err) < 0) {
		printf("  %s: load: %s\n", label, err ? err : "?");
		if (show_yaml)
			printf("    input:\n%s\n", yaml);
		free(err);
		nft_case_clear(&c);
		return false;
	}
	free(err);
	bool ok = sim_build(c.prog, &s) == 0 && diff_case(&c, &s, &x);
	if (!ok)
		printf("  %s: the interpreter stopped: %s\n", label, s.err);
	st->rounds++;
	sim_free(&s);
	nft_case_clear(&c);
	return ok;
}

/* ==== random clusters ======================================================= */

struct cport {
	const char *name;
	int port;
	const char *proto;
};

/* Names on several numbers and protocols: "http" 80 and 8080 over TCP and
 * UDP, "dns" 53 and 5353, "web" TCP and UDP on other numbers. */
static const struct cport cports[] = {
	{"http", 80, "TCP"},     {"http", 8080, "TCP"},  {"http", 8080, "UDP"},
	{"dns", 53, "UDP"},      {"dns", 53, "TCP"},     {"dns", 5353, "UDP"},
	{"metrics", 9090, "TCP"}, {"metrics", 9100, "TCP"}, {NULL, 443, "TCP"},
	{"web", 5005, "TCP"},    {"web", 5007, "UDP"},   {"sx", 7000, "SCTP"},
};
#define NCPORTS (sizeof(cports) / sizeof(*cports))

struct gpod {
	unsigned ns, app, role, net, v6net;
	bool dual, local;
	unsigned ports;      /* bits of cports */
};

static const char *const apps[] = {"a", "b", "c"};
static const char *const roles[] = {"x", "y"};
static const char *const teams[] = {"red", "blue"};

static void gen_peer(FILE *m, const struct gpod *pods, unsigned npods, unsigned nns)
{
	const struct gpod *p = &pods[unit_rnd(npods)];
	switch (unit_rnd(11)) {
	case 0:
		fprintf(m, "{podSelector: {matchLabels: {app: %s}}}", apps[unit_rnd(3)]);
		break;
	case 1:
		fprintf(m, "{podSelector: {}}");
		break;
	case 2:
		fprintf(m, "{namespaceSelector: {matchLabels: {team: %s}}}", teams[unit_rnd(2)]);
		break;
	case 3:
		fprintf(m, "{namespaceSelector: {}}");
		break;
	case 4:
		fprintf(m, "{namespaceSelector: {matchLabels: {team: %s}}, podSelector: {matchLabels: {app: %s}}}",
			teams[unit_rnd(2)], apps[unit_rnd(3)]);
		break;
	case 5:
		/* n<nns> is never declared: implicit, with its name label only */
		fprintf(m, "{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: n%u}}, "
			   "podSelector: {matchExpressions: [{key: role, operator: %s}]}}",
			unit_rnd(nns + 1), unit_rnd(2) ? "Exists" : "DoesNotExist");
		break;
	case 6:
		fprintf(m, "{namespaceSelector: {matchExpressions: [{key: env, operator: %s}]}, "
			   "podSelector: {matchExpressions: [{key: app, operator: NotIn, values: [%s]}]}}",
			unit_rnd(2) ? "Exists" : "DoesNotExist", apps[unit_rnd(3)]);
		break;
	default: {
		unsigned i = (unsigned)(p - pods);
		switch (unit_rnd(14)) {
		case 0:
			fprintf(m, "{ipBlock: {cidr: \"198.18.0.0/16\", except: [\"198.18.1.0/24\"]}}");
			break;
		case 11:
			/* excepts that overlap, one of them the whole block's half */
			fprintf(m, "{ipBlock: {cidr: \"198.18.%u.0/24\", except: [\"198.18.%u.0/25\", "
				   "\"198.18.%u.%u/28\", \"198.18.%u.%u/32\"]}}",
				p->net, p->net, p->net, 16 * unit_rnd(16), p->net, 10 + i);
			break;
		case 12:
			fprintf(m, "{ipBlock: {cidr: \"2001:db8:%u::/48\", except: [\"2001:db8:%u::%x/128\"]}}",
				p->v6net, p->v6net, 0x10 + i);
			break;
		case 13:
			/* host bits set: the block is the /26 they are in */
			fprintf(m, "{ipBlock: {cidr: \"198.18.%u.%u/26\"}}", p->net, 10 + i);
			break;
		case 1:
			fprintf(m, "{ipBlock: {cidr: \"198.18.%u.0/24\"}}", unit_rnd(3));
			break;
		case 2:
			fprintf(m, "{ipBlock: {cidr: \"198.18.%u.%u/32\"}}", p->net, 10 + i);
			break;
		case 3:
			fprintf(m, "{ipBlock: {cidr: \"198.18.0.0/16\", except: [\"198.18.%u.%u/32\", "
				   "\"198.18.2.0/24\"]}}", p->net, 10 + i);
			break;
		case 4:
			fprintf(m, "{ipBlock: {cidr: \"203.0.113.0/24\", except: [\"203.0.113.128/25\"]}}");
			break;
		case 5:
			fprintf(m, "{ipBlock: {cidr: \"203.0.113.0/25\"}}");
			break;
		case 6:
			fprintf(m, "{ipBlock: {cidr: \"0.0.0.0/0\", except: [\"198.18.0.0/16\"]}}");
			break;
		case 7:
			fprintf(m, "{ipBlock: {cidr: \"0.0.0.0/0\"}}");
			break;
		case 8:
			fprintf(m, "{ipBlock: {cidr: \"2001:db8::/32\", except: [\"2001:db8:1::/48\"]}}");
			break;
		case 9:
			fprintf(m, "{ipBlock: {cidr: \"2001:db8:%u::/48\"}}", unit_rnd(3));
			break;
		default:
			fprintf(m, "{ipBlock: {cidr: \"::/0\", except: [\"2001:db8::/32\"]}}");
			break;
		}
	}
	}
}

/* Narrow clusters: every rule names ports, none a whole protocol, so that
 * single ports, ranges and named ports decide more flows (wide allows
 * hide them otherwise). */
static bool narrow;
/* Large clusters: 70-150 pods (more than 64 addresses take another path
 * through the compiler's sorting), more policies; flows are sampled. */
static bool large;
#define MAXPODS 150

static void gen_port(FILE *m)
{
	static const int nums[] = {53, 80, 443, 5000, 5005, 8080, 9090};
	static const int starts[] = {5000, 5003, 8000, 79, 9000};
	static const char *const names[] = {"http", "dns", "metrics", "web", "http", "nope"};
	unsigned k = unit_rnd(12);
	if (narrow && (k == 2 || k == 3))
		k = 4 + unit_rnd(5);
	switch (k) {
	case 0:
		fprintf(m, "{port: %d}", nums[unit_rnd(7)]);
		break;
	case 1:
		fprintf(m, "{protocol: UDP, port: %d}", nums[unit_rnd(7)]);
		break;
	case 2:
		fprintf(m, "{protocol: TCP}");
		break;
	case 3:
		fprintf(m, "{protocol: UDP}");
		break;
	case 4: {
		int a = starts[unit_rnd(5)];
		fprintf(m, "{port: %d, endPort: %d}", a, a + 1 + (int)unit_rnd(8));
		break;
	}
	case 5: {
		int a = starts[unit_rnd(5)];
		fprintf(m, "{protocol: UDP, port: %d, endPort: %d}", a, a + (int)unit_rnd(6));
		break;
	}
	case 6:
	case 10:
		fprintf(m, "{port: %s}", names[unit_rnd(6)]);
		break;
	case 7:
		fprintf(m, "{protocol: UDP, port: %s}", names[unit_rnd(6)]);
		break;
	case 8:
	case 11:
		fprintf(m, "{protocol: TCP, port: %s}", names[unit_rnd(6)]);
		break;
	default:
		switch (narrow ? 1 + unit_rnd(2) : unit_rnd(3)) {
		case 0: fprintf(m, "{protocol: SCTP}"); break;
		case 1: fprintf(m, "{protocol: SCTP, port: 7000}"); break;
		default: fprintf(m, "{protocol: SCTP, port: sx}"); break;
		}
		break;
	}
}

static void gen_rules(FILE *m, const char *key, const char *peers, const struct gpod *pods,
		      unsigned npods, unsigned nns)
{
	unsigned n = unit_rnd(4);
	fprintf(m, "  %s:%s\n", key, n ? "" : " []");
	for (unsigned r = 0; r < n; r++) {
		unsigned np = unit_rnd(4) == 0 ? 0 : 1 + unit_rnd(3);
		unsigned nq = !narrow && unit_rnd(4) == 0 ? 0 : 1 + unit_rnd(3);
		const char *lead = "  - ";
		if (np) {
			fprintf(m, "%s%s:\n", lead, peers);
			for (unsigned j = 0; j < np; j++) {
				fprintf(m, "    - ");
				gen_peer(m, pods, npods, nns);
				fprintf(m, "\n");
			}
			lead = "    ";
		}
		if (nq) {
			fprintf(m, "%sports:\n", lead);
			for (unsigned j = 0; j < nq; j++) {
				fprintf(m, "    - ");
				gen_port(m);
				fprintf(m, "\n");
			}
		}
		if (!np && !nq)
			fprintf(m, "  - {}\n");
	}
}

/* A cluster of 2-3 namespaces, 4-8 pods (some of this node), 1-5
 * policies; a fixed seed gives the same text. */
static char *gen_yaml(unsigned seed)
{
	struct gpod pods[MAXPODS];
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (!m)
		return NULL;
	unit_rng = 0x9E3779B97F4A7C15ULL * (seed + 1);
	unsigned nns = 2 + unit_rnd(2), npods = 4 + unit_rnd(5), npol = 1 + unit_rnd(5);
	/* pods of namespace n<nns> (never declared) come out implicit */
	if (large) {
		npods = 70 + unit_rnd(MAXPODS - 69);
		npol = 4 + unit_rnd(9);
	}
	bool any_local = false;
	for (unsigned i = 0; i < npods; i++) {
		struct gpod *p = &pods[i];
		p->ns = unit_rnd(8) ? unit_rnd(nns) : nns;
		p->app = unit_rnd(3);
		p->role = unit_rnd(3);   /* 2: none */
		p->net = unit_rnd(3);
		p->v6net = unit_rnd(3);
		p->local = large ? unit_rnd(3) == 0 : unit_rnd(2);
		/* a local pod of one family cannot receive the other's flows */
		p->dual = unit_rnd(p->local ? 2 : 3) == 0;
		p->ports = 0;
		for (unsigned k = unit_rnd(5); k; k--)
			p->ports |= 1u << unit_rnd(NCPORTS);
		any_local |= p->local;
	}
	if (!any_local)
		pods[0].local = true;
	fprintf(m, "# %s%sseed %u\n", narrow ? "narrow " : "", large ? "large " : "", seed);
	for (unsigned i = 0; i < npods; i++)
		if (pods[i].local)
			fprintf(m, "# endpoint: n%u/p%u npp%u\n", pods[i].ns, i, i);
	for (unsigned i = 0; i < nns; i++) {
		fprintf(m, "apiVersion: v1\nkind: Namespace\nmetadata: {name: n%u, labels: {team: %s",
			i, teams[unit_rnd(2)]);
		if (unit_rnd(2))
			fprintf(m, ", env: prod");
		fprintf(m, "}}\n---\n");
	}
	for (unsigned i = 0; i < npods; i++) {
		const struct gpod *p = &pods[i];
		fprintf(m, "apiVersion: v1\nkind: Pod\nmetadata: {name: p%u, namespace: n%u, labels: {app: %s",
			i, p->ns, apps[p->app]);
		if (p->role < 2)
			fprintf(m, ", role: %s", roles[p->role]);
		fprintf(m, "}}\n");
		if (p->ports) {
			/* a random order: the first declaration of a name (and
			 * protocol) wins; names are unique within a container, so a
			 * name met again opens another container */
			unsigned start = unit_rnd(NCPORTS), seen = 0, nc = 0;
			fprintf(m, "spec:\n  containers:\n");
			for (unsigned k = 0; k < NCPORTS; k++) {
				unsigned idx = (start + k) % NCPORTS;
				const struct cport *cp = &cports[idx];
				if (!(p->ports & (1u << idx)))
					continue;
				bool again = false;
				for (unsigned j = 0; j < NCPORTS && cp->name; j++)
					again |= (seen & (1u << j)) && cports[j].name &&
						 !strcmp(cports[j].name, cp->name);
				if (!nc || again) {
					fprintf(m, "  - name: c%u\n    image: x\n    ports:\n", nc++);
					seen = 0;
				}
				seen |= 1u << idx;
				fprintf(m, "    - {containerPort: %d, protocol: %s", cp->port, cp->proto);
				if (cp->name)
					fprintf(m, ", name: %s", cp->name);
				fprintf(m, "}\n");
			}
		}
		if (p->dual)
			fprintf(m, "status: {podIPs: [{ip: 198.18.%u.%u}, {ip: \"2001:db8:%u::%x\"}]}\n---\n",
				p->net, 10 + i, p->v6net, 0x10 + i);
		else
			fprintf(m, "status: {podIP: 198.18.%u.%u}\n---\n", p->net, 10 + i);
	}
	for (unsigned i = 0; i < npol; i++) {
		unsigned types = unit_rnd(4);   /* 0: not written */
		fprintf(m, "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
			   "metadata: {name: pol%u, namespace: n%u}\nspec:\n", i, unit_rnd(8) ? unit_rnd(nns) : nns);
		switch (unit_rnd(4)) {
		case 0:
			fprintf(m, "  podSelector: {}\n");
			break;
		case 1:
			fprintf(m, "  podSelector: {matchExpressions: [{key: app, operator: In, values: [%s, %s]}]}\n",
				apps[unit_rnd(3)], apps[unit_rnd(3)]);
			break;
		default:
			fprintf(m, "  podSelector: {matchLabels: {app: %s}}\n", apps[unit_rnd(3)]);
			break;
		}
		if (types)
			fprintf(m, "  policyTypes: [%s]\n",
				types == 1 ? "Ingress" : types == 2 ? "Egress" : "Ingress, Egress");
		if (types != 2 && unit_rnd(5))
			gen_rules(m, "ingress", "from", pods, npods, nns);
		if (types >= 2 || (types == 0 && unit_rnd(2)))
			gen_rules(m, "egress", "to", pods, npods, nns);
		fprintf(m, "---\n");
	}
	fclose(m);
	return buf;
}

/* ==== tests ================================================================= */

/* A sanitized build (ASan + UBSan, about ten times slower) runs a third of
 * the rounds: the same code paths, in a few seconds. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifdef SANITIZED
#define ROUNDS 100
#define LARGE_ROUNDS 4
#else
#define ROUNDS 300
#define LARGE_ROUNDS 12
#endif

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void random_clusters(bool narrow_rules, bool large_clusters, unsigned rounds,
			    unsigned sample)
{
	struct stats st = {0};
	double t0 = now();
	size_t stopped = 0;
	/* NFT_SIM_ROUNDS=N: N times the rounds, for a longer search by hand */
	const char *more = getenv("NFT_SIM_ROUNDS");
	if (more && atoi(more) > 0)
		rounds *= (unsigned)atoi(more);
	narrow = narrow_rules;
	large = large_clusters;
	for (unsigned seed = 1; seed <= rounds; seed++) {
		char label[48], *yaml = gen_yaml(seed);
		size_t before = st.mismatches;
		CHECK(yaml);
		snprintf(label, sizeof(label), "%s%sseed %u", narrow ? "narrow " : "",
			 large ? "large " : "", seed);
		if (!diff_text(label, yaml, &st, true, sample))
			stopped++;
		else if (st.mismatches > before && before < MAX_REPORTS)
			printf("  seed %u: %zu mismatches\n", seed, st.mismatches - before);
		free(yaml);
	}
	printf("  %zu rounds, %zu flows (%zu IPv6; %zu allowed, %zu denied), %zu attributions, "
	       "%zu spoofed or unknown-interface packets, %.2f s\n", st.rounds, st.flows, st.v6flows,
	       st.allowed, st.denied, st.attributed, st.fail_closed, now() - t0);
	print_cover(&st);
	CHECK_INT(stopped, 0);
	CHECK_INT(st.mismatches, 0);
	CHECK(st.allowed > 0 && st.denied > 0 && st.attributed > 0 && st.v6flows > 0 &&
	      st.fail_closed > 0);
	for (int d = 0; d < 2; d++)
		for (int k = 0; k < NCOVER; k++)
			if (!narrow_rules || (k != CV_PROTO && k != CV_ALLPORTS))
				CHECK(st.cover[d][k] > 0);
}

TEST(random_clusters_program_agrees_with_engine)
{
	random_clusters(false, false, ROUNDS, 1);
}

TEST(random_narrow_clusters_program_agrees_with_engine)
{
	random_clusters(true, false, ROUNDS, 1);
}

TEST(random_large_clusters_program_agrees_with_engine)
{
	random_clusters(false, true, LARGE_ROUNDS, 40);
}

static int name_qcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The golden cases and the dual-stack case of suite.sh: real layouts. */
TEST(golden_cases_program_agrees_with_engine)
{
	DIR *d = opendir(NFT_GOLDEN_DIR);
	char *names[64];
	size_t n = 0, stopped = 0;
	struct stats st = {0};
	CHECK(d);
	for (struct dirent *e; (e = readdir(d)) && n < 63;) {
		size_t l = strlen(e->d_name);
		if (l > 5 && !strcmp(e->d_name + l - 5, ".yaml") &&
		    asprintf(&names[n], NFT_GOLDEN_DIR "/%s", e->d_name) >= 0)
			n++;
	}
	closedir(d);
	if (asprintf(&names[n], NFT_GOLDEN_DIR "/../dual-stack.yaml") >= 0)
		n++;
	qsort(names, n, sizeof(*names), name_qcmp);
	for (size_t i = 0; i < n; i++) {
		char *text = nft_case_slurp(names[i]);
		unit_rng = 0x9E3779B97F4A7C15ULL * (i + 1);   /* the choice of block edges */
		if (!text || !diff_text(strrchr(names[i], '/') + 1, text, &st, false, 1))
			stopped++;
		free(text);
		free(names[i]);
	}
	printf("  %zu cases, %zu flows (%zu IPv6), %zu attributions\n", st.rounds, st.flows,
	       st.v6flows, st.attributed);
	print_cover(&st);
	CHECK(n >= 14);
	CHECK_INT(stopped, 0);
	CHECK_INT(st.mismatches, 0);
	CHECK(st.flows > 1000 && st.attributed > 0);
}

/* The check can fail: a program missing one allow element disagrees with
 * the engine; a rule the interpreter does not know stops it. */
static const char mutated_case[] =
	"# endpoint: default/web npweb\n"
	"# endpoint: default/client npclient\n"
	"apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: default, labels: {app: web}}\n"
	"status: {podIP: 198.18.0.10}\n---\n"
	"apiVersion: v1\nkind: Pod\nmetadata: {name: client, namespace: default, labels: {app: client}}\n"
	"status: {podIP: 198.18.0.11}\n---\n"
	"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
	"metadata: {name: web, namespace: default}\n"
	"spec:\n  podSelector: {matchLabels: {app: web}}\n"
	"  ingress:\n  - from: [{podSelector: {matchLabels: {app: client}}}]\n"
	"    ports: [{port: 80}, {port: 5000, endPort: 5010}]\n";

static struct nft_set *find_set(struct nft_prog *p, const char *prefix, const char *suffix)
{
	for (size_t i = 0; i < p->nsets; i++) {
		const char *n = p->sets[i]->name;
		size_t l = strlen(n), sl = strlen(suffix);
		if (!strncmp(n, prefix, strlen(prefix)) && l > sl && !strcmp(n + l - sl, suffix) &&
		    p->sets[i]->nelems)
			return p->sets[i];
	}
	return NULL;
}

TEST(a_wrong_program_is_caught)
{
	struct nft_case c;
	struct sim s;
	struct stats st = {0};
	struct ctx x = {"mutated", &st, NULL, false, 1};
	char *err = NULL;
	int rc = nft_case_load("mutated", mutated_case, &c, &err);
	unit_rng = 1;
	free(err);
	CHECK(rc == 0);
	/* as compiled: no mismatch */
	CHECK(sim_build(c.prog, &s) == 0);
	CHECK(diff_case(&c, &s, &x));
	sim_free(&s);
	CHECK_INT(st.mismatches, 0);
	/* one allow element less: port 80 is dropped where the engine allows */
	struct nft_set *m = find_set(c.prog, "in-c", "-p");
	CHECK(m && m->nelems == 1);
	char *gone = m->elems[0];
	m->nelems = 0;
	printf("  (expected mismatches follow)\n");
	CHECK(sim_build(c.prog, &s) == 0);
	CHECK(diff_case(&c, &s, &x));
	sim_free(&s);
	m->elems[0] = gone;
	m->nelems = 1;
	CHECK(st.mismatches > 0);
	/* the range element re-pointed to another allow: verdicts agree, the
	 * attribution does not */
	size_t before = st.mismatches;
	struct nft_set *r = find_set(c.prog, "in-c", "-r");
	CHECK(r && r->nelems == 1);
	char *orig = r->elems[0], *moved = NULL;
	CHECK(asprintf(&moved, "%.*s: goto %s", (int)(strstr(orig, ": goto ") - orig), orig,
		       strstr(m->elems[0], ": goto ") + 7) > 0);
	r->elems[0] = moved;
	CHECK(sim_build(c.prog, &s) == 0);
	CHECK(diff_case(&c, &s, &x));
	sim_free(&s);
	r->elems[0] = orig;
	free(moved);
	CHECK(st.mismatches > before);
	/* a rule text the interpreter does not know: it stops */
	struct nft_chain *fwd = NULL;
	for (size_t i = 0; i < c.prog->nchains; i++)
		if (!strcmp(c.prog->chains[i]->name, "forward"))
			fwd = c.prog->chains[i];
	CHECK(fwd && fwd->nrules > 0);
	char *text = fwd->rules[0].text, unknown[] = "meta mark 0x1 accept";
	fwd->rules[0].text = unknown;
	rc = sim_build(c.prog, &s);
	fwd->rules[0].text = text;
	CHECK(rc < 0 && strstr(s.err, "unknown expression"));
	sim_free(&s);
	/* a port range in a map without flags interval: nft would refuse it */
	char *flags = r->flags;
	r->flags = NULL;
	rc = sim_build(c.prog, &s);
	r->flags = flags;
	CHECK(rc < 0 && strstr(s.err, "without flags interval"));
	sim_free(&s);
	nft_case_clear(&c);
}
