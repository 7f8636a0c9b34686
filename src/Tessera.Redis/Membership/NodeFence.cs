using Tessera.Core.Caching;
using Tessera.Redis.Caching;

namespace Tessera.Redis.Membership;

/// <summary>
/// Decides, from what arrives on the subscription, whether this node may serve from its <see cref="SessionCache"/>.
///
/// <para>Every invalidation carries the bus sequence number that Redis gave it (<c>HINCRBY</c> and <c>PUBLISH</c> in one
/// script, so sequence order is publish order), and every watchdog ping carries the sequence number current when
/// Redis published it (read and published in one script). A ping therefore proves something precise: when it
/// comes back and every invalidation up to its number has been applied here, this node missed nothing that was
/// published before the ping left Redis. Its proof is dated by when it was <em>sent</em>, which is earlier than
/// anything it covers. A ping proves nothing on its own when messages were lost on a reconnect that was quick
/// enough to miss no ping: the sequence catches exactly that case, which a ping alone or a timer cannot.</para>
///
/// <para>Rules: a node is trusted only while its newest proof is younger than <c>FenceAfter</c> and its heartbeat is
/// fresh enough that every publisher counts it live; a gap in the sequence, a new Redis incarnation, a lost
/// connection or a failed heartbeat fences it at once. It is trusted again only after proofs have covered a whole
/// <c>FenceAfter</c> since the last failure. Fencing calls <see cref="SessionCache.Distrust"/> (the cache empties and
/// every check reads the store) and trusting calls <see cref="SessionCache.Trust"/>; both happen under this class's
/// lock, so that the cache's state never disagrees with the fence's.</para>
///
/// <para>The watchdog only fences when it runs. So that a node frozen for longer than <c>FenceAfter</c> (a long GC
/// pause, a stopped VM) cannot answer from memory when it wakes and before its watchdog has had a turn, every proof
/// also renews a lease on the cache (<see cref="SessionCache.RenewLease"/>) that runs out <c>FenceAfter</c> after the
/// proof was sent: the cache checks it on every hit, with no thread of its own.</para>
///
/// <para>Times are offsets on one monotonic clock (the node's elapsed time), never wall-clock readings; the cache's
/// clock turns them into lease deadlines.</para>
/// </summary>
internal sealed class NodeFence
{
    /// <summary>How the fence names itself when it distrusts the session cache.</summary>
    public const string TrustSource = "redis-bus";

    private const int MaxPendingPings = 256;

    private readonly SessionCache _cache;
    private readonly TimeSpan _fenceAfter;
    private readonly TimeSpan _heartbeatStaleAfter;
    private readonly TimeSpan _heartbeatInterval;
    private readonly long _origin;
    private readonly Queue<(long Seq, TimeSpan SentAt, long Tick)> _pendingPings = new();
    private readonly List<AppliedWaiter> _appliedWaiters = [];
    private readonly SharedEntryGate? _gate;
    private readonly Lock _lock = new();

    private bool _trusted;
    private bool _retired;
    private TimeSpan _distrustedAt;
    private TimeSpan _lastFailureAt;
    private string? _incarnation;
    private long _appliedThrough;
    private TimeSpan? _lastProofSentAt;
    private TimeSpan? _cleanSince;
    private TimeSpan? _lastHeartbeatSentAt;
    private string _reason = "starting: no proof yet that this node hears every invalidation";
    private long _fences;
    private long _gaps;

    /// <summary>Starts fenced: the cache is distrusted now, before anything can fill it, and its lease has run out.</summary>
    public NodeFence(SessionCache cache, RedisClusterOptions options, TimeSpan now, SharedEntryGate? gate = null)
    {
        _cache = cache;
        _gate = gate;
        _fenceAfter = options.FenceAfter;
        _heartbeatStaleAfter = options.HeartbeatStaleAfter;
        _heartbeatInterval = options.HeartbeatInterval;
        _distrustedAt = now;
        _lastFailureAt = now;
        _origin = cache.Clock.GetTimestamp() - ToClockTicks(now);
        cache.Distrust(TrustSource);
        cache.RenewLease(TrustSource, _origin + ToClockTicks(now));
    }

    public bool IsTrusted
    {
        get
        {
            lock (_lock)
            {
                return _trusted;
            }
        }
    }

    /// <summary>Why the node is fenced, or when it was last fenced and why.</summary>
    public string Reason
    {
        get
        {
            lock (_lock)
            {
                return _reason;
            }
        }
    }

    /// <summary>Times this node went from trusted to fenced.</summary>
    public long Fences => Interlocked.Read(ref _fences);

    /// <summary>Gaps in the bus sequence seen (messages this node never received).</summary>
    public long Gaps => Interlocked.Read(ref _gaps);

