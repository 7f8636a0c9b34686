using System.Collections.Concurrent;
using Tessera.Core.Invalidations;

namespace Tessera.Redis.Tests;

/// <summary>
/// One node's relying apps, as a test drives them: the node hands them every invalidation (a handler, as the server's
/// revocation streams are), they confirm at once or when the test says, and they record every acknowledgement and
/// what the node had handed them each time they were asked to confirm.
/// </summary>
public sealed class TestRelyingApps : IRelyingApps, IInvalidationHandler
{
    private readonly ConcurrentDictionary<string, byte> _handled = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _streams = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<(string Stream, long Through)> _acks = new();
    private readonly ConcurrentQueue<(string Stream, string Client, long Through)> _refused = new();
    private readonly ConcurrentQueue<IReadOnlySet<string>> _asked = new();
    private readonly Lock _lock = new();
    private readonly List<TaskCompletionSource> _waiting = [];
    private TaskCompletionSource? _handleGate;
    private int _held;

    /// <summary>Confirm as soon as asked (true), or only when <see cref="ConfirmAll"/> is called.</summary>
    public bool ConfirmAtOnce { get; set; } = true;

    /// <summary>The client every stream is opened for unless a test says otherwise.</summary>
    public const string Client = "cli_test";

    /// <summary>Acknowledgements made by the client that opened the stream (or for a stream no one opened).</summary>
    public IReadOnlyCollection<(string Stream, long Through)> Acknowledgements => [.. _acks];

    /// <summary>Acknowledgements of a stream made by another client than the one that opened it.</summary>
    public IReadOnlyCollection<(string Stream, string Client, long Through)> Refused => [.. _refused];

    /// <summary>For each call of <see cref="WhenConfirmedAsync"/>, the users whose invalidations the apps had been handed.</summary>
    public IReadOnlyList<IReadOnlySet<string>> Asked => [.. _asked];

    /// <summary>Calls of <see cref="WhenConfirmedAsync"/> still waiting for <see cref="ConfirmAll"/>.</summary>
    public int Waiting
    {
        get
        {
            lock (_lock)
            {
                return _waiting.Count;
            }
        }
    }

    /// <summary>Invalidations that are being handed over right now, held by <see cref="HoldHandling"/>.</summary>
    public int Held => Volatile.Read(ref _held);

    /// <summary>A stream of this node that its apps follow (ids are <c>{node}~{random}</c>).</summary>
    public string OpenStream(string nodeId, string clientId = Client)
    {
        var id = $"{nodeId}~{Guid.NewGuid():N}";
        _streams[id] = clientId;
        return id;
    }

    public bool Acknowledge(string streamId, string clientId, long through)
    {
        if (_streams.TryGetValue(streamId, out var opener) && opener != clientId)
        {
            _refused.Enqueue((streamId, clientId, through));
            return false;
        }

        _acks.Enqueue((streamId, through));
        return opener is not null;
    }

    /// <summary>As <see cref="WhenConfirmedAsync"/> would answer now: at once when <see cref="ConfirmAtOnce"/>, and nothing waits.</summary>
    public bool IsConfirmed => ConfirmAtOnce && Waiting == 0;

    public Task WhenConfirmedAsync(CancellationToken cancellationToken)
    {
        _asked.Enqueue(new HashSet<string>(_handled.Keys, StringComparer.Ordinal));
        if (ConfirmAtOnce)
        {
            return Task.CompletedTask;
        }

        var confirmed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            _waiting.Add(confirmed);
        }

        return confirmed.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Every app confirms everything it was handed: every waiting call completes.</summary>
    public void ConfirmAll()
    {
        lock (_lock)
        {
            foreach (var confirmed in _waiting)
            {
                confirmed.TrySetResult();
            }

            _waiting.Clear();
        }
    }

    /// <summary>From now on, handing an invalidation to the apps blocks (the node's bus queue with it) until <see cref="ReleaseHandling"/>.</summary>
    public void HoldHandling() => _handleGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void ReleaseHandling() => _handleGate?.TrySetResult();

    public bool WasHanded(string userId) => _handled.ContainsKey(userId);

    public void Handle(Invalidation invalidation)
    {
        if (_handleGate is { } gate)
        {
            Interlocked.Increment(ref _held);
            gate.Task.Wait(TimeSpan.FromSeconds(30));
            Interlocked.Decrement(ref _held);
        }

        if (invalidation.UserId is { } userId)
        {
            _handled[userId] = 0;
        }
    }
}
