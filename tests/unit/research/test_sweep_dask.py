"""Sweeps on a dask.distributed LocalCluster of 2 worker processes (one cluster for the module):
equal to the serial sweep result for result, data loaded once per worker, no result lost when a
worker is killed mid-sweep."""

from __future__ import annotations

import os
import signal
import threading
import time

import pandas as pd
import pytest

from workbench.research import read_results, sweep
from workbench.session import load_stream

SPACE = {"fast": [3, 5, 8, 12, 20], "slow": [10, 20, 40, 60]}


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(scope="module")
def serial_table():
    return sweep("sma_crossover", load_stream("demo"), SPACE, executor="serial", progress=False).table


def _comparable(table: pd.DataFrame) -> pd.DataFrame:
    return table.drop(columns=["elapsed_seconds"]).reset_index(drop=True)


def test_cluster_sweep_equals_serial_sweep(client, serial_table) -> None:
    result = sweep("sma_crossover", load_stream("demo"), SPACE, executor=client, progress=False, batch_size=3)
    assert result.info["tasks"] == 7  # 20 sets in tasks of 3
    pd.testing.assert_frame_equal(_comparable(result.table), _comparable(serial_table))
    failed = result.table[result.table["error"] != ""]
    assert sorted(zip(failed["fast"], failed["slow"])) == [(12, 10), (20, 10), (20, 20)]  # fast >= slow


def test_shared_path_data_is_loaded_once_per_worker(client, serial_table) -> None:
    from workbench.research import tasks

    client.run(tasks._LOADED.clear)
    result = sweep("sma_crossover", "demo", SPACE, executor=client, progress=False, batch_size=2)
    pd.testing.assert_frame_equal(_comparable(result.table), _comparable(serial_table))
    loaded = client.run(lambda: len(__import__("workbench.research.tasks", fromlist=["_"])._LOADED))
    assert sorted(loaded.values()) == [1, 1]  # 10 tasks, each worker read the file once


def test_a_killed_worker_loses_no_result(client, serial_table, tmp_path) -> None:
    """Dask reruns the tasks of a worker that died (its nanny starts a new one); every set ends
    up in the table and on disk, equal to the serial run."""
    before = client.run(os.getpid)
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["result"] = sweep("sma_crossover", load_stream("demo"), SPACE, executor=client, progress=False,
                                      batch_size=1, output=tmp_path)
        except BaseException as exc:  # pragma: no cover - reported below
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob("part-*.parquet")) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert list(tmp_path.glob("part-*.parquet")), "no task finished within 60 s"
    victim = sorted(before.values())[0]
    os.kill(victim, signal.SIGKILL)
    at_kill = len(list(tmp_path.glob("part-*.parquet")))
    thread.join(timeout=120)
    assert not thread.is_alive() and "error" not in outcome, outcome.get("error")
    result = outcome["result"]
    assert at_kill < 20, "the sweep had finished before the kill"
    assert len(read_results(tmp_path)) == 20
    pd.testing.assert_frame_equal(_comparable(result.table), _comparable(serial_table))
    on_disk = read_results(tmp_path)[serial_table.columns]
    pd.testing.assert_frame_equal(_comparable(on_disk), _comparable(serial_table), check_dtype=False)
    client.wait_for_workers(2, timeout=60)
    assert victim not in client.run(os.getpid).values()


@pytest.mark.slow
def test_walk_forward_on_the_cluster_equals_serial(client) -> None:
    from workbench.research import walk_forward

    space = {"fast": [5, 10], "slow": [30, 60]}
    serial = walk_forward("sma_crossover", "demo", space, "total_return", in_sample=2, out_of_sample=1,
                          executor="serial")
    parallel = walk_forward("sma_crossover", "demo", space, "total_return", in_sample=2, out_of_sample=1,
                            executor=client, batch_size=1)
    pd.testing.assert_frame_equal(parallel.windows, serial.windows)
    pd.testing.assert_frame_equal(parallel.equity, serial.equity)