    /// <summary>
    /// When this node last failed (fenced, or was already fenced and failed again; its start counts as one). Every way the
    /// fence moves past a number without applying its message is a failure at that moment or happens while fenced since
    /// an earlier one, so an answer given one relying-app lease after this covers what the node may have skipped.
    /// </summary>
    public TimeSpan LastFailureAt
    {
        get
        {
            lock (_lock)
            {
                return _lastFailureAt;
            }
        }
    }

    /// <summary>The last moment this node was trusted: <paramref name="now"/> while it is, else when it was fenced.</summary>
    public TimeSpan TrustedUntil(TimeSpan now)
    {
        lock (_lock)
        {
            return _trusted ? now : _distrustedAt;
        }
    }

    /// <summary>
    /// Completes once the fence has moved past <paramref name="seq"/> of <paramref name="incarnation"/>: every message up
    /// to it was applied here, or skipped while fenced (see <see cref="LastFailureAt"/>). Never completes for another
    /// incarnation once this node has left it; the caller bounds the wait.
    /// </summary>
    public Task WhenAppliedAsync(string incarnation, long seq, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (Covers(incarnation, seq))
            {
                return Task.CompletedTask;
            }

            var waiter = new AppliedWaiter(incarnation, seq);
            _appliedWaiters.Add(waiter);
            if (cancellationToken.CanBeCanceled)
            {
                waiter.Registration = cancellationToken.Register(() =>
                {
                    lock (_lock)
                    {
                        _appliedWaiters.Remove(waiter);
                    }

                    waiter.Done.TrySetCanceled(cancellationToken);
                });
            }

            return waiter.Done.Task;
        }
    }

    /// <summary>
    /// Records that the invalidation numbered <paramref name="seq"/> has been applied here (or was this node's own).
    /// Returns the reason the node fenced itself because of it, if it did.
    /// </summary>
    public string? OnInvalidationApplied(string incarnation, long seq, TimeSpan now)
    {
        lock (_lock)
        {
            string? failure = null;
            if (_incarnation is null)
            {
                // Only while fenced since start: nothing was trusted before this point.
                Adopt(incarnation, seq);
            }
            else if (!string.Equals(_incarnation, incarnation, StringComparison.Ordinal))
            {
                Adopt(incarnation, seq);
                failure = Fail("Redis lost the bus state (a new incarnation): messages may have been lost", now);
            }
            else if (seq == _appliedThrough + 1)
            {
                _appliedThrough = seq;
            }
            else if (seq > _appliedThrough + 1)
            {
                Interlocked.Increment(ref _gaps);
                var missed = seq - _appliedThrough - 1;
                _appliedThrough = seq;
                failure = Fail($"{missed} invalidation(s) before #{seq} never arrived", now);
            }

            // A number at or below what was applied is a late or repeated message: applying it again is harmless.
            ResolvePendingPings();
            ReleaseAppliedWaiters();
            return failure;
        }
    }

    /// <summary>
    /// Records one of this node's pings coming back (with the <paramref name="tick"/> Redis gave it). Returns the reason
    /// the node fenced itself, if it did.
    /// </summary>
    public string? OnPing(string incarnation, long seq, TimeSpan sentAt, TimeSpan now, long tick = 0)
    {
        lock (_lock)
        {
            // Fenced since before the ping left: everything published up to its number is covered by the fence (the
            // cache was emptied and keeps nothing until it is trusted again), so the ping may move the baseline.
            var coveredByFence = !_trusted && sentAt > _distrustedAt;
            if (!string.Equals(_incarnation, incarnation, StringComparison.Ordinal))
            {
                var known = _incarnation is not null;
                Adopt(incarnation, seq);
                if (known && !coveredByFence)
                {
                    return Fail("Redis lost the bus state (a new incarnation): messages may have been lost", now);
                }

                Proof(sentAt, tick);
                return null;
            }

            if (seq <= _appliedThrough)
            {
                Proof(sentAt, tick);
            }
            else if (coveredByFence)
            {
                _appliedThrough = seq;
                ResolvePendingPings();
                ReleaseAppliedWaiters();
                Proof(sentAt, tick);
            }
            else
            {
                // Invalidations up to seq are still on their way (they come through another queue), or were lost. The
                // proof counts once they are applied; if they never come, the proofs run out and the node fences.
                if (_pendingPings.Count == MaxPendingPings)
                {
                    _pendingPings.Dequeue();
                }

                _pendingPings.Enqueue((seq, sentAt, tick));
            }

            return null;
        }
    }

    /// <summary>Fences the node now (a lost connection, a failed heartbeat, an unreadable message...).</summary>
    public string? OnFailure(string reason, TimeSpan now)
    {
        lock (_lock)
        {
            return Fail(reason, now);
        }
    }

    /// <summary>
    /// Fences the node for good (it is stopping): it must not vouch for anything again while it lingers in the cluster
    /// to let its relying apps' leases run out.
    /// </summary>
    public string? Retire(string reason, TimeSpan now)
    {
        lock (_lock)
        {
            _retired = true;
            return Fail(reason, now);
        }
    }

    /// <summary>Records a heartbeat that Redis stored; <paramref name="sentAt"/> is when it was sent.</summary>
    public void OnHeartbeat(TimeSpan sentAt)
    {
        lock (_lock)
        {
            if (_lastHeartbeatSentAt is null || sentAt > _lastHeartbeatSentAt)
            {
                _lastHeartbeatSentAt = sentAt;
            }
        }
    }

    /// <summary>The watchdog's check: fences a node whose proofs or heartbeat ran out; trusts one that has earned it.</summary>
    public FenceChange Evaluate(TimeSpan now)
    {
        lock (_lock)
        {
            if (_trusted)
            {
                if (_lastProofSentAt is not { } proof || now - proof > _fenceAfter)
                {
                    var age = _lastProofSentAt is { } p ? (now - p).TotalMilliseconds : double.NaN;
                    return new(FenceChangeKind.Fenced, Fail($"no ping proved the subscription for {age:F0} ms", now));
                }

                if (_lastHeartbeatSentAt is not { } heartbeat || now - heartbeat > _heartbeatStaleAfter)
                {
                    return new(FenceChangeKind.Fenced, Fail("the heartbeat is stale: publishers may no longer wait for this node", now));
                }

                return FenceChange.None;
            }

            // Trust again only with an unbroken run of proofs as long as FenceAfter, a proof fresh enough not to fence
            // on the next tick, and a heartbeat fresh enough for every publisher to wait for this node.
            if (!_retired
                && _cleanSince is { } clean
                && _lastProofSentAt is { } latest
                && latest - clean >= _fenceAfter
                && now - latest <= _fenceAfter / 2
                && _lastHeartbeatSentAt is { } beat
                && now - beat <= _heartbeatStaleAfter - _heartbeatInterval)
            {
                _trusted = true;
                _cache.Trust(TrustSource);
                _reason = $"trusted again after: {_reason}";
                return new(FenceChangeKind.Trusted, null);
            }

            return FenceChange.None;
        }
    }

    /// <summary>How old the newest proof is, for readiness and metrics.</summary>
    public TimeSpan? ProofAge(TimeSpan now)
    {
        lock (_lock)
        {
            return now - _lastProofSentAt;
        }
    }

    private string? Fail(string reason, TimeSpan now)
    {
        _gate?.MarkAll(now);
        _lastFailureAt = now;
        _cleanSince = null;
        if (!_trusted)
        {
            _reason = reason;
            return null;
        }

        _trusted = false;
        _distrustedAt = now;
        _reason = reason;
        _cache.Distrust(TrustSource);
        Interlocked.Increment(ref _fences);
        return reason;
    }

    private long ToClockTicks(TimeSpan offset) => (long)(offset.Ticks * ((double)_cache.Clock.TimestampFrequency / TimeSpan.TicksPerSecond));

    private void Adopt(string incarnation, long seq)
    {
        _incarnation = incarnation;
        _appliedThrough = seq;
        _pendingPings.Clear();
        ReleaseAppliedWaiters();
    }

    private bool Covers(string incarnation, long seq) =>
        string.Equals(_incarnation, incarnation, StringComparison.Ordinal) && _appliedThrough >= seq;

    private void ReleaseAppliedWaiters()
    {
        for (var i = _appliedWaiters.Count - 1; i >= 0; i--)
        {
            var waiter = _appliedWaiters[i];
            if (Covers(waiter.Incarnation, waiter.Seq))
            {
                _appliedWaiters.RemoveAt(i);

                // Unregister, not Dispose: Dispose waits for a running callback, which waits for this lock.
                waiter.Registration.Unregister();
                waiter.Done.TrySetResult();
            }
        }
    }

    private void ResolvePendingPings()
    {
        while (_pendingPings.TryPeek(out var ping) && ping.Seq <= _appliedThrough)
        {
            _pendingPings.Dequeue();
            Proof(ping.SentAt, ping.Tick);
        }
    }

    private void Proof(TimeSpan sentAt, long tick)
    {
        _gate?.OnProof(_incarnation!, sentAt, tick);
        if (_lastProofSentAt is null || sentAt > _lastProofSentAt)
        {
            _lastProofSentAt = sentAt;
            _cache.RenewLease(TrustSource, _origin + ToClockTicks(sentAt + _fenceAfter));
        }

        if (_cleanSince is null && sentAt > _lastFailureAt)
        {
            _cleanSince = sentAt;
        }
    }

    /// <summary>Someone waiting for the fence to move past a number (a relying-app round to answer).</summary>
    private sealed class AppliedWaiter(string incarnation, long seq)
    {
        public string Incarnation { get; } = incarnation;

        public long Seq { get; } = seq;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public CancellationTokenRegistration Registration { get; set; }
    }
}
