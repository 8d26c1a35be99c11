#!/usr/bin/env python3
"""Checks of the monitoring configuration, run by tests/suites/40-monitoring.sh.

    monitoring.py static [--metrics FILE]
        Dashboards, datasources, rules tests, promtail, docker-compose build
        inputs.  Metric names come from FILE (a /metrics exposition) when
        given, else from the metrics table of docs/interfaces.md.
    monitoring.py promconfig --target HOST:PORT [--target ...] --out FILE
        A loopback copy of prometheus/prometheus.yml: the shim's job scrapes
        the targets every second, the jobs that only exist in docker-compose
        are dropped, rule files are absolute paths.
    monitoring.py queries --prometheus URL
        Every PromQL expression of every dashboard panel and every rule,
        evaluated through Prometheus's HTTP API: no error anywhere, data for
        the panels listed in MUST_HAVE_DATA, every rule evaluated healthy.
    monitoring.py sql
        Prints every PostgreSQL-datasource query of the dashboards with the
        Grafana macros expanded (over the last day), each wrapped in a
        SELECT that gives one line per panel: its title, its rows, and its
        rows holding a number other than zero.
    monitoring.py selftest
        The static checks find planted faults in a copy of the tree.
    monitoring.py imagebuild DOCKERFILE --pg-config PG_CONFIG --out DIR
        Replays the build stage of DOCKERFILE without Docker (its COPYs from
        the repository, its make commands, this machine's pg_config for the
        image's) and checks that what later stages copy out of it exists.
    monitoring.py logs FILE
        The shim's JSON log lines in FILE carry every field promtail's
        pipeline extracts, and "time" parses as RFC 3339.
    monitoring.py composeenv
        docker-compose config with the original's variables set: each
        reaches its service; HTTP_PORT moves the published port only; the
        page's keys default to the api's read and write keys.

Only the standard library and PyYAML (a dependency of Debian's
docker-compose) are used.
"""

import argparse
import datetime
import glob
import json
import os
import re
import sys
import time
import urllib.parse
import urllib.request

import yaml

TOP = os.environ.get("MONITORING_TOP") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PREFIX = "user_activity_tracking_"

# Panels that must return data once the shim has served traffic: the
# original's three request panels and the ones the test's traffic feeds.
MUST_HAVE_DATA = [
    "Requests by path and status",
    "Requests by path",
    "Total requests over time",
    "Error ratio",
    "Latency p50 / p95 / p99",
    "Latency p95 by path",
    "Requests in flight",
    "Shim instances",
    "Events ingested per second by action",
    "Rejected and duplicate events",
    "Group commit: events per transaction",
    "Connection pool",
    "Query latency p95 by statement",
    "Database reachable",
    "Exports in progress vs limit",
    "Exports refused (429)",
    "Rows exported per second by format",
    "Time since the last successful count",
    "Last count outcome",
    "Last successful count at",
    "Counting staleness",
]

# Grafana's global variables, as Grafana would expand them for a 5-minute
# range at a 1 s scrape interval.
GRAFANA_VARS = [
    ("$__rate_interval", "1m"),
    ("${__rate_interval}", "1m"),
    ("$__interval_ms", "15000"),
    ("$__interval", "15s"),
    ("${__interval}", "15s"),
    ("$__range_s", "300"),
    ("$__range_ms", "300000"),
    ("$__range", "5m"),
    ("${__range}", "5m"),
]

PROMQL_WORDS = {
    # aggregations and functions are followed by "(" and skipped anyway;
    # these are the bare words of the grammar.
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
    "and", "or", "unless", "offset", "inf", "nan", "atan2",
}

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def ok(msg):
    print("ok: " + msg)


def load_yaml(path):
    with open(path) as f:
        return yaml.safe_load(f)


def load_dashboards():
    out = []
    for path in sorted(glob.glob(os.path.join(TOP, "grafana", "dashboards", "*.json"))):
        with open(path) as f:
            text = f.read()
        out.append((path, text, json.loads(text)))
    return out


def walk_panels(panels):
    for p in panels:
        yield p
        yield from walk_panels(p.get("panels", []))


def ds_uid(ref):
    if isinstance(ref, dict):
        return ref.get("uid")
    return ref


def datasources():
    """uid -> type of every provisioned datasource."""
    out = {}
    for path in glob.glob(os.path.join(TOP, "grafana", "provisioning", "datasources", "*.y*ml")):
        for ds in load_yaml(path).get("datasources", []):
            out[ds.get("uid")] = ds.get("type")
    return out


def prom_targets(dash, ds_types):
    """(panel, target, expr) of every Prometheus query of a dashboard."""
    for p in walk_panels(dash.get("panels", [])):
        for t in p.get("targets", []):
            uid = ds_uid(t.get("datasource")) or ds_uid(p.get("datasource"))
            if ds_types.get(uid) == "prometheus" and t.get("expr"):
                yield p, t, t["expr"]


def rule_exprs():
    """(name, expr, is_alert) of every rule in prometheus/rules."""
    for path in sorted(glob.glob(os.path.join(TOP, "prometheus", "rules", "*.yml"))):
        for g in load_yaml(path).get("groups", []):
            for r in g.get("rules", []):
                if "alert" in r:
                    yield r["alert"], r["expr"], True
                else:
                    yield r["record"], r["expr"], False


def expand(expr):
    for k, v in GRAFANA_VARS:
        expr = expr.replace(k, v)
    return expr


