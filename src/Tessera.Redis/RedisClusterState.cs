using Tessera.Redis.Membership;

namespace Tessera.Redis;

/// <summary>
/// What this node knows about its place in the cluster, for readiness checks and metrics: its fencing state, the
/// bus lag, the live nodes, and counters of acknowledgements. Counters only grow; readers take differences.
/// </summary>
public sealed class RedisClusterState
{
    private readonly Lock _lock = new();
    private IReadOnlyList<string> _liveNodes = [];
    private NodeFence? _fence;
    private Func<TimeSpan>? _now;
    private long _lastPingRoundTripTicks = -1;
    private long _publishes;
    private long _publishFailures;
    private long _acksAwaited;
    private long _acksReceived;
    private long _fencedNodes;
    private long _invalidationsReceived;
    private long _redeliveries;
    private long _rounds;
    private long _roundAnswersAwaited;
    private long _roundSilentNodes;
    private long _roundsNotSent;
    private long _appAcksRelayed;
    private long _sharedCacheHits;
    private long _sharedCacheMisses;
    private long _sharedCacheErrors;

    internal RedisClusterState(string nodeId) => NodeId = nodeId;

    /// <summary>This node's id in the membership hash and on acknowledgements.</summary>
    public string NodeId { get; }

    public RedisNodeState State => _fence?.IsTrusted == true ? RedisNodeState.Trusted : RedisNodeState.Fenced;

    /// <summary>Why the node is fenced (or why it was last fenced, when it is trusted).</summary>
    public string StateReason => _fence?.Reason ?? "not started";

    /// <summary>Times this node fenced itself after having been trusted.</summary>
    public long Fences => _fence?.Fences ?? 0;

    /// <summary>Gaps seen in the bus sequence: invalidations this node never received (it fenced itself for each).</summary>
    public long SequenceGaps => _fence?.Gaps ?? 0;

    /// <summary>Round trip of the newest ping through Redis back to this node: the bus lag. Null before the first.</summary>
    public TimeSpan? LastPingRoundTrip
    {
        get
        {
            var ticks = Interlocked.Read(ref _lastPingRoundTripTicks);
            return ticks < 0 ? null : TimeSpan.FromTicks(ticks);
        }
    }

    /// <summary>Age of the newest ping that proved the subscription complete; null before the first.</summary>
    public TimeSpan? ProofAge => _fence is { } fence && _now is { } now ? fence.ProofAge(now()) : null;

    /// <summary>Nodes whose heartbeat Redis saw within the live window, as of this node's last heartbeat (itself included).</summary>
    public IReadOnlyList<string> LiveNodes
    {
        get
        {
            lock (_lock)
            {
                return _liveNodes;
            }
        }
    }

    /// <summary>Invalidations this node published.</summary>
    public long Publishes => Interlocked.Read(ref _publishes);

    /// <summary>Publishes that could not reach Redis before the deadline (the caller was told; they are sent again later).</summary>
    public long PublishFailures => Interlocked.Read(ref _publishFailures);

    /// <summary>Acknowledgements this node's publishes waited for (one per other live node per publish).</summary>
    public long AcksAwaited => Interlocked.Read(ref _acksAwaited);

    /// <summary>Acknowledgements that arrived before the deadline.</summary>
    public long AcksReceived => Interlocked.Read(ref _acksReceived);

    /// <summary>Nodes that stayed silent until a publish's deadline and were taken as fenced (counted once per publish).</summary>
    public long FencedNodes => Interlocked.Read(ref _fencedNodes);

    /// <summary>Invalidations from other nodes applied here.</summary>
    public long InvalidationsReceived => Interlocked.Read(ref _invalidationsReceived);

    /// <summary>Invalidations sent again after a failed publish.</summary>
    public long Redeliveries => Interlocked.Read(ref _redeliveries);

    /// <summary>Confirmation rounds for relying apps this node asked (one per revoking call that published).</summary>
    public long RelyingAppRounds => Interlocked.Read(ref _rounds);

    /// <summary>Answers this node's rounds waited for (one per other live node per round).</summary>
    public long RoundAnswersAwaited => Interlocked.Read(ref _roundAnswersAwaited);

    /// <summary>
    /// Nodes that did not answer a round before its deadline (counted once per round): their apps were taken as having
    /// lost their leases, as <see cref="FencedNodes"/> counts nodes silent on a publish.
    /// </summary>
    public long RoundSilentNodes => Interlocked.Read(ref _roundSilentNodes);

    /// <summary>Rounds that could not reach Redis; the call waited out the apps' lease instead.</summary>
    public long RoundsNotSent => Interlocked.Read(ref _roundsNotSent);

    /// <summary>Relying apps' acknowledgements received here and passed to the node that holds the stream.</summary>
    public long AppAcksRelayed => Interlocked.Read(ref _appAcksRelayed);

    internal void Attach(NodeFence fence, Func<TimeSpan> now)
    {
        _fence = fence;
        _now = now;
    }

    internal void SetLiveNodes(IReadOnlyList<string> nodes)
    {
        lock (_lock)
        {
            _liveNodes = nodes;
        }
    }

    internal void PingReturned(TimeSpan roundTrip) => Interlocked.Exchange(ref _lastPingRoundTripTicks, Math.Max(0, roundTrip.Ticks));

    internal void Published() => Interlocked.Increment(ref _publishes);

    internal void PublishFailed() => Interlocked.Increment(ref _publishFailures);

    internal void AwaitingAcks(int count) => Interlocked.Add(ref _acksAwaited, count);

    internal void AckReceived() => Interlocked.Increment(ref _acksReceived);

    internal void NodesFenced(int count) => Interlocked.Add(ref _fencedNodes, count);

    internal void InvalidationReceived() => Interlocked.Increment(ref _invalidationsReceived);

    internal void Redelivered() => Interlocked.Increment(ref _redeliveries);

    internal void RoundAsked(int nodes)
    {
        Interlocked.Increment(ref _rounds);
        Interlocked.Add(ref _roundAnswersAwaited, nodes);
    }

    internal void RoundNodesSilent(int count) => Interlocked.Add(ref _roundSilentNodes, count);

    internal void RoundNotSent() => Interlocked.Increment(ref _roundsNotSent);

    internal void AppAckRelayed() => Interlocked.Increment(ref _appAcksRelayed);

    /// <summary>Misses in this node's memory answered from the shared session cache in Redis.</summary>
    public long SharedCacheHits => Interlocked.Read(ref _sharedCacheHits);

    /// <summary>Misses in this node's memory that the shared cache could not answer (absent or refused): read from the store.</summary>
    public long SharedCacheMisses => Interlocked.Read(ref _sharedCacheMisses);

    /// <summary>Shared cache reads that failed (Redis unreachable or slow): read from the store.</summary>
    public long SharedCacheErrors => Interlocked.Read(ref _sharedCacheErrors);

    internal void SharedCacheHit() => Interlocked.Increment(ref _sharedCacheHits);

    internal void SharedCacheMiss() => Interlocked.Increment(ref _sharedCacheMisses);

    internal void SharedCacheError() => Interlocked.Increment(ref _sharedCacheErrors);
}
