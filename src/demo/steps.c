/* The Calico advanced-policy tutorial (shared/seed/advanced-policy.md), step
 * by step: its titles, its command lines and YAML verbatim, and the checks
 * it asks for from the access pod with the text it says they print. Kept
 * as data so that the demo's output reads next to the tutorial. */
#include "demo_internal.h"

#include <stddef.h>

#define WGET_NGINX "wget -q --timeout=5 nginx -O -"
#define WGET_GOOGLE "wget -q --timeout=5 google.com -O -"
#define WELCOME "<title>Welcome to nginx!</title>"
#define GOOGLE_PAGE "<!doctype html><html itemscope=\"\" item"
#define TIMED_OUT "wget: download timed out"

static const struct demo_step steps[] = {
	{
		.title = "1. Create the namespace and nginx service",
		.commands = {
			"kubectl create ns advanced-policy-demo",
			"kubectl run --namespace=advanced-policy-demo nginx --replicas=2 --image=nginx",
			"kubectl expose --namespace=advanced-policy-demo deployment nginx --port=80",
		},
		.heading = "Verify access - allowed all ingress and egress",
		.checks = {
			{WGET_NGINX, "the HTML of the nginx welcome page", WELCOME, NULL},
			{WGET_GOOGLE, "the HTML of the google.com home page", GOOGLE_PAGE, NULL},
		},
	},
	{
		.title = "2. Deny all ingress traffic",
		.commands = {
			"kubectl create -f - <<EOF\n"
			"apiVersion: networking.k8s.io/v1\n"
			"kind: NetworkPolicy\n"
			"metadata:\n"
			"  name: default-deny-ingress\n"
			"  namespace: advanced-policy-demo\n"
			"spec:\n"
			"  podSelector:\n"
			"    matchLabels: {}\n"
			"  policyTypes:\n"
			"  - Ingress\n"
			"EOF",
		},
		.heading = "Verify access - denied all ingress and allowed all egress",
		.checks = {
			{WGET_NGINX, TIMED_OUT, TIMED_OUT, WELCOME},
			{WGET_GOOGLE, "<!doctype html><html itemscope=\"\" item....", GOOGLE_PAGE, NULL},
		},
	},
	{
		.title = "3. Allow ingress traffic to Nginx",
		.commands = {
			"kubectl create -f - <<EOF\n"
			"apiVersion: networking.k8s.io/v1\n"
			"kind: NetworkPolicy\n"
			"metadata:\n"
			"  name: access-nginx\n"
			"  namespace: advanced-policy-demo\n"
			"spec:\n"
			"  podSelector:\n"
			"    matchLabels:\n"
			"      run: nginx\n"
			"  ingress:\n"
			"    - from:\n"
			"      - podSelector:\n"
			"          matchLabels: {}\n"
			"EOF",
		},
		.heading = "Verify access - allowed nginx ingress",
		.checks = {
			{WGET_NGINX, "<!DOCTYPE html> ... <title>Welcome to nginx!</title>...", WELCOME, NULL},
		},
	},
	{
		.title = "4. Deny all egress traffic",
		.commands = {
			"kubectl create -f - <<EOF\n"
			"apiVersion: networking.k8s.io/v1\n"
			"kind: NetworkPolicy\n"
			"metadata:\n"
			"  name: default-deny-egress\n"
			"  namespace: advanced-policy-demo\n"
			"spec:\n"
			"  podSelector:\n"
			"    matchLabels: {}\n"
			"  policyTypes:\n"
			"  - Egress\n"
			"EOF",
		},
		.heading = "Verify access - denied all egress",
		.checks = {
			{"nslookup nginx", "nslookup: can't resolve 'nginx'",
			 "nslookup: can't resolve 'nginx'", NULL},
			{WGET_GOOGLE, "wget: bad address 'google.com'",
			 "wget: bad address 'google.com'", NULL},
		},
	},
	{
		.title = "5. Allow DNS egress traffic",
		.commands = {
			"kubectl label namespace kube-system name=kube-system",
			"kubectl create -f - <<EOF\n"
			"apiVersion: networking.k8s.io/v1\n"
			"kind: NetworkPolicy\n"
			"metadata:\n"
			"  name: allow-dns-access\n"
			"  namespace: advanced-policy-demo\n"
			"spec:\n"
			"  podSelector:\n"
			"    matchLabels: {}\n"
			"  policyTypes:\n"
			"  - Egress\n"
			"  egress:\n"
			"  - to:\n"
			"    - namespaceSelector:\n"
			"        matchLabels:\n"
			"          name: kube-system\n"
			"    ports:\n"
			"    - protocol: UDP\n"
			"      port: 53\n"
			"\n"
			"EOF",
		},
		.heading = "Verify access - allowed DNS access",
		.checks = {
			{"nslookup nginx", "Address 1: ... kube-dns.kube-system.svc.cluster.local (resolves)",
			 "Name:      nginx", "can't resolve"},
			{"nslookup google.com", "Name:      google.com", "Name:      google.com",
			 "can't resolve"},
			{WGET_NGINX, "the HTTP egress traffic from the wget calls will still fail",
			 TIMED_OUT, WELCOME},
			{WGET_GOOGLE, "the HTTP egress traffic from the wget calls will still fail",
			 TIMED_OUT, GOOGLE_PAGE},
		},
	},
	{
		.title = "6. Allow egress traffic to nginx",
		.commands = {
			"kubectl create -f - <<EOF\n"
			"apiVersion: networking.k8s.io/v1\n"
			"kind: NetworkPolicy\n"
			"metadata:\n"
			"  name: allow-egress-to-advance-policy-ns\n"
			"  namespace: advanced-policy-demo\n"
			"spec:\n"
			"  podSelector:\n"
			"    matchLabels: {}\n"
			"  policyTypes:\n"
			"  - Egress\n"
			"  egress:\n"
			"  - to:\n"
			"    - podSelector:\n"
			"        matchLabels:\n"
			"          run: nginx\n"
			"EOF",
		},
		.heading = "Verify access - allowed egress access to nginx",
		.checks = {
			{WGET_NGINX, "<!DOCTYPE html> ... <title>Welcome to nginx!</title>...", WELCOME, NULL},
			{WGET_GOOGLE, TIMED_OUT, TIMED_OUT, GOOGLE_PAGE},
		},
	},
	{
		.title = "7. Clean up namespace",
		.commands = {
			"kubectl delete ns advanced-policy-demo",
		},
		.cleanup = true,
	},
};

const struct demo_step *demo_steps(size_t *n)
{
	*n = sizeof(steps) / sizeof(steps[0]);
	return steps;
}
