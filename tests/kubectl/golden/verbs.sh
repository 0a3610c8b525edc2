# The CLI session whose output is golden/verbs.out: every verb, the tutorial's
# lines, and kubectl's error messages. Run by suite.sh with $K the CLI
# (through the `kubectl` symlink) against a fresh daemon (--no-node: pods
# stay Pending, so the output is stable). Each command is echoed with "$ ".
K create ns advanced-policy-demo
K run --namespace=advanced-policy-demo nginx --replicas=2 --image=nginx
K expose --namespace=advanced-policy-demo deployment nginx --port=80
K run web --image=nginx --port=8080 --labels=app=web,tier=front
K get pods -n advanced-policy-demo
K get pods -A -o wide
K get po web --show-labels
K get deploy -n advanced-policy-demo -o wide
K get svc,ep -n advanced-policy-demo
K get ns
K get namespaces -l kubernetes.io/metadata.name=default
K get pods -l app=web -o name
K get pod web -o yaml
K get ns default -o json
K create -f policies.yaml
K get netpol -n advanced-policy-demo
K describe networkpolicy -n advanced-policy-demo access-nginx
K describe netpol -n advanced-policy-demo allow-dns-access
K describe ns advanced-policy-demo
K describe pod web
K describe deploy -n advanced-policy-demo nginx
K describe svc nginx -n advanced-policy-demo
K label namespace kube-system name=kube-system
K label namespace kube-system name=other
K label --overwrite ns kube-system name=other
K label ns kube-system name-
K label pod/web app-
K apply -f apply.yaml
K apply -f apply.yaml
K apply -f apply-changed.yaml
K get pod applied -o jsonpath
K get pod web -o jsonpath='{.metadata.name} {.spec.containers[0].image} {.status.podIP}{"\n"}'
K get pods -n advanced-policy-demo -o jsonpath='{.items[*].metadata.labels.run}{"\n"}'
K get ns -o jsonpath='{range .items[*]}{.metadata.name}{"\t"}{.status.phase}{"\n"}{end}'
K get pods -A -o jsonpath='{.items[?(@.metadata.namespace=="default")].metadata.name}{"\n"}'
K get ns default -o jsonpath='{.metadata.labels}{"\n"}'
K get ns default -o jsonpath='{.metadata.name %}'
K get ns default -o jsonpath='{.metadata.name'
K get pods nope
K get foo
K get pods --bogus
K get pods -z
K create ns advanced-policy-demo
K create -f bad-syntax.yaml
K create -f missing.yaml
K create -f invalid.yaml
K create -f nokind.yaml
K delete pod nope
K delete pod web
K delete -f apply.yaml
K expose deployment nope --port=80
K run x
K delete ns advanced-policy-demo
K get ns advanced-policy-demo
K get pods -n advanced-policy-demo
