#!/usr/bin/env bash
# Prints the vault variables of the kind smoke test as JSON, from this run's random values
# (the workflow's "Secrets of this run" step), for `ansible-playbook -e @<(...)`.
set -euo pipefail
digest=$(printf '%s' "$SMOKE_API_KEY" | sha256sum | cut -d' ' -f1)
printf '{"k8s_services_api_keys": {"ci": "%s"}, "k8s_services_internal_token": "%s", "k8s_services_database_password": "%s"}\n' \
  "$digest" "$SMOKE_INTERNAL_TOKEN" "$SMOKE_DB_PASSWORD"
