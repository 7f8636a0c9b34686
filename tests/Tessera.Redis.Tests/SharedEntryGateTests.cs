using Xunit;
using Tessera.Redis.Caching;

namespace Tessera.Redis.Tests;

/// <summary>
/// The gate's rules on their own: an entry of the shared session cache answers only when it was read (its tick) after
/// the first ping that came back after every change this node applied for its user, and after anything that may have
/// lost changes for this node.
/// </summary>
public sealed class SharedEntryGateTests
{
    private const string Inc = "inc-1";
    private static readonly TimeSpan Ms = TimeSpan.FromMilliseconds(1);

    private readonly SharedEntryGate _gate = new(capacity: 4);

    /// <summary>Two pings back from a new node: the first learns the incarnation, the second (sent after it) opens the gate at its tick.</summary>
    private void Open(long tick = 10)
    {
        _gate.OnProof(Inc, 1 * Ms, tick - 1);
        _gate.OnProof(Inc, 2 * Ms, tick);
        Assert.True(_gate.IsOpen);
    }

    [Fact]
    public void A_new_node_takes_nothing_until_a_ping_sent_after_it_learned_the_incarnation_is_back()
    {
        Assert.False(_gate.MayServe("u", Inc, 1_000));
        _gate.OnProof(Inc, 1 * Ms, 5);
        Assert.False(_gate.IsOpen);
        Assert.False(_gate.MayServe("u", Inc, 1_000));

        _gate.OnProof(Inc, 2 * Ms, 6);

        Assert.True(_gate.MayServe("u", Inc, 6));
        Assert.False(_gate.MayServe("u", Inc, 5), "read before the node could know what it had missed");
    }

    [Fact]
    public void After_a_change_the_user_waits_for_a_ping_sent_later_and_then_takes_only_reads_dated_after_it()
    {
        Open();
        _gate.MarkUser("u", 10 * Ms);

        Assert.False(_gate.MayServe("u", Inc, 50), "pending: no ping sent after the change is back yet");
        Assert.True(_gate.MayServe("other", Inc, 12));

        _gate.OnProof(Inc, 9 * Ms, 20);
        Assert.False(_gate.MayServe("u", Inc, 50), "a ping sent before the change proves nothing about it");

        _gate.OnProof(Inc, 11 * Ms, 21);
        Assert.False(_gate.MayServe("u", Inc, 20));
        Assert.True(_gate.MayServe("u", Inc, 21));
    }

    [Fact]
    public void A_second_change_while_the_first_waits_is_covered_by_the_same_later_ping()
    {
        Open();
        _gate.MarkUser("u", 10 * Ms);
        _gate.MarkUser("u", 12 * Ms);

        _gate.OnProof(Inc, 13 * Ms, 30);

        Assert.False(_gate.MayServe("u", Inc, 29));
        Assert.True(_gate.MayServe("u", Inc, 30));
    }

    [Fact]
    public void A_failure_closes_the_gate_for_everyone_until_a_ping_sent_after_it_and_raises_the_floor()
    {
        Open();
        _gate.MarkAll(10 * Ms);
        Assert.False(_gate.IsOpen);
        Assert.False(_gate.MayServe("u", Inc, 1_000));

        _gate.OnProof(Inc, 9 * Ms, 40);
        Assert.False(_gate.IsOpen);

        _gate.OnProof(Inc, 11 * Ms, 41);
        Assert.True(_gate.IsOpen);
        Assert.False(_gate.MayServe("u", Inc, 40));
        Assert.True(_gate.MayServe("u", Inc, 41));
    }

    [Fact]
    public void Entries_of_another_Redis_incarnation_are_refused_and_a_new_incarnation_starts_over()
    {
        Open();
        Assert.False(_gate.MayServe("u", "inc-0", 1_000));

        _gate.OnProof("inc-2", 5 * Ms, 1);
        Assert.False(_gate.IsOpen);
        Assert.False(_gate.MayServe("u", Inc, 1_000));

        _gate.OnProof("inc-2", 6 * Ms, 2);
        Assert.True(_gate.MayServe("u", "inc-2", 2));
        Assert.False(_gate.MayServe("u", Inc, 1_000));
    }

    [Fact]
    public void Past_its_capacity_the_gate_folds_resolved_users_into_the_floor_and_refuses_more_never_a_stale_entry()
    {
        Open(tick: 10);
        for (var i = 0; i < 4; i++)
        {
            _gate.MarkUser($"u{i}", (10 + i) * Ms);
        }

        _gate.OnProof(Inc, 20 * Ms, 50);
        _gate.MarkUser("u4", 21 * Ms);

        Assert.False(_gate.MayServe("u0", Inc, 49), "a user whose mark was folded away is still held to its tick");
        Assert.False(_gate.MayServe("fresh", Inc, 49), "the folded floor applies to everyone");
        Assert.True(_gate.MayServe("fresh", Inc, 50));
        Assert.False(_gate.MayServe("u4", Inc, 1_000), "still pending");
    }
}
