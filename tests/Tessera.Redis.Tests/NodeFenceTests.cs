using Tessera.Core.Caching;
using Xunit;

namespace Tessera.Redis.Tests;

/// <summary>
/// The fence's rules on their own, on a clock the test moves: what each arrival proves, and when the node must stop
/// or may start serving from its cache.
/// </summary>
public sealed class NodeFenceTests
{
    private static readonly RedisClusterOptions Options = new() { Configuration = "localhost" };
    private static readonly TimeSpan Tick = Options.PingInterval;

    private readonly SessionCache _cache = new();
    private readonly NodeFence _fence;
    private TimeSpan _now = TimeSpan.FromSeconds(1);

    public NodeFenceTests() => _fence = new NodeFence(_cache, Options, _now);

    /// <summary>Pings every tick (each back at once, at sequence <paramref name="seq"/>) with heartbeats, until trusted.</summary>
    private void EarnTrust(string incarnation = "inc-1", long seq = 0)
    {
        for (var i = 0; i < 20 && !_fence.IsTrusted; i++)
        {
            _now += Tick;
            _fence.OnHeartbeat(_now);
            _fence.OnPing(incarnation, seq, _now, _now);
            _fence.Evaluate(_now);
        }

        Assert.True(_fence.IsTrusted, _fence.Reason);
        Assert.True(_cache.IsTrusted);
    }

    private void Step()
    {
        _now += Tick;
        _fence.OnHeartbeat(_now);
    }

    [Fact]
    public void A_new_node_is_fenced_until_proofs_cover_a_whole_FenceAfter()
    {
        Assert.False(_fence.IsTrusted);
        Assert.False(_cache.IsTrusted);

        var start = _now;
        EarnTrust();

        Assert.True(_now - start >= Options.FenceAfter, $"trusted after {(_now - start).TotalMilliseconds} ms");
    }

    [Fact]
    public void Without_a_heartbeat_a_node_never_trusts_because_publishers_would_not_wait_for_it()
    {
        for (var i = 0; i < 20; i++)
        {
            _now += Tick;
            _fence.OnPing("inc-1", 0, _now, _now);
            _fence.Evaluate(_now);
        }

        Assert.False(_fence.IsTrusted);
    }

