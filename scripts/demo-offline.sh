#!/usr/bin/env bash
# The Calico "advanced policy" tutorial (../shared/seed/advanced-policy.md),
# evaluated offline by netpol: after each step, the tutorial's checks from
# the busybox "access" pod are answered by `netpol explain` and compared
# with what the tutorial says, and `netpol reach` shows the whole matrix.
# (The same steps on real traffic: `netpol demo advanced-policy`, scripts/demo.sh.)
set -euo pipefail
cd "$(dirname "$0")/.."
NETPOL=${NETPOL:-build/netpol}
EX=examples/advanced-policy
OUTSIDE=203.0.113.10   # google.com in the emulated outside world
NS=advanced-policy-demo
mismatches=0

bold() { printf '\033[1m%s\033[0m\n' "$*"; }
[ -t 1 ] || bold() { printf '%s\n' "$*"; }

# allowed FROM TO PORT FILES...: prints true/false
allowed() {
  local from=$1 to=$2 port=$3; shift 3
  local args=()
  for f in "$@"; do args+=(-f "$f"); done
  "$NETPOL" explain "${args[@]}" --from "$from" --to "$to" --port "$port" -o json | jq -r .allowed
}

# check DESCRIPTION EXPECTED(true|false) FROM TO PORT FILES...
check() {
  local what=$1 want=$2; shift 2
  local got; got=$(allowed "$@")
  local verdict=denied; [ "$got" = true ] && verdict=allowed
  local mark="as the tutorial says"
  if [ "$got" != "$want" ]; then mark="MISMATCH with the tutorial"; mismatches=$((mismatches + 1)); fi
  printf '  %-44s %-8s %s\n' "$what" "$verdict" "($mark)"
}

# step N TITLE KUBE_SYSTEM_FILE("" = as the cluster starts) POLICY_FILES... -- EXPECT_NGINX EXPECT_DNS EXPECT_OUTSIDE TUTORIAL_SAYS...
step() {
  local n=$1 title=$2 ks=$3; shift 3
  local files=("$EX/cluster.yaml")
  [ -n "$ks" ] && files+=("$ks")   # before step 5, kube-system is the unlabelled one every cluster has
  while [ "$1" != -- ]; do files+=("$1"); shift; done
  shift
  local nginx=$1 dns=$2 outside=$3; shift 3
  echo
  bold "### $n. $title"
  [ "$n" = 5 ] && echo "\$ kubectl label namespace kube-system name=kube-system"
  if [ "$n" -gt 1 ]; then
    echo "\$ kubectl create -f - <<EOF"
    sed 's/^/  /' "${files[-1]}"
    echo "EOF"
  fi
  echo
  echo "From the access pod (the tutorial says: $*):"
  check "nslookup nginx  (53/UDP to kube-dns)" "$dns" "$NS/access" kube-system/kube-dns 53/UDP "${files[@]}"
  check "wget -q --timeout=5 nginx -O -  (80/TCP)" "$nginx" "$NS/access" "$NS/nginx" 80/TCP "${files[@]}"
  local web; web=$(allowed "$NS/access" "$OUTSIDE" 80/TCP "${files[@]}")
  local dnsok; dnsok=$(allowed "$NS/access" kube-system/kube-dns 53/UDP "${files[@]}")
  local google=false; [ "$web" = true ] && [ "$dnsok" = true ] && google=true
  local why="HTML page"
  [ "$dnsok" = false ] && why="wget: bad address 'google.com'"
  [ "$dnsok" = true ] && [ "$web" = false ] && why="wget: download timed out"
  local mark="as the tutorial says"
  if [ "$google" != "$outside" ]; then mark="MISMATCH with the tutorial"; mismatches=$((mismatches + 1)); fi
  printf '  %-44s %-8s %s\n' "wget -q --timeout=5 google.com -O -" "$([ $google = true ] && echo allowed || echo denied)" "-> $why ($mark)"
  echo
  echo "\$ netpol reach --ports 80/TCP,53/UDP"
  local args=(); for f in "${files[@]}"; do args+=(-f "$f"); done
  "$NETPOL" reach "${args[@]}" --ports 80/TCP,53/UDP | sed 's/^/  /'
  LAST_FILES=("${files[@]}")
}

bold "netpol: the Calico advanced-policy tutorial, evaluated offline"
echo "Objects: $EX (namespace, nginx Deployment x2 + Service, the busybox access pod, kube-dns)."
echo "google.com stands for the outside address $OUTSIDE."

step 1 "Create the namespace and nginx service" "" -- true true true \
  "nginx welcome page; google.com home page"
step 2 "Deny all ingress traffic" "" "$EX/2-default-deny-ingress.yaml" -- \
  false true true "nginx: download timed out; google.com works"
echo
echo "\$ netpol explain --from $NS/access --to $NS/nginx --port 80/TCP"
"$NETPOL" explain $(printf -- '-f %s ' "${LAST_FILES[@]}") --from "$NS/access" --to "$NS/nginx" --port 80/TCP | sed 's/^/  /'
step 3 "Allow ingress traffic to Nginx" "" "$EX/2-default-deny-ingress.yaml" \
  "$EX/3-access-nginx.yaml" -- true true true "nginx welcome page"
echo
echo "\$ netpol explain --from $NS/access --to $NS/nginx --port 80/TCP"
"$NETPOL" explain $(printf -- '-f %s ' "${LAST_FILES[@]}") --from "$NS/access" --to "$NS/nginx" --port 80/TCP | sed 's/^/  /'
step 4 "Deny all egress traffic" "" "$EX/2-default-deny-ingress.yaml" \
  "$EX/3-access-nginx.yaml" "$EX/4-default-deny-egress.yaml" -- false false false \
  "nslookup: can't resolve 'nginx'; wget: bad address 'google.com'"
echo
echo "\$ netpol lint   # the trap of this step"
"$NETPOL" lint $(printf -- '-f %s ' "${LAST_FILES[@]}") | sed 's/^/  /' || true
step 5 "Allow DNS egress traffic" "$EX/kube-system-labelled.yaml" "$EX/2-default-deny-ingress.yaml" \
  "$EX/3-access-nginx.yaml" "$EX/4-default-deny-egress.yaml" "$EX/5-allow-dns-access.yaml" -- \
  false true false "names resolve; HTTP still fails"
step 6 "Allow egress traffic to nginx" "$EX/kube-system-labelled.yaml" "$EX/2-default-deny-ingress.yaml" \
  "$EX/3-access-nginx.yaml" "$EX/4-default-deny-egress.yaml" "$EX/5-allow-dns-access.yaml" \
  "$EX/6-allow-egress-to-advance-policy-ns.yaml" -- true true false \
  "nginx welcome page; google.com: download timed out"
echo
echo "\$ netpol explain --from $NS/access --to $OUTSIDE --port 80/TCP"
"$NETPOL" explain $(printf -- '-f %s ' "${LAST_FILES[@]}") --from "$NS/access" --to "$OUTSIDE" --port 80/TCP | sed 's/^/  /'
echo
bold "### 7. Clean up namespace"
echo "\$ kubectl delete ns advanced-policy-demo   # offline: nothing was deployed"
echo
if [ $mismatches -eq 0 ]; then
  bold "Every check matches the tutorial."
else
  bold "$mismatches check(s) differ from the tutorial."
  exit 1
fi
