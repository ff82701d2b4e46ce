"""Run every rdsshare benchmark on the offline test bed and write docs/performance.md.

    .venv/bin/python benchmarks/run.py            # full run, about 8 minutes on 2 cores
    .venv/bin/python benchmarks/run.py --quick    # shorter operations, no sequential baseline

Comparisons (each side by side in the same run):

1. data copies on the critical path per source kind, against the hand procedure;
2. detection latency and describe calls per wait, against boto3's waiters (measured on one short
   operation, and computed for durations up to a day on a fake clock);
3. API calls per full flow, polls excluded, against the shortest possible sequence;
4. ``import rdsshare`` against ``import boto3``;
5. one share restored in 1, 5 and 20 target accounts, against one target;
6. going on after the process running a share died: Temporal and Lambda durable functions, against
   rerunning the call;

and the batch: 20 copies, 5 in flight, against one after another.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from collections import Counter
from importlib import metadata
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the benchmarks package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import batch, batches, engines, flows, imports, schedule, targets, waiter

ROOT = Path(__file__).resolve().parent.parent
#: each operation of the engine benchmark (the copy takes engines.COPY_FACTOR times as long)
ENGINE_SECONDS = 1.0

#: Why a call of a flow is not in the shortest sequence that keeps the preflight checks.
EXTRA: dict[tuple[str, str], str] = {
    ("target", "kms:DescribeKey"): (
        "the target's key (by default alias/aws/rds) is described once by preflight: is it enabled, symmetric, "
        "in the target's account and region; its ARN is what the restore is checked against on a rerun"
    ),
    ("source", "kms:GetKeyPolicy"): (
        "CMK only: preflight reads the policy (does it grant the target?), and the run reads it again right "
        "before PutKeyPolicy, so that a policy someone changed meanwhile is never overwritten from a stale copy"
    ),
}

#: Why each preflight check is in the sequence (issue #4: a real run makes them before any change).
PREFLIGHT_WHY = {
    ("source", "rds:DescribeDBClusters"): "the cluster exists and is available; its key and engine",
    ("source", "rds:DescribeDBClusterSnapshots"): (
        "one filtered describe: do this run's snapshot and copy exist (adopt, or refuse one rdsshare did not make)"
    ),
    ("source", "rds:DescribeAccountAttributes"): "room in the manual snapshot quota (adjustable, so read)",
    ("target", "rds:DescribeDBClusters"): "the restore id is free, or an earlier run's restore to adopt",
    ("target", "rds:DescribeAccountAttributes"): "room in the cluster and instance quotas (one read for both)",
    ("target", "rds:DescribeDBEngineVersions"): "the target region offers the engine version",
    ("target", "rds:DescribeOrderableDBInstanceOptions"): "the instance class is orderable for it",
    ("target", "rds:DescribeDBSubnetGroups"): "the subnet group exists; its VPC",
    ("target", "ec2:DescribeSecurityGroups"): "the security groups exist, in the same VPC",
}

#: The shortest sequence of the default-key flow, with the reason each call cannot go.
SHORTEST_WHY = [
    (
        "source",
        "sts:GetCallerIdentity",
        "the source account id, needed before any change (refuse source = target) and for the key policy",
    ),
    ("target", "sts:GetCallerIdentity", "the target account id: whom to share with and grant in the key policy"),
    (
        "source",
        "rds:CreateDBClusterSnapshot",
        "the flow starts from a cluster; the response carries the key, engine and ARN",
    ),
    (
        "source",
        "kms:DescribeKey",
        "the snapshot's KmsKeyId does not say whether the key is AWS-managed (aws/rds cannot be shared) "
        "or a CMK (shared without a copy)",
    ),
    (
        "source",
        "kms:DescribeKey",
        "alias/rdsshare/share-key: reuse one share key per account instead of a new key per run "
        "(a key costs a month's fee and 7-30 days to delete)",
    ),
    ("source", "kms:CreateKey", "first run only: a CMK whose policy lets the target use it"),
    ("source", "kms:CreateAlias", "first run only: makes the key findable by the DescribeKey above next time"),
    ("source", "rds:CopyDBClusterSnapshot", "the one data copy: re-encrypt under the share key"),
    (
        "source",
        "rds:ModifyDBClusterSnapshotAttribute",
        "share with the target; the response lists the attribute, so no read-back is needed",
    ),
    (
        "target",
        "rds:RestoreDBClusterFromSnapshot",
        "by the shared snapshot's ARN, KmsKeyId=alias/aws/rds so the cluster does not depend on the source's key",
    ),
    ("target", "rds:CreateDBInstance", "a restored Aurora cluster has no instances"),
    (
        "target",
        "rds:ModifyDBCluster",
        "ManageMasterUserPassword: the restore API cannot create the managed secret",
    ),
]


def _s(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 100 else f"{seconds:.0f} s"


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:g} s"
    if seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds < 4 * 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _machine() -> str:
    versions = ", ".join(f"{p} {metadata.version(p)}" for p in ("boto3", "botocore", "moto"))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.platform()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {versions}; "
        f"1-minute load average {load:.1f} at the start"
    )


def render(
    *,
    quick: bool,
    operation_seconds: float,
    runs: list[flows.FlowRun],
    waits: list[waiter.WaitRun],
    rows: list[schedule.Row],
    even: tuple[float, float],
    import_times: list[imports.ImportTimes],
    extra_modules: list[tuple[str, float]],
    batch_run: batch.BatchRun,
    batch_sizes: list[batches.BatchesRun],
    target_runs: list[targets.TargetsRun],
    resumes: list[engines.Resume],
    machine: str,
    elapsed: float,
) -> str:
    by_kind = {r.kind: r for r in runs}
    all_waits = [w for r in runs for w in r.waits]
    worst_latency = max(w.seconds - r.operation_seconds for r in runs for w in r.waits)
    goal_latency = max(1.0, 0.05 * operation_seconds)
    boto_wait = next(w for w in waits if w.who.startswith("boto3")) if waits else None
    non_poll = {r.kind: sum(r.non_poll_calls().values()) for r in runs}
    shortest = {k: len(v) for k, v in flows.SHORTEST.items()}
    checked = {k: len(v) for k, v in flows.CHECKED.items()}
    installed = import_times[0]
    lines: list[str] = []
    add = lines.append

    add("# Performance")
    add("")
    add(
        "On AWS the hours go into data copies and into waiting. rdsshare decides how many copies happen, "
        "how soon it notices that a step finished, how many API calls it spends doing so, and how many "
        "shares run at once. This page measures each against a reference, on the offline test bed."
    )
    add("")
    add("Regenerate it with one command (it rewrites this file):")
    add("")
    add("```bash")
    add(".venv/bin/python benchmarks/run.py          # about 8 minutes")
    add(".venv/bin/python benchmarks/run.py --quick  # shorter operations, no sequential baseline")
    add("```")
    add("")
    add(f"Last run: {machine}. Benchmarks took {_s(elapsed)}{' (--quick)' if quick else ''}.")
    add("")
    add("## Summary")
    add("")
    add("| comparison | goal | rdsshare | reference | met |")
    add("|---|---|---|---|---|")
    copies = " / ".join(str(by_kind[k].copies) for k in flows.KINDS)
    goal_copies = " / ".join(str(flows.GOAL_COPIES[k]) for k in flows.KINDS)
    hand = " / ".join(str(flows.HAND_COPIES[k]) for k in flows.KINDS)
    add(
        f"| 1. data copies on the critical path (default key / CMK / unencrypted) | {goal_copies} | {copies} "
        f"| hand procedure {hand} | {_yes(all(by_kind[k].copies <= flows.GOAL_COPIES[k] for k in flows.KINDS))} |"
    )
    reference = (
        f"boto3 waiter {boto_wait.latency:.1f} s (measured)"
        if boto_wait
        else f"boto3 waiter {30 - operation_seconds:g} s (computed)"
    )
    add(
        f"| 2a. detection latency, {len(all_waits)} waits of {operation_seconds:g} s on the test bed "
        f"| < max(1 s, 5 %) = {goal_latency:g} s | worst {worst_latency:.2f} s | {reference} "
        f"| {_yes(worst_latency < goal_latency)} |"
    )
    honest = [m for r in rows for m in (r.plain, r.progress, r.coarse)]
    worst_of_goal = max(m.of_goal for m in honest)
    add(
        f"| 2b. latency for 5 s .. 23 h (fake clock), PercentProgress absent, even, or coarse | < 100 % of the goal "
        f"| worst {worst_of_goal:.0%} of the goal | waiter up to {max(r.waiter.of_goal for r in rows):.0%} "
        f"| {_yes(worst_of_goal < 1)} |"
    )
    from_minute = [r for r in rows if r.duration >= 60]
    over = sum(r.progress.over_waiter for r in from_minute)
    add(
        f"| 2c. describe calls per wait vs the waiter, 1 min .. 23 h, with PercentProgress (snapshots, copies) "
        f"| no more than 1 + ceil(T / 30) for each duration | more in {over} of {25 * len(from_minute)} durations "
        f"(e.g. {from_minute[0].progress.calls:.0f} vs {from_minute[0].waiter.calls:.1f} at 1 min, "
        f"{from_minute[2].progress.calls:.0f} vs {from_minute[2].waiter.calls:.0f} at "
        f"{_duration(from_minute[2].duration)}, {rows[-1].progress.calls:.0f} vs {rows[-1].waiter.calls:.0f} at "
        f"{_duration(rows[-1].duration)}) | waiter | {_yes(over <= 1)}{' (see 2)' if over else ''} |"
    )
    add(
        f"| 2d. the same for clusters and instances (no PercentProgress) | as 2c | fewer from "
        f"{_duration(even[1])} on; more below (e.g. {rows[0].plain.calls:.0f} vs {rows[0].waiter.calls:.0f} "
        f"at 5 s) | no schedule can meet 2b with fewer calls than the waiter below {_duration(even[0])} "
        "| **only for steps over ~1 h** |"
    )
    ratio3 = non_poll["default key"] / shortest["default key"]
    worst_checked = max(non_poll[k] / checked[k] for k in flows.KINDS)
    add(
        "| 3a. API calls per flow, polls excluded, against the shortest sequence that makes #4's preflight "
        "checks (default key / CMK / unencrypted) | at most 1.25 x | "
        + " / ".join(f"{non_poll[k]} ({non_poll[k] / checked[k]:.2f} x)" for k in flows.KINDS)
        + " | "
        + " / ".join(str(checked[k]) for k in flows.KINDS)
        + f" | {_yes(worst_checked <= 1.25)} |"
    )
    add(
        f"| 3b. the same against the bare sequence, without any check before the first change | at most 1.25 x "
        f"({1.25 * shortest['default key']:.0f}) | {non_poll['default key']} ({ratio3:.2f} x) "
        f"| {shortest['default key']} | **no**: the {len(flows.PREFLIGHT)} checks #4 requires alone are "
        f"{len(flows.PREFLIGHT) / shortest['default key']:.2f} x |"
    )
    add(
        f"| 4. `import rdsshare` (and `from rdsshare import share_cluster_snapshot, AccountSession`), bytecode "
        f"cached, median of {installed.runs} rounds | `import rdsshare` at most 1.1 x `import boto3`, with and "
        f"without cached bytecode | {installed.median_ms['import rdsshare']:.0f} ms ({installed.ratio:.2f} x; "
        f"uncached {import_times[-1].ratio:.2f} x; from-import {installed.ratios[imports.FULL]:.2f} x) "
        f"| `import boto3` {installed.median_ms['import boto3']:.0f} ms "
        f"| {_yes(max(t.ratio for t in import_times) <= 1.1)} |"
    )
    one = target_runs[0]
    most = target_runs[-1]
    add(
        f"| 5. one share restored in {most.targets} target accounts, operations of {most.operation_seconds:g} s "
        f"| at most 1.5 x one target | {most.seconds:.1f} s ({most.seconds / one.seconds:.2f} x) "
        f"| one target {one.seconds:.1f} s; one call per target {most.targets * one.seconds:.0f} s "
        f"| {_yes(most.seconds <= 1.5 * one.seconds)} |"
    )
    seq = batch_run.sequential_seconds
    add(
        f"| batch: {batch_run.items} copies of {batch_run.operation_seconds:g} s, {batch_run.copies_in_flight} "
        f"in flight | at most 1.3 x {batch_run.ideal_seconds:g} s = {batch_run.goal_seconds:g} s "
        f"| {batch_run.batch_seconds:.1f} s | sequential "
        + (f"{seq:.1f} s" if seq is not None else f"~{batch_run.items * batch_run.operation_seconds:g} s (20 x T)")
        + f" | {_yes(batch_run.ok and batch_run.batch_seconds <= batch_run.goal_seconds)} |"
    )
    shared_runs = [r for r in batch_sizes if r.shared]
    alone_runs = {r.items: r for r in batch_sizes if not r.shared}
    if shared_runs:
        big, small = shared_runs[-1], next(r for r in shared_runs if r.items >= 10)
        ratio = big.seconds / big.ideal_seconds
        add(
            f"| a {big.items}-copy batch against the quota-bound ideal (ceil(N / 5) x T, T = "
            f"{big.operation_seconds:g} s) | at most 1.1 x | {big.seconds:.1f} s ({ratio:.2f} x) | ideal "
            f"{big.ideal_seconds:g} s | {_yes(ratio <= 1.1)} |"
        )
        add(
            f"| calls per item besides polls, {big.items}-item batch | at most 8 | {big.other_calls_per_item:.1f} "
            f"({small.items} items: {small.other_calls_per_item:.1f}) | | {_yes(big.other_calls_per_item <= 8)} |"
        )
        # The rate is compared between batches in steady state (at least 10 waves of copies): a batch of
        # 10 is two waves that start together, so its copies end together and share more polls.
        steady = next((r for r in shared_runs if r.items >= 10 * batches.COPIES_IN_FLIGHT and r is not big), small)
        rate_big, rate_small = big.polls / big.seconds, small.polls / small.seconds
        rate_steady = steady.polls / steady.seconds
        alone = alone_runs[big.items]
        add(
            f"| polls of a batch, one watcher per account and region | grow with time, not with N: at "
            f"{big.items} items at most 1.25 x the rate at {steady.items} | "
            f"{rate_small:.1f} per second at {small.items} items, {rate_steady:.1f} at {steady.items}, "
            f"{rate_big:.1f} at {big.items} ({big.polls} in all) "
            f"| each wait alone: {alone.polls / alone.seconds:.1f} per second ({alone.polls}) "
            f"| {_yes(rate_big <= 1.25 * rate_steady and big.polls < alone.polls)} |"
        )
    add(engines.summary_row(resumes))
    add("")

    # -- 1 ------------------------------------------------------------------------------------
    add("## 1. Data copies on the critical path")
    add("")
    add(
        "`CopyDBClusterSnapshot` calls during `share_cluster_snapshot(cluster_id=..., restore=...)` from a "
        "fresh cluster, counted in the test bed's call record. The hand procedure copies in the source "
        "(under a key the target may use), shares, copies again in the target, and restores from that copy."
    )
    add("")
    add("| source snapshot | rdsshare copies | `ShareResult.data_copies` | goal | hand procedure | flow time |")
    add("|---|---|---|---|---|---|")
    for kind in flows.KINDS:
        r = by_kind[kind]
        add(
            f"| {kind} | {r.copies} | {r.result.data_copies} | {flows.GOAL_COPIES[kind]} | "
            f"{flows.HAND_COPIES[kind]} | {_s(r.seconds)} |"
        )
    add("")
    add(
        "A default-key (`aws/rds`) snapshot cannot be shared, so it is copied once, in the source, under "
        "rdsshare's share key; the target restores straight from the shared copy, under its own key (no "
        "second copy). A CMK or unencrypted snapshot is shared as it is. Flow time includes the "
        f"{operation_seconds:g} s of every operation (snapshot, copy, restore, instance, secret)."
    )
    add("")

    # -- 2 ------------------------------------------------------------------------------------
    add("## 2. Detection latency and describe calls per wait")
    add("")
    add("### On the test bed")
    add("")
    add(
        f"Every operation takes {operation_seconds:g} s. Latency is the step's time from its `StepStarted` to its "
        f"`StepFinished` event minus {operation_seconds:g} s: an upper bound, as it also counts the request that "
        "started the operation. Describes are the polls inside the step."
    )
    add("")
    add("| flow | step | latency | describes |")
    add("|---|---|---|---|")
    for r in runs:
        for w in r.waits:
            add(f"| {r.kind} | {w.step} | {w.seconds - r.operation_seconds:.2f} s | {w.polls} |")
    add("")
    if waits:
        add(
            f"Side by side on the same kind of operation (a cluster snapshot taking {operation_seconds:g} s), "
            "boto3's `db_cluster_snapshot_available` waiter at its default config against rdsshare's wait:"
        )
        add("")
        add("| who | latency | describes |")
        add("|---|---|---|")
        for run in waits:
            add(f"| {run.who} | {run.latency:.2f} s | {run.describes} |")
        add("")
    add("### Any duration (fake clock)")
    add("")
    add(
        "`wait_for` runs for real with instant sleeps (`set_testing`) and a clock that advances by the pauses "
        "the policy picks; the resource becomes ready T seconds after the wait began. Per row: 25 durations "
        "in T .. 1.1 T (mean calls, worst latency; *over* counts the durations where rdsshare made more calls "
        "than the waiter). boto3's waiter describes at once and every 30 s: 1 + ceil(T / 30) calls, up to 30 s "
        "late (and it gives up after 30 minutes, ignored here); a fixed poll every 5 minutes (a gentle cron job or "
        "loop) makes 1 + ceil(T / 300) calls, up to 5 minutes late. *Fewest* is the least number of describes "
        "*any* schedule needs to notice every duration within max(1 s, 5 %) with the same 120 s cap when "
        "nothing predicts the end. PercentProgress: *none* (clusters, instances), *even* (rising evenly in "
        "whole percents, as on the test bed), *coarse* (evenly in steps of 10 %), *lying* (rising at half the "
        "pace; the step ends at 50 %)."
    )
    add("")
    add(
        "| T | waiter calls | waiter worst latency | every 5 min: calls, latency | fewest possible (none) "
        "| none: calls, latency | even: calls, latency, over | coarse: calls, latency | lying: latency |"
    )
    add("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        add(
            f"| {_duration(row.duration)} | {row.waiter.calls:.1f} | {row.waiter.latency:.0f} s "
            f"({row.waiter.of_goal:.0%}) | {row.every_five.calls:.1f}, {row.every_five.latency:.0f} s "
            f"({row.every_five.of_goal:.0%}) | {row.fewest} | {row.plain.calls:.0f}, {row.plain.latency:.1f} s "
            f"({row.plain.of_goal:.0%}) | {row.progress.calls:.1f}, {row.progress.latency:.1f} s "
            f"({row.progress.of_goal:.0%}), {row.progress.over_waiter} | {row.coarse.calls:.0f}, "
            f"{row.coarse.latency:.1f} s ({row.coarse.of_goal:.0%}) | {row.jumping.latency:.0f} s "
            f"({row.jumping.of_goal:.0%}) |"
        )
    add("")
    add(
        "The schedule (`WaitPolicy` defaults). Without PercentProgress: poll at once, then pause max(0.9 s, "
        "4.5 % of the time waited so far), at most 120 s, up to 10 % shorter at random. Because every pause "
        "is at most 4.5 % of the time already waited (or 0.9 s), a step is noticed within max(0.9 s, 4.5 % of "
        "its duration); the margin under the goal covers the describe's own round trip. With PercentProgress "
        "(`use_progress`, on by default): each poll narrows the window in which the step ends, assuming "
        "PercentProgress rises linearly and is rounded down (p % at t puts the end by 100 t / p, and after "
        "100 t / (p + its step); a change since the previous poll at t0 puts it after 100 t0 / p), and the "
        "next poll is the first moment at which every end in the window is noticed within max(0.9 s, 4.5 %), "
        "at most 120 s away. Progress that goes back or contradicts a linear rise is ignored for the rest of "
        "the wait. Jitter shortens pauses, also at the minimum interval (so that concurrent waits do not "
        "poll in lockstep), but never moves a poll before the window opens."
    )
    add("")
    minute = next(r for r in rows if r.duration == 60)
    add(
        "**Calls against the waiter.** Without a prediction, the latency goal has a price that no schedule "
        "can avoid: a resource may become ready just after any poll, so the pause after a poll at t can be at "
        "most max(1 s, 5 % of t). Even the best such schedule (*fewest*) needs more describes than the "
        f"waiter below {_duration(even[0])}; rdsshare's breaks even at {_duration(even[1])}. That is the case "
        "of clusters and instances, which report no progress. Snapshots and copies (the steps that take "
        f"hours) report PercentProgress: with it rdsshare makes no more calls than the waiter from 1 min on "
        f"({minute.progress.calls:.1f} vs {minute.waiter.calls:.1f} at 1 min, "
        f"the exception being a duration of exactly 60 s, where the waiter's third poll lands on the end), "
        "and a fraction of them for long copies, while noticing the end within max(1 s, 5 %). With a coarse "
        "PercentProgress the windows are wider and it polls more (still no more than the waiter from about "
        "an hour on); with a lying one the latency is bounded by the 120 s cap, not by the goal, which for "
        "steps under 40 minutes is longer. `WaitPolicy(use_progress=False)` keeps the no-prediction schedule "
        "and its bound whatever PercentProgress says."
    )
    add("")

    # -- 3 ------------------------------------------------------------------------------------
    add("## 3. API calls per full flow, polls excluded")
    add("")
    add(
        "All calls the test bed served during the flow (first run: no share key yet), minus the describes "
        "inside each wait step. Waits are counted in section 2. Two references: the *bare* shortest sequence "
        "(the changes and the reads without which they cannot be made), and the shortest sequence that also "
        "keeps issue #4's promise that a real run checks everything before its first change (*with checks*: "
        f"the bare sequence plus {len(flows.PREFLIGHT)} read-only calls)."
    )
    add("")
    add("| source snapshot | calls | polls | shortest with checks | ratio | bare shortest | ratio |")
    add("|---|---|---|---|---|---|---|")
    for kind in flows.KINDS:
        r = by_kind[kind]
        add(
            f"| {kind} | {non_poll[kind]} | {r.polls} | {checked[kind]} | {non_poll[kind] / checked[kind]:.2f} x "
            f"| {shortest[kind]} | {non_poll[kind] / shortest[kind]:.2f} x |"
        )
    add("")
    add("### The bare shortest sequence (default key, restore, first run)")
    add("")
    add("| # | account | call | why it cannot go |")
    add("|---|---|---|---|")
    for i, (who, call, why) in enumerate(SHORTEST_WHY, 1):
        add(f"| {i} | {who} | `{call}` | {why} |")
    add("")
    add(
        "Polls are excluded (one wait per created resource). A later run with the share key in place drops "
        "`CreateKey` and `CreateAlias` and adds `GetKeyPolicy` (to see whether the target is granted): "
        f"{shortest['default key'] - 1} calls. For a CMK source the sequence is the identities, the snapshot, "
        "`DescribeKey`, `GetKeyPolicy`, `PutKeyPolicy`, the share and the three target calls; unencrypted: the "
        "same without the three KMS calls."
    )
    add("")
    add("### The checks a real run makes before its first change")
    add("")
    add(
        "Issue #4 requires a real run to make preflight's checks first and stop before any change when one "
        "fails, so that a wrong instance class or subnet group is reported in seconds, not after hours of "
        "copying. Each is one read-only call, made once: the run starts from its answers (a snapshot, copy, "
        "key, policy or cluster that preflight read is not read again)."
    )
    add("")
    add("| account | call | checks |")
    add("|---|---|---|")
    for who, call in flows.PREFLIGHT:
        add(f"| {who} | `{call}` | {PREFLIGHT_WHY[(who, call)]} |")
    add("")
    add("### Calls beyond the sequence with checks")
    add("")
    add("| source snapshot | account | call | in the flow | with checks | why |")
    add("|---|---|---|---|---|---|")
    for kind in flows.KINDS:
        counts = by_kind[kind].non_poll_calls()
        want = Counter(flows.CHECKED[kind])
        for key in sorted(set(counts) | set(want)):
            have, need = counts.get(key, 0), want.get(key, 0)
            if have != need:
                add(f"| {kind} | {key[0]} | `{key[1]}` | {have} | {need} | {EXTRA.get(key, '')} |")
    add("")
    add(
        "Against the bare sequence the goal of 1.25 x is out of reach while #4 holds: its checks alone are "
        f"{len(flows.PREFLIGHT)} calls, {len(flows.PREFLIGHT) / shortest['default key']:.2f} x the bare "
        f"{shortest['default key']}. Before this accounting the flow made 36 calls besides polls: the preflight "
        "and the run each asked the same questions, the orphan-key scan listed every key of the account on "
        "every first run, and sharing read the attribute before and after the change. A rerun of a finished "
        "share now makes only the preflight's reads (nothing is created or waited for). `tests/perf/test_calls.py` "
        "pins these sequences."
    )
    add("")

    # -- 4 ------------------------------------------------------------------------------------
    add("## 4. Import time")
    add("")
    add(
        "Fresh interpreters, each timing only its import statement (`time.perf_counter`). Each round runs the "
        f"three statements back to back; {installed.runs} rounds. Times are medians; a ratio is the median of "
        "the per-round ratios, because this shared machine's speed drifts between rounds by more than "
        "rdsshare's share (the same statement ranges over ±15 % across a run)."
    )
    add("")
    full_import = "`from rdsshare import share_cluster_snapshot, AccountSession`"
    add(f"| set-up | `import boto3` | `import rdsshare` | ratio | {full_import} | ratio |")
    add("|---|---|---|---|---|---|")
    for t in import_times:
        add(
            f"| {t.setup} | {t.median_ms['import boto3']:.0f} ms | {t.median_ms['import rdsshare']:.0f} ms "
            f"| {t.ratio:.2f} x | {t.median_ms[imports.FULL]:.0f} ms | {t.ratios[imports.FULL]:.2f} x |"
        )
    add("")
    add(
        "Installed from a wheel, the bytecode is cached; the second row is what a checkout with "
        "`PYTHONDONTWRITEBYTECODE=1` pays, compiling rdsshare's sources on every start. What `import "
        "rdsshare, share_cluster_snapshot, AccountSession` loads beyond boto3 (`-X importtime` self times, "
        "bytecode cached, median of 5):"
    )
    add("")
    add("| module(s) | ms |")
    add("|---|---|")
    for name, ms in extra_modules:
        add(f"| `{name}` | {ms:.1f} |")
    add("")
    add(
        "`import rdsshare` loads nothing but the package itself: every name loads on first use (module "
        "`__getattr__`, PEP 562), and `from rdsshare import share_cluster_snapshot, AccountSession` loads what a "
        "share needs: boto3, the sessions, the step classes and the event, error and result types (attrs "
        "classes: attrs compiles each one's methods, ~0.5-1 ms a class). tenacity is imported by `retry_call` "
        "when a run first needs it; the job, preflight, batch, cleanup, IAM and instance-snapshot code load "
        "when first used. attrs itself is about a third of what rdsshare adds to boto3."
    )
    add("")

    # -- targets ------------------------------------------------------------------------------
    add("## 5. Several target accounts")
    add("")
    add(
        "One `share_cluster_snapshot(targets=[...], restore={...})` with a restore (one instance, a managed "
        f"secret) in each target, every AWS operation taking {one.operation_seconds:g} s on the server-mode test "
        "bed. Once the snapshot is shared, every target's restore, instances and secret proceed side by side "
        "(each in its own account, so no AWS quota is shared between them); the reference is what one call per "
        "target, one after another, takes."
    )
    add("")
    add("| targets | seconds | x one target | one call per target, in turn | API calls |")
    add("|---|---|---|---|---|")
    for many in target_runs:
        add(
            f"| {many.targets} | {many.seconds:.1f} | {many.seconds / one.seconds:.2f} x "
            f"| {many.targets * one.seconds:.1f} s | {many.calls} |"
        )
    add("")

    # -- batch --------------------------------------------------------------------------------
    add("## Batch")
    add("")
    add(
        f"`share_cluster_snapshots(items=[...{batch_run.items} snapshots...], max_workers={batch_run.items}, "
        f"copies_in_flight={batch_run.copies_in_flight})`. Each item starts from an existing default-key snapshot, "
        f"so its one long step is the copy ({batch_run.operation_seconds:g} s; restore=None); the test bed, like "
        f"Aurora, refuses a 6th concurrent copy. `WaitPolicy(min_interval_seconds=0.2)` for both runs."
    )
    add("")
    add("| run | time | ideal | goal |")
    add("|---|---|---|---|")
    add(
        f"| batch | {batch_run.batch_seconds:.1f} s | ceil({batch_run.items}/{batch_run.copies_in_flight}) x "
        f"{batch_run.operation_seconds:g} s = {batch_run.ideal_seconds:g} s | at most {batch_run.goal_seconds:g} s |"
    )
    if seq is not None:
        add(
            f"| one after another | {seq:.1f} s | {batch_run.items} x {batch_run.operation_seconds:g} s = "
            f"{batch_run.items * batch_run.operation_seconds:g} s | |"
        )
    add("")
    add(
        f"Peak copies in flight: {batch_run.peak_copies_in_flight} (`CopySlots.peak`); `SnapshotQuotaExceeded` "
        f"answers: {batch_run.quota_errors}; all items succeeded with one copy each: {batch_run.ok}. Besides the "
        "copy slots, the batch runs one item's source-key step at a time (the first creates the share key, the "
        "others adopt it) and calls `on_event` under a lock."
    )
    add("")

    if batch_sizes:
        add("## Batches against the quota-bound ideal")
        add("")
        op_seconds = batch_sizes[0].operation_seconds
        add(
            "`share_cluster_snapshots(items=[...N snapshots...], copies_in_flight=5)` with the default 10 "
            f"workers, each item copying an existing default-key snapshot (T = {op_seconds:g} s; restore=None), on"
            " a fresh server-mode bed per run. Aurora allows 5 concurrent copies per account and region, so no "
            "schedule finishes N copies sooner than ceil(N / 5) x T: the *quota-bound ideal*. Each size runs "
            "twice: with rdsshare's watchers (the waits of one account and region share filtered describes, "
            "`rdsshare._watch`), and with every wait describing its own snapshot alone (rdsshare before, or a "
            "loop of boto3 waiters). *Other calls* are all API calls but the waits' polls, per item; threads and "
            "resident memory are the peaks of the whole process (the in-process moto server included). "
            "`WaitPolicy(min_interval_seconds=0.2)`."
        )
        add("")
        add(
            "| N | polls | time | x ideal | polls, each wait alone | time, alone | other calls per item "
            "| peak threads | peak RSS |"
        )
        add("|---|---|---|---|---|---|---|---|---|")
        for b in [x for x in batch_sizes if x.shared]:
            a = next(x for x in batch_sizes if x.items == b.items and not x.shared)
            add(
                f"| {b.items} | {b.polls} | {b.seconds:.1f} s | {b.seconds / b.ideal_seconds:.2f} x | {a.polls} "
                f"| {a.seconds:.1f} s | {b.other_calls_per_item:.1f} | {b.peak_threads} | {b.peak_rss_mib:.0f} MiB |"
            )
        add("")
        add(
            "A poll that finds its snapshot described by another wait since its own last look (and at most a "
            "quarter of its pause ago) takes that answer and counts it as a poll made when it was fetched, so "
            "each wait keeps its latency bound; one describe per account, region and kind, with up to 100 "
            "identifiers in its filter, serves them all. Threads are bounded by `max_workers` (plus botocore's "
            "and the bed's own); the other calls per item are the preflight's snapshot read, the copy and the "
            "share, plus the batch's one-time calls spread over N: identities, quota, the share key, and the "
            "key facts every item reads alike (the snapshot's key, the share key and its policy), read once "
            "while the batch runs (`CopySlots.facts`)."
        )
        add("")

    lines.extend(engines.section(resumes, ENGINE_SECONDS))

    add("## Method and caveats")
    add("")
    add(
        "- The test bed runs moto as a server on 127.0.0.1 (`EmulatedAWS(server=True)`); every request is a real "
        "HTTP round trip through botocore, with its retries and parsing. The benchmarks serve one request at a "
        "time: moto's dictionaries are not safe for concurrent requests "
        "(`RuntimeError: OrderedDict mutated during iteration`), which AWS is."
    )
    add(
        "- Operation durations are fixed (`operation_seconds`); on AWS they vary and are minutes to hours, "
        "which is why section 2 also computes the schedule for long durations."
    )
    add("- Times are wall-clock on a shared 2-core machine: expect a few percent of noise between runs.")
    add(
        "- Correctness of the same properties (ordering, errors, copy slots, quota, bounded threads and memory, "
        "the schedule's bounds) is tested in `tests/perf`, without timing assertions."
    )
    add("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="shorter operations, fewer runs, no sequential baseline")
    parser.add_argument("--operation-seconds", type=float, default=None, help="duration of each flow operation")
    parser.add_argument("--batch-seconds", type=float, default=None, help="duration of each batch copy")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "performance.md")
    args = parser.parse_args(argv)
    quick: bool = args.quick
    operation_seconds: float = args.operation_seconds or (2.0 if quick else 3.0)
    batch_seconds: float = args.batch_seconds or (3.0 if quick else 5.0)
    machine = _machine()
    start = time.monotonic()

    print("1-3: flows per source kind ...", flush=True)
    runs = flows.run_all(operation_seconds)
    print("2: boto3 waiter vs rdsshare on one snapshot ...", flush=True)
    waits = [] if quick else waiter.run(operation_seconds)
    print("2: schedule on a fake clock ...", flush=True)
    rows = schedule.table()
    even = schedule.break_even()
    print("4: import times ...", flush=True)
    import_times = imports.measure(runs=5 if quick else 31)
    extra_modules = imports.extra_modules()
    print("batch ...", flush=True)
    batch_run = batch.run(batch_seconds, sequential=not quick)
    print("batches of 1 .. 100 ...", flush=True)
    batch_sizes = batches.run_all(1.0 if quick else 2.0, (1, 10) if quick else batches.SIZES)
    print("5: several targets ...", flush=True)
    target_runs = targets.run_all(1.0 if quick else 2.0)
    print("resuming after a crash: Temporal, rerun, Lambda ...", flush=True)
    resumes = engines.run_all(ENGINE_SECONDS)
    text = render(
        quick=quick,
        operation_seconds=operation_seconds,
        runs=runs,
        waits=waits,
        rows=rows,
        even=even,
        import_times=import_times,
        extra_modules=extra_modules,
        batch_run=batch_run,
        batch_sizes=batch_sizes,
        target_runs=target_runs,
        resumes=resumes,
        machine=machine,
        elapsed=time.monotonic() - start,
    )
    args.output.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
