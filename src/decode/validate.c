/* validate: field errors in the shapes the Kubernetes API server uses, and
 * the value rules of apimachinery and pkg/apis/{core,networking}/validation
 * for the fields netpol decodes. Messages are our own words, kept short. */
#include "decode_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- error shapes ------------------------------------------------------------ */

/* Go's %q for the ASCII range; other bytes pass through (UTF-8 text stays
 * readable). */
char *validate_quote(const char *s)
{
	size_t len = strlen(s);
	char *out = malloc(len * 4 + 3), *p = out;
	if (!out)
		return NULL;
	*p++ = '"';
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			p += sprintf(p, "\\%c", ch);
		else if (ch == '\n')
			p += sprintf(p, "\\n");
		else if (ch == '\t')
			p += sprintf(p, "\\t");
		else if (ch == '\r')
			p += sprintf(p, "\\r");
		else if (ch < 0x20 || ch == 0x7f)
			p += sprintf(p, "\\x%02x", ch);
		else
			*p++ = (char)ch;
	}
	*p++ = '"';
	*p = '\0';
	return out;
}

/* Appends ".child" to the path for the duration of one message. */
static size_t with_child(struct dctx *c, const char *child)
{
	return child ? dctx_push_key(c, child) : c->plen;
}

static const char *path_of(const struct dctx *c)
{
	return c->path && c->plen ? c->path : "<object>";
}

void validate_invalid_str(struct dctx *c, const struct doc_node *at, const char *child,
			  const char *value, const char *code, const char *reason)
{
	size_t mark = with_child(c, child);
	char *q = validate_quote(value);
	if (!q)
		dctx_oom(c);
	else
		dctx_error(c, at, code, "%s: Invalid value: %s: %s", path_of(c), q, reason);
	free(q);
	dctx_pop(c, mark);
}

void validate_invalid_int(struct dctx *c, const struct doc_node *at, const char *child,
			  long long value, const char *reason)
{
	size_t mark = with_child(c, child);
	dctx_error(c, at, NULL, "%s: Invalid value: %lld: %s", path_of(c), value, reason);
	dctx_pop(c, mark);
}

void validate_required(struct dctx *c, const struct doc_node *at, const char *child,
		       const char *reason)
{
	size_t mark = with_child(c, child);
	if (reason)
		dctx_error(c, at, NULL, "%s: Required value: %s", path_of(c), reason);
	else
		dctx_error(c, at, NULL, "%s: Required value", path_of(c));
	dctx_pop(c, mark);
}

void validate_forbidden(struct dctx *c, const struct doc_node *at, const char *child,
			const char *reason)
{
	size_t mark = with_child(c, child);
	dctx_error(c, at, NULL, "%s: Forbidden: %s", path_of(c), reason);
	dctx_pop(c, mark);
}

void validate_duplicate(struct dctx *c, const struct doc_node *at, const char *child,
			const char *value)
{
	size_t mark = with_child(c, child);
	char *q = validate_quote(value);
	if (!q)
		dctx_oom(c);
	else
		dctx_error(c, at, NULL, "%s: Duplicate value: %s", path_of(c), q);
	free(q);
	dctx_pop(c, mark);
}

void validate_unsupported(struct dctx *c, const struct doc_node *at, const char *child,
			  const char *value, const char *const *supported)
{
	char list[256] = "";
	size_t used = 0;
	for (const char *const *s = supported; *s && used < sizeof(list); s++)
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s\"%s\"",
					 s == supported ? "" : ", ", *s);
	size_t mark = with_child(c, child);
	char *q = validate_quote(value);
	if (!q)
		dctx_oom(c);
	else
		dctx_error(c, at, NULL, "%s: Unsupported value: %s: supported values: %s",
			   path_of(c), q, list);
	free(q);
	dctx_pop(c, mark);
}

/* ---- character-class helpers --------------------------------------------------- */

static bool is_lower_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

static bool is_alnum(char ch)
{
	return isascii((unsigned char)ch) && isalnum((unsigned char)ch);
}

