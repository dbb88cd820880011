#!/usr/bin/env bash
# Smoke test of the services deployed on kind by playbooks/k8s.yml: the API answers through
# the gateway (port-forward to its Service), writes and reads go through both internal
# services and PostgreSQL, and the network policies keep other pods away from the internal
# services. Needs SMOKE_API_KEY (the workflow's random key).
set -euo pipefail
ns=flaskfleet
kubectl -n "$ns" port-forward service/api-gateway 18080:8000 >/tmp/port-forward.log 2>&1 &
forward=$!
trap 'kill "$forward"' EXIT
for _ in $(seq 1 30); do
  curl -fsS http://127.0.0.1:18080/health/ready >/dev/null 2>&1 && break
  sleep 1
done

api() { curl -fsS -H "Authorization: Bearer $SMOKE_API_KEY" -H 'Content-Type: application/json' "$@"; }

echo "smoke: the gateway is ready"
curl -fsS http://127.0.0.1:18080/health/ready

echo "smoke: a request without the API key is refused"
status=$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:18080/api/users)
[ "$status" = 401 ] || { echo "expected 401, got $status"; exit 1; }

echo "smoke: create a user and an order, read them back"
user=$(api -X POST http://127.0.0.1:18080/api/users -d "{\"name\": \"Kind Smoke\", \"email\": \"smoke-$RANDOM@example.com\"}")
user_id=$(printf '%s' "$user" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
api -X POST http://127.0.0.1:18080/api/orders \
  -d "{\"user_id\": $user_id, \"items\": [{\"sku\": \"SMOKE-1\", \"quantity\": 2, \"unit_price\": \"12.30\"}]}" >/dev/null
with_orders=$(api "http://127.0.0.1:18080/api/users/$user_id/with-orders")
printf '%s' "$with_orders" | python3 -c '
import json, sys
body = json.load(sys.stdin)
assert len(body["orders"]) == 1 and body["orders"][0]["total"] == "24.60", body
print("smoke: user", body["user"]["id"], "has its order, total", body["orders"][0]["total"])'

echo "smoke: a pod outside the gateway cannot reach user-service (NetworkPolicy)"
if kubectl -n default run netpol-probe --rm -i --restart=Never --image=curlimages/curl:8.11.1 \
     --command -- curl -s -m 5 -o /dev/null "http://user-service.$ns.svc:8000/health/live"; then
  echo "user-service answered a pod outside the gateway"; exit 1
fi
echo "smoke: passed"
