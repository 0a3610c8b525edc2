# Sourced by tests/upstream/suite.sh (offline) and tests/conformance/suite.sh
# (live): compares the observed flows with a case's expected tables.

COMPARE_AWK=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/compare.awk

# compare_tables WHAT [STEP PORT FILE]...: $WORK/flows holds the observed
# "from to port verdict" lines; each STEP PORT FILE names an expected table
# of the case ($CASE_DIR/FILE). Counts EXPECTS, sets FIRST to the first
# problem and appends the tables of every mismatch to REPORT; WHAT says where
# the flows come from (e.g. "on real traffic"), for the report.
compare_tables() {
  local what=$1 i line step port file res files
  shift
  files=("$WORK/flows")
  for ((i = 1; i <= $#; i += 3)); do
    files+=("step=${!i}" "port=${@:i+1:1}" "$CASE_DIR/${@:i+2:1}")
    EXPECTS=$((EXPECTS + 1))
  done
  while IFS= read -r line; do
    case "$line" in
      " "*) REPORT+="$line"$'\n' ;;
      *) read -r step port file res <<< "$line"
         case "$res" in
           0) ;;
           bad:*) FIRST=${FIRST:-"step $step: $file: ${res#bad: }"} ;;
           *) FIRST=${FIRST:-"step $step port $port: $res mismatches"}
              REPORT+="    step $step port $port: $res mismatches${what:+ $what} ($file)"$'\n' ;;
         esac ;;
    esac
  done < <(awk -v pods="${PODS[*]}" -v flows="$WORK/flows" -f "$COMPARE_AWK" "${files[@]}")
}
