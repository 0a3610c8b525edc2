# Compares observed flows with expected truth tables; tests/upstream/suite.sh
# (offline) and tests/conformance/suite.sh (live) both use it.
# The first file holds "from to port verdict" lines (the observed flows, the
# file named by -v flows; -v pods lists the pods in order); each further file
# is an expected table, preceded on the command line by step=N port=P. Prints per table one line "STEP PORT FILE RESULT", RESULT
# being the number of mismatches or "bad: why" for a malformed table, and after
# a mismatch the expected and observed tables, indented.

BEGIN { n = split(pods, P, " ") }
FILENAME == flows { obs[$3, $1, $2] = $4; next }
FNR == 1 {
  finish()  # the previous table; step and port already name this one
  tstep = step; tport = port; file = FILENAME; sub(/.*\//, "", file)
  row = 0; header = 0; bad = ""
}
bad != "" || /^[ \t]*(#|$)/ { next }
!header {
  if ($1 != "-" || NF != n + 1) { bad = "bad header"; next }
  for (i = 1; i <= n; i++) if ($(i + 1) != P[i]) bad = "header must list " pods " in order"
  header = 1; next
}
{
  row++
  if (row > n || $1 != P[row] || NF != n + 1) { bad = "bad row " row " (want " P[row] " and " n " cells)"; next }
  for (i = 1; i <= n; i++) {
    c = $(i + 1)
    if (c != "." && c != "X" && !(i == row && c == "-")) bad = "bad cell " c " in row " row
    want[P[row], P[i]] = c
  }
}
END { finish() }
function finish(   r, i, t, e, o, c, miss) {
  if (file == "") return
  if (bad == "" && row != n) bad = row + 0 " rows, want " n
  if (bad != "") { print tstep, tport, file, "bad: " bad; file = ""; return }
  for (r = 1; r <= n; r++) for (i = 1; i <= n; i++)
    if (r != i && got(P[r], P[i]) != want[P[r], P[i]]) miss++
  print tstep, tport, file, miss + 0
  if (miss) for (t = 0; t < 2; t++) {
    printf "    %s:\n    -     ", (t ? "observed (* = differs)" : "expected")
    for (i = 1; i <= n; i++) printf (i < n ? "%-6s" : "%s\n"), P[i]
    for (r = 1; r <= n; r++) {
      printf "    %-6s", P[r]
      for (i = 1; i <= n; i++) {
        e = want[P[r], P[i]]; o = got(P[r], P[i])
        c = (r == i) ? "-" : (t ? o : e)
        if (t && r != i && o != e) c = "*" c "*"
        printf (i < n ? "%-6s" : "%s\n"), c
      }
    }
  }
  file = ""
}
function got(a, b) { return ((tport, a, b) in obs) ? obs[tport, a, b] : "?" }
