using System.Security.Cryptography;
using Microsoft.Extensions.Time.Testing;
using Tessera.Core.Caching;
using Tessera.Core.Sessions;
using Tessera.Core.Users;
using Xunit;
using Tessera.Redis.Membership;

namespace Tessera.Redis.Tests;

/// <summary>
/// The fence's rules on their own, on a clock the test moves: what each arrival proves, and when the node must stop
/// or may start serving from its cache.
/// </summary>
public sealed class NodeFenceTests
{
    private static readonly RedisClusterOptions Options = new() { Configuration = "localhost" };
    private static readonly TimeSpan Tick = Options.PingInterval;

    private readonly FakeTimeProvider _clock = new();
    private readonly long _started;
    private readonly SessionCache _cache;
    private readonly NodeFence _fence;

    public NodeFenceTests()
    {
        _started = _clock.GetTimestamp();
        _clock.Advance(TimeSpan.FromSeconds(1));
        _cache = new SessionCache(clock: _clock);
        _fence = new NodeFence(_cache, Options, Now);
    }

    /// <summary>The node's elapsed time, as LocalNode measures it; moving it moves the cache's clock too.</summary>
    private TimeSpan Now
    {
        get => _clock.GetElapsedTime(_started);
        set => _clock.Advance(value - Now);
    }

    /// <summary>Pings every tick (each back at once, at sequence <paramref name="seq"/>) with heartbeats, until trusted.</summary>
    private void EarnTrust(string incarnation = "inc-1", long seq = 0)
    {
        for (var i = 0; i < 20 && !_fence.IsTrusted; i++)
        {
            Now += Tick;
            _fence.OnHeartbeat(Now);
            _fence.OnPing(incarnation, seq, Now, Now);
            _fence.Evaluate(Now);
        }

        Assert.True(_fence.IsTrusted, _fence.Reason);
        Assert.True(_cache.IsTrusted);
    }

    private void Step()
    {
        Now += Tick;
        _fence.OnHeartbeat(Now);
    }

    [Fact]
    public void A_new_node_is_fenced_until_proofs_cover_a_whole_FenceAfter()
    {
        Assert.False(_fence.IsTrusted);
        Assert.False(_cache.IsTrusted);

        var start = Now;
        EarnTrust();

        Assert.True(Now - start >= Options.FenceAfter, $"trusted after {(Now - start).TotalMilliseconds} ms");
    }

    [Fact]
    public void Without_a_heartbeat_a_node_never_trusts_because_publishers_would_not_wait_for_it()
    {
        for (var i = 0; i < 20; i++)
        {
            Now += Tick;
            _fence.OnPing("inc-1", 0, Now, Now);
            _fence.Evaluate(Now);
        }

        Assert.False(_fence.IsTrusted);
    }

