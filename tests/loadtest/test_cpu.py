"""CPU accounting from /proc."""

from __future__ import annotations

from loadtest.cpu import (
    CLOCK_TICKS,
    ProcInfo,
    Snapshot,
    child_trees_cpu,
    cpu_delta,
    cpu_use,
    descendants,
    living_cpu_delta,
    parse_stat,
    snapshot,
    uneven_split,
)


def _proc(pid: int, ppid: int, cpu: float, comm: str = "gunicorn", cmdline: str = "", reaped: float = 0.0) -> ProcInfo:
    return ProcInfo(pid, ppid, comm, cmdline or comm, cpu, reaped)


def test_stat_lines_parse_even_when_the_command_name_has_spaces_and_parentheses() -> None:
    fields = ["S", "41", *["0"] * 9, str(3 * CLOCK_TICKS), str(CLOCK_TICKS), str(2 * CLOCK_TICKS), "0", "20", "0"]
    assert parse_stat("42 (web (worker) 1) " + " ".join(fields)) == ("web (worker) 1", 41, 4.0, 2.0)


def test_the_service_is_its_master_and_every_process_below_it() -> None:
    procs = {p.pid: p for p in [_proc(1, 0, 0), _proc(10, 1, 0), _proc(11, 10, 0), _proc(12, 10, 0), _proc(20, 1, 0)]}
    assert descendants(procs, 10) == {10, 11, 12}


def test_a_process_born_during_the_run_counts_whole_and_a_reused_pid_starts_from_zero() -> None:
    before = {1: _proc(1, 0, 5.0), 2: _proc(2, 0, 7.0, comm="old")}
    after = {1: _proc(1, 0, 6.5), 2: _proc(2, 0, 0.5, comm="new"), 3: _proc(3, 0, 2.0)}
    assert cpu_delta(before, after, {1, 2, 3, 4}) == 1.5 + 0.5 + 2.0


def test_a_child_that_exited_counts_through_its_parent_for_the_part_it_used_in_between() -> None:
    # A backend alive at the first snapshot (0.5 s used) exits after 1.25 s in all; one born
    # and gone in between used 2.0 s. Both end up in the postmaster's reaped-children CPU.
    before = {1: _proc(1, 0, 1.0, "postgres"), 7: _proc(7, 1, 0.5, "postgres")}
    after = {1: _proc(1, 0, 1.5, "postgres", reaped=1.25 + 2.0)}
    assert cpu_delta(before, after, {1, 7}) == 0.5 + (1.25 - 0.5) + 2.0


def test_backends_without_their_postmaster_never_count_negative_when_one_exits() -> None:
    # Backend 7 used 30 s before the first snapshot and exited in between: its CPU went to the
    # postmaster, which is not in the set; backend 8 used 2 s in between and is still running.
    before = {7: _proc(7, 1, 30.0, "postgres"), 8: _proc(8, 1, 1.0, "postgres")}
    after = {8: _proc(8, 1, 3.0, "postgres")}
    assert cpu_delta(before, after, {7, 8}) == -28.0
    assert living_cpu_delta(before, after, {7, 8}) == 2.0


def test_cores_are_cpu_seconds_over_wall_seconds_per_group() -> None:
    before = Snapshot(0.0, 0.0, 0.0, {10: _proc(10, 1, 1.0), 30: _proc(30, 1, 1.0, "postgres")}, (1.0, 1.0, 1.0))
    after = Snapshot(
        10.0,
        15.0,
        20.0,
        {
            10: _proc(10, 1, 11.0),
            11: _proc(11, 10, 5.0),
            30: _proc(30, 1, 6.0, "postgres"),
            31: _proc(31, 1, 1.0, "postgres"),
        },
        (2.0, 1.0, 1.0),
    )
    use = cpu_use(before, after, service_root=10, postgres_db_pids={30})
    assert (use.service_cores, use.postgres_db_cores, use.postgres_all_cores) == (1.5, 0.5, 0.6)
    assert use.machine_percent == 75.0
    assert (use.load_start[0], use.load_end[0]) == (1.0, 2.0)


def test_each_worker_of_a_server_counts_with_what_runs_below_it_and_the_master_in_none() -> None:
    before = Snapshot(0.0, 0.0, 0.0, {10: _proc(10, 1, 1.0), 11: _proc(11, 10, 2.0), 12: _proc(12, 10, 2.0)}, (1, 1, 1))
    after = Snapshot(
        10.0,
        0.0,
        0.0,
        {10: _proc(10, 1, 1.5), 11: _proc(11, 10, 9.0), 12: _proc(12, 10, 2.5), 13: _proc(13, 12, 1.0)},
        (1, 1, 1),
    )
    assert child_trees_cpu(before, after, 10) == [7.0, 1.5]


def test_a_worker_replaced_in_between_is_in_no_split() -> None:
    """Worker 12 exited (recycled) and 14 replaced it: the master holds 12's reaped CPU, 14 ran
    part of the time; only 11 ran throughout (a capacity report once read -2.75 cores here)."""
    before = Snapshot(
        0.0, 0.0, 0.0, {10: _proc(10, 1, 1.0), 11: _proc(11, 10, 2.0), 12: _proc(12, 10, 30.0)}, (1, 1, 1)
    )
    after = Snapshot(10.0, 0.0, 0.0, {10: _proc(10, 1, 1.5), 11: _proc(11, 10, 9.0), 14: _proc(14, 10, 0.5)}, (1, 1, 1))

    assert child_trees_cpu(before, after, 10) == [7.0]


def test_a_child_that_exited_unreaped_is_no_worker() -> None:
    """A zombie (no command line left) beside two workers: only the workers are compared."""
    zombie = ProcInfo(13, 10, "python", "", 0.06)
    before = Snapshot(
        0.0, 0.0, 0.0, {10: _proc(10, 1, 1.0), 11: _proc(11, 10, 2.0), 12: _proc(12, 10, 3.0), 13: zombie}, (1, 1, 1)
    )
    after = Snapshot(
        10.0, 0.0, 0.0, {10: _proc(10, 1, 1.0), 11: _proc(11, 10, 6.7), 12: _proc(12, 10, 7.6), 13: zombie}, (1, 1, 1)
    )

    split = child_trees_cpu(before, after, 10)
    assert split == [4.7, 4.6]
    assert not uneven_split([cpu / 10 for cpu in split])


def test_a_split_is_uneven_when_the_idlest_did_under_a_quarter_of_the_busiest() -> None:
    assert uneven_split([0.0, 1.05])
    assert uneven_split([1.1, 0.2])
    assert not uneven_split([0.8, 0.7])
    assert not uneven_split([0.6, 0.15])  # a quarter exactly is still sharing
    assert not uneven_split([0.1, 0.0])  # too little load to tell
    assert not uneven_split([1.0])  # one process shares with nobody


def test_a_live_snapshot_sees_this_process() -> None:
    import os

    assert os.getpid() in snapshot().processes
