#!/bin/sh
# Init container of deploy/kubernetes: registers each model of the catalog (models.tsv) in this
# pod's registry, in place and marked preload, so that every replica serves the same models
# without sharing the SQLite file. Runs with the server's environment (PERISCOPE_CONFIG,
# PERISCOPE_DATA_DIR, PERISCOPE_MODEL_ROOT), so `periscope models add` writes the database the
# server opens.
#
#   register-models.sh CATALOG SHARED_DIR
set -eu
catalog=$1
shared=$2
grep -v '^[[:space:]]*#' "$catalog" | while read -r name architecture weights config; do
  [ -n "$name" ] || continue
  if [ -z "$architecture" ] || [ -z "$weights" ]; then
    echo "register-models: line for '$name' needs NAME ARCHITECTURE WEIGHTS [CONFIG]" >&2
    exit 1
  fi
  # The registry survives a restart of the init container within the same pod (emptyDir).
  if periscope models show "$name" >/dev/null 2>&1; then
    echo "register-models: $name is already registered"
    continue
  fi
  set -- models add "$name" --architecture "$architecture" --weights "$shared/$weights" --in-place --preload
  if [ -n "${config:-}" ] && [ "$config" != "-" ]; then set -- "$@" --config "$shared/$config"; fi
  periscope "$@"
done
