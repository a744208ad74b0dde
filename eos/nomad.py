"""Services as Nomad jobs, for the eos_nomad runner and the deploy: the job spec generated
from pillar ``eos:services:<name>`` in Nomad's JSON job form (or as a Terraform ``nomad_job``
resource), and the answers of Nomad's HTTP API (through python-nomad) checked before use:
they are outside data."""
import json
import re

from salt.exceptions import CommandExecutionError

from eos.terraform import NAME, check_name

IMAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}$")
LABEL = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
PATH = re.compile(r"^/[A-Za-z0-9._~/%?&=+-]{0,255}$")
SEC = 1_000_000_000
COUNT_MAX = 1000


def _int(name, key, value, low, high):
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise CommandExecutionError(
            f"service {name}: {key} must be an integer from {low} to {high}, got {value!r}")
    return value


def service_spec(name, services, profile):
    """The checked pillar of one service (eos:services:<name>), the profile filling gaps."""
    check_name("service", name)
    if not isinstance(services, dict):
        raise CommandExecutionError(f"pillar eos:services must be a mapping, got {type(services).__name__}")
    svc = services.get(name)
    if not isinstance(svc, dict):
        raise CommandExecutionError(f"pillar eos:services:{name} must be a mapping, got {svc!r}")
    if not isinstance(profile, dict):
        raise CommandExecutionError(f"the environment profile must be a mapping, got {profile!r}")
    image = svc.get("image")
    if not isinstance(image, str) or not IMAGE.match(image):
        raise CommandExecutionError(f"service {name}: image must be an image reference, got {image!r}")
    spec = {
        "name": name, "image": image,
        "count": _int(name, "count", svc.get("count", profile.get("replicas", 1)), 0, COUNT_MAX),
        "cpu": _int(name, "cpu", svc.get("cpu", profile.get("cpu", 100)), 1, 1_000_000),
        "memory": _int(name, "memory", svc.get("memory", profile.get("memory", 128)), 1, 1_048_576),
        "driver": svc.get("driver", "docker"), "via": svc.get("via", "nomad"),
        "datacenters": svc.get("datacenters", ["dc1"]),
    }
    if spec["via"] not in ("nomad", "terraform"):
        raise CommandExecutionError(f"service {name}: via must be nomad or terraform, got {spec['via']!r}")
    if not isinstance(spec["driver"], str) or not LABEL.match(spec["driver"]):
        raise CommandExecutionError(f"service {name}: driver {spec['driver']!r} is not a driver name")
    dcs = spec["datacenters"]
    if not isinstance(dcs, list) or not dcs or not all(isinstance(d, str) and NAME.match(d) for d in dcs):
        raise CommandExecutionError(f"service {name}: datacenters must be a list of names, got {dcs!r}")
    ports = svc.get("ports", {})
    if not isinstance(ports, dict) or len(ports) > 16:
        raise CommandExecutionError(f"service {name}: ports must be a mapping label -> port, got {ports!r}")
    for label, port in ports.items():
        if not isinstance(label, str) or not LABEL.match(label):
            raise CommandExecutionError(f"service {name}: port label {label!r} is not allowed")
        _int(name, f"ports:{label}", port, 0, 65535)
    spec["ports"] = dict(ports)
    spec["health"] = _health(name, svc.get("health"), ports)
    env = svc.get("env", {})
    if not isinstance(env, dict) or not all(isinstance(k, str) and re.match(r"^[A-Z_][A-Z0-9_]{0,127}$", k)
                                            and isinstance(v, (str, int, float)) for k, v in env.items()):
        raise CommandExecutionError(f"service {name}: env must map VARIABLE names to scalars, got {env!r}")
    spec["env"] = {k: str(v) for k, v in env.items()}
    return spec


def _health(name, health, ports):
    if health is None:
        return None
    if not isinstance(health, dict):
        raise CommandExecutionError(f"service {name}: health must be a mapping, got {health!r}")
    path = health.get("path", "/")
    port = health.get("port")
    if not isinstance(path, str) or not PATH.match(path):
        raise CommandExecutionError(f"service {name}: health path {path!r} is not allowed")
    if port not in ports:
        raise CommandExecutionError(f"service {name}: health port {port!r} is not one of its ports")
    return {"path": path, "port": port,
            "interval": _int(name, "health:interval", health.get("interval", 10), 1, 3600),
            "timeout": _int(name, "health:timeout", health.get("timeout", 2), 1, 600)}


def job_id(name, environment):
    return f"{name}-{environment}"