    [Fact]
    public void Pings_that_stop_coming_back_fence_the_node_after_FenceAfter()
    {
        EarnTrust();
        var lastProof = Now;

        while (Now - lastProof <= Options.FenceAfter)
        {
            Assert.True(_fence.IsTrusted);
            Step();
            _fence.Evaluate(Now);
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
        _fence.OnPing("inc-1", 1, Now, Now);
        var pingSent = Now;
        for (var i = 0; i < 3; i++)
        {
            Step();
            _fence.OnPing("inc-1", 1, Now, Now);
            Assert.Equal(FenceChange.None, _fence.Evaluate(Now));
        }

        // #1 arrives: the held pings count, and the proof is as old as the newest of them.
        Assert.Null(_fence.OnInvalidationApplied("inc-1", 1, Now));
        Assert.Equal(TimeSpan.Zero, _fence.ProofAge(Now));
        Assert.True(_fence.IsTrusted);
        Assert.True(pingSent < Now);
    }

    [Fact]
    public void A_message_lost_on_a_quick_reconnect_fences_the_node_even_though_pings_flow()
    {
        EarnTrust();
        for (long seq = 1; seq <= 5; seq++)
        {
            Assert.Null(_fence.OnInvalidationApplied("inc-1", seq, Now));
        }

        // #6 is lost; pings keep coming back on time, each saying #6 exists.
        var lost = Now;
        while (_fence.IsTrusted)
        {
            Step();
            _fence.OnPing("inc-1", 6, Now, Now);
            _fence.Evaluate(Now);
            Assert.True(Now - lost <= Options.FenceAfter + Tick, "the node kept trusting a cache that missed #6");
        }

        Assert.False(_cache.IsTrusted);
    }

    [Fact]
    public void A_gap_in_the_sequence_fences_the_node_at_once()
    {
        EarnTrust();
        Assert.Null(_fence.OnInvalidationApplied("inc-1", 1, Now));

        var reason = _fence.OnInvalidationApplied("inc-1", 4, Now);

        Assert.NotNull(reason);
        Assert.Contains("2 invalidation(s) before #4", reason, StringComparison.Ordinal);
        Assert.False(_cache.IsTrusted);
        Assert.Equal(1, _fence.Gaps);
    }

    [Fact]
    public void Late_or_repeated_messages_are_harmless()
    {
        EarnTrust(seq: 10);
        Assert.Null(_fence.OnInvalidationApplied("inc-1", 11, Now));
        Assert.Null(_fence.OnInvalidationApplied("inc-1", 11, Now));
        Assert.Null(_fence.OnInvalidationApplied("inc-1", 9, Now));
        Assert.True(_fence.IsTrusted);
    }

    [Fact]
    public void A_new_incarnation_fences_the_node_and_it_earns_trust_again_on_the_new_one()
    {
        EarnTrust(seq: 42);

        Step();
        Assert.NotNull(_fence.OnPing("inc-2", 0, Now - TimeSpan.FromMilliseconds(1), Now));
        Assert.False(_cache.IsTrusted);

        EarnTrust("inc-2", 0);
        Assert.Null(_fence.OnInvalidationApplied("inc-2", 1, Now));
        Assert.True(_fence.IsTrusted);
    }

    [Fact]
    public void While_fenced_a_ping_sent_after_the_fence_moves_the_baseline_over_what_was_missed()
    {
        EarnTrust();
        Assert.NotNull(_fence.OnFailure("connection failed", Now));

        // Messages #1..#7 were published while fenced and never arrived: the emptied cache covers them.
        EarnTrust(seq: 7);
        Assert.Null(_fence.OnInvalidationApplied("inc-1", 8, Now));
        Assert.True(_fence.IsTrusted);
    }

    [Fact]
    public void A_ping_sent_before_the_fence_does_not_move_the_baseline()
    {
        EarnTrust();
        var sentBefore = Now;
        Step();
        _fence.OnFailure("connection failed", Now);

        Step();
        _fence.OnPing("inc-1", 3, sentBefore, Now);

        // Had it moved the baseline to #3, this #1 would look late rather than missing #2 and #3 before #4.
        Assert.Null(_fence.OnInvalidationApplied("inc-1", 1, Now));
        Assert.Equal(0, _fence.Gaps);
        _fence.OnInvalidationApplied("inc-1", 4, Now);
        Assert.Equal(1, _fence.Gaps);
    }

    [Fact]
    public void A_failure_restarts_the_clean_window()
    {
        EarnTrust();
        _fence.OnFailure("heartbeat failed", Now);

        for (var i = 0; i < 3; i++)
        {
            Step();
            _fence.OnPing("inc-1", 0, Now, Now);
            _fence.Evaluate(Now);
        }

        _fence.OnFailure("heartbeat failed again", Now);
        var restarted = Now;
        EarnTrust();
        Assert.True(Now - restarted >= Options.FenceAfter);
    }

    [Fact]
    public void A_stale_heartbeat_fences_the_node_before_publishers_drop_it_from_the_live_set()
    {
        EarnTrust();
        var lastHeartbeat = Now;
        while (_fence.IsTrusted)
        {
            Now += Tick;
            _fence.OnPing("inc-1", 0, Now, Now);
            _fence.Evaluate(Now);
        }

        Assert.True(Now - lastHeartbeat < Options.LiveWindow, $"fenced {(Now - lastHeartbeat).TotalMilliseconds} ms after the last heartbeat");

        // And a relying app's lease granted just before the fence runs out while publishers still count the node live.
        Assert.True(Now - lastHeartbeat + Options.RelyingAppLease < Options.LiveWindow, $"fenced {(Now - lastHeartbeat).TotalMilliseconds} ms after the last heartbeat");
        Assert.Contains("heartbeat", _fence.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_fence_empties_the_cache_and_keeps_fills_out_until_trusted_again()
    {
        EarnTrust();
        var epoch = _cache.Epoch;
        _fence.OnFailure("connection failed", Now);

        Assert.NotEqual(epoch, _cache.Epoch);
        Assert.False(_cache.IsTrusted);
        Assert.Equal(0, _cache.Count);
    }

    [Fact]
    public void A_node_frozen_past_its_lease_answers_nothing_from_memory_before_its_watchdog_runs()
    {
        EarnTrust();
        var token = SecretTokens.Key(SHA256.HashData("frozen"u8));
        Fill(token);
        Assert.True(_cache.TryGet(token, out _));

        // The process stops (a long GC pause, a frozen VM) and wakes with no watchdog tick in between: the fence still
        // says trusted, but the last proof is older than FenceAfter, and a message may have gone by meanwhile.
        Now += Options.FenceAfter + Tick;
        Assert.True(_fence.IsTrusted);
        Assert.False(_cache.TryGet(token, out _), "a hit after the lease ran out");

        // A proof sent after waking renews the lease without a fence in between (nothing was served stale).
        _fence.OnPing("inc-1", 0, Now, Now);
        Assert.True(_cache.TryGet(token, out _));
    }

    [Fact]
    public void A_proof_older_than_the_newest_does_not_shorten_the_lease()
    {
        EarnTrust();
        var token = SecretTokens.Key(SHA256.HashData("late"u8));
        Fill(token);
        var newest = Now;
        _fence.OnPing("inc-1", 0, newest - Options.FenceAfter, Now);

        Now = newest + Options.FenceAfter - Tick;
        Assert.True(_cache.TryGet(token, out _));
    }

    private void Fill(TokenKey token)
    {
        var at = DateTimeOffset.UnixEpoch;
        var user = new User { Id = "u-1", Email = "u1@example.test", DisplayName = "u1", CreatedAt = at, UpdatedAt = at };
        var session = new Session
        {
            Id = "s-1",
            TokenHash = default,
            UserId = user.Id,
            Device = new DeviceInfo("test", DevicePlatform.Cli, null, null, null),
            CreatedAt = at,
            LastActiveAt = at,
            AbsoluteExpiresAt = at.AddDays(1),
        };
        _cache.Add(token, session, user, at, _cache.Epoch);
    }

    [Fact]
    public async Task A_round_waits_until_the_fence_has_moved_past_its_number_of_its_incarnation()
    {
        EarnTrust("inc-1", seq: 3);
        Assert.True(_fence.WhenAppliedAsync("inc-1", 3, CancellationToken.None).IsCompletedSuccessfully);

        var five = _fence.WhenAppliedAsync("inc-1", 5, CancellationToken.None);
        var otherIncarnation = _fence.WhenAppliedAsync("inc-2", 1, CancellationToken.None);
        _fence.OnInvalidationApplied("inc-1", 4, Now);
        Assert.False(five.IsCompleted);
        _fence.OnInvalidationApplied("inc-1", 5, Now);
        await five.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        Assert.False(otherIncarnation.IsCompleted);
        Assert.True(_fence.IsTrusted);
    }

    [Fact]
    public async Task Skipping_numbers_releases_a_round_only_with_a_failure_it_must_wait_out()
    {
        EarnTrust("inc-1", seq: 3);
        Now += Tick;
        var failedBefore = _fence.LastFailureAt;
        var seven = _fence.WhenAppliedAsync("inc-1", 7, CancellationToken.None);

        // #4 to #7 never arrive; #8 does: the fence moves past 7 without applying it, and fails now.
        _fence.OnInvalidationApplied("inc-1", 8, Now);

        await seven.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        Assert.False(_fence.IsTrusted);
        Assert.Equal(Now, _fence.LastFailureAt);
        Assert.True(_fence.LastFailureAt > failedBefore);
    }

    [Fact]
    public async Task A_fenced_node_moved_on_by_a_ping_had_failed_before_it()
    {
        EarnTrust("inc-1", seq: 3);
        Now += Tick;
        _fence.OnFailure("connection failed", Now);
        var failedAt = Now;
        var nine = _fence.WhenAppliedAsync("inc-1", 9, CancellationToken.None);

        // A ping sent after the fence, numbered past messages this node never got, moves it on without a new failure.
        Now += Tick;
        _fence.OnPing("inc-1", 9, Now, Now);

        await nine.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        Assert.Equal(failedAt, _fence.LastFailureAt);
        Assert.Equal(failedAt, _fence.TrustedUntil(Now));
    }

    [Fact]
    public async Task A_cancelled_round_stops_waiting()
    {
        EarnTrust("inc-1", seq: 3);
        using var cancel = new CancellationTokenSource();
        var waiting = _fence.WhenAppliedAsync("inc-1", 4, cancel.Token);

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        _fence.OnInvalidationApplied("inc-1", 4, Now);
    }

    [Fact]
    public void A_retired_node_is_never_trusted_again()
    {
        EarnTrust();
        Assert.Equal(Now, _fence.TrustedUntil(Now));
        _fence.Retire("the node is stopping", Now);
        var retiredAt = Now;

        for (var i = 0; i < 40; i++)
        {
            Now += Tick;
            _fence.OnHeartbeat(Now);
            _fence.OnPing("inc-1", 0, Now, Now);
            _fence.Evaluate(Now);
        }

        Assert.False(_fence.IsTrusted);
        Assert.False(_cache.IsTrusted);
        Assert.Equal(retiredAt, _fence.TrustedUntil(Now));
    }
}
