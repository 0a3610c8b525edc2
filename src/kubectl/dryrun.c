/* dryrun.c: --dry-run and the result lines of the mutating verbs (create,
 * apply, run, expose, label, delete). A client dry run sends nothing that
 * changes the lab; a server dry run sends the request with dryRun=All,
 * which the API validates and answers as if it had stored it. */
#include "kctl.h"
#include "decode/decode.h"
#include "model/model.h"

#include <string.h>

const char *kctl_dry_query(const struct kctl *k)
{
	return k->dry == KCTL_DRY_SERVER ? "dryRun=All" : NULL;
}

const char *kctl_dry_suffix(const struct kctl *k)
{
	switch (k->dry) {
	case KCTL_DRY_CLIENT: return " (dry run)";
	case KCTL_DRY_SERVER: return " (server dry run)";
	default: return "";
	}
}

int kctl_check_output(const char *output)
{
	if (!output || !strcmp(output, "name") || !strcmp(output, "yaml") || !strcmp(output, "json"))
		return 0;
	return kctl_error("unable to match a printer suitable for the output format \"%s\", "
			  "allowed formats are: json,name,yaml", output);
}

void kctl_print_done(const struct kctl *k, const struct kkind *kk, const char *name,
		     const char *op, const char *output, json_t *obj)
{
	char q[96];
	kctl_kind_qualified(kk, q, sizeof(q));
	if (output && strcmp(output, "yaml") == 0 && obj)
		kctl_yaml_print(stdout, obj);
	else if (output && strcmp(output, "json") == 0 && obj)
		kctl_json_print(stdout, obj);
	else if (output && strcmp(output, "name") == 0)
		printf("%s/%s\n", q, name);
	else
		printf("%s/%s %s%s\n", q, name, op, kctl_dry_suffix(k));
}

static void free_decoded(const struct kkind *kk, void *out)
{
	if (strcmp(kk->kind, "Namespace") == 0)
		namespace_free(out);
	else if (strcmp(kk->kind, "Pod") == 0)
		pod_free(out);
	else if (strcmp(kk->kind, "Deployment") == 0)
		deployment_free(out);
	else if (strcmp(kk->kind, "Service") == 0)
		service_free(out);
	else if (strcmp(kk->kind, "NetworkPolicy") == 0)
		policy_free(out);
}

int kctl_validate(const struct kkind *kk, json_t *obj)
{
	/* the API server's own checks (src/api/validate.c calls the same);
	 * Endpoints are not modelled and are left to the server */
	if (strcmp(kk->kind, "Endpoints") == 0)
		return 0;
	void *out = NULL;
	struct diag_list diags = {0};
	int ret = decode_json_object(obj, kk->kind, &out, &diags);
	if (ret < 0) {
		const char *name = kctl_str(obj, "metadata.name");
		fprintf(stderr, "The %s \"%s\" is invalid: ", kk->kind, name ? name : "");
		size_t errors = 0;
		for (size_t i = 0; i < diags.n; i++)
			errors += diags.items[i].level == DIAG_ERROR;
		for (size_t i = 0, j = 0; i < diags.n; i++)
			if (diags.items[i].level == DIAG_ERROR)
				fprintf(stderr, "%s%s\n", errors > 1 ? (j++ ? "* " : "\n* ") : "",
					diags.items[i].msg);
		if (!errors)
			fprintf(stderr, "%s\n", strerror(-ret));
	}
	if (out)
		free_decoded(kk, out);
	diag_list_clear(&diags);
	return ret < 0 ? -1 : 0;
}