def metric_names(expr):
    """Metric names a PromQL expression selects (a small tokenizer)."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"'(?:[^'\\]|\\.)*'", "''", e)
    e = re.sub(r"\{[^}]*\}", " ", e)
    e = re.sub(r"\[[^\]]*\]", " ", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    e = re.sub(r"\b\d+(\.\d+)?(ms|[smhdwy]|e[+-]?\d+)?\b", " ", e)
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", e):
        word = m.group(0)
        rest = e[m.end():].lstrip()
        if rest.startswith("("):
            continue  # function or aggregation
        if word.lower() in PROMQL_WORDS:
            continue
        names.add(word)
    return names


def metrics_from_interfaces():
    """Series names of the shim's metrics, from docs/interfaces.md."""
    with open(os.path.join(TOP, "docs", "interfaces.md")) as f:
        text = f.read()
    section = text.split("## Metrics", 1)[1].split("\n## ", 1)[0]
    names = set()
    for m in re.finditer(r"^\|\s*`([a-z_]+)`\s*\|\s*(\w+)\s*\|", section, re.M):
        name, kind = PREFIX + m.group(1), m.group(2)
        names.add(name)
        if kind == "histogram":
            names |= {name + "_bucket", name + "_sum", name + "_count"}
    return names


def metrics_from_exposition(path):
    """Every metric a /metrics page declares (# TYPE, so a labelled counter
    counts before its first increment) or shows a sample of."""
    names = set()
    with open(path) as f:
        for line in f:
            m = re.match(r"# TYPE ([A-Za-z_:][A-Za-z0-9_:]*) (\w+)", line)
            if m:
                names.add(m.group(1))
                if m.group(2) == "histogram":
                    names |= {m.group(1) + s for s in ("_bucket", "_sum", "_count")}
                elif m.group(2) == "summary":
                    names |= {m.group(1) + s for s in ("_sum", "_count")}
                continue
            if line.startswith("#") or not line.strip():
                continue
            names.add(re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", line).group(0))
    return names


def check_dashboards(known_metrics):
    ds_types = datasources()
    for uid in ("prometheus", "loki", "postgres"):
        if uid not in ds_types:
            fail(f"grafana provisioning: no datasource with uid {uid!r}")
    recorded = {name for name, _, alert in rule_exprs() if not alert}
    allowed = known_metrics | recorded | {"up"}
    dashboards = load_dashboards()
    if not dashboards:
        fail("grafana/dashboards: no dashboard")
    uids = set()
    for path, text, dash in dashboards:
        name = os.path.relpath(path, TOP)
        if "${DS_" in text or "__inputs" in dash:
            fail(f"{name}: exported for sharing (${{DS_...}} placeholders or __inputs)")
        if dash.get("uid") in uids or not dash.get("uid"):
            fail(f"{name}: dashboard uid {dash.get('uid')!r} missing or not unique")
        uids.add(dash.get("uid"))
        ids = {}
        for p in walk_panels(dash.get("panels", [])):
            if p.get("id") in ids:
                fail(f"{name}: panel id {p.get('id')} used by {ids[p.get('id')]!r} and {p.get('title')!r}")
            ids[p.get("id")] = p.get("title")
            refs = [p.get("datasource")] + [t.get("datasource") for t in p.get("targets", [])]
            for ref in refs:
                if ref is None:
                    continue
                uid = ds_uid(ref)
                if uid not in ds_types:
                    fail(f"{name}: panel {p.get('title')!r} uses datasource uid {uid!r}, not provisioned")
                elif isinstance(ref, dict) and ref.get("type") and ref["type"] != ds_types[uid]:
                    fail(f"{name}: panel {p.get('title')!r}: datasource {uid!r} has type "
                         f"{ds_types[uid]!r}, the panel says {ref['type']!r}")
            if p.get("type") != "row" and not p.get("targets"):
                fail(f"{name}: panel {p.get('title')!r} has no query")
        cells = {}
        for p in walk_panels(dash.get("panels", [])):
            g = p.get("gridPos") or {}
            if not all(k in g for k in "hwxy") or g["x"] + g["w"] > 24:
                fail(f"{name}: panel {p.get('title')!r} has no valid gridPos (24 columns)")
                continue
            for x in range(g["x"], g["x"] + g["w"]):
                for y in range(g["y"], g["y"] + g["h"]):
                    if (x, y) in cells:
                        fail(f"{name}: panels {cells[x, y]!r} and {p.get('title')!r} overlap")
                        break
                    cells[x, y] = p.get("title")
                else:
                    continue
                break
        for p, t, expr in prom_targets(dash, ds_types):
            unknown = metric_names(expand(expr)) - allowed
            if unknown:
                fail(f"{name}: panel {p['title']!r} names {sorted(unknown)}, "
                     "which the shim does not export")
        titles = {p.get("title") for p in walk_panels(dash.get("panels", []))}
        for title in MUST_HAVE_DATA:
            if title not in titles:
                fail(f"{name}: no panel {title!r}")
        loki = [t["expr"] for p in walk_panels(dash.get("panels", []))
                for t in p.get("targets", []) if ds_types.get(ds_uid(t.get("datasource"))) == "loki"]
        if not any(re.match(r'\{service="api"\}', e) for e in loki):
            fail(f"{name}: no logs panel on {{service=\"api\"}}")
        sqls = [t.get("rawSql", "") for p in walk_panels(dash.get("panels", []))
                for t in p.get("targets", [])
                if ds_types.get(ds_uid(t.get("datasource"))) == "grafana-postgresql-datasource"]
        if not any("user_activity.user_event_counts" in s for s in sqls):
            fail(f"{name}: no panel reads user_activity.user_event_counts")
        ok(f"{name}: {len(ids)} panels, datasources and metric names checked")
    # Every metric the rules name is exported too.
    for rname, expr, _ in rule_exprs():
        unknown = metric_names(expr) - allowed
        if unknown:
            fail(f"rule {rname} names {sorted(unknown)}, which the shim does not export")


def check_rule_tests():
    """Every alert is tested once firing and once not firing."""
    alerts = {name for name, _, alert in rule_exprs() if alert}
    firing, quiet = set(), set()
    for path in glob.glob(os.path.join(TOP, "prometheus", "tests", "*.yml")):
        for t in load_yaml(path).get("tests", []):
            for a in t.get("alert_rule_test", []):
                (firing if a.get("exp_alerts") else quiet).add(a["alertname"])
    for a in sorted(alerts):
        if a not in firing:
            fail(f"alert {a} has no promtool test where it fires")
        if a not in quiet:
            fail(f"alert {a} has no promtool test where it stays quiet")
    required = {"error ratio": r"ErrorRatio", "p95 latency": r"Latency", "ingest rate": r"Ingest",
                "counting stale": r"CountingStale", "database unreachable": r"DatabaseUnreachable"}
    for what, pattern in required.items():
        if not any(re.search(pattern, a) for a in alerts):
            fail(f"no alert for {what}")
    ok(f"{len(alerts)} alerts, each tested firing and quiet")


LOG_FIELDS = ["time", "level", "msg", "method", "route", "status", "duration_ms", "request_id"]


def promtail_fields():
    cfg = load_yaml(os.path.join(TOP, "promtail", "promtail-config.yml"))
    fields = {}
    for sc in cfg["scrape_configs"]:
        for st in sc.get("pipeline_stages", []):
            for inner in st.get("match", {}).get("stages", []) + [st]:
                if "json" in inner:
                    fields.update(inner["json"]["expressions"])
    return fields


def check_promtail():
    fields = promtail_fields()
    missing = [f for f in LOG_FIELDS if f not in fields]
    if missing:
        fail(f"promtail: the json stage does not extract {missing}")
    cfg = load_yaml(os.path.join(TOP, "promtail", "promtail-config.yml"))
    relabel = [r for sc in cfg["scrape_configs"] for r in sc.get("relabel_configs", [])]
    if not any(r.get("target_label") == "service" for r in relabel):
        fail("promtail: no relabelling sets the label service")
    ok("promtail extracts " + ", ".join(sorted(fields)))


def dockerfile_copies(dockerfile):
    """Source paths of the COPY/ADD instructions that read the context."""
    with open(dockerfile) as f:
        text = re.sub(r"\\\n", " ", f.read())
    for line in text.splitlines():
        words = line.split()
        if not words or words[0].upper() not in ("COPY", "ADD"):
            continue
        args = [w for w in words[1:] if not w.startswith("--")]
        if any(w.startswith("--from") for w in words[1:]):
            continue
        yield from args[:-1]


def interpolate(text):
    """docker-compose's ${VAR:-default} with the environment unset."""
    return re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-([^}]*))?\}", lambda m: m.group(1) or "", text)


