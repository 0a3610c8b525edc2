/* podspec: the scalar fields of a pod spec and its containers that netpol
 * does not model, typed and checked against the values the API server
 * allows (core's ValidatePodSpec and validateContainers). Objects inside
 * (volumes, probes, resources, affinity...) are held to the schema by
 * schema_check.c and to the rules across them by podrules.c. */
#include "decode_internal.h"
#include "schema.h"

/* An enumerated string: one of values (NULL-terminated). */
static void one_of(struct dctx *c, const struct doc_node *v, const char *const *values)
{
	const char *s = doc_string_of(c, v);
	if (!s)
		return;
	for (size_t i = 0; values[i]; i++)
		if (strcmp(s, values[i]) == 0)
			return;
	validate_unsupported(c, v, NULL, s, values);
}

#define ENUM_FIELD(fn, ...)                                                   \
	void fn(struct dctx *c, const struct doc_node *v, void *in)           \
	{                                                                     \
		static const char *const values[] = {__VA_ARGS__, NULL};      \
		(void)in;                                                     \
		one_of(c, v, values);                                         \
	}

ENUM_FIELD(decode_f_restart_policy, "Always", "Never", "OnFailure")
ENUM_FIELD(decode_f_dns_policy, "ClusterFirst", "ClusterFirstWithHostNet", "Default", "None")
ENUM_FIELD(decode_f_preemption_policy, "Never", "PreemptLowerPriority")
ENUM_FIELD(decode_f_pull_policy, "Always", "IfNotPresent", "Never")
ENUM_FIELD(decode_f_termination_message_policy, "FallbackToLogsOnError", "File")

static void f_string_value(struct dctx *c, const struct doc_node *map, size_t i)
{
	size_t mark = dctx_push_key(c, map->keys[i]->text);
	doc_string_of(c, map->vals[i]);
	dctx_pop(c, mark);
}

/* map[string]string, e.g. nodeSelector. */
void decode_f_string_map(struct dctx *c, const struct doc_node *v, void *in)
{
	(void)in;
	if (doc_want_map(c, v) < 0 || v->type != DOC_MAP)
		return;
	for (size_t i = 0; i < v->n; i++)
		f_string_value(c, v, i);
}

/* A DNS label when set (container names, hostname, subdomain). */
void decode_f_dns_label(struct dctx *c, const struct doc_node *v, void *in)
{
	const char *s = doc_string_of(c, v);
	(void)in;
	if (s && *s)
		validate_dns1123_label(c, v, NULL, s);
}

static const struct field env_var_fields[] = {
	{"name", decode_f_string, NULL}, {"value", decode_f_string, NULL},
	{"valueFrom", NULL, &pb_core_EnvVar}, {NULL, NULL, NULL},
};

static void f_env_var(struct dctx *c, const struct doc_node *item, void *in)
{
	doc_walk(c, item, env_var_fields, in);
	if (item->type != DOC_MAP)
		return;
	const struct doc_node *name = doc_get(item, "name");
	if (!name || name->type == DOC_NULL || (name->type == DOC_STRING && !*name->text))
		validate_required(c, item, "name", NULL);
}

void decode_f_env(struct dctx *c, const struct doc_node *v, void *in)
{
	doc_each_item(c, v, f_env_var, in);
}

/* restartPolicyRules (1.34, after the 1.32 schema): action and exitCodes. */
static void f_exit_code(struct dctx *c, const struct doc_node *v, void *in)
{
	decode_f_int(c, v, in);
}

static void f_exit_codes_values(struct dctx *c, const struct doc_node *v, void *in)
{
	doc_each_item(c, v, f_exit_code, in);
}

static const struct field exit_codes_fields[] = {
	{"operator", decode_f_string, NULL}, {"values", f_exit_codes_values, NULL},
	{NULL, NULL, NULL},
};

static void f_exit_codes(struct dctx *c, const struct doc_node *v, void *in)
{
	doc_walk(c, v, exit_codes_fields, in);
}

static const struct field restart_rule_fields[] = {
	{"action", decode_f_string, NULL}, {"exitCodes", f_exit_codes, NULL}, {NULL, NULL, NULL},
};

static void f_restart_rule(struct dctx *c, const struct doc_node *v, void *in)
{
	doc_walk(c, v, restart_rule_fields, in);
}

void decode_f_restart_policy_rules(struct dctx *c, const struct doc_node *v, void *in)
{
	doc_each_item(c, v, f_restart_rule, in);
}