def job(spec, environment):
    """The service as a Nomad job (the JSON job form POST /v1/jobs takes under "Job")."""
    name = spec["name"]
    reserved = [{"Label": k, "Value": v} for k, v in spec["ports"].items() if v]
    dynamic = [{"Label": k, "Value": 0} for k, v in spec["ports"].items() if not v]
    services = []
    if spec["health"]:
        h = spec["health"]
        services.append({"Name": name, "PortLabel": h["port"], "Checks": [{
            "Name": f"{name}-health", "Type": "http", "Path": h["path"], "PortLabel": h["port"],
            "Interval": h["interval"] * SEC, "Timeout": h["timeout"] * SEC}]})
    task = {"Name": name, "Driver": spec["driver"],
            "Config": {"image": spec["image"], "ports": sorted(spec["ports"])},
            "Env": spec["env"] or None,
            "Resources": {"CPU": spec["cpu"], "MemoryMB": spec["memory"]},
            "Services": services or None}
    jid = job_id(name, environment)
    return {
        "ID": jid, "Name": jid, "Type": "service", "Datacenters": spec["datacenters"],
        "Meta": {"eos_service": name, "eos_environment": environment},
        "Update": {"MaxParallel": 1, "HealthCheck": "checks", "MinHealthyTime": 10 * SEC,
                   "HealthyDeadline": 300 * SEC, "AutoRevert": False},
        "TaskGroups": [{"Name": name, "Count": spec["count"],
                        "Networks": [{"ReservedPorts": reserved or None, "DynamicPorts": dynamic or None}],
                        "Tasks": [task]}],
    }


def terraform_resource(spec, environment):
    """The same job as a Terraform nomad_job resource (JSON configuration syntax)."""
    return {
        "terraform": {"required_providers": {"nomad": {"source": "hashicorp/nomad"}}},
        "resource": {"nomad_job": {spec["name"].replace("-", "_"): {
            "jobspec": json.dumps({"Job": job(spec, environment)}, sort_keys=True),
            "json": True, "detach": False}}},
    }


# --- answers of the API ---------------------------------------------------------------------------

def _fields(what, obj, fields):
    if not isinstance(obj, dict):
        raise CommandExecutionError(f"Nomad answered {what} with {type(obj).__name__}, not an object")
    for key, types in fields.items():
        if key in obj and obj[key] is not None and not isinstance(obj[key], types):
            raise CommandExecutionError(f"Nomad answered {what} with a bad {key}: {str(obj[key])[:100]!r}")
    return obj


def deployment(obj):
    if obj is None:
        return None
    d = _fields("a deployment", obj, {"ID": str, "JobID": str, "JobVersion": int, "Status": str,
                                      "StatusDescription": str, "TaskGroups": dict})
    groups = {}
    for g, st in (d.get("TaskGroups") or {}).items():
        st = _fields("a deployment group", st, {"DesiredTotal": int, "HealthyAllocs": int,
                                                 "UnhealthyAllocs": int, "PlacedAllocs": int})
        groups[str(g)[:64]] = {k: st.get(k) for k in ("DesiredTotal", "PlacedAllocs", "HealthyAllocs",
                                                       "UnhealthyAllocs")}
    return {"id": d.get("ID"), "job_version": d.get("JobVersion"), "status": d.get("Status"),
            "description": (d.get("StatusDescription") or "")[:256], "groups": groups}


def allocation(obj):
    a = _fields("an allocation", obj, {"ID": str, "TaskGroup": str, "ClientStatus": str,
                                       "DesiredStatus": str, "JobVersion": int, "NodeID": str,
                                       "DeploymentStatus": dict})
    health = (a.get("DeploymentStatus") or {}).get("Healthy")
    return {"id": a.get("ID"), "group": a.get("TaskGroup"), "node": a.get("NodeID"),
            "client_status": a.get("ClientStatus"), "desired_status": a.get("DesiredStatus"),
            "job_version": a.get("JobVersion"), "healthy": health if isinstance(health, bool) else None}


def versions(obj):
    v = _fields("job versions", obj, {"Versions": list})
    out = []
    for j in v.get("Versions") or []:
        j = _fields("a job version", j, {"Version": int, "Stable": bool})
        out.append({"version": j.get("Version"), "stable": bool(j.get("Stable"))})
    return out


def register(obj):
    r = _fields("a job registration", obj, {"EvalID": str, "JobModifyIndex": int, "Warnings": str})
    return {"eval_id": r.get("EvalID"), "job_modify_index": r.get("JobModifyIndex"),
            "warnings": (r.get("Warnings") or "")[:1024]}


def plan(obj):
    p = _fields("a job plan", obj, {"Diff": dict, "Annotations": dict, "FailedTGAllocs": dict,
                                    "Warnings": str})
    updates = ((p.get("Annotations") or {}).get("DesiredTGUpdates")) or {}
    if not isinstance(updates, dict):
        raise CommandExecutionError("Nomad answered a job plan with bad DesiredTGUpdates")
    return {"diff": ((p.get("Diff") or {}).get("Type") or "None")[:16],
            "groups": {str(g)[:64]: {k: v for k, v in (u or {}).items() if isinstance(v, int) and v}
                       for g, u in updates.items()},
            "failed": sorted(str(g)[:64] for g in (p.get("FailedTGAllocs") or {})),
            "warnings": (p.get("Warnings") or "")[:1024]}
