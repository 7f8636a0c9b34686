using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Tessera.Core.Caching;
using Tessera.Core.Clients;
using Tessera.Core.Diagnostics;
using Tessera.Core.Invalidations;
using Tessera.Core.Options;
using Tessera.Core.Sessions;

namespace Tessera.Server.Revocations;

/// <summary>
/// One relying app's connection to <c>GET /v1/revocations</c>, and what this node must remember of it to keep the promise:
/// how far it has acknowledged, how far it has been sent, and until when its heartbeats let it trust its verdicts. The
/// fields that change are guarded by the lock of <see cref="RevocationStreams"/>.
/// </summary>
internal sealed class RevocationStream(string id, string clientId, TokenHash secretHash, long receivedAt)
{
    /// <summary>How many deliveries are remembered while unacknowledged; beyond, the oldest is forgotten (which only makes waits longer).</summary>
    internal const int MaxRememberedDeliveries = 1024;

    private readonly Channel<bool> _signals = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    private volatile string? _closedCode;

    /// <summary><c>{node}~{random}</c>: the node that holds it, so that an acknowledgement sent to any node finds it.</summary>
    public string Id { get; } = id;

    public string ClientId { get; } = clientId;

    /// <summary>The hash of the secret the client connected with, checked again as the client is read again.</summary>
    public TokenHash SecretHash { get; } = secretHash;

    /// <summary>When the endpoint received the request (a timestamp of the node's clock): heartbeats' <c>elapsed</c> counts from it.</summary>
    public long ReceivedAt { get; } = receivedAt;

    public ChannelReader<bool> Signals => _signals.Reader;

    /// <summary>Why the node ends the stream (<c>client_disabled</c>, …), once it has decided to.</summary>
    public string? ClosedCode => _closedCode;

    /// <summary>The last sequence the app acknowledged (or had before it connected).</summary>
    internal long Acknowledged { get; set; }

    /// <summary>The last sequence written to the connection.</summary>
    internal long Delivered { get; set; }

    /// <summary>Until when (a timestamp) the heartbeats written so far let the app trust its verdicts; <see cref="long.MinValue"/> for never.</summary>
    internal long LeaseEnd { get; set; } = long.MinValue;

    /// <summary>
    /// Unacknowledged deliveries in order: "through this sequence", and the lease end of the heartbeats written before it,
    /// the last lease under which the app may hold a verdict that those entries contradict.
    /// </summary>
    internal Queue<(long Through, long LeaseEndBefore)> Deliveries { get; } = new();

    internal bool Connected { get; set; } = true;

    /// <summary>"Look again": an entry was appended, or the stream is to be closed. Never blocks.</summary>
    public void Signal() => _signals.Writer.TryWrite(true);

    public void Close(string code)
    {
        _closedCode ??= code;
        Signal();
    }

    /// <summary>
    /// Until when the app may trust a verdict that entry <paramref name="target"/> contradicts: the lease end of the
    /// heartbeats written before the delivery that carried it, or, while it has not been written, of all heartbeats so far.
    /// </summary>
    internal long TrustEndFor(long target)
    {
        foreach (var (through, leaseEndBefore) in Deliveries)
        {
            if (through >= target)
            {
                return leaseEndBefore;
            }
        }

        return LeaseEnd;
    }
}

/// <summary>How a new stream starts: a reset at <see cref="Sequence"/> (with its reason), or a replay of the entries an app missed.</summary>
internal sealed record RevocationStart(string? ResetReason, long Sequence, IReadOnlyList<RevocationEntry> Replay);

