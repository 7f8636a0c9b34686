using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Tessera.Core.Invalidations;
using Tessera.Core.Options;

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
/// each stream then ends itself with <c>session.revoked</c> if its session no longer holds. Each stream holds a
/// connection and a task, so a session and a user may hold only so many (<c>Tessera:Sessions:MaxEventStreamsPer…</c>).
/// </summary>
internal sealed class EventStreamRegistry(IOptions<TesseraOptions> options) : IInvalidationHandler
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<EventStream, byte>> _byUser = new(StringComparer.Ordinal);
    private readonly int _perSession = options.Value.Sessions.MaxEventStreamsPerSession;
    private readonly int _perUser = options.Value.Sessions.MaxEventStreamsPerUser;

    /// <summary>Registers the stream unless its session or its user already holds as many as allowed.</summary>
    public bool TryAdd(EventStream stream)
    {
        while (true)
        {
            var streams = _byUser.GetOrAdd(stream.UserId, static _ => new());
            lock (streams)
            {
                // Emptied and dropped by Remove since it was looked up: take the user's new set.
                if (!_byUser.TryGetValue(stream.UserId, out var current) || !ReferenceEquals(current, streams))
                {
                    continue;
                }

                if (streams.Count >= _perUser || streams.Keys.Count(s => s.SessionId == stream.SessionId) >= _perSession)
                {
                    return false;
                }

                streams.TryAdd(stream, 0);
                return true;
            }
        }
    }

    public void Remove(EventStream stream)
    {
        if (_byUser.TryGetValue(stream.UserId, out var streams))
        {
            lock (streams)
            {
                streams.TryRemove(stream, out _);
                if (streams.IsEmpty)
                {
                    _byUser.TryRemove(new KeyValuePair<string, ConcurrentDictionary<EventStream, byte>>(stream.UserId, streams));
                }
            }
        }
    }

    public void Handle(Invalidation invalidation)
    {
        if (invalidation.UserId is not { } userId || !_byUser.TryGetValue(userId, out var streams))
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
