#!/bin/bash
# tests/slurm/run.sh — `make test-slurm`: a one-node Slurm cluster on loopback (munged,
# slurmctld, slurmd started by hand with a generated slurm.conf), a 4-task array of
# examples/slurm/extract.sbatch over a generated image set plus the afterok merge job; the merged
# file must equal a single-process run byte for byte. Then one task is killed mid-run and the
# array resubmitted: the set completes with the same result. Stops everything it started.
set -u
B=${1:-build}; ROOT=$(pwd)
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
no() { fail=$((fail + 1)); echo "FAIL $*"; }
W=$ROOT/weights/mobilenet_v2.gguf
[ -f "$W" ] || { echo "SKIP: $W missing (make weights)"; echo "0 passed, 0 failed, 1 skipped"; exit 0; }
T=$(mktemp -d /tmp/xfer-slurm.XXXXXX); chmod 755 "$T"
C=$T/conf; mkdir -p $C $T/state $T/spool $T/img $T/logs
HOST=$(hostname -s)
cleanup() {
  scancel -u root >/dev/null 2>&1
  [ -n "${SD:-}" ] && kill $SD 2>/dev/null; [ -n "${SC:-}" ] && kill $SC 2>/dev/null
  sleep 1; [ -n "${SD:-}" ] && kill -9 $SD 2>/dev/null; [ -n "${SC:-}" ] && kill -9 $SC 2>/dev/null
  [ -f $T/munged.pid ] && kill $(cat $T/munged.pid) 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
# munge: key, socket directory, daemon (no systemd here)
mkdir -p /run/munge /etc/munge && chown munge:munge /run/munge
[ -f /etc/munge/munge.key ] || { mungekey --create 2>/dev/null || create-munge-key -f; }
chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key
runuser -u munge -- munged --pid-file=$T/munged.pid 2>/dev/null || munged -f --pid-file=$T/munged.pid
cat > $C/slurm.conf <<CONF
ClusterName=xfertest
SlurmctldHost=$HOST
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/logs/slurmctld.log
SlurmdLogFile=$T/logs/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
NodeName=xnode NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=test Nodes=xnode Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
export SLURM_CONF=$C/slurm.conf
slurmctld -D -f $C/slurm.conf > $T/logs/ctld.out 2>&1 & SC=$!
slurmd -D -N xnode -f $C/slurm.conf > $T/logs/d.out 2>&1 & SD=$!
up=0; for i in $(seq 1 60); do sinfo -h -o %T 2>/dev/null | grep -qE 'idle|mix' && { up=1; break; }; sleep 0.5; done
[ $up = 1 ] && ok "one-node cluster up" || { no "cluster did not start"; tail -5 $T/logs/*; echo "$pass passed, $fail failed"; exit 1; }

# a few hundred images: links to one generated photo under four class folders
for i in $(seq 0 239); do d=$T/img/class$((i % 4)); mkdir -p $d; ln "$ROOT/build/tests/big/photo.jpg" "$d/im$(printf %03d $i).jpg"; done
$ROOT/$B/extract-features -w $W --quiet -o $T/ref.bin $T/img || no "reference run"
wait_job() { for i in $(seq 1 600); do [ -z "$(squeue -h -j $1 2>/dev/null)" ] && return 0; sleep 0.5; done; return 1; }
run_array() { # out_dir -> array job id
  XFER=$ROOT/$B XFER_WEIGHTS=$W sbatch --parsable --array=0-3 --cpus-per-task=1 -D $T \
    -o "$T/logs/x-%A_%a.log" $ROOT/examples/slurm/extract.sbatch $T/img $1 4
}
jid=$(run_array $T/parts)
mid=$(XFER=$ROOT/$B sbatch --parsable --dependency=afterok:$jid -D $T -o $T/logs/merge.log \
      $ROOT/examples/slurm/merge.sbatch $T/parts $T/all.bin)
wait_job $jid && wait_job $mid && ok "array $jid + merge $mid finished" || no "jobs did not finish"
cmp -s $T/all.bin $T/ref.bin && ok "merged file identical to a single-process run" || no "merged file differs"

# kill one task mid-run, resubmit the array: completed parts are skipped, the killed one resumes
jid=$(run_array $T/parts2)
for i in $(seq 1 200); do [ -f $T/parts2/part-00002.bin.partial ] && [ $(stat -c %s $T/parts2/part-00002.bin.partial) -gt 2000 ] && break; sleep 0.1; done
scancel --signal=KILL ${jid}_2; wait_job $jid
[ ! -e $T/parts2/part-00002.bin ] && ok "killed task left no part under the final name" || no "killed task left a part"
jid2=$(run_array $T/parts2); wait_job $jid2
if XFER=$ROOT/$B bash $ROOT/examples/slurm/merge.sbatch $T/parts2 $T/all2.bin 2>$T/merge2.err &&
   cmp -s $T/all2.bin $T/ref.bin; then
  ok "resubmitted array completes with the same result"
else
  no "resubmitted array differs"; cat $T/merge2.err; ls -la $T/parts2; tail -n 3 $T/logs/x-${jid2}_*.log
fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