def check_compose():
    before = len(failures)
    with open(os.path.join(TOP, "docker-compose.yml")) as f:
        compose = yaml.safe_load(interpolate(f.read()))
    services = compose.get("services", {})
    wanted = ["db", "api", "web", "prometheus", "grafana", "loki", "promtail", "postgres_exporter"]
    for s in wanted:
        if s not in services:
            fail(f"docker-compose.yml: no service {s}")
    for name, svc in services.items():
        image = svc.get("image", "")
        if "build" in svc:
            b = svc["build"]
            ctx = os.path.join(TOP, b if isinstance(b, str) else b.get("context", "."))
            df = os.path.join(ctx, "Dockerfile" if isinstance(b, str) else b.get("dockerfile", "Dockerfile"))
            if not os.path.isdir(ctx):
                fail(f"service {name}: build context {os.path.relpath(ctx, TOP)} does not exist")
                continue
            if not os.path.isfile(df):
                fail(f"service {name}: {os.path.relpath(df, TOP)} does not exist")
                continue
            with open(df) as f:
                froms = re.findall(r"^FROM\s+(\S+)", f.read(), re.M)
            for img in froms:
                if img.startswith("${"):
                    continue
                if ":" not in img or img.endswith(":latest"):
                    if not re.fullmatch(r"[a-z0-9_-]+", img):  # a build stage name
                        fail(f"{os.path.relpath(df, TOP)}: FROM {img} has no pinned tag")
            for src in dockerfile_copies(df):
                if not glob.glob(os.path.join(ctx, src.rstrip("/"))):
                    fail(f"{os.path.relpath(df, TOP)}: COPY source {src} does not exist in {os.path.relpath(ctx, TOP) or '.'}")
            with open(df) as f:
                for arg in re.findall(r"^ARG\s+\w+=(\S+:\S+)", f.read(), re.M):
                    if arg.endswith(":latest"):
                        fail(f"{os.path.relpath(df, TOP)}: ARG default {arg} is not pinned")
        elif not image or ":" not in image or image.endswith(":latest"):
            fail(f"service {name}: image {image!r} has no pinned tag")
        for vol in svc.get("volumes", []):
            src = vol.split(":")[0] if isinstance(vol, str) else vol.get("source", "")
            if src.startswith("./"):
                if not os.path.exists(os.path.join(TOP, src)):
                    fail(f"service {name}: volume source {src} does not exist")
    api_env = services.get("api", {}).get("environment", {})
    if not any(k.startswith("HTTP_API_KEY_") for k in api_env):
        fail("service api: no API keys set")
    if api_env.get("CRON_TAB_COUNT_USERS_EVENT_TASK") != "0 */4 * * *":
        fail("service api: CRON_TAB_COUNT_USERS_EVENT_TASK is not 0 */4 * * *")
    dep = services.get("api", {}).get("depends_on", {})
    if not isinstance(dep, dict) or dep.get("db", {}).get("condition") != "service_healthy":
        fail("service api: does not wait for a healthy db")
    if "healthcheck" not in services.get("db", {}):
        fail("service db: no healthcheck")
    ports = {str(p) for s in services.values() for p in s.get("ports", [])}
    for p in ("8080:8080", "8081:8081", "9090:9090", "3000:3000"):
        if p not in ports:
            fail(f"docker-compose.yml: port {p} not published")
    # The Prometheus the compose file starts scrapes what the compose file runs.
    prom = load_yaml(os.path.join(TOP, "prometheus", "prometheus.yml"))
    targets = [t for sc in prom["scrape_configs"] for sc2 in sc.get("static_configs", []) for t in sc2["targets"]]
    for t in targets:
        host = t.split(":")[0]
        if host != "localhost" and host not in services:
            fail(f"prometheus.yml: target {t} is no compose service")
    if len(failures) == before:
        ok(f"docker-compose.yml: {len(services)} services, build inputs, volumes and targets exist")


