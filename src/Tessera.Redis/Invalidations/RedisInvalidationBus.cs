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
///
/// <para>Relying apps (see <c>docs/relying-apps.md</c>) follow one node's revocation stream each.
/// <see cref="AcknowledgeAsync"/> passes an app's acknowledgement to the node that holds its stream, and
/// <see cref="WhenRelyingAppsConfirmedAsync"/> runs a confirmation round with every live node. The argument is in
/// this project's README ("Relying apps across the cluster").</para>
/// </summary>
internal sealed partial class RedisInvalidationBus : IInvalidationBus
{
    private const int RedeliveryCapacity = 10_000;
    private static readonly TimeSpan RetryPause = TimeSpan.FromMilliseconds(50);

    private readonly LocalNode _node;
    private readonly IRelyingApps _relyingApps;
    private readonly ILogger<RedisInvalidationBus> _logger;
    private readonly ConcurrentDictionary<string, PendingPublish> _pending = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, PendingRound> _rounds = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Task, byte> _answers = new();
    // Per node that was ever asked: the newest of this node's publishes it was silent on, and the newest number it
    // acknowledged or answered. Both only grow (one entry per node id this process has seen: never pruned, because
    // forgetting an acknowledgement could make an older silence look like the last word).
    private readonly ConcurrentDictionary<string, SilentMark> _silent = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _heardThrough = new(StringComparer.Ordinal);
    private readonly Channel<string> _redeliveries = Channel.CreateBounded<string>(
        new BoundedChannelOptions(RedeliveryCapacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });

    internal RedisInvalidationBus(LocalNode node, IRelyingApps relyingApps, ILogger<RedisInvalidationBus> logger)
    {
        _node = node;
        _relyingApps = relyingApps;
        _logger = logger;
    }

    public string NodeId => _node.NodeId;

    /// <summary>A publish waits this long at most for acknowledgements; a node silent that long has fenced itself.</summary>
    public TimeSpan ConvergenceWindow => _node.Options.AckTimeout;

    /// <summary>Other nodes' rounds this node has received and not answered yet (for tests and diagnostics).</summary>
    internal int PendingAnswers => _answers.Count;

