using System.Collections.Concurrent;
using System.Threading.Channels;
using Tessera.Core.Invalidations;

namespace Tessera.Server.Events;

/// <summary>One open <c>/v1/events</c> stream: the session it watches and a mailbox of "look again" signals.</summary>
internal sealed class EventStream(string sessionId, string userId)
{
    private readonly Channel<bool> _signals = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    public string SessionId { get; } = sessionId;

    public string UserId { get; } = userId;

    public ChannelReader<bool> Signals => _signals.Reader;

    /// <summary>"Something about this session or its user changed: check again." Never blocks the publisher.</summary>
    public void Signal() => _signals.Writer.TryWrite(true);
}

/// <summary>
/// The node's open event streams by session and by user. An invalidation signals the matching streams at once;
/// each stream then ends itself with <c>session.revoked</c> if its session no longer holds.
/// </summary>
internal sealed class EventStreamRegistry : IInvalidationHandler
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<EventStream, byte>> _byUser = new(StringComparer.Ordinal);

    public void Add(EventStream stream) =>
        _byUser.GetOrAdd(stream.UserId, static _ => new()).TryAdd(stream, 0);

    public void Remove(EventStream stream)
    {
        if (_byUser.TryGetValue(stream.UserId, out var streams))
        {
            streams.TryRemove(stream, out _);
            if (streams.IsEmpty)
            {
                _byUser.TryRemove(new KeyValuePair<string, ConcurrentDictionary<EventStream, byte>>(stream.UserId, streams));
            }
        }
    }

    public void Handle(Invalidation invalidation)
    {
        if (!_byUser.TryGetValue(invalidation.UserId, out var streams))
        {
            return;
        }

        foreach (var (stream, _) in streams)
        {
            if (invalidation.UserChanged || invalidation.SessionIds.Contains(stream.SessionId))
            {
                stream.Signal();
            }
        }
    }
}