    [Fact]
    public void Pings_that_stop_coming_back_fence_the_node_after_FenceAfter()
    {
        EarnTrust();
        var lastProof = _now;

        while (_now - lastProof <= Options.FenceAfter)
        {
            Assert.True(_fence.IsTrusted);
            Step();
            _fence.Evaluate(_now);
        }

        Assert.False(_fence.IsTrusted);
        Assert.False(_cache.IsTrusted);
        Assert.Contains("no ping", _fence.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_ping_proves_nothing_until_every_invalidation_before_it_is_applied()
    {
        EarnTrust();

        // Ping says #1 exists; #1 is still on its way through the other queue.
        Step();
        _fence.OnPing("inc-1", 1, _now, _now);
        var pingSent = _now;
        for (var i = 0; i < 3; i++)
        {
            Step();
            _fence.OnPing("inc-1", 1, _now, _now);
            Assert.Equal(FenceChange.None, _fence.Evaluate(_now));
        }

        // #1 arrives: the held pings count, and the proof is as old as the newest of them.
        Assert.Null(_fence.OnInvalidationApplied("inc-1", 1, _now));
        Assert.Equal(TimeSpan.Zero, _fence.ProofAge(_now));
        Assert.True(_fence.IsTrusted);
        Assert.True(pingSent < _now);
    }

    [Fact]
    public void A_message_lost_on_a_quick_reconnect_fences_the_node_even_though_pings_flow()
    {
        EarnTrust();
        for (long seq = 1; seq <= 5; seq++)
        {
            Assert.Null(_fence.OnInvalidationApplied("inc-1", seq, _now));
        }

        // #6 is lost; pings keep coming back on time, each saying #6 exists.
        var lost = _now;
        while (_fence.IsTrusted)
        {
            Step();
            _fence.OnPing("inc-1", 6, _now, _now);
            _fence.Evaluate(_now);
            Assert.True(_now - lost <= Options.FenceAfter + Tick, "the node kept trusting a cache that missed #6");
        }

        Assert.False(_cache.IsTrusted);
    }

    [Fact]
    public void A_gap_in_the_sequence_fences_the_node_at_once()
    {
        EarnTrust();
        Assert.Null(_fence.OnInvalidationApplied("inc-1", 1, _now));

        var reason = _fence.OnInvalidationApplied("inc-1", 4, _now);

        Assert.NotNull(reason);
        Assert.Contains("2 invalidation(s) before #4", reason, StringComparison.Ordinal);
        Assert.False(_cache.IsTrusted);
        Assert.Equal(1, _fence.Gaps);
    }

    [Fact]
    public void Late_or_repeated_messages_are_harmless()
    {
        EarnTrust(seq: 10);
        Assert.Null(_fence.OnInvalidationApplied("inc-1", 11, _now));
        Assert.Null(_fence.OnInvalidationApplied("inc-1", 11, _now));
        Assert.Null(_fence.OnInvalidationApplied("inc-1", 9, _now));
        Assert.True(_fence.IsTrusted);
    }

    [Fact]
    public void A_new_incarnation_fences_the_node_and_it_earns_trust_again_on_the_new_one()
    {
        EarnTrust(seq: 42);

        Step();
        Assert.NotNull(_fence.OnPing("inc-2", 0, _now - TimeSpan.FromMilliseconds(1), _now));
        Assert.False(_cache.IsTrusted);

        EarnTrust("inc-2", 0);
        Assert.Null(_fence.OnInvalidationApplied("inc-2", 1, _now));
        Assert.True(_fence.IsTrusted);
    }

    [Fact]
    public void While_fenced_a_ping_sent_after_the_fence_moves_the_baseline_over_what_was_missed()
    {
        EarnTrust();
        Assert.NotNull(_fence.OnFailure("connection failed", _now));

        // Messages #1..#7 were published while fenced and never arrived: the emptied cache covers them.
        EarnTrust(seq: 7);
        Assert.Null(_fence.OnInvalidationApplied("inc-1", 8, _now));
        Assert.True(_fence.IsTrusted);
    }

    [Fact]
    public void A_ping_sent_before_the_fence_does_not_move_the_baseline()
    {
        EarnTrust();
        var sentBefore = _now;
        Step();
        _fence.OnFailure("connection failed", _now);

        Step();
        _fence.OnPing("inc-1", 3, sentBefore, _now);

        // Had it moved the baseline to #3, this #1 would look late rather than missing #2 and #3 before #4.
        Assert.Null(_fence.OnInvalidationApplied("inc-1", 1, _now));
        Assert.Equal(0, _fence.Gaps);
        _fence.OnInvalidationApplied("inc-1", 4, _now);
        Assert.Equal(1, _fence.Gaps);
    }

    [Fact]
    public void A_failure_restarts_the_clean_window()
    {
        EarnTrust();
        _fence.OnFailure("heartbeat failed", _now);

        for (var i = 0; i < 3; i++)
        {
            Step();
            _fence.OnPing("inc-1", 0, _now, _now);
            _fence.Evaluate(_now);
        }

        _fence.OnFailure("heartbeat failed again", _now);
        var restarted = _now;
        EarnTrust();
        Assert.True(_now - restarted >= Options.FenceAfter);
    }

    [Fact]
    public void A_stale_heartbeat_fences_the_node_before_publishers_drop_it_from_the_live_set()
    {
        EarnTrust();
        var lastHeartbeat = _now;
        while (_fence.IsTrusted)
        {
            _now += Tick;
            _fence.OnPing("inc-1", 0, _now, _now);
            _fence.Evaluate(_now);
        }

        Assert.True(_now - lastHeartbeat < Options.LiveWindow, $"fenced {(_now - lastHeartbeat).TotalMilliseconds} ms after the last heartbeat");
        Assert.Contains("heartbeat", _fence.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_fence_empties_the_cache_and_keeps_fills_out_until_trusted_again()
    {
        EarnTrust();
        var epoch = _cache.Epoch;
        _fence.OnFailure("connection failed", _now);

        Assert.NotEqual(epoch, _cache.Epoch);
        Assert.False(_cache.IsTrusted);
        Assert.Equal(0, _cache.Count);
    }
}
