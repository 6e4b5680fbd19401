"""The SLURM batch scripts under jobs/ on a real single-node Slurm started here
(slurmctld + slurmd from Debian's slurm-wlm, munge for authentication), all state under
one temporary directory; stopped again at the end. Skipped, with the reason, where Slurm
is not installed or cannot start (not root, no munge)."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from harness import Checks

SKIP = 77  # ctest's SKIP_RETURN_CODE for this test

checks = Checks(__doc__)
build = checks.build
source = checks.source


def skip(reason):
    print(f"skipped: {reason}")
    sys.exit(SKIP)


for program in ("slurmctld", "slurmd", "munged", "sbatch", "srun"):
    if shutil.which(program) is None and not os.path.exists(f"/usr/sbin/{program}"):
        skip(f"{program} is not installed (apt-get install slurm-wlm munge; .ci/deps.sh test does it as root)")
if os.geteuid() != 0:
    skip("starting slurmctld/slurmd here needs root")
if not os.path.exists("/etc/munge/munge.key"):
    skip("no munge key at /etc/munge/munge.key (the munge package creates it)")

tmp = tempfile.mkdtemp(prefix="rask-slurm-")
os.chmod(tmp, 0o755)
munge_dir = os.path.join(tmp, "munge")
os.makedirs(munge_dir)
shutil.chown(munge_dir, "munge", "munge")
os.chmod(munge_dir, 0o755)
munge_socket = os.path.join(munge_dir, "munge.socket")
host = socket.gethostname().split(".")[0]
ctld_port, d_port = 16817 + os.getpid() % 1000 * 2, 16818 + os.getpid() % 1000 * 2
conf = os.path.join(tmp, "slurm.conf")
with open(conf, "w") as f:
    f.write(f"""ClusterName=rasktest