# Grafana's Logs Drilldown app, where the original README sent its users.
# The app needs Grafana 11.6.11 or later (12.x installs it by itself) and
# Loki 3.2 or later with these limits and the pattern ingester.
DRILLDOWN_APP = "grafana-lokiexplore-app"
DRILLDOWN_LOKI_LIMITS = ("allow_structured_metadata", "volume_enabled", "discover_log_levels")
DRILLDOWN_LINK = re.compile(r"http://localhost:3000/a/grafana-lokiexplore-app/explore/service/([a-z_-]+)/logs\?var-ds=([a-z0-9_-]+)")


def image_version(image):
    """(major, minor, patch) of an image tag such as grafana/loki:3.5.0."""
    m = re.search(r":v?(\d+)\.(\d+)\.(\d+)", image or "")
    return tuple(int(x) for x in m.groups()) if m else None


def check_logs_drilldown():
    before = len(failures)
    with open(os.path.join(TOP, "docker-compose.yml")) as f:
        services = yaml.safe_load(interpolate(f.read())).get("services", {})
    grafana = services.get("grafana", {})
    version = image_version(grafana.get("image"))
    if not version or version < (12, 0, 0):
        fail(f"Logs Drilldown: Grafana {grafana.get('image')!r} does not install {DRILLDOWN_APP} by itself (12.0 or later does)")
    env = grafana.get("environment", {})
    if str(env.get("GF_PLUGINS_PREINSTALL_DISABLED", "")).lower() == "true" or \
            DRILLDOWN_APP in str(env.get("GF_PLUGINS_DISABLE_PLUGINS", "")):
        fail(f"Logs Drilldown: the grafana service turns off the installation of {DRILLDOWN_APP}")
    loki = services.get("loki", {})
    version = image_version(loki.get("image"))
    if not version or version < (3, 2, 0):
        fail(f"Logs Drilldown: Loki {loki.get('image')!r} is older than 3.2")
    cfg = load_yaml(os.path.join(TOP, "loki", "loki-config.yml"))
    for key in DRILLDOWN_LOKI_LIMITS:
        if (cfg.get("limits_config") or {}).get(key) is not True:
            fail(f"Logs Drilldown: loki/loki-config.yml: limits_config.{key} is not true")
    if ((cfg.get("pattern_ingester") or {}).get("enabled")) is not True:
        fail("Logs Drilldown: loki/loki-config.yml: pattern_ingester.enabled is not true")
    # promtail labels every stream with service (Explore's {service="api"})
    # and service_name (what the app lists), both the compose service.
    pt = load_yaml(os.path.join(TOP, "promtail", "promtail-config.yml"))
    relabel = [r for sc in pt["scrape_configs"] for r in sc.get("relabel_configs", [])]
    for label in ("service", "service_name"):
        if not any(r.get("target_label") == label and
                   r.get("source_labels") == ["__meta_docker_container_label_com_docker_compose_service"]
                   for r in relabel):
            fail(f"Logs Drilldown: promtail does not set {label} to the compose service")
    # The links (docs and the dashboard) open on the api service's logs in
    # the provisioned Loki datasource.
    loki_uids = {uid for uid, t in datasources().items() if t == "loki"}
    texts = {}
    for rel in ("README.md", os.path.join("docs", "coming-from-the-original.md")):
        path = os.path.join(TOP, rel)
        if os.path.exists(path):
            with open(path) as f:
                texts[rel] = f.read()
    for rel, text in texts.items():
        links = DRILLDOWN_LINK.findall(text)
        if not links:
            fail(f"Logs Drilldown: {rel} has no link to the api service's logs in the app")
        for service, uid in links:
            if service != "api" or uid not in loki_uids:
                fail(f"Logs Drilldown: {rel} links service {service!r} in datasource {uid!r} (want api in {sorted(loki_uids)})")
    for path, _, dash in load_dashboards():
        urls = [l.get("url", "") for l in dash.get("links", [])]
        if not any(u.startswith(f"/a/{DRILLDOWN_APP}/explore/service/api/logs?var-ds=") and
                   u.split("var-ds=")[1].split("&")[0] in loki_uids for u in urls):
            fail(f"Logs Drilldown: {os.path.relpath(path, TOP)} has no link to the api service's logs in the app")
    if len(failures) == before:
        ok(f"Logs Drilldown: Grafana {grafana.get('image')}, Loki {loki.get('image')} with "
           f"{', '.join(DRILLDOWN_LOKI_LIMITS)} and the pattern ingester, promtail's service_name, "
           f"links in {', '.join(sorted(texts))} and the dashboard")


