#!/bin/sh
# Scale-out: the "citus" profile of docker-compose.yml, checked statically
# (no Docker daemon here): docker-compose accepts the file with and without
# the profile; the profile has a coordinator and two workers on a pinned
# official Citus image with our extension and pg_cron; no other service is
# in a profile (a plain "up" starts what it started before); the set-up
# distributes events, event_keys and user_event_counts by user_id,
# co-located, and calls only functions the extension's scripts define.
# Then pg_dump and restore of partitioned events, against a real cluster
# (tests/scale/dump-restore.sh).
#
#   SCALE_PGPORT   PostgreSQL port of the dump and restore test (default 55390)
set -eu
cd "$(dirname "$0")/../.."

echo "-- docker-compose config"
docker-compose -f docker-compose.yml config -q
docker-compose -f docker-compose.yml --profile citus config -q

echo "-- the citus profile"
python3 - <<'PY'
import glob, re, sys, yaml

failures = []
def fail(msg):
    failures.append(msg)
    print("not ok - " + msg)

def interpolate(text):
    return re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-([^}]*))?\}", lambda m: m.group(1) or "", text)

with open("docker-compose.yml") as f:
    services = yaml.safe_load(interpolate(f.read()))["services"]
citus = {n: s for n, s in services.items() if "citus" in s.get("profiles", [])}
others = [n for n, s in services.items() if s.get("profiles")] 
for n in others:
    if n not in citus:
        fail(f"service {n} is in a profile other than citus")
for n in ("db", "api", "web"):
    if n in citus:
        fail(f"service {n} must not be in the citus profile")
for n in ("citus-coordinator", "citus-worker-1", "citus-worker-2", "citus-setup"):
    if n not in citus:
        fail(f"the citus profile has no service {n}")

coord = citus.get("citus-coordinator", {})
df = coord.get("build", {}).get("dockerfile", "")
text = open(df).read() if df and glob.glob(df) else ""
if not text:
    fail("citus-coordinator is not built from a Dockerfile in the repository")
m = re.search(r"^ARG CITUS_IMAGE=(\S+)$", text, re.M)
if not m or not re.fullmatch(r"citusdata/citus:\d+\.\d+(\.\d+)?", m.group(1)):
    fail("the Citus image is not the official citusdata/citus with a pinned version")
else:
    print(f"ok - image {m.group(1)}")
for stage in re.findall(r"^FROM\s+(\S+)", text, re.M):
    if stage != "${CITUS_IMAGE}" and not stage.startswith("${CITUS_IMAGE} "):
        fail(f"{df}: FROM {stage} is not the Citus image")
for src in re.findall(r"^COPY\s+(?!--from)(.+)$", text, re.M):
    for s in src.split()[:-1]:
        if not glob.glob(s.rstrip("/")):
            fail(f"{df}: COPY source {s} does not exist")

image = coord.get("image")
for n in ("citus-worker-1", "citus-worker-2", "citus-setup"):
    if citus.get(n, {}).get("image") != image:
        fail(f"{n} does not run the coordinator's image {image}")
for n in ("citus-coordinator", "citus-worker-1", "citus-worker-2"):
    cmd = " ".join(citus.get(n, {}).get("command", []))
    if "shared_preload_libraries=citus," not in cmd:
        fail(f"{n}: citus is not the first of shared_preload_libraries")
    if citus.get(n, {}).get("environment", {}).get("POSTGRES_DB") != "user_activity":
        fail(f"{n}: database is not user_activity (Citus uses the same name on every node)")
deps = citus.get("citus-setup", {}).get("depends_on", {})
for n in ("citus-coordinator", "citus-worker-1", "citus-worker-2"):
    if deps.get(n, {}).get("condition") != "service_healthy":
        fail(f"citus-setup does not wait for a healthy {n}")
ports = {str(p) for s in services.values() for p in s.get("ports", [])}
if len(ports) != sum(len(s.get("ports", [])) for s in services.values()):
    fail("two services publish the same port")

sql = open("docker/citus/setup.sql").read()
for node in ("citus-worker-1", "citus-worker-2"):
    if f"citus_add_node('{node}', 5432)" not in sql:
        fail(f"setup.sql does not add {node}")
if "create_distributed_table('user_activity.events', 'user_id')" not in sql:
    fail("setup.sql does not distribute events by user_id")
for t in ("event_keys", "user_event_counts"):
    if f"create_distributed_table('user_activity.{t}', 'user_id', colocate_with => 'user_activity.events')" not in sql:
        fail(f"setup.sql does not distribute {t} by user_id co-located with events")
defined = set()
for path in glob.glob("extension/sql/parts/*.sql") + glob.glob("extension/sql/user_activity--*--*.sql"):
    defined |= set(re.findall(r"CREATE (?:OR REPLACE )?(?:FUNCTION|PROCEDURE) user_activity\.(\w+)", open(path).read()))
for fn in set(re.findall(r"user_activity\.(\w+)\(", sql)):
    if fn not in defined:
        fail(f"setup.sql calls user_activity.{fn}(), which no install script defines")
    else:
        print(f"ok - setup.sql calls user_activity.{fn}()")
if failures:
    sys.exit(1)
print(f"ok - citus profile: {', '.join(sorted(citus))}")
PY

echo "-- pg_dump and restore"
tests/scale/dump-restore.sh "${SCALE_PGPORT:-55390}"
