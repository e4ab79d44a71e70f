"""Sweep scaling: a 400-set SMA crossover grid on the shipped SPY minute data, serial vs a
dask.distributed LocalCluster of 2 worker processes.

Grid: fast 1..20 x slow 25..120 step 5 (400 sets, all valid), each a full event-driven backtest
of the 2013-10-07..11 SPY minute bars + quotes, regular hours (3,900 events; about 20-30 ms).

Prints:

* serial wall time (in-process executor) and LocalCluster wall time, the speed-up (target
  >= 1.7x on 2 cores), with and without the cluster's start-up (process spawn + imports);
* per-task overhead: ``(parallel wall x workers - sum of task compute times) / tasks``, i.e.
  scheduling, (de)serialization, result transfer, Parquet writing and idle tail, against the mean
  task compute time (target < 5 %);
* CPU time per set on the workers against serial (extra work a worker does, independent of
  load) and the share of the cores the workers actually got during the sweep (on a shared
  machine, the cause of a low wall-clock speed-up);
* that the two result tables are equal (every column but ``elapsed_seconds``);
* the 1-minute load average before and after: the machine may be shared, and other processes
  on its cores depress the parallel figure (a worker waits for a core).

Measured figures (see docs/research.md for the latest, with the load at the time) belong in the
closing note, not in a timed test.

Usage: python benchmarks/sweep_scaling.py [--workers 2] [--address tcp://host:8786]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import pandas as pd

from workbench.research import sweep
from workbench.session import load_stream

SPACE = {"fast": {"low": 1, "high": 20, "step": 1}, "slow": {"low": 25, "high": 120, "step": 5}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--address", default=None, help="use this Dask scheduler instead of a LocalCluster")
    args = parser.parse_args()
    stream = load_stream("demo")
    print(f"cores: {os.cpu_count()}, load average (1 min) before: {os.getloadavg()[0]:.2f}")

    with tempfile.TemporaryDirectory() as folder:
        t0, c0 = time.perf_counter(), time.process_time()
        serial = sweep("sma_crossover", stream, SPACE, executor="serial", progress=False,
                       output=f"{folder}/serial")
        serial_wall = time.perf_counter() - t0
        serial_cpu = time.process_time() - c0
    per_set = serial.table["elapsed_seconds"].mean()
    print(f"serial: {len(serial.table)} sets in {serial_wall:.2f} s ({per_set * 1000:.1f} ms per backtest; "
          f"{serial_cpu:.2f} s of CPU, {serial_cpu / serial_wall:.0%} of one core)")

    from distributed import Client, LocalCluster

    t0 = time.perf_counter()
    if args.address:
        client, cluster = Client(args.address), None
    else:
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None)
        client = Client(cluster)
    client.wait_for_workers(args.workers)
    startup = time.perf_counter() - t0
    try:
        with tempfile.TemporaryDirectory() as folder:
            t0 = time.perf_counter()
            parallel = sweep("sma_crossover", stream, SPACE, executor=client, progress=False,
                             output=f"{folder}/parallel")
            wall = time.perf_counter() - t0
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    info = parallel.info
    workers = args.workers
    tasks = info["tasks"]
    task_seconds = info["task_seconds"]
    calibration = info["timing_seconds"]  # the timing sets ran in-process before the tasks
    overhead = (wall * workers - task_seconds - calibration * workers) / max(tasks, 1)
    mean_task = task_seconds / max(tasks, 1)
    print(f"LocalCluster({workers}): start-up {startup:.2f} s; sweep {wall:.2f} s in {tasks} tasks of "
          f"{info['batch_size']} sets (after {info['timing_sets']} timing sets in-process), mean task {mean_task:.2f} s, "
          f"{parallel.table['elapsed_seconds'].mean() * 1000:.1f} ms per backtest on the workers")
    print(f"speed-up: {serial_wall / wall:.2f}x without start-up, {serial_wall / (wall + startup):.2f}x with it "
          f"(target >= 1.7x)")
    print(f"per-task overhead: {overhead * 1000:.1f} ms = {overhead / mean_task:.1%} of the mean task "
          f"(target < 5%)")
    columns = [c for c in serial.table.columns if c != "elapsed_seconds"]
    pd.testing.assert_frame_equal(serial.table[columns], parallel.table[columns])
    cpu = info["task_cpu_seconds"]
    print(f"CPU: the workers used {cpu:.2f} s for {info['sets_run'] - info['timing_sets']} sets "
          f"({cpu / max(info['sets_run'] - info['timing_sets'], 1) * 1000:.1f} ms per set, serial "
          f"{serial_cpu / len(serial.table) * 1000:.1f} ms) and got {cpu / (wall * workers):.0%} of {workers} cores "
          f"during the sweep: on a busy machine that share, not the sweep, bounds the speed-up")
    print("results: serial and parallel tables equal (all columns but elapsed_seconds)")
    print(f"load average (1 min) after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