def cmd_static(args):
    if args.metrics:
        known = metrics_from_exposition(args.metrics)
        documented = metrics_from_interfaces()
        # A histogram shows as its _bucket, _sum and _count series only.
        missing = sorted(n for n in documented - known
                         if not n.endswith(("_bucket", "_sum", "_count")) and n + "_count" not in known)
        if missing:
            fail(f"the shim does not export documented metrics {missing}")
        print(f"metric names from the running shim ({len(known)})")
    else:
        known = metrics_from_interfaces()
        print(f"metric names from docs/interfaces.md ({len(known)})")
    check_dashboards(known)
    check_rule_tests()
    check_promtail()
    check_compose()
    check_logs_drilldown()


# The original's variables, as docker-compose passes them through (README,
# "The whole stack"): (variable, value set, where it must land).
ORIGINAL_VARS = [
    ("DB_URL", "postgres://u:p@elsewhere:5432/d", ("api", "DB_URL")),
    ("HTTP_CORS_ALLOWED_ORIGINS", "https://a.example", ("api", "HTTP_CORS_ALLOWED_ORIGINS")),
    ("HTTP_CORS_ALLOWED_METHODS", "GET", ("api", "HTTP_CORS_ALLOWED_METHODS")),
    ("HTTP_CORS_ALLOWED_HEADERS", "Content-Type", ("api", "HTTP_CORS_ALLOWED_HEADERS")),
    ("HTTP_CORS_MAX_AGE_HOURS_CACHE", "3", ("api", "HTTP_CORS_MAX_AGE_HOURS_CACHE")),
    ("CRON_TAB_COUNT_USERS_EVENT_TASK", "*/10 * * * *", ("db", "CRON_TAB_COUNT_USERS_EVENT_TASK")),
    ("REACT_APP_API_BASE_URL", "http://example.test/api", ("web", "REACT_APP_API_BASE_URL")),
]