/// <summary>
/// This node's relying apps: it turns every invalidation the node handles into a <c>revoked</c> entry of its
/// <see cref="RevocationLog"/> and wakes the open streams, and it answers <see cref="IRelyingApps.WhenConfirmedAsync"/> by
/// the rule of <c>docs/relying-apps.md</c>: a revoking call waits for each stream (one that disconnected too, while its
/// app may still trust a lease) until it acknowledged the entry that was the head when the call was made, or until the
/// lease from the heartbeats written before that entry reached the app has run out. Leases are durations on this node's
/// monotonic clock; the app's own reckoning (<c>sent + elapsed + lease</c>) ends no later, because it sent the request
/// before this node received it.
/// </summary>
internal sealed partial class RevocationStreams : IInvalidationHandler, IRelyingApps
{
    private readonly Lock _lock = new();
    private readonly ConcurrentDictionary<string, RevocationStream> _streams = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _openByClient = new(StringComparer.Ordinal);
    private readonly List<AwaitingTwin> _awaitingTwin = [];
    private readonly TaskCompletionSource<bool> _startupClients = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SessionCache _cache;
    private readonly TimeProvider _clock;
    private readonly TesseraMetrics _metrics;
    private readonly ILogger<RevocationStreams> _logger;
    private readonly long _leaseTicks;
    private readonly long _startupEnd;
    private readonly int _maxPerClient;
    private readonly Channel<bool> _clientChanges = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _resetsSeen;

    public RevocationStreams(
        RevocationLog log, SessionCache cache, TimeProvider clock, IOptions<TesseraOptions> options, TesseraMetrics metrics, ILogger<RevocationStreams> logger)
    {
        Log = log;
        _cache = cache;
        _clock = clock;
        _metrics = metrics;
        _logger = logger;
        Lease = options.Value.Clients.RevocationLease;
        Heartbeat = options.Value.Clients.RevocationHeartbeat;
        _maxPerClient = options.Value.Clients.MaxRevocationStreamsPerClient;
        _leaseTicks = ToTicks(Lease);
        _startupEnd = clock.GetTimestamp() + _leaseTicks;
        _resetsSeen = cache.Resets;
    }

    public RevocationLog Log { get; }

    public TimeSpan Lease { get; }

    public TimeSpan Heartbeat { get; }

    /// <summary>Open streams (connected now), for the client re-check.</summary>
    public IEnumerable<RevocationStream> Open => _streams.Values.Where(stream => stream.Connected);

