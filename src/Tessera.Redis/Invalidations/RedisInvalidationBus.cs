using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using Tessera.Core.Invalidations;
using Tessera.Redis.Internal;
using Tessera.Redis.Membership;

namespace Tessera.Redis.Invalidations;

/// <summary>
/// The invalidation bus of a cluster, over Redis pub/sub. <see cref="PublishAsync"/> applies the invalidation on this
/// node, publishes it (numbered by Redis), and returns once every other live node has acknowledged it, or once
/// <see cref="RedisClusterOptions.AckTimeout"/> has passed since Redis took it; a node still silent then cannot
/// prove it hears the bus, and has fenced itself (see <see cref="NodeFence"/>), so no node serves a copy the
/// message contradicts. When the message cannot be handed to Redis at all, other nodes may still be trusting their
/// caches without having heard it: the call fails with <see cref="InvalidationNotConfirmedException"/> rather than
/// claim what it cannot know, and the message is sent again in the background until Redis takes it.
/// </summary>
internal sealed partial class RedisInvalidationBus : IInvalidationBus
{
    private const int RedeliveryCapacity = 10_000;
    private static readonly TimeSpan RetryPause = TimeSpan.FromMilliseconds(50);

    private readonly LocalNode _node;
    private readonly IRelyingApps _relyingApps;
    private readonly ILogger<RedisInvalidationBus> _logger;
    private readonly ConcurrentDictionary<string, PendingPublish> _pending = new(StringComparer.Ordinal);
    private readonly Channel<string> _redeliveries = Channel.CreateBounded<string>(
        new BoundedChannelOptions(RedeliveryCapacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });

    internal RedisInvalidationBus(LocalNode node, IRelyingApps relyingApps, ILogger<RedisInvalidationBus> logger)
    {
        _node = node;
        _relyingApps = relyingApps;
        _logger = logger;
    }

    public string NodeId => _node.NodeId;