def compose_config(env, env_file=None):
    """docker-compose's own rendering of the file with exactly env set in
    the environment and env_file's variables in an .env file."""
    import subprocess
    import tempfile
    clean = {k: v for k, v in os.environ.items()
             if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")}
    # Our own env file (empty by default): an .env beside the compose file
    # must not count.
    with tempfile.NamedTemporaryFile("w", suffix=".env") as f:
        for name, value in (env_file or {}).items():
            f.write(f"{name}={value}\n")
        f.flush()
        r = subprocess.run(["docker-compose", "--env-file", f.name, "-f", os.path.join(TOP, "docker-compose.yml"),
                            "config"], env={**clean, **env}, capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"docker-compose config with {env}: {r.stderr.strip()}")
        return {}
    return yaml.safe_load(r.stdout)["services"]


def cmd_composeenv(args):
    """The original's variables reach the services; HTTP_PORT moves the
    published port and the page's default API address, not the port inside
    the network (Prometheus's target, the healthcheck); the page's keys
    default to the api service's own read and write defaults, never admin,
    and can be set empty."""
    dflt = compose_config({})
    api, web = dflt.get("api", {}), dflt.get("web", {})
    if [p.get("published") for p in api.get("ports", [])] != [8080] or api["environment"].get("HTTP_PORT") != "8080":
        fail(f"service api: by default not published on 8080 and listening on 8080: {api.get('ports')}")
    keys = api.get("environment", {})
    wenv = web.get("environment", {})
    for kind in ("READ", "WRITE"):
        if wenv.get(f"WEB_API_KEY_{kind}") not in ("", keys.get(f"HTTP_API_KEY_{kind}")):
            fail(f"service web: WEB_API_KEY_{kind} defaults to {wenv.get(f'WEB_API_KEY_{kind}')!r}, "
                 f"not the api service's HTTP_API_KEY_{kind} {keys.get(f'HTTP_API_KEY_{kind}')!r}")
    admin = keys.get("HTTP_API_KEY_ADMIN")
    if admin and admin in wenv.values():
        fail("service web: the page is given the admin key")
    if wenv.get("API_BASE_URL_DEFAULT") != "http://localhost:8080":
        fail(f"service web: the page's default API is {wenv.get('API_BASE_URL_DEFAULT')!r}")
    env = {name: value for name, value, _ in ORIGINAL_VARS}
    env.update(HTTP_PORT="9000", WEB_API_KEY_READ="", WEB_API_KEY_WRITE="")
    # the same variables from an .env file, as the original's users kept them
    from_file = compose_config({}, env_file=env)
    for name, value, (svc, key) in ORIGINAL_VARS:
        got = from_file.get(svc, {}).get("environment", {}).get(key)
        if got != value:
            fail(f"{name}={value!r} in an .env file gives service {svc} {key}={got!r}")
    set_ = compose_config(env)
    for name, value, (svc, key) in ORIGINAL_VARS:
        got = set_.get(svc, {}).get("environment", {}).get(key)
        if got != value:
            fail(f"{name}={value!r} gives service {svc} {key}={got!r}")
    api, web = set_.get("api", {}), set_.get("web", {})
    ports = [(p.get("published"), p.get("target")) for p in api.get("ports", [])]
    if ports != [(9000, 8080)] or api.get("environment", {}).get("HTTP_PORT") != "8080":
        fail(f"HTTP_PORT=9000: api publishes {ports} and listens on {api.get('environment', {}).get('HTTP_PORT')}, "
             "expected 9000 -> 8080 (Prometheus scrapes api:8080)")
    if "8080" not in str(api.get("healthcheck", {}).get("test")):
        fail("service api: the healthcheck does not ask port 8080")
    wenv = web.get("environment", {})
    if wenv.get("API_BASE_URL_DEFAULT") != "http://localhost:9000":
        fail(f"HTTP_PORT=9000: the page's default API is {wenv.get('API_BASE_URL_DEFAULT')!r}")
    if wenv.get("WEB_API_KEY_READ") != "" or wenv.get("WEB_API_KEY_WRITE") != "":
        fail("WEB_API_KEY_READ= and WEB_API_KEY_WRITE= (empty) do not leave the page without keys")
    prom = load_yaml(os.path.join(TOP, "prometheus", "prometheus.yml"))
    if not any("api:8080" in sc2["targets"] for sc in prom["scrape_configs"] for sc2 in sc.get("static_configs", [])):
        fail("prometheus.yml does not scrape api:8080")
    if not failures:
        ok("docker-compose: " + ", ".join(n for n, _, _ in ORIGINAL_VARS) +
           " and HTTP_PORT (published port, the page's default API) pass through; the page's keys "
           "default to the api's read and write defaults and can be emptied")


def cmd_promconfig(args):
    cfg = load_yaml(os.path.join(TOP, "prometheus", "prometheus.yml"))
    cfg["global"]["scrape_interval"] = "1s"
    cfg["global"]["evaluation_interval"] = "1s"
    cfg["rule_files"] = [os.path.join(TOP, "prometheus", r) for r in cfg["rule_files"]]
    jobs = []
    for sc in cfg["scrape_configs"]:
        if sc["job_name"] == "user-activity-api":
            sc["static_configs"][0]["targets"] = args.target
            jobs.append(sc)
    if not jobs:
        sys.exit("prometheus.yml has no job user-activity-api")
    cfg["scrape_configs"] = jobs
    with open(args.out, "w") as f:
        yaml.safe_dump(cfg, f, sort_keys=False)


def prom_query(base, expr):
    url = base + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        return json.load(e)


def cmd_queries(args):
    base = args.prometheus.rstrip("/")
    ds_types = datasources()
    n = 0
    for path, _, dash in load_dashboards():
        name = os.path.relpath(path, TOP)
        for p, t, expr in prom_targets(dash, ds_types):
            n += 1
            q = expand(expr)
            res = prom_query(base, q)
            if res.get("status") != "success":
                fail(f"{name}: panel {p['title']!r} {t['refId']}: {res.get('errorType')}: {res.get('error')} in {q}")
                continue
            for w in res.get("warnings", []) or []:
                fail(f"{name}: panel {p['title']!r} {t['refId']}: warning {w}")
            data = res["data"]["result"]
            if p["title"] in MUST_HAVE_DATA and not data:
                fail(f"{name}: panel {p['title']!r} {t['refId']} returned no data: {q}")
            else:
                ok(f"panel {p['title']!r} {t['refId']}: {len(data)} series")
    for rname, expr, _ in rule_exprs():
        n += 1
        res = prom_query(base, expr)
        if res.get("status") != "success":
            fail(f"rule {rname}: {res.get('errorType')}: {res.get('error')}")
        else:
            ok(f"rule {rname}: {len(res['data']['result'])} series")
    # Prometheus itself evaluated every rule without error.
    with urllib.request.urlopen(base + "/api/v1/rules", timeout=10) as r:
        groups = json.load(r)["data"]["groups"]
    for g in groups:
        for r in g["rules"]:
            if r.get("health") != "ok":
                fail(f"Prometheus evaluated rule {r['name']}: health {r.get('health')} {r.get('lastError', '')}")
    # The recording rules behind the alerts have data after traffic.
    for rec in ("job:user_activity_tracking_api_requests:rate5m",
                "job:user_activity_tracking_api_server_errors:ratio_rate5m",
                "path:user_activity_tracking_api_request_duration_seconds:p95_5m",
                "action:user_activity_tracking_events_ingested:rate5m"):
        res = prom_query(base, rec)
        if res.get("status") != "success" or not res["data"]["result"]:
            fail(f"recording rule {rec} has no data after traffic")
    print(f"{n} expressions evaluated")


def cmd_sql(args):
    ds_types = datasources()
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    start = now - datetime.timedelta(days=1)
    iso = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = []
    for _, _, dash in load_dashboards():
        for p in walk_panels(dash.get("panels", [])):
            for t in p.get("targets", []):
                uid = ds_uid(t.get("datasource")) or ds_uid(p.get("datasource"))
                if ds_types.get(uid) != "grafana-postgresql-datasource":
                    continue
                sql = t["rawSql"]
                sql = re.sub(r"\$__timeFilter\(([^)]*)\)",
                             lambda m: f"{m.group(1)} BETWEEN '{iso(start)}' AND '{iso(now)}'", sql)
                sql = sql.replace("$__timeFrom()", f"'{iso(start)}'").replace("$__timeTo()", f"'{iso(now)}'")
                if "$" in sql:
                    sys.exit(f"panel {p['title']!r}: unexpanded macro in {sql}")
                # one line per panel: its title, its rows and the rows that
                # hold a number other than zero (a panel of zeros shows nothing)
                title = p["title"].replace("'", "''")
                out.append(f"-- panel: {p['title']}\n"
                           f"SELECT '{title}' AS panel, count(*) AS rows,\n"
                           f"       count(*) FILTER (WHERE EXISTS (\n"
                           f"           SELECT FROM jsonb_each(to_jsonb(q)) AS j\n"
                           f"           WHERE jsonb_typeof(j.value) = 'number' AND j.value <> '0')) AS nonzero\n"
                           f"FROM (\n{sql}\n) AS q;")
    print("\n".join(out))


def cmd_logs(args):
    fields = promtail_fields()
    seen = 0
    with open(args.file) as f:
        for i, line in enumerate(f, 1):
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                rec = json.loads(line)
            except ValueError as e:
                fail(f"log line {i} is not JSON ({e}): {line[:120]}")
                continue
            try:
                datetime.datetime.fromisoformat(rec["time"].replace("Z", "+00:00"))
            except (KeyError, ValueError):
                fail(f"log line {i}: field time missing or not RFC 3339: {line[:120]}")
            if "method" in rec:
                seen += 1
                missing = [f for f in fields.values() if f not in rec]
                if missing:
                    fail(f"log line {i}: request line without {missing}: {line[:160]}")
    if seen == 0:
        fail(f"{args.file}: no request log line")
    else:
        ok(f"{seen} request log lines carry {', '.join(sorted(fields.values()))}")


IMAGE_PG_CONFIG = "/usr/lib/postgresql/15/bin/pg_config"


def cmd_imagebuild(args):
    """Replay a Dockerfile's build stage without Docker: its COPY lines into
    a scratch root, its make and dpkg-buildpackage commands there (the
    apt-get lines are what scripts/deps.sh installs here); then what later
    stages copy out of it must exist.  Dockerfiles whose build stages are
    the same share one replay."""
    import hashlib
    import shutil
    import subprocess

    with open(args.dockerfile) as f:
        text = re.sub(r"\\\n", " ", f.read())
    stage = []
    copied_out = []
    stages = 0
    for line in text.splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0].upper() == "FROM":
            stages += 1
        elif stages == 1:
            stage.append(line)
        elif words[0].upper() == "COPY" and any(w.startswith("--from=") for w in words):
            copied_out.append([w for w in words[1:] if not w.startswith("--")][0])
    key = hashlib.sha1("\n".join(stage + [args.pg_config]).encode()).hexdigest()[:12]
    root = os.path.join(os.path.dirname(os.path.abspath(args.out)), "stage-" + key)
    out = os.path.abspath(args.out)
    if os.path.lexists(out):
        os.remove(out) if os.path.islink(out) else shutil.rmtree(out)
    ran = "shared"
    if not os.path.isdir(root):
        ran = replay_stage(stage, root, args)
        if ran is None:
            return
    os.symlink(root, out)
    for path in copied_out:
        if not glob.glob(root + path):
            fail(f"{args.dockerfile}: a later stage copies {path}, which the build stage did not make")
    if not failures:
        ok(f"{os.path.relpath(args.dockerfile, TOP)}: build stage replayed ({ran} commands), "
           f"{', '.join(copied_out)} present")


