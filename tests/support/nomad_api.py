"""A stand-in for Nomad's HTTP API, for tests only: no Nomad can be installed here (its server
is not under an open-source licence and no registry here ships it).

It answers exactly the endpoints eos_nomad uses, with the request and response shapes of
Nomad's API documentation (/v1/jobs, /v1/job/:id, /v1/job/:id/plan, /v1/job/:id/versions,
/v1/job/:id/allocations, /v1/job/:id/deployment, /v1/job/:id/deployments, /v1/job/:id/revert,
/v1/deployment/:id); errors are plain text with Nomad's status codes. Nothing is scheduled:
a registered job gets a deployment and Count allocations, and each read of the deployment
advances it one step. An allocation's health is the job's own service check, really made:
an HTTP GET of the check's path on 127.0.0.1 and the group's static port (the tests start the
backend that stands for the task). With ``acl_token`` set, a request without that
X-Nomad-Token gets 403 "Permission denied". Faults for tests: ``fail_status`` (every answer
is that HTTP status) and ``hang`` (answers are delayed that many seconds).
"""
import http.server
import itertools
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

JOB_FIELDS = ("ID", "Name", "Type", "TaskGroups")
STEPS_TO_HEALTHY = 2


class NomadState:
    def __init__(self):
        self.lock = threading.Lock()
        self.index = itertools.count(10)
        self.versions = {}      # job id -> [job dict per version]
        self.stopped = set()
        self.deployments = {}   # deployment id -> deployment
        self.allocs = {}        # job id -> [alloc stubs]
        self.requests = []      # (method, path) of every request, for assertions
        self.tokens = set()     # the X-Nomad-Token values seen
        self.acl_token = None   # when set, requests without it get 403, as with ACLs on
        self.fail_status = None
        self.hang = 0.0

    # --- registering -----------------------------------------------------------------------
    def register(self, job):
        for field in JOB_FIELDS:
            if field not in job:
                raise ValueError(f"Job is missing {field}")
        for tg in job["TaskGroups"]:
            if not isinstance(tg.get("Count"), int) or tg["Count"] < 0:
                raise ValueError(f"Task group {tg.get('Name')} count must be >= 0")
            if not tg.get("Tasks"):
                raise ValueError(f"Task group {tg.get('Name')} has no tasks")
        jid = job["ID"]
        index = next(self.index)
        versions = self.versions.setdefault(jid, [])
        job = dict(job, Version=len(versions), Stable=False, Status="pending", Stop=False,
                   CreateIndex=versions[0]["CreateIndex"] if versions else index,
                   ModifyIndex=index, JobModifyIndex=index, SubmitTime=time.time_ns())
        versions.append(job)
        self.stopped.discard(jid)
        self._deploy(job, index)
        return {"EvalID": str(uuid.uuid4()), "EvalCreateIndex": index, "JobModifyIndex": index,
                "Warnings": "", "Index": index, "LastContact": 0, "KnownLeader": False}

    def _deploy(self, job, index):
        for old in self.deployments.values():
            if old["JobID"] == job["ID"] and old["Status"] == "running":
                old["Status"], old["StatusDescription"] = "cancelled", "Cancelled due to newer version of job"
        did = str(uuid.uuid4())
        groups = {tg["Name"]: {"AutoRevert": False, "Promoted": False, "PlacedCanaries": None,
                               "DesiredCanaries": 0, "DesiredTotal": tg["Count"], "PlacedAllocs": 0,
                               "HealthyAllocs": 0, "UnhealthyAllocs": 0, "RequireProgressBy": None}
                  for tg in job["TaskGroups"]}
        self.deployments[did] = {
            "ID": did, "Namespace": "default", "JobID": job["ID"], "JobVersion": job["Version"],
            "JobModifyIndex": index, "JobSpecModifyIndex": index, "JobCreateIndex": job["CreateIndex"],
            "TaskGroups": groups, "Status": "running", "StatusDescription": "Deployment is running",
            "CreateIndex": index, "ModifyIndex": index, "_steps": 0}
        allocs = []
        for tg in job["TaskGroups"]:
            for i in range(tg["Count"]):
                allocs.append({
                    "ID": str(uuid.uuid4()), "EvalID": str(uuid.uuid4()),
                    "Name": f"{job['ID']}.{tg['Name']}[{i}]", "NodeID": "stand-in-node",
                    "JobID": job["ID"], "JobVersion": job["Version"], "TaskGroup": tg["Name"],
                    "DesiredStatus": "run", "DesiredDescription": "", "ClientStatus": "pending",
                    "ClientDescription": "", "DeploymentStatus": None, "CreateIndex": index,
                    "ModifyIndex": index, "CreateTime": time.time_ns(), "ModifyTime": time.time_ns()})
        self.allocs[job["ID"]] = allocs

    # --- the simulation: one step per read of a deployment ------------------------------------
    def step(self, dep):
        if dep["Status"] != "running":
            return
        dep["_steps"] += 1
        job = self.versions[dep["JobID"]][dep["JobVersion"]]
        allocs = self.allocs.get(dep["JobID"], [])
        for a in allocs:
            a["ClientStatus"] = "running"
        if dep["_steps"] < STEPS_TO_HEALTHY:
            for g in dep["TaskGroups"].values():
                g["PlacedAllocs"] = g["DesiredTotal"]
            return
        healthy = {tg["Name"]: _check(tg) for tg in job["TaskGroups"]}
        for a in allocs:
            ok = healthy[a["TaskGroup"]]
            a["DeploymentStatus"] = {"Healthy": ok, "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                     "Canary": False, "ModifyIndex": next(self.index)}
            if not ok:
                a["ClientStatus"], a["ClientDescription"] = "failed", "health check failed"
        for name, g in dep["TaskGroups"].items():
            g["HealthyAllocs"] = g["DesiredTotal"] if healthy[name] else 0
            g["UnhealthyAllocs"] = 0 if healthy[name] else g["DesiredTotal"]
        dep["ModifyIndex"] = next(self.index)
        if all(healthy.values()):
            dep["Status"], dep["StatusDescription"] = "successful", "Deployment completed successfully"
            job["Stable"], job["Status"] = True, "running"
        else:
            dep["Status"], dep["StatusDescription"] = "failed", "Failed due to unhealthy allocations"
            job["Status"] = "dead"

    def latest(self, jid):
        deps = [d for d in self.deployments.values() if d["JobID"] == jid]
        return max(deps, key=lambda d: d["CreateIndex"]) if deps else None


def _check(tg):
    """The group's HTTP service check, made for real against 127.0.0.1:<static port>."""
    ports = {p["Label"]: p["Value"] for n in tg.get("Networks") or [] for p in n.get("ReservedPorts") or []}
    checks = [(s, c) for t in tg["Tasks"] for s in t.get("Services") or [] for c in s.get("Checks") or []]
    for service, check in checks:
        port = ports.get(check.get("PortLabel") or service.get("PortLabel"))
        if check.get("Type") != "http" or port is None:
            return False
        url = f"http://127.0.0.1:{port}{check.get('Path') or '/'}"
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if not 200 <= resp.status < 300:
                    return False
        except (OSError, urllib.error.URLError):
            return False
    return True


def _public(obj):
    return {k: v for k, v in obj.items() if not k.startswith("_")}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None  # set per server

    def log_message(self, *args):
        pass

    def _send(self, status, body, text=False):
        data = (body if text else json.dumps(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain" if text else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Nomad-Index", str(next(self.state.index)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(n) or b"{}")

    def _handle(self, method):
        st = self.state
        url = urllib.parse.urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        st.requests.append((method, url.path))
        st.tokens.add(self.headers.get("X-Nomad-Token"))
        if st.acl_token and self.headers.get("X-Nomad-Token") != st.acl_token:
            return self._send(403, "Permission denied", text=True)
        if st.hang:
            time.sleep(st.hang)
        if st.fail_status:
            return self._send(st.fail_status, "rpc error: stand-in fault", text=True)
        with st.lock:
            try:
                return self._route(method, parts, st)
            except ValueError as exc:
                return self._send(400, str(exc), text=True)

    def _route(self, method, parts, st):
        if parts[:1] != ["v1"]:
            return self._send(404, "Invalid URL", text=True)
        parts = parts[1:]
        if parts == ["jobs"] and method == "GET":
            return self._send(200, [{"ID": j, "Name": v[-1]["Name"], "Type": v[-1]["Type"],
                                     "Status": "dead" if j in st.stopped else v[-1]["Status"],
                                     "Stop": j in st.stopped, "JobModifyIndex": v[-1]["JobModifyIndex"]}
                                    for j, v in st.versions.items()])
        if parts == ["jobs"] and method in ("POST", "PUT"):
            return self._send(200, st.register(self._body()["Job"]))
        if len(parts) == 2 and parts[0] == "deployment" and method == "GET":
            dep = st.deployments.get(parts[1])
            if dep is None:
                return self._send(404, "deployment not found", text=True)
            st.step(dep)
            return self._send(200, _public(dep))
        if len(parts) < 2 or parts[0] != "job":
            return self._send(404, "Invalid URL", text=True)
        jid, rest = parts[1], parts[2:]
        versions = st.versions.get(jid)
        if rest == ["plan"] and method in ("POST", "PUT"):
            return self._send(200, self._plan(self._body(), versions))
        if versions is None:
            return self._send(404, "job not found", text=True)
        if not rest and method == "GET":
            return self._send(200, dict(versions[-1], Stop=jid in st.stopped))
        if not rest and method == "DELETE":
            st.stopped.add(jid)
            for a in st.allocs.get(jid, []):
                a["DesiredStatus"], a["ClientStatus"] = "stop", "complete"
            index = next(st.index)
            return self._send(200, {"EvalID": str(uuid.uuid4()), "EvalCreateIndex": index,
                                    "JobModifyIndex": index})
        if rest == ["versions"]:
            return self._send(200, {"Versions": list(reversed(versions)), "Diffs": None})
        if rest == ["allocations"]:
            return self._send(200, st.allocs.get(jid, []))
        if rest == ["deployment"]:
            dep = st.latest(jid)
            if dep is not None:
                st.step(dep)
            return self._send(200, _public(dep) if dep else None)
        if rest == ["deployments"]:
            return self._send(200, [_public(d) for d in st.deployments.values() if d["JobID"] == jid])
        if rest == ["revert"] and method in ("POST", "PUT"):
            body = self._body()
            want = body.get("JobVersion")
            if not isinstance(want, int) or not 0 <= want < len(versions):
                return self._send(400, f"job version {want!r} not found", text=True)
            if want == versions[-1]["Version"]:
                return self._send(400, "can't revert to current version", text=True)
            old = {k: v for k, v in versions[want].items()
                   if k not in ("Version", "Stable", "Status", "ModifyIndex", "JobModifyIndex")}
            return self._send(200, st.register(old))
        return self._send(405 if rest else 404, "Invalid method", text=True)

    def _plan(self, body, versions):
        job = body.get("Job") or {}
        cur = versions[-1] if versions else None
        same = cur is not None and all(cur.get(k) == job.get(k) for k in JOB_FIELDS)
        kind = "None" if same else ("Edited" if cur else "Added")
        groups = {}
        for tg in job.get("TaskGroups") or []:
            old = next((g for g in (cur or {}).get("TaskGroups", []) if g["Name"] == tg.get("Name")), None)
            upd = {"Ignore": 0, "Place": 0, "Migrate": 0, "Stop": 0, "InPlaceUpdate": 0,
                   "DestructiveUpdate": 0, "Canary": 0, "Preemptions": 0}
            if old is None:
                upd["Place"] = tg.get("Count", 0)
            elif old == tg:
                upd["Ignore"] = tg.get("Count", 0)
            else:
                upd["DestructiveUpdate"] = min(old["Count"], tg.get("Count", 0))
                upd["Place"] = max(0, tg.get("Count", 0) - old["Count"])
                upd["Stop"] = max(0, old["Count"] - tg.get("Count", 0))
            groups[tg.get("Name")] = upd
        diff = {"Type": kind, "ID": job.get("ID"), "Fields": None, "Objects": None,
                "TaskGroups": [{"Name": n, "Type": kind, "Updates": {k.lower(): v for k, v in u.items() if v}}
                               for n, u in groups.items()]} if body.get("Diff") else None
        return {"Index": next(self.state.index), "NextPeriodicLaunch": "0001-01-01T00:00:00Z",
                "Warnings": "", "Diff": diff, "Annotations": {"DesiredTGUpdates": groups},
                "FailedTGAllocs": None, "JobModifyIndex": cur["JobModifyIndex"] if cur else 0,
                "CreatedEvals": None}

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_PUT(self):
        self._handle("PUT")

    def do_DELETE(self):
        self._handle("DELETE")


class NomadAPI:
    """Start with NomadAPI(); .address is http://127.0.0.1:PORT; .state the jobs; close() stops."""

    def __init__(self):
        self.state = NomadState()
        handler = type("BoundHandler", (Handler,), {"state": self.state})
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.address = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
