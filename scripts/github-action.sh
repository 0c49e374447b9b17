#!/usr/bin/env bash
# The step of the GitHub Action (action.yml): `wsdiag check` with a JUnit file, the
# report as the job summary (Markdown), failures and warnings as annotations (wsdiag
# writes those itself when GITHUB_ACTIONS=true), and the outputs verdict, report and
# exit-code. Inputs arrive as environment variables, never spliced into the script.
set -uo pipefail

report="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/wsdiag-report.json"
args=(check "$WSDIAG_TARGET" --json --junit "${WSDIAG_JUNIT:-wsdiag-junit.xml}"
      --fail-on "${WSDIAG_FAIL_ON:-fail}")
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  args+=(--markdown "$GITHUB_STEP_SUMMARY")
fi
extra=()
if [ -n "${WSDIAG_ARGS:-}" ]; then
  read -r -a extra <<<"$WSDIAG_ARGS"
fi

wsdiag "${args[@]}" "${extra[@]}" >"$report"
code=$?

if ! verdict=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["verdict"])' \
    "$report" 2>/dev/null); then
  verdict="ERROR: wsdiag exited $code without a report (see the log above)"
fi
echo "$verdict"
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  {
    echo "verdict=$verdict"
    echo "report=$report"
    echo "exit-code=$code"
  } >>"$GITHUB_OUTPUT"
fi
exit "$code"
