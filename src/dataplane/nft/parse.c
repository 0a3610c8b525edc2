/* parse: a table as `nft list table` prints it, back into a program, so
 * that a restarted agent can diff what the kernel holds against what it
 * wants. Anything we would not have written (a flowtable, a set with a
 * timeout, ...) is an error: the caller then replaces the table whole
 * rather than guess. */
#include "nft_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct pctx {
	const char *p;          /* the next line */
	int line;               /* its number, 1-based */
	struct diag_list *diags;
	struct nft_prog *prog;
};

static int perr(struct pctx *c, const char *what, const char *text)
{
	if (c->diags)
		diag_add(c->diags, DIAG_ERROR, "nft listing", c->line, 0, NULL, "%s: \"%.60s\"",
			 what, text);
	return -EINVAL;
}

/* The next line without leading and trailing blanks (NULL at the end).
 * Caller frees. */
static char *next_line(struct pctx *c)
{
	const char *s = c->p, *e;
	if (!*s)
		return NULL;
	e = strchr(s, '\n');
	c->p = e ? e + 1 : s + strlen(s);
	c->line++;
	if (!e)
		e = s + strlen(s);
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	return strndup(s, (size_t)(e - s));
}

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* What netpol names things with: nft's identifier characters. */
static bool name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 255 || !(isalpha((unsigned char)*s) || *s == '_' || *s == '.'))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_./-", *s))
			return false;
	return true;
}

/* Text we could have written: no braces or control characters, quotes
 * paired. */
static bool text_ok(const char *s)
{
	bool quoted = false;
	for (; *s; s++) {
		quoted ^= *s == '"';
		if (*s == '{' || *s == '}' || (unsigned char)*s < 0x20)
			return false;
	}
	return !quoted;
}

/* A rule we could have written: as text_ok, but anonymous sets "{ ... }"
 * (not nested) are allowed. */
static bool rule_ok(const char *s)
{
	bool quoted = false, inset = false;
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20)
			return false;
		quoted ^= *s == '"';
		if (quoted || (*s != '{' && *s != '}'))
			continue;
		if (inset == (*s == '{'))
			return false;
		inset = !inset;
	}
	return !quoted && !inset;
}

/* NAME from "KEYWORD NAME {", when NAME is a valid name. */
static char *block_name(const char *line, const char *keyword)
{
	const char *s = line + strlen(keyword);
	size_t n = strlen(s);
	if (n < 3 || strcmp(s + n - 2, " {") != 0)
		return NULL;
	char *name = strndup(s, n - 2);
	if (name && !name_ok(name)) {
		free(name);
		name = NULL;
	}
	return name;
}

/* X from 'comment "X"', when X has no quote. */
static char *unquote(const char *s)
{
	const char *a = strchr(s, '"');
	size_t n = a ? strlen(a) : 0;
	if (n < 2 || a[n - 1] != '"' || memchr(a + 1, '"', n - 2))
		return NULL;
	return strndup(a + 1, n - 2);
}

/* Only printable ASCII and line breaks: nft prints nothing else for us. */
static bool printable(const char *s)
{
	for (; *s; s++)
		if (!(*s >= 0x20 && *s < 0x7f) && *s != '\n' && *s != '\t' && *s != '\r')
			return false;
	return true;
}

/* ---- elements ---------------------------------------------------------------- */

/* The text between "{" and its "}" (outside quotes), which may go on over
 * the following lines. Caller frees. */
static char *braced(struct pctx *c, const char *first)
{
	struct sb b = {0};
	const char *q = strchr(first, '{');
	char *line = NULL;
	bool quoted = false;
	if (!q)
		return NULL;
	for (q++;;) {
		if (!*q) {
			free(line);
			if (!(line = next_line(c)))
				break;
			q = line;
			sb_add(&b, " ");
			continue;
		}
		quoted ^= *q == '"';
		if (!quoted && *q == '}') {
			free(line);
			return sb_take(&b);
		}
		char ch[2] = {*q++, 0};
		sb_add(&b, ch);
	}
	sb_clear(&b);
	return NULL;
}

/* Adds the comma-separated members of text (commas in quotes are not
 * separators) to s. */
static int split_elems(struct nft_set *s, char *text)
{
	bool quoted = false;
	char *start = text;
	for (char *q = text;; q++) {
		quoted ^= *q == '"';
		if (*q && (quoted || *q != ','))
			continue;
		bool last = !*q;
		*q = '\0';
		while (*start == ' ')
			start++;
		size_t l = strlen(start);
		while (l && start[l - 1] == ' ')
			start[--l] = '\0';
		if (*start && !text_ok(start))
			return -EINVAL;
		int err = 0;
		if (*start && strstr(start, " counter packets ")) {
			/* an element's counter: kept aside, the text as we write it */
			uint64_t pk = 0, by = 0;
			char *canon = nft_rule_normalise(start, &pk, &by);
			struct nft_rule *r = canon ? nft_set_add_attr(s, canon) : NULL;
			if (r) {
				r->packets = pk;
				r->bytes = by;
			}
			err = r ? nft_set_add_elem(s, canon) : -ENOMEM;
			if (!r)
				free(canon);
		} else if (*start) {
			err = nft_set_add_elem(s, strdup(start));
		}
		if (err < 0 || last)
			return err;
		start = q + 1;
	}
}

/* ---- blocks ------------------------------------------------------------------------ */

struct set_decl {
	char *type, *flags, *comment;
	bool counter;
};

/* The declaration lines of a set, up to its elements or its end; *line
 * gets the line that ended it. */
