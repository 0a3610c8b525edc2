/* The parts of a pod spec netpol does not model, held to the Kubernetes
 * schema (src/decode/schema_check.c) and to the API server's pod spec
 * rules (src/decode/podrules.c). */
#include "unit.h"
#include "decode/decode.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every diagnostic of decoding text as "t.yaml", one per line. */
static char *decode_text(const char *text, int *rc)
{
	struct np_cluster *cl = cluster_new();
	struct diag_list d = {0};
	char *out = NULL;
	size_t len = 0;
	*rc = decode_buffer("t.yaml", text, strlen(text), cl, &d);
	FILE *f = open_memstream(&out, &len);
	diag_sort(&d);
	for (size_t i = 0; i < d.n; i++) {
		char *s = diag_format(&d.items[i]);
		fprintf(f, "%s%s", i ? "\n" : "", s);
		free(s);
	}
	fclose(f);
	diag_list_clear(&d);
	cluster_free(cl);
	return out;
}

#define POD "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
#define CTR "  containers:\n  - name: c\n    image: nginx\n"

/* One error expected: e must be exactly it (file:line:col included). */
static void refused(const char *text, const char *want)
{
	int rc;
	char *e = decode_text(text, &rc);
	CHECK_STR(e, want);
	CHECK_INT(rc, -EINVAL);
	free(e);
}

TEST(unknown_field_inside_volumes_is_refused_with_its_path)
{
	refused(POD "  volumes:\n  - name: v\n    emptyDir: {foo: 1}\n" CTR,
		"t.yaml:7:16: error: unknown field \"spec.volumes[0].emptyDir.foo\"");
	refused(POD "  volumes:\n  - name: v\n    foo: 1\n    emptyDir: {}\n" CTR,
		"t.yaml:7:5: error: unknown field \"spec.volumes[0].foo\"");
}

TEST(unknown_field_inside_probes_security_context_tolerations_affinity_is_refused)
{
	refused(POD CTR "    livenessProbe: {httpGet: {port: 80, bogus: x}}\n",
		"t.yaml:8:41: error: unknown field "
		"\"spec.containers[0].livenessProbe.httpGet.bogus\"");
	refused(POD CTR "    securityContext: {runAsUser: 1, capabilities: {add: [NET_ADMIN], x: 1}}\n",
		"t.yaml:8:70: error: unknown field "
		"\"spec.containers[0].securityContext.capabilities.x\"");
	refused(POD "  securityContext: {fsGroupx: 1}\n" CTR,
		"t.yaml:5:21: error: unknown field \"spec.securityContext.fsGroupx\"");
	refused(POD "  tolerations: [{key: k, operator: Exists, colour: red}]\n" CTR,
		"t.yaml:5:44: error: unknown field \"spec.tolerations[0].colour\"");
	refused(POD "  affinity:\n    nodeAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n"
		"        nodeSelectorTerms:\n        - matchExpressions:\n"
		"          - {key: a, operator: In, values: [b], weight: 1}\n" CTR,
		"t.yaml:10:49: error: unknown field \"spec.affinity.nodeAffinity."
		"requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]."
		"matchExpressions[0].weight\"");
}

TEST(deployment_template_and_init_containers_are_held_to_the_schema)
{
	refused("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n"
		"  selector: {matchLabels: {a: b}}\n  strategy: {type: Recreate, x: 1}\n"
		"  template:\n    metadata: {labels: {a: b}}\n    spec:\n"
		"      containers: [{name: c, image: i}]\n"
		"      initContainers: [{name: i, image: i, volumeMountz: []}]\n",
		"t.yaml:6:30: error: unknown field \"spec.strategy.x\"\n"
		"t.yaml:11:44: error: unknown field \"spec.template.spec.initContainers[0].volumeMountz\"");
}

