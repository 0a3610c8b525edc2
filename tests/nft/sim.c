/* sim: the interpreter (sim.h says what it reads and refuses). */
#include "sim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static int sim_fail(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sim_fail(struct sim *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	return -1;
}

void sim_free(struct sim *s)
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

int sim_build(const struct nft_prog *p, struct sim *s)
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
int sim_run(struct sim *s, const struct pkt *k, struct sres *r)
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