def replay_stage(stage, root, args):
    import shutil
    import subprocess

    os.makedirs(root, exist_ok=True)
    workdir = "/"
    ran = 0
    env = {k: v for k, v in os.environ.items() if k != "PG_CONFIG"}
    for line in stage:
        words = line.split()
        ins = words[0].upper()
        if ins == "WORKDIR":
            workdir = words[1]
            os.makedirs(root + workdir, exist_ok=True)
        elif ins == "COPY":
            *srcs, dst = [w for w in words[1:] if not w.startswith("--")]
            dst = os.path.join(workdir, dst)
            for src in srcs:
                from_ = os.path.join(TOP, src)
                to = root + (os.path.join(dst, os.path.basename(src.rstrip("/")))
                             if dst.endswith("/") or len(srcs) > 1 else dst)
                if os.path.isdir(from_):
                    shutil.copytree(from_, to, dirs_exist_ok=True,
                                    ignore=shutil.ignore_patterns("*.o", "*.bc", "*.so", "user-activity-shim", "unit"))
                else:
                    os.makedirs(os.path.dirname(to), exist_ok=True)
                    shutil.copy(from_, to)
        elif ins == "RUN":
            for cmd in " ".join(words[1:]).split("&&"):
                cmd = cmd.strip()
                if cmd.startswith("make"):
                    cmd = (cmd.replace(IMAGE_PG_CONFIG, args.pg_config)
                           .replace("DESTDIR=/", f"DESTDIR={root}/") + " -s -j2")
                elif not cmd.startswith("dpkg-buildpackage"):
                    continue  # apt-get and the like: the packages are installed here
                r = subprocess.run(cmd, shell=True, cwd=root + workdir, env=env,
                                   capture_output=True, text=True)
                ran += 1
                if r.returncode != 0:
                    fail(f"{args.dockerfile}: {cmd} failed:\n{r.stdout[-2000:]}{r.stderr[-2000:]}")
                    return None
    if ran == 0:
        fail(f"{args.dockerfile}: its build stage runs no make or dpkg-buildpackage command")
        return None
    return ran