TEST(values_of_the_wrong_type_are_refused)
{
	int rc;
	char *e = decode_text(POD "  volumes: [{name: v, emptyDir: {sizeLimit: 1Zi}}]\n"
			      "  tolerations: [{tolerationSeconds: 1.5}]\n"
			      "  overhead: {cpu: [1]}\n" CTR
			      "    livenessProbe: {exec: {command: x}, periodSeconds: 3000000000}\n"
			      "    readinessProbe: {tcpSocket: {port: true}}\n"
			      "    resources: {limits: {cpu: {}}}\n"
			      "    securityContext: {privileged: \"yes\"}\n"
			      "    env: [{name: A, valueFrom: {fieldRef: {fieldPath: 5}}}]\n"
			      "status:\n  startTime: yesterday\n"
			      "  conditions: [{type: Ready, status: \"True\", lastTransitionTime: 5}]\n",
			      &rc);
	CHECK(strstr(e, "spec.volumes[0].emptyDir.sizeLimit: Invalid value: \"1Zi\": quantities must match"));
	CHECK(strstr(e, "spec.tolerations[0].tolerationSeconds: Invalid type: expected integer, got number 1.5"));
	CHECK(strstr(e, "spec.overhead.cpu: Invalid type: expected string, got array"));
	CHECK(strstr(e, "spec.containers[0].livenessProbe.exec.command: Invalid type: expected array, got string"));
	CHECK(strstr(e, "spec.containers[0].livenessProbe.periodSeconds: Invalid value: 3000000000: must fit in a 32-bit integer"));
	CHECK(strstr(e, "spec.containers[0].readinessProbe.tcpSocket.port: Invalid type: expected integer or string, got boolean"));
	CHECK(strstr(e, "spec.containers[0].resources.limits.cpu: Invalid type: expected string, got object"));
	CHECK(strstr(e, "spec.containers[0].securityContext.privileged: Invalid type: expected boolean, got string"));
	CHECK(strstr(e, "spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Invalid type: expected string, got integer 5"));
	CHECK(strstr(e, "status.startTime: Invalid value: \"yesterday\": must be an RFC 3339 time"));
	CHECK(strstr(e, "status.conditions[0].lastTransitionTime: Invalid type: expected string, got integer 5"));
	CHECK_INT(rc, -EINVAL);
	free(e);
}

TEST(a_realistic_full_pod_is_accepted)
{
	int rc;
	char *e = decode_text(
		POD "  volumes:\n  - name: data\n    emptyDir: {sizeLimit: 1Gi}\n"
		"  - name: cfg\n    configMap: {name: app, items: [{key: k, path: p, mode: 0644}]}\n"
		"  - name: tok\n    projected:\n      sources:\n"
		"      - serviceAccountToken: {path: token, expirationSeconds: 3600}\n"
		"  securityContext: {runAsNonRoot: true, runAsUser: 1000, fsGroup: 2000,\n"
		"    seccompProfile: {type: RuntimeDefault}}\n"
		"  affinity:\n    podAntiAffinity:\n      preferredDuringSchedulingIgnoredDuringExecution:\n"
		"      - weight: 100\n        podAffinityTerm:\n"
		"          labelSelector: {matchLabels: {app: web}}\n"
		"          topologyKey: kubernetes.io/hostname\n"
		"  tolerations:\n  - {key: node.kubernetes.io/not-ready, operator: Exists,\n"
		"     effect: NoExecute, tolerationSeconds: 300}\n"
		"  topologySpreadConstraints:\n  - {maxSkew: 1, topologyKey: zone,\n"
		"     whenUnsatisfiable: ScheduleAnyway, labelSelector: {matchLabels: {app: web}}}\n"
		"  dnsConfig: {nameservers: [1.1.1.1], options: [{name: ndots, value: \"2\"}]}\n"
		"  hostAliases: [{ip: 10.0.0.1, hostnames: [a.local]}]\n"
		"  initContainers:\n  - name: init\n    image: busybox\n    command: [sh, -c, \"true\"]\n"
		"    volumeMounts: [{name: data, mountPath: /data}]\n"
		"  containers:\n  - name: web\n    image: nginx:1.27\n"
		"    ports: [{containerPort: 8080, name: http}]\n"
		"    env:\n    - name: POD_IP\n      valueFrom: {fieldRef: {fieldPath: status.podIP}}\n"
		"    - name: MEM\n      valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}\n"
		"    - name: PW\n      valueFrom: {secretKeyRef: {name: s, key: pw, optional: true}}\n"
		"    envFrom: [{configMapRef: {name: app}, prefix: APP_}]\n"
		"    resources:\n      requests: {cpu: 100m, memory: 64Mi}\n"
		"      limits: {cpu: \"1\", memory: 128Mi, ephemeral-storage: 1e9}\n"
		"    livenessProbe:\n      httpGet: {path: /healthz, port: http, httpHeaders: [{name: X, value: y}]}\n"
		"      initialDelaySeconds: 5\n      periodSeconds: 10\n"
		"    readinessProbe: {tcpSocket: {port: 8080}}\n"
		"    startupProbe: {grpc: {port: 9090}, failureThreshold: 30}\n"
		"    lifecycle: {preStop: {exec: {command: [sleep, \"5\"]}}}\n"
		"    securityContext:\n      allowPrivilegeEscalation: false\n"
		"      capabilities: {drop: [ALL]}\n      readOnlyRootFilesystem: true\n"
		"    volumeMounts:\n    - {name: data, mountPath: /data}\n"
		"    - {name: cfg, mountPath: /etc/app, readOnly: true}\n"
		"    - {name: tok, mountPath: /var/run/tok}\n"
		"status:\n  phase: Running\n  startTime: \"2024-05-01T10:00:00Z\"\n"
		"  conditions: [{type: Ready, status: \"True\",\n"
		"    lastTransitionTime: \"2024-05-01T10:00:05.123+02:00\"}]\n"
		"  containerStatuses:\n  - name: web\n    ready: true\n    restartCount: 0\n"
		"    image: nginx:1.27\n    imageID: x\n"
		"    state: {running: {startedAt: \"2024-05-01T10:00:01Z\"}}\n", &rc);
	CHECK_STR(e, "");
	CHECK_INT(rc, 0);
	free(e);
}

