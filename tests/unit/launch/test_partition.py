"""The partition check before a multi-node job is submitted, on `sinfo -N -h -o '%N|%G|%T'`
output as SLURM prints it (the real cluster's answers are checked in
tests/workflow/test_slurm_multinode.py)."""

from __future__ import annotations

import logging

import pytest

from skyforge.config import ConfigError
from skyforge.launch.partition import Node, check_partition, parse_sinfo

# A partition of four nodes listed by `sinfo -N`: node4 has half the GPUs, node3 is down and
# node2 appears twice (it belongs to two partitions and -p was not given).
SINFO = """\
gpu01|gpu:a800:8(S:0-1)|idle
gpu02|gpu:8|mixed
gpu02|gpu:8|mixed
gpu03|gpu:a800:8(S:0-1)|down*
gpu04|gpu:4,shard:8|allocated
"""


def test_parse_sinfo_counts_gpus_and_keeps_states() -> None:
    nodes = parse_sinfo(SINFO)
    assert nodes == [
        Node("gpu01", 8, "idle"),
        Node("gpu02", 8, "mixed"),
        Node("gpu03", 8, "down*"),
        Node("gpu04", 4, "allocated"),
    ]
    assert [n.usable for n in nodes] == [True, True, False, True]
    assert parse_sinfo("cpu1|(null)|idle\n") == [Node("cpu1", 0, "idle")]
    assert not Node("n", 0, "drained").usable and not Node("n", 0, "idle*").usable


def test_a_partition_with_fewer_nodes_than_asked_is_one_line() -> None:
    with pytest.raises(ConfigError) as error:
        check_partition("gpu", parse_sinfo(SINFO), num_nodes=64, gpus_per_node=8, job_name="s1")
    assert str(error.value) == (
        "config key 'cluster.nodes': job 's1' asks for 64 nodes, but partition 'gpu' has 4 "
        "(gpu01, gpu02, gpu03, gpu04)"
    )


def test_nodes_short_of_gpus_are_named() -> None:
    with pytest.raises(ConfigError) as error:
        check_partition("gpu", parse_sinfo(SINFO), num_nodes=4, gpus_per_node=8, job_name="s1")
    assert str(error.value) == (
        "config key 'cluster.gpus_per_node': job 's1' asks for 4 nodes of 8 GPUs, but only 3 "
        "of the 4 nodes of partition 'gpu' have that many (short: gpu04 (4 GPUs))"
    )


def test_unequal_gpu_counts_that_still_fit_are_a_warning(caplog) -> None:
    with caplog.at_level(logging.WARNING):
        check_partition("gpu", parse_sinfo(SINFO), num_nodes=3, gpus_per_node=8, job_name="s1")
    assert "unequal GPU counts: gpu04 (4 GPUs)" in caplog.text
    caplog.clear()
    # CPU jobs (gpus_per_node 0) only need the nodes.
    check_partition("gpu", parse_sinfo(SINFO), num_nodes=4, gpus_per_node=0, job_name="s1")
    assert caplog.text == ""