    /// <summary>
    /// Each invalidation becomes a <c>revoked</c> entry and wakes every stream. On the publishing path: quick, never throws.
    /// The store's change feed reads Tessera's own commits back (a ban is published, then read from <c>change_log</c> or
    /// heard by <c>NOTIFY</c>): the twin of a change announced in the last <see cref="EchoWindow"/> is not announced
    /// again, so that an app hears each change once (see <see cref="Remember"/>). A change made outside Tessera has no
    /// published twin and is announced.
    /// </summary>
    public void Handle(Invalidation invalidation)
    {
        if (invalidation.ClientId is not null)
        {
            // A client was rotated or disabled, on this node or another: read its streams' clients again now.
            _clientChanges.Writer.TryWrite(true);
        }

        if (invalidation.UserId is null)
        {
            return;
        }

        try
        {
            var readBack = StoreChangeFeed.IsDispatching;
            if (TakeTwin(invalidation, readBack))
            {
                return;
            }

            Log.AppendRevoked(invalidation);
            Remember(invalidation, readBack);
            WakeAll();
        }
#pragma warning disable CA1031 // The publishing path must go on; the apps' leases run out if the entry is missing.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            LogAppendFailed(_logger, exception, invalidation.UserId);
        }
    }

    /// <summary>How long an announced invalidation waits for its twin (the read-back of a published one, or the reverse).</summary>
    internal static readonly TimeSpan EchoWindow = TimeSpan.FromSeconds(5);

    private const int MaxAwaitingTwin = 4096;

    /// <summary>
    /// Remembers an announced invalidation until its twin comes: the read-back of a published one; or, when the feed read
    /// the commit before the call published it, that publication. The second is only awaited for an invalidation that
    /// names sessions: a call that ends a session names sessions that were live until its commit, so no earlier change
    /// (made outside Tessera) can have announced the same ones for the same reason, and skipping the call's own
    /// announcement loses nothing. A user-only change read back first may be announced twice, which is harmless.
    /// </summary>
    private void Remember(Invalidation invalidation, bool readBack)
    {
        if (readBack && invalidation.SessionIds.Count == 0)
        {
            return;
        }

        lock (_awaitingTwin)
        {
            if (_awaitingTwin.Count >= MaxAwaitingTwin)
            {
                _awaitingTwin.RemoveAt(0);
            }

            _awaitingTwin.Add(new AwaitingTwin(invalidation, readBack, _clock.GetTimestamp()));
        }
    }

    /// <summary>True (and forgotten) when <paramref name="invalidation"/> is the twin of one announced within the window.</summary>
    private bool TakeTwin(Invalidation invalidation, bool readBack)
    {
        var oldest = _clock.GetTimestamp() - ToTicks(EchoWindow);
        lock (_awaitingTwin)
        {
            _awaitingTwin.RemoveAll(awaiting => awaiting.At < oldest);
            var index = _awaitingTwin.FindIndex(awaiting => awaiting.ReadBack != readBack && SameChange(awaiting.Announced, invalidation));
            if (index < 0)
            {
                return false;
            }

            _awaitingTwin.RemoveAt(index);
            return true;
        }
    }

    private static bool SameChange(Invalidation a, Invalidation b) =>
        a.UserId == b.UserId && a.UserChanged == b.UserChanged && a.Reason == b.Reason
        && a.SessionIds.Count == b.SessionIds.Count && a.SessionIds.All(b.SessionIds.Contains);

    private sealed record AwaitingTwin(Invalidation Announced, bool ReadBack, long At);

    /// <summary>Registers a new stream unless its client holds as many as allowed.</summary>
    public bool TryOpen(RevocationStream stream)
    {
        lock (_lock)
        {
            Prune(_clock.GetTimestamp());
            var open = _openByClient.GetValueOrDefault(stream.ClientId);
            if (open >= _maxPerClient)
            {
                return false;
            }

            _openByClient[stream.ClientId] = open + 1;
            _streams[stream.Id] = stream;
        }

        _metrics.RevocationStreamOpened();
        return true;
    }

    /// <summary>
    /// Where a new stream starts: the missed entries after <paramref name="lastEventId"/> when the log still has them, else a
    /// reset at the head (why: <c>new_stream</c> without an id, else <c>gap</c> or <c>node_restarted</c>).
    /// </summary>
    public RevocationStart Start(RevocationStream stream, string? lastEventId)
    {
        // A reset owed to every app (the cache was distrusted) goes in first: a new stream starts after it.
        CanVouch(out _);
        RevocationStart start;
        if (string.IsNullOrEmpty(lastEventId))
        {
            start = new RevocationStart(RevocationLog.NewStream, Log.Head, []);
        }
        else
        {
            var read = Log.ReadAfter(lastEventId);
            start = read.Entries is { } missed
                ? new RevocationStart(null, read.After, missed)
                : new RevocationStart(read.ResetReason, Log.Head, []);
        }

        lock (_lock)
        {
            stream.Acknowledged = start.Sequence;
            stream.Delivered = start.Sequence;
        }

        return start;
    }

    /// <summary>
    /// Whether this node can vouch for itself now (its cache trusted, within its lease, current), so that a heartbeat may
    /// grant a lease. When the cache was distrusted or dropped as a whole since the last look, and is trusted again, a
    /// <c>reset</c> entry (<c>trust_regained</c>) is appended first, so that every app drops what it held meanwhile.
    /// </summary>
    /// <param name="resets">The cache's reset count read first; <see cref="StillVouches"/> compares it at the heartbeat.</param>
    public bool CanVouch(out long resets)
    {
        resets = _cache.Resets;
        var canVouch = _cache.IsTrusted && _cache.WithinLease() && _cache.IsCurrent();
        if (canVouch && resets != Interlocked.Read(ref _resetsSeen))
        {
            var appended = false;
            lock (_lock)
            {
                if (resets > _resetsSeen)
                {
                    _resetsSeen = resets;
                    Log.AppendReset(RevocationLog.TrustRegained);
                    appended = true;
                }
            }

            if (appended)
            {
                LogTrustRegained(_logger);
                WakeAll();
            }
        }

        return canVouch;
    }

    /// <summary>True when nothing was distrusted or dropped since <see cref="CanVouch"/> read <paramref name="resets"/>, and the node still can vouch.</summary>
    public bool StillVouches(long resets) =>
        _cache.Resets == resets && _cache.IsTrusted && _cache.WithinLease() && _cache.IsCurrent();

    /// <summary>Records that the entries through <paramref name="through"/> are being written to the stream.</summary>
    public void Delivering(RevocationStream stream, long through)
    {
        lock (_lock)
        {
            if (through <= stream.Delivered)
            {
                return;
            }

            if (stream.Deliveries.Count >= RevocationStream.MaxRememberedDeliveries)
            {
                stream.Deliveries.Dequeue();
            }

            stream.Deliveries.Enqueue((through, stream.LeaseEnd));
            stream.Delivered = through;
        }
    }

    /// <summary>Records a heartbeat written at <paramref name="timestamp"/>, with a lease when <paramref name="granted"/>.</summary>
    public void HeartbeatWriting(RevocationStream stream, long timestamp, bool granted)
    {
        if (!granted)
        {
            return;
        }

        lock (_lock)
        {
            stream.LeaseEnd = Math.Max(stream.LeaseEnd, timestamp + _leaseTicks);
        }

        Changed();
    }

    /// <summary>
    /// The connection ended. The stream is kept while the app may still trust a lease from it (so that revoking calls wait
    /// for that, and an acknowledgement that arrives late is still taken); idempotent.
    /// </summary>
    public void Closed(RevocationStream stream)
    {
        lock (_lock)
        {
            if (!stream.Connected)
            {
                return;
            }

            stream.Connected = false;
            var open = _openByClient.GetValueOrDefault(stream.ClientId) - 1;
            if (open <= 0)
            {
                _openByClient.Remove(stream.ClientId);
            }
            else
            {
                _openByClient[stream.ClientId] = open;
            }

            Prune(_clock.GetTimestamp());
        }

        _metrics.RevocationStreamClosed();
        Changed();
    }

    public bool Acknowledge(string streamId, string clientId, long through)
    {
        lock (_lock)
        {
            // Another client's acknowledgement is answered as an unknown stream's: it learns nothing about the stream.
            if (!_streams.TryGetValue(streamId, out var stream)
                || !string.Equals(stream.ClientId, clientId, StringComparison.Ordinal)
                || (!stream.Connected && stream.LeaseEnd <= _clock.GetTimestamp()))
            {
                return false;
            }

            // An app cannot confirm what it was not sent.
            stream.Acknowledged = Math.Max(stream.Acknowledged, Math.Min(through, stream.Delivered));
            while (stream.Deliveries.TryPeek(out var delivery) && delivery.Through <= stream.Acknowledged)
            {
                stream.Deliveries.Dequeue();
            }
        }

        Changed();
        return true;
    }

    /// <summary>
    /// Waits until a service client changed (a rotation or a disable published on any node) or <paramref name="interval"/>
    /// has passed, whichever is first: when the clients behind the open streams are to be read again.
    /// </summary>
    public async Task WaitForClientChangeAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(interval, _clock);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        try
        {
            await _clientChanges.Reader.WaitToReadAsync(either.Token).ConfigureAwait(false);
            _clientChanges.Reader.TryRead(out _);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Told once, after the process started, whether any client may follow the stream (and so may have followed the previous run).</summary>
    public void StartupClientsRead(bool anyFollower) => _startupClients.TrySetResult(anyFollower);

    /// <summary>
    /// Completes when every stream has acknowledged the head as it is now, or its app's lease from before it has run out;
    /// and, for one lease after the process started, not before that lease has passed, unless no client could have
    /// followed the previous run's stream (none has the <c>revocations</c> scope), since an app of that run may still
    /// trust a lease it granted.
    /// </summary>
    public async Task WhenConfirmedAsync(CancellationToken cancellationToken)
    {
        var target = Log.Head;
        var started = Stopwatch.GetTimestamp();
        try
        {
            await StartupLeaseAsync(cancellationToken).ConfigureAwait(false);
            while (true)
            {
                Task changed;
                long next;
                lock (_lock)
                {
                    changed = _changed.Task;
                    next = NextTrustEnd(target);
                    if (next == long.MaxValue)
                    {
                        return;
                    }
                }

                await WaitAsync(changed, next, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _metrics.RelyingAppsWaited(Stopwatch.GetElapsedTime(started));
        }
    }

    /// <summary>True when <see cref="WhenConfirmedAsync"/> would complete at once, as it is now.</summary>
    public bool IsConfirmed
    {
        get
        {
            if (InStartupLease)
            {
                return false;
            }

            lock (_lock)
            {
                return NextTrustEnd(Log.Head) == long.MaxValue;
            }
        }
    }

    /// <summary>An app of the previous run may still trust a lease it granted (see <see cref="WhenConfirmedAsync"/>).</summary>
    private bool InStartupLease =>
        _clock.GetTimestamp() < _startupEnd && _startupClients.Task is not { IsCompletedSuccessfully: true, Result: false };

    /// <summary>
    /// Under the lock: the soonest moment (a timestamp) one of the apps that have not acknowledged
    /// <paramref name="target"/> stops trusting what it holds, or <see cref="long.MaxValue"/> when none can be trusting
    /// it any more.
    /// </summary>
    private long NextTrustEnd(long target)
    {
        var now = _clock.GetTimestamp();
        Prune(now);
        var until = long.MaxValue;
        foreach (var (_, stream) in _streams)
        {
            if (stream.Acknowledged >= target)
            {
                continue;
            }

            var trustEnd = stream.TrustEndFor(target);
            if (trustEnd > now)
            {
                until = Math.Min(until, trustEnd);
            }
        }

        return until;
    }

    private async Task StartupLeaseAsync(CancellationToken cancellationToken)
    {
        if (!InStartupLease)
        {
            return;
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var passed = WaitUntilAsync(_startupEnd, stop.Token);
        if (await Task.WhenAny(_startupClients.Task, passed).ConfigureAwait(false) == _startupClients.Task && !_startupClients.Task.Result)
        {
            await stop.CancelAsync().ConfigureAwait(false);
            return;
        }

        await passed.ConfigureAwait(false);
    }

    /// <summary>Until something changed (an acknowledgement, a heartbeat, a disconnect) or <paramref name="deadline"/> passed.</summary>
    private async Task WaitAsync(Task changed, long deadline, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var passed = WaitUntilAsync(deadline, stop.Token);
        await Task.WhenAny(changed, passed).ConfigureAwait(false);
        await stop.CancelAsync().ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
    }

    private async Task WaitUntilAsync(long deadline, CancellationToken cancellationToken)
    {
        var remaining = deadline - _clock.GetTimestamp();
        if (remaining <= 0)
        {
            return;
        }

        try
        {
            // Rounded up: the deadline has passed once the clock reads it, not a fraction of a tick before.
            var delay = TimeSpan.FromTicks((long)Math.Ceiling((double)remaining * TimeSpan.TicksPerSecond / _clock.TimestampFrequency));
            await Task.Delay(delay, _clock, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Forgets streams that ended and whose apps can no longer trust a lease from them. Under the lock.</summary>
    private void Prune(long now)
    {
        foreach (var (id, stream) in _streams)
        {
            if (!stream.Connected && stream.LeaseEnd <= now)
            {
                _streams.TryRemove(id, out _);
            }
        }
    }

    private void WakeAll()
    {
        foreach (var (_, stream) in _streams)
        {
            if (stream.Connected)
            {
                stream.Signal();
            }
        }
    }

    private void Changed()
    {
        TaskCompletionSource changed;
        lock (_lock)
        {
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }

    private long ToTicks(TimeSpan duration) => (long)(duration.TotalSeconds * _clock.TimestampFrequency);

    [LoggerMessage(Level = LogLevel.Error, Message = "A revocation for user {UserId} could not be written to the revocation log; relying apps' leases run out instead.")]
    private static partial void LogAppendFailed(ILogger logger, Exception exception, string userId);

    [LoggerMessage(Level = LogLevel.Information, Message = "The session cache is trusted again after it was distrusted or dropped: relying apps are told to drop their verdicts.")]
    private static partial void LogTrustRegained(ILogger logger);
}