    public async Task<PublishReceipt> PublishAsync(Invalidation invalidation, CancellationToken cancellationToken)
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
                LogNotPublished(id, invalidation.UserId ?? "client " + invalidation.ClientId, options.AckTimeout.TotalMilliseconds);
                throw new InvalidationNotConfirmedException(
                    $"The change is saved and applied on this node, but it could not be sent to the other nodes within {options.AckTimeout.TotalSeconds:0.###} s; it will be sent when Redis is reachable again.");
            }

            _node.State.Published();
            var others = new HashSet<string>(result.LiveNodes, StringComparer.Ordinal);
            others.Remove(NodeId);
            if (others.Count == 0)
            {
                return PublishReceipt.None;
            }

            _node.State.AwaitingAcks(others.Count);
            var asked = others.ToArray();
            var answeredAt = _node.Now;
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

            RememberWhoAnswered(asked, pending.Silent(), result.Sequence, answeredAt);
            return new PublishReceipt(pending.AppsConfirmedOn());
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    /// <summary>
    /// Completes when every relying app of every node has confirmed every invalidation this node published (that is,
    /// whose <see cref="PublishAsync"/> returned) before the call, or can no longer trust what it holds. This node's
    /// apps are asked directly; the other live nodes in a round (<c>{prefix}:rounds</c>, stamped with the bus sequence)
    /// that each answers once it has applied every message numbered before the round, its own apps have confirmed,
    /// and one lease has passed since it last failed. Waits at most one lease (from the call) for a node: by then
    /// every app of a node that applied the invalidation has applied it or lost its lease, and a node that did not
    /// apply it had fenced itself before the publish returned, so its apps' leases ran out too. Never throws for a
    /// silent node; it is logged and counted (<see cref="RedisClusterState.RoundSilentNodes"/>).
    /// </summary>
    public Task WhenRelyingAppsConfirmedAsync(IReadOnlyList<PublishReceipt> published, CancellationToken cancellationToken) =>
        Task.WhenAll(_relyingApps.WhenConfirmedAsync(cancellationToken), ConfirmRoundAsync(PublishReceipt.ConfirmedOnAll(published), cancellationToken));

    /// <summary>
    /// Hands an app's acknowledgement to the node that holds its stream: this node's <see cref="IRelyingApps"/>, or
    /// another live node's through its <c>{prefix}:app-acks:&lt;node&gt;</c> channel (true once Redis handed it to that
    /// node's subscription). False for a stream id without a node, a node that is not live, or a Redis that cannot be
    /// reached: the app's stream is as good as gone, and the app reconnects.
    /// </summary>
    public async Task<bool> AcknowledgeAsync(string streamId, string clientId, long through, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(streamId);
        ArgumentNullException.ThrowIfNull(clientId);
        var separator = streamId.LastIndexOf('~');
        if (separator <= 0)
        {
            return false;
        }

        var owner = streamId[..separator];
        if (string.Equals(owner, NodeId, StringComparison.Ordinal))
        {
            return _relyingApps.Acknowledge(streamId, clientId, through);
        }

        if (owner.AsSpan().IndexOfAny("{}| ") >= 0 || owner.Any(char.IsControl))
        {
            // Not a node id any node could have (see RedisClusterOptionsValidator).
            return false;
        }

        var options = _node.Options;
        try
        {
            var reply = await _node.Database.ScriptEvaluateAsync(
                    RedisScripts.AppAck,
                    [_node.Keys.Nodes],
                    [_node.Keys.AppAcks(owner).ToString(), Wire.Serialize(new AppAckMessage(streamId, clientId, through)), owner, (long)options.LiveWindow.TotalMilliseconds])
                .WaitAsync(options.OperationTimeout, _node.Clock, cancellationToken)
                .ConfigureAwait(false);
            if ((long)reply > 0)
            {
                _node.State.AppAckRelayed();
                return true;
            }

            return false;
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException)
        {
            LogAppAckNotRelayed(owner, exception.Message);
            return false;
        }
    }

    /// <summary>
    /// Before the node leaves the cluster (it is already fenced for good): stays in it until the leases it granted its
    /// relying apps have run out, answering rounds meanwhile, so that no node stops waiting for it while one of its
    /// apps may still trust a verdict. A node without relying apps leaves at once.
    /// </summary>
    internal async Task LingerForRelyingAppsAsync(CancellationToken cancellationToken)
    {
        if (_relyingApps is NoRelyingApps)
        {
            return;
        }

        var options = _node.Options;
        try
        {
            var left = _node.Fence.TrustedUntil(_node.Now) + options.RelyingAppLease - _node.Now;
            if (left > TimeSpan.Zero)
            {
                LogLingering(NodeId, left.TotalMilliseconds);
                await Task.Delay(left, _node.Clock, cancellationToken).ConfigureAwait(false);
            }

            // Answers now due go out before the node leaves (they never throw; the askers' deadlines cover any not sent).
            await Task.WhenAny(Task.WhenAll(_answers.Keys), Task.Delay(options.OperationTimeout, _node.Clock, cancellationToken)).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The host's stop deadline.
        }
    }

    /// <summary>
    /// The round with the other live nodes, except <paramref name="confirmed"/>: those said, in acknowledging every
    /// invalidation the call published, that their apps were confirmed then, which is what their answer would say. When
    /// no live node is left to ask, the script reads the live set and sends nothing.
    /// </summary>
    private async Task ConfirmRoundAsync(IReadOnlySet<string> confirmed, CancellationToken cancellationToken)
    {
        var options = _node.Options;
        var started = _node.Now;
        var deadline = started + options.RelyingAppLease;
        var id = Guid.NewGuid().ToString("N");
        var round = new PendingRound();
        _rounds[id] = round;
        try
        {
            var payload = Wire.Serialize(new RoundMessage(id, NodeId));
            if (await TryPublishOnceAsync(RedisScripts.Round, _node.Keys.Rounds, payload, deadline - _node.Now, [NodeId, .. confirmed], cancellationToken).ConfigureAwait(false)
                is not { } result)
            {
                // Every invalidation published before the call reached every live node or had them fenced before its
                // publish returned: at the deadline no app can trust a verdict it contradicts.
                _node.State.RoundNotSent();
                LogRoundNotSent(id, options.RelyingAppLease.TotalMilliseconds);
                await WaitUntilAsync(deadline, cancellationToken).ConfigureAwait(false);
                return;
            }

            var others = new HashSet<string>(result.LiveNodes, StringComparer.Ordinal);
            others.Remove(NodeId);
            others.ExceptWith(confirmed);
            _node.State.RoundAsked(others.Count);
            if (others.Count == 0)
            {
                return;
            }

            var waits = round.Await(others).Select(pair => WaitForAnswerAsync(pair.Key, pair.Value, CutOffFor(pair.Key, deadline), cancellationToken));
            var silent = (await Task.WhenAll(waits).ConfigureAwait(false)).OfType<string>().ToArray();
            foreach (var node in others.Except(silent, StringComparer.Ordinal))
            {
                Heard(node, result.Sequence);
            }

            if (silent.Length > 0)
            {
                _node.State.RoundNodesSilent(silent.Length);
                LogRoundSilentNodes(id, result.Sequence, string.Join(", ", silent), (_node.Now - started).TotalMilliseconds);
            }
        }
        finally
        {
            _rounds.TryRemove(id, out _);
        }
    }

    /// <summary>Null when <paramref name="node"/> answered by <paramref name="cutOff"/>; its id when it did not.</summary>
    private async Task<string?> WaitForAnswerAsync(string node, Task answered, TimeSpan cutOff, CancellationToken cancellationToken)
    {
        var left = cutOff - _node.Now;
        if (answered.IsCompleted)
        {
            return null;
        }

        if (left <= TimeSpan.Zero)
        {
            return node;
        }

        try
        {
            await answered.WaitAsync(left, _node.Clock, cancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (TimeoutException)
        {
            return node;
        }
    }

    /// <summary>
    /// How long a round waits for <paramref name="node"/>. A node that stayed silent on one of this node's publishes,
    /// and has acknowledged nothing numbered after it since, fenced itself at most FenceAfter plus one watchdog tick
    /// after Redis took that message (the bus's own argument, with a tick to spare), and its apps' leases ran out one
    /// lease after that: waiting longer proves nothing.
    /// </summary>
    private TimeSpan CutOffFor(string node, TimeSpan deadline)
    {
        if (_silent.TryGetValue(node, out var mark) && mark.Sequence > _heardThrough.GetValueOrDefault(node))
        {
            var options = _node.Options;
            var leasesOut = mark.RedisAnsweredAt + options.FenceAfter + (2 * options.PingInterval) + options.RelyingAppLease;
            return leasesOut < deadline ? leasesOut : deadline;
        }

        return deadline;
    }

    private void RememberWhoAnswered(string[] asked, IReadOnlyList<string> silent, long sequence, TimeSpan redisAnsweredAt)
    {
        foreach (var node in asked)
        {
            if (silent.Contains(node, StringComparer.Ordinal))
            {
                _silent.AddOrUpdate(node, new SilentMark(sequence, redisAnsweredAt), (_, old) => old.Sequence >= sequence ? old : new SilentMark(sequence, redisAnsweredAt));
            }
            else
            {
                Heard(node, sequence);
            }
        }
    }

    private void Heard(string node, long sequence) =>
        _heardThrough.AddOrUpdate(node, sequence, (_, old) => Math.Max(old, sequence));

    private async Task WaitUntilAsync(TimeSpan deadline, CancellationToken cancellationToken)
    {
        var left = deadline - _node.Now;
        if (left > TimeSpan.Zero)
        {
            await Task.Delay(left, _node.Clock, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Subscribes to the bus, this node's acknowledgements, the relying-app rounds and this node's relayed app
    /// acknowledgements. Retries until it works or is cancelled.
    /// </summary>
    internal async Task<IReadOnlyList<ChannelMessageQueue>> SubscribeAsync(CancellationToken cancellationToken)
    {
        var subscriber = _node.Multiplexer.GetSubscriber();
        var invalidations = await RedisRetry.SubscribeAsync(subscriber, _node.Keys.Invalidations, cancellationToken).ConfigureAwait(false);
        invalidations.OnMessage(OnInvalidation);
        var acks = await RedisRetry.SubscribeAsync(subscriber, _node.Keys.Acks(NodeId), cancellationToken).ConfigureAwait(false);
        acks.OnMessage(OnAck);
        var rounds = await RedisRetry.SubscribeAsync(subscriber, _node.Keys.Rounds, cancellationToken).ConfigureAwait(false);
        rounds.OnMessage(OnRound);
        var appAcks = await RedisRetry.SubscribeAsync(subscriber, _node.Keys.AppAcks(NodeId), cancellationToken).ConfigureAwait(false);
        appAcks.OnMessage(OnAppAck);
        return [invalidations, acks, rounds, appAcks];
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

            if (await TryPublishOnceAsync(RedisScripts.Publish, _node.Keys.Invalidations, payload, cancellationToken: cancellationToken).ConfigureAwait(false) is not null)
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

            if (await TryPublishOnceAsync(RedisScripts.Publish, _node.Keys.Invalidations, payload, left, cancellationToken: cancellationToken).ConfigureAwait(false) is { } result)
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

    /// <summary>Runs <see cref="RedisScripts.Publish"/> or <see cref="RedisScripts.Round"/> once: null when Redis did not answer in time.</summary>
    private async Task<PublishResult?> TryPublishOnceAsync(
        string script, RedisChannel channel, string payload, TimeSpan? timeout = null, IReadOnlyList<string>? notAsked = null,
        CancellationToken cancellationToken = default)
    {
        var options = _node.Options;
        if (timeout is { } bound && bound <= TimeSpan.Zero)
        {
            return null;
        }

        try
        {
            RedisValue[] arguments = [channel.ToString(), payload, Guid.NewGuid().ToString("N"), (long)options.LiveWindow.TotalMilliseconds];
            if (notAsked is { Count: > 0 })
            {
                arguments = [.. arguments, .. notAsked.Select(node => (RedisValue)node)];
            }

            var call = _node.Database.ScriptEvaluateAsync(script, [_node.Keys.BusSequence, _node.Keys.Nodes], arguments);
            var reply = await call.WaitAsync(timeout ?? options.OperationTimeout, _node.Clock, cancellationToken).ConfigureAwait(false);
            var parts = (RedisResult[])reply!;
            var live = new string[parts.Length - 2];
            for (var i = 2; i < parts.Length; i++)
            {
                live[i - 2] = (string)parts[i]!;
            }

            return new PublishResult((string)parts[0]!, (long)parts[1], live);
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
            _ = AcknowledgeAsync(read.Origin, read.Id, AppsConfirmed());
        }
    }

    /// <summary>
    /// What this node's answer to a round would say right now, without waiting: its apps have confirmed everything it
    /// handled (or hold no lease), and one lease has passed since its last failure (see <see cref="AnswerRoundAsync"/>).
    /// Told in the acknowledgement of an invalidation just applied, it answers the round for that invalidation.
    /// </summary>
    private bool AppsConfirmed() =>
        _relyingApps.IsConfirmed && _node.Now >= _node.Fence.LastFailureAt + _node.Options.RelyingAppLease;

    private async Task AcknowledgeAsync(string origin, string id, bool appsConfirmed)
    {
        try
        {
            await _node.Multiplexer.GetSubscriber()
                .PublishAsync(_node.Keys.Acks(origin), Wire.Serialize(new AckMessage(id, NodeId, appsConfirmed)))
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
        if (Wire.TryReadAck(message.Message) is not { } ack)
        {
            return;
        }

        if (_pending.TryGetValue(ack.Id, out var pending))
        {
            if (pending.Ack(ack.Node, ack.AppsConfirmed))
            {
                _node.State.AckReceived();
            }
        }
        else if (_rounds.TryGetValue(ack.Id, out var round))
        {
            round.Answer(ack.Node);
        }
    }

    /// <summary>
    /// A round from another node. Answered on its own task: the answer waits for this node's apps, and the queue must
    /// go on. Rounds come on their own channel, which StackExchange.Redis may deliver before the invalidations numbered
    /// ahead of them; the answer therefore waits for the fence to have moved past the round's number first.
    /// </summary>
    private void OnRound(ChannelMessage message)
    {
        if (!Wire.TryParseEnvelope(message.Message, out var incarnation, out var sequence, out var payload)
            || Wire.TryReadRound(payload) is not { } round)
        {
            LogUnreadable(message.Message.ToString());
            return;
        }

        if (string.Equals(round.Origin, NodeId, StringComparison.Ordinal))
        {
            return;
        }

        var answer = AnswerRoundAsync(incarnation, sequence, round);
        _answers.TryAdd(answer, 0);
        _ = answer.ContinueWith(done => _answers.TryRemove(done, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private async Task AnswerRoundAsync(string incarnation, long sequence, RoundMessage round)
    {
        var options = _node.Options;

        // The asker stops waiting one lease after it asked; an answer after that helps nobody.
        using var giveUp = new CancellationTokenSource(options.RelyingAppLease + options.OperationTimeout, _node.Clock);
        try
        {
            // 1. Every invalidation numbered before the round is applied here (so handed to this node's streams), or
            //    was skipped while fenced.
            await _node.Fence.WhenAppliedAsync(incarnation, sequence, giveUp.Token).ConfigureAwait(false);

            // 2. This node's apps have confirmed all of it, or their leases ran out.
            await _relyingApps.WhenConfirmedAsync(giveUp.Token).ConfigureAwait(false);

            // 3. Whatever the fence skipped, it skipped while fenced since its last failure: the leases this node granted
            //    before that have run out one lease after it.
            await WaitUntilAsync(_node.Fence.LastFailureAt + options.RelyingAppLease, giveUp.Token).ConfigureAwait(false);

            await _node.Multiplexer.GetSubscriber()
                .PublishAsync(_node.Keys.Acks(round.Origin), Wire.Serialize(new AckMessage(round.Id, NodeId)))
                .WaitAsync(options.OperationTimeout, _node.Clock, giveUp.Token)
                .ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            LogRoundNotAnswered(round.Id, round.Origin, sequence, "gave up waiting");
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException)
        {
            LogRoundNotAnswered(round.Id, round.Origin, sequence, exception.Message);
        }
    }

    /// <summary>An app's acknowledgement that reached another node, for one of this node's streams.</summary>
    private void OnAppAck(ChannelMessage message)
    {
        if (Wire.TryReadAppAck(message.Message) is not { } ack)
        {
            LogUnreadable(message.Message.ToString());
            return;
        }

        if (!_relyingApps.Acknowledge(ack.Stream, ack.Client, ack.Through))
        {
            LogAppAckForUnknownStream(ack.Stream);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Invalidation {Id} for {Subject} could not be published within {Timeout} ms: other nodes may not have heard it; it will be sent again")]
    private partial void LogNotPublished(string id, string subject, double timeout);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Invalidation {Id} (#{Sequence}): no acknowledgement within {Timeout} ms from {Nodes}; they are taken as fenced")]
    private partial void LogSilentNodes(string id, long sequence, string nodes, double timeout);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Publishing an invalidation failed ({Type}: {Message}); trying again until the deadline")]
    private partial void LogPublishAttemptFailed(string type, string message);

    [LoggerMessage(Level = LogLevel.Error, Message = "An unreadable message arrived on the invalidation bus: {Message}")]
    private partial void LogUnreadable(string? message);

    [LoggerMessage(Level = LogLevel.Debug, Message = "The acknowledgement of {Id} could not be sent: {Message}")]
    private partial void LogAckFailed(string id, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Relying-app round {Id} (#{Sequence}): no answer within {Milliseconds} ms from {Nodes}; their apps' leases have run out")]
    private partial void LogRoundSilentNodes(string id, long sequence, string nodes, double milliseconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Relying-app round {Id} could not be sent; waiting out the apps' lease ({Milliseconds} ms) instead")]
    private partial void LogRoundNotSent(string id, double milliseconds);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Relying-app round {Id} from {Origin} (#{Sequence}) was not answered: {Reason}")]
    private partial void LogRoundNotAnswered(string id, string origin, long sequence, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "A relying app's acknowledgement for node {Owner} could not be passed on: {Message}")]
    private partial void LogAppAckNotRelayed(string owner, string message);

    [LoggerMessage(Level = LogLevel.Debug, Message = "A relying app's acknowledgement passed on by another node names a stream this node does not hold: {Stream}")]
    private partial void LogAppAckForUnknownStream(string stream);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId} stays in the cluster {Milliseconds} ms more, until the leases it granted its relying apps have run out")]
    private partial void LogLingering(string nodeId, double milliseconds);

    private readonly record struct PublishResult(string Incarnation, long Sequence, IReadOnlyList<string> LiveNodes);

    /// <summary>A node stayed silent on this node's publish numbered <see cref="Sequence"/>, which Redis took by <see cref="RedisAnsweredAt"/>.</summary>
    private readonly record struct SilentMark(long Sequence, TimeSpan RedisAnsweredAt);

    /// <summary>One publish waiting for acknowledgements; acks that beat the list of live nodes are kept until it comes.</summary>
    private sealed class PendingPublish
    {
        private readonly Lock _lock = new();
        private readonly HashSet<string> _early = new(StringComparer.Ordinal);
        private readonly HashSet<string> _appsConfirmed = new(StringComparer.Ordinal);
        private HashSet<string>? _awaited;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>True when the ack was one this publish waits for.</summary>
        public bool Ack(string node, bool appsConfirmed)
        {
            lock (_lock)
            {
                if (appsConfirmed)
                {
                    _appsConfirmed.Add(node);
                }

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

        /// <summary>The nodes that acknowledged and said their apps were confirmed.</summary>
        public IReadOnlyList<string> AppsConfirmedOn()
        {
            lock (_lock)
            {
                return [.. _appsConfirmed];
            }
        }
    }

    /// <summary>One round waiting for answers, node by node; answers that beat the list of live nodes are kept until it comes.</summary>
    private sealed class PendingRound
    {
        private readonly Lock _lock = new();
        private readonly HashSet<string> _early = new(StringComparer.Ordinal);
        private Dictionary<string, TaskCompletionSource>? _awaited;

        public void Answer(string node)
        {
            lock (_lock)
            {
                if (_awaited is null)
                {
                    _early.Add(node);
                }
                else if (_awaited.TryGetValue(node, out var answered))
                {
                    answered.TrySetResult();
                }
            }
        }

        /// <summary>Sets the nodes to wait for; each one's task completes when it answers.</summary>
        public Dictionary<string, Task> Await(IEnumerable<string> nodes)
        {
            lock (_lock)
            {
                _awaited = nodes.ToDictionary(node => node, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), StringComparer.Ordinal);
                foreach (var node in _early)
                {
                    if (_awaited.TryGetValue(node, out var answered))
                    {
                        answered.TrySetResult();
                    }
                }

                return _awaited.ToDictionary(pair => pair.Key, pair => pair.Value.Task, StringComparer.Ordinal);
            }
        }
    }
}