/* [a-z0-9]([-a-z0-9]*[a-z0-9])? */
static bool match_dns_label(const char *s, size_t n)
{
	if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

/* labels separated by '.' */
static bool match_dns_subdomain(const char *s)
{
	for (;;) {
		const char *dot = strchr(s, '.');
		size_t n = dot ? (size_t)(dot - s) : strlen(s);
		if (!match_dns_label(s, n))
			return false;
		if (!dot)
			return true;
		s = dot + 1;
	}
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] ; empty allowed when allow_empty */
static bool match_qualified_part(const char *s, bool allow_empty)
{
	size_t n = strlen(s);
	if (n == 0)
		return allow_empty;
	if (!is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

/* ---- names ---------------------------------------------------------------------- */

static const char msg_dns1123_label[] =
	"a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
	"'-', and must start and end with an alphanumeric character";
static const char msg_dns1123_subdomain[] =
	"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
	"'-' or '.', and must start and end with an alphanumeric character";
static const char msg_dns1035_label[] =
	"a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
	"with an alphabetic character, and end with an alphanumeric character";
static const char msg_qualified_name[] =
	"must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
	"with an alphanumeric character";
static const char msg_label_value[] =
	"a valid label must be an empty string or consist of alphanumeric characters, '-', "
	"'_' or '.', and must start and end with an alphanumeric character";

static bool check_len(struct dctx *c, const struct doc_node *at, const char *child,
		      const char *v, size_t max, const char *prefix)
{
	if (strlen(v) <= max)
		return true;
	char reason[96];
	snprintf(reason, sizeof(reason), "%smust be no more than %zu characters", prefix, max);
	validate_invalid_str(c, at, child, v, NULL, reason);
	return false;
}

bool validate_dns1123_label(struct dctx *c, const struct doc_node *at, const char *child,
			    const char *v)
{
	bool ok = check_len(c, at, child, v, 63, "");
	if (!match_dns_label(v, strlen(v))) {
		validate_invalid_str(c, at, child, v, NULL, msg_dns1123_label);
		ok = false;
	}
	return ok;
}

bool validate_dns1123_subdomain(struct dctx *c, const struct doc_node *at,
				const char *child, const char *v)
{
	bool ok = check_len(c, at, child, v, 253, "");
	if (!match_dns_subdomain(v)) {
		validate_invalid_str(c, at, child, v, NULL, msg_dns1123_subdomain);
		ok = false;
	}
	return ok;
}

bool validate_dns1035_label(struct dctx *c, const struct doc_node *at, const char *child,
			    const char *v)
{
	bool ok = check_len(c, at, child, v, 63, "");
	if (!match_dns_label(v, strlen(v)) || !(v[0] >= 'a' && v[0] <= 'z')) {
		validate_invalid_str(c, at, child, v, NULL, msg_dns1035_label);
		ok = false;
	}
	return ok;
}

/* A qualified name: [prefix/]name with prefix a DNS subdomain (<= 253) and
 * name (<= 63) of alphanumerics, '-', '_', '.'. Errors show shown_as. */
static bool check_qualified_name(struct dctx *c, const struct doc_node *at, const char *child,
				 const char *key, const char *shown_as)
{
	char reason[320];
	bool ok = true;
	const char *slash = strchr(key, '/');
	const char *name = slash ? slash + 1 : key;
	if (slash && strchr(name, '/')) {
		snprintf(reason, sizeof(reason), "a qualified name %s, with an optional DNS "
			 "subdomain prefix and '/' (e.g. 'example.com/MyName')", msg_qualified_name);
		validate_invalid_str(c, at, child, shown_as, NULL, reason);
		return false;
	}
	if (slash) {
		size_t plen = (size_t)(slash - key);
		char *prefix = strndup(key, plen);
		if (!prefix)
			return dctx_oom(c), false;
		if (plen == 0) {
			validate_invalid_str(c, at, child, shown_as, NULL, "prefix part must be non-empty");
			ok = false;
		} else {
			if (plen > 253) {
				validate_invalid_str(c, at, child, shown_as, NULL,
						     "prefix part must be no more than 253 characters");
				ok = false;
			}
			if (!match_dns_subdomain(prefix)) {
				snprintf(reason, sizeof(reason), "prefix part %s", msg_dns1123_subdomain);
				validate_invalid_str(c, at, child, shown_as, NULL, reason);
				ok = false;
			}
		}
		free(prefix);
	}
	if (!*name) {
		validate_invalid_str(c, at, child, shown_as, NULL, "name part must be non-empty");
		return false;
	}
	if (strlen(name) > 63) {
		validate_invalid_str(c, at, child, shown_as, NULL,
				     "name part must be no more than 63 characters");
		ok = false;
	}
	if (!match_qualified_part(name, false)) {
		snprintf(reason, sizeof(reason), "name part %s", msg_qualified_name);
		validate_invalid_str(c, at, child, shown_as, NULL, reason);
		ok = false;
	}
	return ok;
}

bool validate_label_key(struct dctx *c, const struct doc_node *at, const char *child,
			const char *key)
{
	return check_qualified_name(c, at, child, key, key);
}

bool validate_qualified_name(struct dctx *c, const struct doc_node *at, const char *child,
			     const char *v)
{
	return check_qualified_name(c, at, child, v, v);
}

bool validate_annotation_key(struct dctx *c, const struct doc_node *at, const char *child,
			     const char *key)
{
	char *lower = strdup(key);
	if (!lower)
		return dctx_oom(c), false;
	for (char *p = lower; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	bool ok = check_qualified_name(c, at, child, lower, key);
	free(lower);
	return ok;
}

bool validate_label_value(struct dctx *c, const struct doc_node *at, const char *child,
			  const char *v)
{
	bool ok = check_len(c, at, child, v, 63, "");
	if (!match_qualified_part(v, true)) {
		validate_invalid_str(c, at, child, v, NULL, msg_label_value);
		ok = false;
	}
	return ok;
}

/* ---- ports, protocols, addresses --------------------------------------------- */

bool validate_port_number(struct dctx *c, const struct doc_node *at, const char *child,
			  long long v)
{
	if (v >= 1 && v <= 65535)
		return true;
	validate_invalid_int(c, at, child, v, "must be between 1 and 65535, inclusive");
	return false;
}

bool validate_port_name(struct dctx *c, const struct doc_node *at, const char *child,
			const char *v)
{
	bool ok = true, letter = false, charset = true;
	size_t n = strlen(v);
	if (n > 15) {
		validate_invalid_str(c, at, child, v, NULL, "must be no more than 15 characters");
		ok = false;
	}
	for (size_t i = 0; i < n; i++) {
		letter |= v[i] >= 'a' && v[i] <= 'z';
		charset &= is_lower_alnum(v[i]) || v[i] == '-';
	}
	if (!charset || n == 0) {
		validate_invalid_str(c, at, child, v, NULL, "must contain only lower case "
				     "alphanumeric characters (a-z, 0-9) and hyphens (-)");
		ok = false;
	}
	if (!letter) {
		validate_invalid_str(c, at, child, v, NULL, "must contain at least one letter (a-z)");
		ok = false;
	}
	if (strstr(v, "--")) {
		validate_invalid_str(c, at, child, v, NULL, "must not contain consecutive hyphens");
		ok = false;
	}
	if (n && (v[0] == '-' || v[n - 1] == '-')) {
		validate_invalid_str(c, at, child, v, NULL, "must not begin or end with a hyphen");
		ok = false;
	}
	return ok;
}

bool validate_protocol(struct dctx *c, const struct doc_node *at, const char *child,
		       const char *v, enum np_proto *out)
{
	static const char *const supported[] = {"SCTP", "TCP", "UDP", NULL};
	if (proto_parse(v, out) == 0)
		return true;
	validate_unsupported(c, at, child, v, supported);
	return false;
}

bool validate_ip(struct dctx *c, const struct doc_node *at, const char *child,
		 const char *v, struct np_ip *out)
{
	if (ip_parse(v, out) == 0)
		return true;
	validate_invalid_str(c, at, child, v, NULL,
			     "must be a valid IP address (e.g. 10.9.8.7 or 2001:db8::ffff)");
	return false;
}

bool validate_cidr(struct dctx *c, const struct doc_node *at, const char *child,
		   const char *v, struct np_cidr *out)
{
	if (cidr_parse(v, out, NULL) == 0)
		return true;
	validate_invalid_str(c, at, child, v, NULL,
			     "must be a valid CIDR value (e.g. 10.9.8.0/24 or 2001:db8::/64)");
	return false;
}