def cmd_selftest(args):
    """Plant one fault at a time in a copy of the monitoring files; the
    static checks must name each."""
    import shutil
    import subprocess
    import tempfile

    def mutate_dashboard(fn):
        def m(root):
            path = glob.glob(os.path.join(root, "grafana", "dashboards", "*.json"))[0]
            with open(path) as f:
                d = json.load(f)
            fn(d)
            with open(path, "w") as f:
                json.dump(d, f)
        return m

    def first_prom(d):
        return next(p for p in walk_panels(d["panels"]) if p.get("datasource", {}).get("uid") == "prometheus")

    def replace_in(rel, old, new):
        def m(root):
            path = os.path.join(root, rel)
            with open(path) as f:
                text = f.read()
            assert old in text, (rel, old)
            with open(path, "w") as f:
                f.write(text.replace(old, new, 1))
        return m

    cases = [
        ("${DS_ placeholder", "exported for sharing",
         mutate_dashboard(lambda d: first_prom(d).__setitem__("datasource", {"uid": "${DS_PROMETHEUS}"}))),
        ("duplicate panel id", "panel id",
         mutate_dashboard(lambda d: d["panels"][2].__setitem__("id", d["panels"][1]["id"]))),
        ("unknown datasource uid", "not provisioned",
         mutate_dashboard(lambda d: first_prom(d)["targets"][0].__setitem__("datasource", {"uid": "nope"}))),
        ("unknown metric", "does not export",
         mutate_dashboard(lambda d: first_prom(d)["targets"][0].__setitem__(
             "expr", "sum(rate(user_activity_tracking_api_request_total[$__rate_interval]))"))),
        ("overlapping panels", "overlap",
         mutate_dashboard(lambda d: d["panels"][2].__setitem__("gridPos", dict(d["panels"][1]["gridPos"])))),
        ("alert without tests", "has no promtool test",
         replace_in("prometheus/rules/user_activity.yml", "alert: UserActivityDatabaseUnreachable",
                    "alert: UserActivityDatabaseGone")),
        ("COPY of a missing file", "does not exist",
         replace_in("docker/db/Dockerfile", "COPY Makefile user_activity.control", "COPY Makefile no-such-file")),
        ("unpinned image", "no pinned tag",
         replace_in("docker-compose.yml", "image: grafana/loki:3.5.0", "image: grafana/loki")),
        ("Loki without the volume endpoint", "limits_config.volume_enabled",
         replace_in("loki/loki-config.yml", "volume_enabled: true", "volume_enabled: false")),
        ("Grafana without Logs Drilldown", "does not install grafana-lokiexplore-app",
         replace_in("docker-compose.yml", "image: grafana/grafana:12.3.1", "image: grafana/grafana:11.1.4")),
        ("a Logs Drilldown link to another datasource", "want api in",
         replace_in("docs/coming-from-the-original.md", "logs?var-ds=loki", "logs?var-ds=prometheus")),
        ("promtail without a field", "does not extract",
         replace_in("promtail/promtail-config.yml", "request_id: request_id", "rid: request_id")),
    ]
    for what, expect, mutate in cases:
        with tempfile.TemporaryDirectory() as root:
            for d in ("grafana", "prometheus", "promtail", "loki", "docker", "docs"):
                shutil.copytree(os.path.join(TOP, d), os.path.join(root, d))
            for f in ("docker-compose.yml", "Makefile", "user_activity.control", "README.md"):
                shutil.copy(os.path.join(TOP, f), root)
            for d in ("extension", "http-shim", "frontend", "debian", "sql", "expected", "specs"):
                if os.path.isdir(os.path.join(TOP, d)):
                    os.symlink(os.path.join(TOP, d), os.path.join(root, d))
            if not cases.index((what, expect, mutate)):
                r = subprocess.run([sys.executable, __file__, "static"], env=dict(os.environ, MONITORING_TOP=root),
                                   capture_output=True, text=True)
                if r.returncode != 0:
                    fail(f"selftest: the unmodified copy fails: {r.stdout}")
            mutate(root)
            r = subprocess.run([sys.executable, __file__, "static"], env=dict(os.environ, MONITORING_TOP=root),
                               capture_output=True, text=True)
            if r.returncode == 0 or expect not in r.stdout:
                fail(f"selftest: {what} not caught (exit {r.returncode}): {r.stdout[-300:]}")
            else:
                ok(f"selftest: {what} caught")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("static")
    s.add_argument("--metrics")
    s = sub.add_parser("promconfig")
    s.add_argument("--target", required=True, action="append")
    s.add_argument("--out", required=True)
    s = sub.add_parser("queries")
    s.add_argument("--prometheus", required=True)
    sub.add_parser("sql")
    sub.add_parser("selftest")
    sub.add_parser("composeenv")
    s = sub.add_parser("imagebuild")
    s.add_argument("dockerfile")
    s.add_argument("--pg-config", required=True)
    s.add_argument("--out", required=True)
    s = sub.add_parser("logs")
    s.add_argument("file")
    args = ap.parse_args()
    {"static": cmd_static, "promconfig": cmd_promconfig, "queries": cmd_queries,
     "sql": cmd_sql, "logs": cmd_logs, "selftest": cmd_selftest, "imagebuild": cmd_imagebuild,
     "composeenv": cmd_composeenv}[args.cmd](args)
    if failures:
        print(f"{len(failures)} failure(s)")
        sys.exit(1)


if __name__ == "__main__":
    main()