static int read_set_decl(struct pctx *c, struct set_decl *d, char **line)
{
	while ((*line = next_line(c))) {
		char *l = *line, **slot = NULL, *val = NULL;
		if (!strcmp(l, "}") || starts(l, "elements = "))
			return d->type ? 0 : perr(c, "set without a type", l);
		if (!strcmp(l, "counter") && !d->counter) {
			d->counter = true;
			free(l);
			continue;
		}
		if (starts(l, "type "))
			slot = &d->type, val = strdup(l + 5);
		else if (starts(l, "flags "))
			slot = &d->flags, val = strdup(l + 6);
		else if (starts(l, "comment "))
			slot = &d->comment, val = unquote(l);
		if (*l && (!slot || *slot || !val || !text_ok(val))) {
			free(val);
			return perr(c, "unexpected in a set", l);
		}
		if (slot)
			*slot = val;
		free(l);
	}
	return perr(c, "unterminated set", "");
}

static int read_set(struct pctx *c, const char *name, bool map)
{
	struct set_decl d = {0};
	struct nft_set *s = NULL;
	char *line = NULL, *elems = NULL;
	int err = read_set_decl(c, &d, &line);
	if (err < 0)
		goto cleanup;
	err = -ENOMEM;
	if (!(s = nft_set_new(name, map, d.type, d.flags, NULL)) ||
	    (d.comment && !(s->comment = strdup(d.comment))))
		goto cleanup;
	s->counter = d.counter;
	err = 0;
	if (starts(line, "elements = ")) {
		if (!(elems = braced(c, line)))
			err = perr(c, "unterminated elements", line);
		else if ((err = split_elems(s, elems)) == -EINVAL)
			err = perr(c, "not an element netpol writes", elems);
		else if (err == 0) {
			free(line);
			if (!(line = next_line(c)) || strcmp(line, "}") != 0)
				err = perr(c, "expected } after elements", line ? line : "");
		}
	}
	if (!err) {
		err = nft_prog_add_set(c->prog, s);
		s = NULL;
	}
cleanup:
	nft_set_free(s);
	free(line);
	free(elems);
	free(d.type);
	free(d.flags);
	free(d.comment);
	return err;
}

static int read_chain(struct pctx *c, const char *name)
{
	struct nft_chain *ch = nft_chain_new(name, NULL, NULL);
	char *line = NULL;
	int err = 0;
	if (!ch)
		return -ENOMEM;
	while (!err && (line = next_line(c))) {
		if (!strcmp(line, "}"))
			break;
		if (!rule_ok(line)) {
			err = perr(c, "not a rule netpol writes", line);
		} else if (starts(line, "type ") || starts(line, "comment ")) {
			/* declarations come first, once; no rule starts so */
			char **slot = starts(line, "type ") ? &ch->hook : &ch->comment;
			if (*slot || ch->nrules)
				err = perr(c, "unexpected in a chain", line);
			else if (!(*slot = slot == &ch->hook ? strdup(line) : unquote(line)))
				err = perr(c, "bad declaration", line);
		} else if (*line) {
			uint64_t pk = 0, by = 0;
			struct nft_rule *r = nft_chain_add(ch, nft_rule_normalise(line, &pk, &by));
			if (!r)
				err = -ENOMEM;
			else
				r->packets = pk, r->bytes = by;
		}
		free(line);
		line = NULL;
	}
	if (!err && !line)
		err = perr(c, "unterminated chain", name);
	free(line);
	if (err) {
		nft_chain_free(ch);
		return err;
	}
	return nft_prog_add_chain(c->prog, ch);
}

static int read_table(struct pctx *c)
{
	char *line;
	int err = 0;
	while (!err && (line = next_line(c))) {
		char *name = NULL;
		if (!strcmp(line, "}")) {
			free(line);
			return 0;
		}
		if (starts(line, "set ") && (name = block_name(line, "set ")))
			err = read_set(c, name, false);
		else if (starts(line, "map ") && (name = block_name(line, "map ")))
			err = read_set(c, name, true);
		else if (starts(line, "chain ") && (name = block_name(line, "chain ")))
			err = read_chain(c, name);
		else if (*line)
			err = perr(c, "not something netpol writes", line);
		free(name);
		free(line);
	}
	return err ? err : perr(c, "unterminated table", "");
}

/* Two sets or two chains of one name cannot be in a table. */
static int check_unique(struct pctx *c)
{
	const struct nft_prog *p = c->prog;
	for (size_t i = 1; i < p->nsets; i++)
		if (!strcmp(p->sets[i - 1]->name, p->sets[i]->name))
			return perr(c, "set declared twice", p->sets[i]->name);
	for (size_t i = 1; i < p->nchains; i++)
		if (!strcmp(p->chains[i - 1]->name, p->chains[i]->name))
			return perr(c, "chain declared twice", p->chains[i]->name);
	return 0;
}

int nft_prog_parse(const char *text, struct nft_prog **out, struct diag_list *diags)
{
	struct pctx c = {.p = text, .diags = diags};
	char *line = NULL, *table = NULL;
	int err;
	*out = NULL;
	if (!printable(text))
		return perr(&c, "not text nft prints", "");
	while ((line = next_line(&c)) && (!*line || *line == '#'))
		free(line);
	if (!line || !starts(line, "table inet ") || !(table = block_name(line, "table inet "))) {
		err = perr(&c, "expected \"table inet NAME {\"", line ? line : "");
		goto cleanup;
	}
	err = -ENOMEM;
	if (!(c.prog = nft_prog_new(table)))
		goto cleanup;
	if ((err = read_table(&c)) < 0)
		goto cleanup;
	nft_prog_finish(c.prog);
	if ((err = check_unique(&c)) < 0)
		goto cleanup;
	*out = c.prog;
	c.prog = NULL;
cleanup:
	nft_prog_free(c.prog);
	free(line);
	free(table);
	return err;
}