    public async Task PublishAsync(Invalidation invalidation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(invalidation);
        _node.ApplyLocally(invalidation);

        var id = Guid.NewGuid().ToString("N");
        var payload = Wire.Serialize(invalidation, id, NodeId);
        var pending = new PendingPublish();
        _pending[id] = pending;
        try
        {
            var options = _node.Options;
            var published = await PublishUntilAsync(payload, _node.Now + options.AckTimeout, cancellationToken).ConfigureAwait(false);
            if (published is not { } result)
            {
                _node.State.PublishFailed();

                // This node cannot reach Redis: it cannot hear the bus either, and the caller may stop at this failure
                // before it hands over the rest of its invalidations.
                _node.Fail("an invalidation could not be published");
                _redeliveries.Writer.TryWrite(payload);
                LogNotPublished(id, invalidation.UserId, options.AckTimeout.TotalMilliseconds);
                throw new InvalidationNotConfirmedException(
                    $"The change is saved and applied on this node, but it could not be sent to the other nodes within {options.AckTimeout.TotalSeconds:0.###} s; it will be sent when Redis is reachable again.");
            }

            _node.State.Published();
            var others = new HashSet<string>(result.LiveNodes, StringComparer.Ordinal);
            others.Remove(NodeId);
            if (others.Count == 0)
            {
                return;
            }

            _node.State.AwaitingAcks(others.Count);
            var early = pending.Await(others);
            for (var i = 0; i < early; i++)
            {
                _node.State.AckReceived();
            }

            try
            {
                // Measured from when Redis answered, that is after it numbered and sent the message: a node that did not
                // get it can prove nothing newer, and fences itself within FenceAfter plus a watchdog tick.
                await pending.Done.Task.WaitAsync(options.AckTimeout, _node.Clock, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                var silent = pending.Silent();
                if (silent.Count > 0)
                {
                    _node.State.NodesFenced(silent.Count);
                    LogSilentNodes(id, result.Sequence, string.Join(", ", silent), options.AckTimeout.TotalMilliseconds);
                }
            }
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    // TODO(issue 10, revrelay): the cluster half: route acknowledgements to the stream's node, and a confirmation round
    // with every live node. Until then only this node's apps are waited for.
    public Task WhenRelyingAppsConfirmedAsync(CancellationToken cancellationToken) => _relyingApps.WhenConfirmedAsync(cancellationToken);

    public Task<bool> AcknowledgeAsync(string streamId, long through, CancellationToken cancellationToken) =>
        Task.FromResult(_relyingApps.Acknowledge(streamId, through));

    /// <summary>Subscribes to the bus and to this node's acknowledgements. Retries until it works or is cancelled.</summary>
    internal async Task<IReadOnlyList<ChannelMessageQueue>> SubscribeAsync(CancellationToken cancellationToken)
    {
        var subscriber = _node.Multiplexer.GetSubscriber();
        var invalidations = await RedisRetry.SubscribeAsync(subscriber, _node.Keys.Invalidations, cancellationToken).ConfigureAwait(false);
        invalidations.OnMessage(OnInvalidation);
        var acks = await RedisRetry.SubscribeAsync(subscriber, _node.Keys.Acks(NodeId), cancellationToken).ConfigureAwait(false);
        acks.OnMessage(OnAck);
        return [invalidations, acks];
    }

    /// <summary>Sends again, until Redis takes them, the messages whose publish failed (nobody waits for their acks).</summary>
    internal async Task RedeliverAsync(CancellationToken cancellationToken)
    {
        while (await _redeliveries.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!_redeliveries.Reader.TryPeek(out var payload))
            {
                continue;
            }

            if (await TryPublishOnceAsync(payload, null, cancellationToken).ConfigureAwait(false) is not null)
            {
                _redeliveries.Reader.TryRead(out _);
                _node.State.Redelivered();
            }
            else
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), _node.Clock, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task<PublishResult?> PublishUntilAsync(string payload, TimeSpan deadline, CancellationToken cancellationToken)
    {
        while (true)
        {
            var left = deadline - _node.Now;
            if (left <= TimeSpan.Zero)
            {
                return null;
            }

            if (await TryPublishOnceAsync(payload, left, cancellationToken).ConfigureAwait(false) is { } result)
            {
                return result;
            }

            left = deadline - _node.Now;
            if (left <= TimeSpan.Zero)
            {
                return null;
            }

            await Task.Delay(left < RetryPause ? left : RetryPause, _node.Clock, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<PublishResult?> TryPublishOnceAsync(string payload, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var options = _node.Options;
        try
        {
            var call = _node.Database.ScriptEvaluateAsync(
                RedisScripts.Publish,
                [_node.Keys.BusSequence, _node.Keys.Nodes],
                [_node.Keys.Invalidations.ToString(), payload, Guid.NewGuid().ToString("N"), (long)options.LiveWindow.TotalMilliseconds]);
            var reply = await call.WaitAsync(timeout ?? options.OperationTimeout, _node.Clock, cancellationToken).ConfigureAwait(false);
            var parts = (RedisResult[])reply!;
            var live = new string[parts.Length - 2];
            for (var i = 2; i < parts.Length; i++)
            {
                live[i - 2] = (string)parts[i]!;
            }

            return new PublishResult((long)parts[1], live);
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException)
        {
            LogPublishAttemptFailed(exception.GetType().Name, exception.Message);
            return null;
        }
    }

    private void OnInvalidation(ChannelMessage message)
    {
        var now = _node.Now;
        if (!Wire.TryParseEnvelope(message.Message, out var incarnation, out var sequence, out var payload))
        {
            LogUnreadable(message.Message.ToString());
            _node.Fail("an unreadable message arrived on the bus");
            return;
        }

        var read = Wire.TryReadInvalidation(payload);
        if (read is null)
        {
            // Something was invalidated and this node cannot tell what: it must not trust anything it holds.
            LogUnreadable(payload);
            _node.Fail($"invalidation #{sequence} could not be read");
            _node.ReportFenced(_node.Fence.OnInvalidationApplied(incarnation, sequence, now));
            return;
        }

        if (!string.Equals(read.Origin, NodeId, StringComparison.Ordinal))
        {
            _node.ApplyLocally(Wire.ToInvalidation(read));
            _node.State.InvalidationReceived();
        }

        // Own messages were applied before they were published; they still count for the sequence.
        _node.ReportFenced(_node.Fence.OnInvalidationApplied(incarnation, sequence, _node.Now));
        if (!string.Equals(read.Origin, NodeId, StringComparison.Ordinal))
        {
            _ = AcknowledgeAsync(read.Origin, read.Id);
        }
    }

    private async Task AcknowledgeAsync(string origin, string id)
    {
        try
        {
            await _node.Multiplexer.GetSubscriber()
                .PublishAsync(_node.Keys.Acks(origin), Wire.Serialize(new AckMessage(id, NodeId)))
                .WaitAsync(_node.Options.OperationTimeout, _node.Clock)
                .ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException)
        {
            // The origin counts this node as fenced; if it is not, its next pings say whether it heard everything.
            LogAckFailed(id, exception.Message);
        }
    }

    private void OnAck(ChannelMessage message)
    {
        if (Wire.TryReadAck(message.Message) is { } ack
            && _pending.TryGetValue(ack.Id, out var pending)
            && pending.Ack(ack.Node))
        {
            _node.State.AckReceived();
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Invalidation {Id} for user {UserId} could not be published within {Timeout} ms: other nodes may not have heard it; it will be sent again")]
    private partial void LogNotPublished(string id, string userId, double timeout);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Invalidation {Id} (#{Sequence}): no acknowledgement within {Timeout} ms from {Nodes}; they are taken as fenced")]
    private partial void LogSilentNodes(string id, long sequence, string nodes, double timeout);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Publishing an invalidation failed ({Type}: {Message}); trying again until the deadline")]
    private partial void LogPublishAttemptFailed(string type, string message);

    [LoggerMessage(Level = LogLevel.Error, Message = "An unreadable message arrived on the invalidation bus: {Message}")]
    private partial void LogUnreadable(string? message);

    [LoggerMessage(Level = LogLevel.Debug, Message = "The acknowledgement of {Id} could not be sent: {Message}")]
    private partial void LogAckFailed(string id, string message);

    private readonly record struct PublishResult(long Sequence, IReadOnlyList<string> LiveNodes);

    /// <summary>One publish waiting for acknowledgements; acks that beat the list of live nodes are kept until it comes.</summary>
    private sealed class PendingPublish
    {
        private readonly Lock _lock = new();
        private readonly HashSet<string> _early = new(StringComparer.Ordinal);
        private HashSet<string>? _awaited;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>True when the ack was one this publish waits for.</summary>
        public bool Ack(string node)
        {
            lock (_lock)
            {
                if (_awaited is null)
                {
                    _early.Add(node);
                    return false;
                }

                if (!_awaited.Remove(node))
                {
                    return false;
                }

                if (_awaited.Count == 0)
                {
                    Done.TrySetResult();
                }

                return true;
            }
        }

        /// <summary>Sets the nodes to wait for; returns how many had already acknowledged.</summary>
        public int Await(HashSet<string> nodes)
        {
            lock (_lock)
            {
                var already = nodes.RemoveWhere(_early.Contains);
                _awaited = nodes;
                if (nodes.Count == 0)
                {
                    Done.TrySetResult();
                }

                return already;
            }
        }

        public IReadOnlyList<string> Silent()
        {
            lock (_lock)
            {
                return _awaited is null ? [] : [.. _awaited];
            }
        }
    }
}