TEST(volume_names_are_dns_labels_unique_with_one_source)
{
	refused(POD "  volumes: [{name: Data, emptyDir: {}}]\n" CTR,
		"t.yaml:5:20: error: spec.volumes[0].name: Invalid value: \"Data\": a lowercase "
		"RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
		"start and end with an alphanumeric character");
	refused(POD "  volumes: [{name: v, emptyDir: {}}, {name: v, emptyDir: {}}]\n" CTR,
		"t.yaml:5:45: error: spec.volumes[1].name: Duplicate value: \"v\"");
	refused(POD "  volumes: [{name: v}]\n" CTR,
		"t.yaml:5:13: error: spec.volumes[0]: Required value: must specify a volume type");
	refused(POD "  volumes: [{name: v, emptyDir: {}, hostPath: {path: /}}]\n" CTR,
		"t.yaml:5:13: error: spec.volumes[0]: Forbidden: may not specify more than 1 volume type");
}

TEST(volume_mounts_name_an_existing_volume)
{
	refused(POD CTR "    volumeMounts: [{name: nope, mountPath: /x}]\n",
		"t.yaml:8:27: error: spec.containers[0].volumeMounts[0].name: Not found: \"nope\"");
}

TEST(probes_have_exactly_one_handler_with_a_valid_port)
{
	refused(POD CTR "    livenessProbe: {periodSeconds: 5}\n",
		"t.yaml:8:20: error: spec.containers[0].livenessProbe: Required value: "
		"must specify a handler type");
	refused(POD CTR "    readinessProbe: {exec: {command: [x]}, tcpSocket: {port: 80}}\n",
		"t.yaml:8:55: error: spec.containers[0].readinessProbe.tcpSocket: Forbidden: "
		"may not specify more than 1 handler type");
	refused(POD CTR "    startupProbe: {httpGet: {port: 0}}\n",
		"t.yaml:8:36: error: spec.containers[0].startupProbe.httpGet.port: Invalid value: 0: "
		"must be between 1 and 65535, inclusive");
}

TEST(resource_quantities_are_non_negative_and_requests_within_limits)
{
	refused(POD CTR "    resources: {requests: {cpu: \"-1\"}}\n",
		"t.yaml:8:33: error: spec.containers[0].resources.requests.cpu: Invalid value: "
		"\"-1\": must be greater than or equal to 0");
	refused(POD CTR "    resources: {requests: {memory: 2Gi}, limits: {memory: 1Gi}}\n",
		"t.yaml:8:36: error: spec.containers[0].resources.requests.memory: Invalid value: "
		"\"2Gi\": must be less than or equal to memory limit of 1Gi");
}

TEST(toleration_operator_and_effect_are_enumerated)
{
	refused(POD "  tolerations: [{key: k, operator: Maybe}]\n" CTR,
		"t.yaml:5:36: error: spec.tolerations[0].operator: Unsupported value: \"Maybe\": "
		"supported values: \"Equal\", \"Exists\"");
	refused(POD "  tolerations: [{key: k, effect: Never}]\n" CTR,
		"t.yaml:5:34: error: spec.tolerations[0].effect: Unsupported value: \"Never\": "
		"supported values: \"NoExecute\", \"NoSchedule\", \"PreferNoSchedule\"");
}

TEST(container_names_are_unique_across_init_containers)
{
	refused(POD "  initContainers: [{name: c, image: i}]\n" CTR,
		"t.yaml:5:27: error: spec.initContainers[0].name: Duplicate value: \"c\"");
}

TEST(run_as_user_and_group_are_not_negative)
{
	refused(POD "  securityContext: {runAsGroup: -1}\n" CTR,
		"t.yaml:5:33: error: spec.securityContext.runAsGroup: Invalid value: -1: "
		"must be between 0 and 2147483647, inclusive");
	refused(POD CTR "    securityContext: {runAsUser: -5}\n",
		"t.yaml:8:34: error: spec.containers[0].securityContext.runAsUser: Invalid value: -5: "
		"must be between 0 and 2147483647, inclusive");
}