SlurmctldHost={host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={munge_socket}
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=pmix
JobAcctGatherType=jobacct_gather/none
StateSaveLocation={tmp}/state
SlurmdSpoolDir={tmp}/spool
SlurmctldPidFile={tmp}/slurmctld.pid
SlurmdPidFile={tmp}/slurmd.pid
SlurmctldLogFile={tmp}/slurmctld.log
SlurmdLogFile={tmp}/slurmd.log
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
ReturnToService=2
NodeName={host} CPUs=2 State=UNKNOWN
PartitionName=rask Nodes=ALL Default=YES MaxTime=INFINITE State=UP
""")
for d in ("state", "spool"):
    os.makedirs(os.path.join(tmp, d))
env = dict(os.environ, SLURM_CONF=conf)
for name in list(env):
    if name.startswith(("OMPI_", "PMIX_", "SLURM_JOB", "SLURM_STEP")) and name != "SLURM_CONF":
        env.pop(name)
env["OMPI_MCA_rmaps_base_oversubscribe"] = "1"
daemons = []


def stop():
    for p in daemons:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in daemons:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()


def log_tail():
    text = ""
    for name in ("slurmctld.log", "slurmd.log", "munged.log"):
        path = os.path.join(tmp, name)
        if os.path.exists(path):
            with open(path) as f:
                text += f"== {name}\n" + "".join(f.readlines()[-15:])
    return text


try:
    daemons.append(subprocess.Popen(
        ["runuser", "-u", "munge", "--", "/usr/sbin/munged", "-F", "--socket", munge_socket, "--key-file",
         "/etc/munge/munge.key", "--pid-file", os.path.join(munge_dir, "munged.pid"), "--log-file",
         os.path.join(munge_dir, "munged.log"), "--seed-file", os.path.join(munge_dir, "munged.seed")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    for _ in range(50):
        if os.path.exists(munge_socket):
            break
        time.sleep(0.1)
    else:
        stop()
        skip("munged did not start")
    daemons.append(subprocess.Popen(["/usr/sbin/slurmctld", "-D", "-f", conf], env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL))
    daemons.append(subprocess.Popen(["/usr/sbin/slurmd", "-D", "-f", conf], env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL))
    for _ in range(100):
        r = subprocess.run(["sinfo", "-h", "-o", "%T"], env=env, capture_output=True, text=True)
        if r.stdout.strip() == "idle":
            break
        time.sleep(0.2)
    else:
        print(log_tail())
        stop()
        skip("slurmctld/slurmd did not come up (see the logs above)")
    checks.check("single-node Slurm is up", True)

    work = os.path.join(tmp, "work")
    os.makedirs(work)
    rask = checks.rask
    job_env = dict(env, RASK=rask)

    def sbatch(args):
        return subprocess.run(["sbatch", "--wait", "--chdir", work, *args], env=job_env, capture_output=True,
                              text=True, timeout=120)

    # Copies, so that the learned cost files land in the work directory, not in the repo.
    for name in ("delayed_loop.py", "delayed_inc_add.py"):
        shutil.copy(os.path.join(source, "jobs", name), work)
    loop = os.path.join(work, "delayed_loop.py")
    r = sbatch(["--output", os.path.join(work, "loop-%j.out"), os.path.join(source, "jobs", "slurm_job.sbatch"),
                loop, "0.05"])
    outputs = [f for f in os.listdir(work) if f.startswith("loop-")]
    text = open(os.path.join(work, outputs[0])).read() if outputs else ""
    checks.check("sbatch jobs/slurm_job.sbatch delayed_loop.py: exit 0", r.returncode == 0, r.stderr + text + log_tail())
    checks.check("... prints the loop's totals", "loop total = 44" in text and "control-flow total = 60" in text, text)
    checks.check("... ran on 2 ranks", "rask: done: 2 ranks x 1 thread" in text, text)

    r = sbatch(["--array=0-2", "--output", os.path.join(work, "sweep-%A_%a.out"),
                os.path.join(source, "jobs", "slurm_sweep.sbatch"), os.path.join(work, "delayed_inc_add.py"),
                "0", "0.01", "0.02"])
    outputs = sorted(f for f in os.listdir(work) if f.startswith("sweep-"))
    texts = [open(os.path.join(work, f)).read() for f in outputs]
    checks.check("sbatch --array=0-2 jobs/slurm_sweep.sbatch: exit 0, three outputs",
                 r.returncode == 0 and len(texts) == 3, r.stderr + "\n".join(texts) + log_tail())
    checks.check("... each array task ran its own value and got z = 5",
                 sorted(t.splitlines()[0] for t in texts) == ["sweep value 0", "sweep value 0.01", "sweep value 0.02"]
                 and all("z = 5" in t and "rask: done: 2 ranks" in t for t in texts), "\n".join(texts))

    # The notebook job's own batch script, which runs jobs/workshop.py from the submit
    # directory: a copy there (learned costs land beside it, not in the repo).
    os.makedirs(os.path.join(work, "jobs"))
    shutil.copy(os.path.join(source, "jobs", "workshop.py"), os.path.join(work, "jobs"))
    subprocess.run([os.path.join(build, "inputs", "rask-gen-minute"), "--out", os.path.join(work, "minute"),
                    "--symbols", "aig", "--start", "2010-01-04", "--days", "5", "--seed", "5"], check=True,
                   capture_output=True)
    r = sbatch(["--output", os.path.join(work, "workshop-%j.out"), os.path.join(source, "jobs", "slurm_workshop.sbatch"),
                "--data", "minute", "--out", "results/workshop.h5", "--rows", "5000", "--product", "300",
                "--scale", "0.001"])
    outputs = [f for f in os.listdir(work) if f.startswith("workshop-")]
    text = open(os.path.join(work, outputs[0])).read() if outputs else ""
    checks.check("sbatch jobs/slurm_workshop.sbatch: exit 0 on 2 ranks, results/workshop.h5 written",
                 r.returncode == 0 and "rask: done: 2 ranks" in text and
                 os.path.exists(os.path.join(work, "results", "workshop.h5")), r.stderr + text + log_tail())
finally:
    stop()
    shutil.rmtree(tmp, ignore_errors=True)

checks.finish()
