using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using Tessera.Redis.Internal;
using Tessera.Redis.Invalidations;

namespace Tessera.Redis.Membership;

/// <summary>
/// Keeps the node in the cluster: subscribes to the bus, writes the heartbeat into the membership hash, and runs the
/// watchdog that pings the node through Redis and fences or trusts its session cache (see <see cref="NodeFence"/>).
/// The node is fenced from the moment it is created until the watchdog has proof; on stop it fences itself first,
/// stays until the leases it granted its relying apps have run out, and then leaves the membership hash, so that
/// publishers stop waiting for it.
/// </summary>
internal sealed partial class ClusterMembership : BackgroundService
{
    private readonly LocalNode _node;
    private readonly RedisInvalidationBus _bus;
    private readonly ILogger<ClusterMembership> _logger;
    private IReadOnlyList<ChannelMessageQueue> _queues = [];
    private long _lastPingBackTicks;
    private long _subscribedTicks;
    private int _resubscribing;
    private CancellationToken _stopping;

    internal ClusterMembership(LocalNode node, RedisInvalidationBus bus, ILogger<ClusterMembership> logger)
    {
        _node = node;
        _bus = bus;
        _logger = logger;
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _node.Retire("the node is stopping");

        // Still subscribed and heartbeating: publishers and rounds keep waiting for it while its apps' leases run out.
        await _bus.LingerForRelyingAppsAsync(cancellationToken).ConfigureAwait(false);
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _node.Database.HashDeleteAsync(_node.Keys.Nodes, _node.NodeId)
                .WaitAsync(_node.Options.OperationTimeout, _node.Clock, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException or OperationCanceledException)
        {
            // Its entry ages out of the live window by itself.
            LogLeaveFailed(exception.Message);
        }

        foreach (var queue in _queues)
        {
            try
            {
                // Without waiting: when Redis is unreachable the multiplexer's disposal drops the subscriptions anyway.
                queue.Unsubscribe(CommandFlags.FireAndForget);
            }
            catch (RedisException exception)
            {
                LogLeaveFailed(exception.Message);
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _stopping = stoppingToken;
        try
        {
            // Subscribed before the first heartbeat, so that a publisher that waits for this node can be answered.
            await SubscribeAsync(stoppingToken).ConfigureAwait(false);
            await Task.WhenAll(HeartbeatAsync(stoppingToken), WatchdogAsync(stoppingToken), _bus.RedeliverAsync(stoppingToken))
                .ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private async Task SubscribeAsync(CancellationToken stoppingToken)
    {
        var queues = new List<ChannelMessageQueue>(await _bus.SubscribeAsync(stoppingToken).ConfigureAwait(false));
        var pings = await RedisRetry.SubscribeAsync(_node.Multiplexer.GetSubscriber(), _node.Keys.Ping(_node.NodeId), stoppingToken)
            .ConfigureAwait(false);
        pings.OnMessage(OnPing);
        queues.Add(pings);
        _queues = queues;
        Interlocked.Exchange(ref _subscribedTicks, _node.Now.Ticks);
    }

    /// <summary>
    /// The client library restores subscriptions after a reconnect, but it has had races that left a connection that
    /// reports itself healthy and is subscribed to nothing (seen in CI after a node's connections were killed three
    /// times in four seconds: its connections came back, its subscriptions never did). The watchdog sees that case for
    /// what it is: its pings go out and none comes back. The node is fenced by then; it drops its subscriptions and
    /// makes them again.
    /// </summary>
    private async Task ResubscribeAsync()
    {
        try
        {
            _node.Fail("this node's pings went out but none came back: subscribing again");
            LogResubscribing(_node.NodeId, _node.Options.ResubscribeAfter.TotalMilliseconds);
            foreach (var queue in _queues)
            {
                try
                {
                    await queue.UnsubscribeAsync().WaitAsync(_node.Options.OperationTimeout, _node.Clock, _stopping).ConfigureAwait(false);
                }
                catch (Exception exception) when (exception is RedisException or TimeoutException)
                {
                    // Removed locally before the server is asked; subscribing again below is what matters.
                }
            }

            await SubscribeAsync(_stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            Volatile.Write(ref _resubscribing, 0);
        }
    }

    private async Task HeartbeatAsync(CancellationToken stoppingToken)
    {
        var options = _node.Options;
        using var timer = new PeriodicTimer(options.HeartbeatInterval, _node.Clock);
        do
        {
            var sentAt = _node.Now;
            try
            {
                var reply = await _node.Database.ScriptEvaluateAsync(
                        RedisScripts.Heartbeat,
                        [_node.Keys.Nodes],
                        [_node.NodeId, (long)options.LiveWindow.TotalMilliseconds, (long)options.DeadNodeRetention.TotalMilliseconds])
                    .WaitAsync(options.OperationTimeout, _node.Clock, stoppingToken)
                    .ConfigureAwait(false);
                _node.Fence.OnHeartbeat(sentAt);
                _node.State.SetLiveNodes([.. ((RedisResult[])reply!).Select(r => (string)r!)]);
            }
            catch (Exception exception) when (exception is RedisException or TimeoutException)
            {
                _node.Fail($"the heartbeat could not be written ({exception.GetType().Name})");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    private async Task WatchdogAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_node.Options.PingInterval, _node.Clock);
        do
        {
            var change = _node.Fence.Evaluate(_node.Now);
            if (change.Kind == FenceChangeKind.Fenced)
            {
                _node.ReportFenced(change.Reason);
            }
            else if (change.Kind == FenceChangeKind.Trusted)
            {
                _node.ReportTrusted();
            }

            _ = PingAsync();
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    private async Task PingAsync()
    {
        var sentAt = _node.Now;
        try
        {
            await _node.Database.ScriptEvaluateAsync(
                    RedisScripts.Ping,
                    [_node.Keys.BusSequence],
                    [_node.Keys.Ping(_node.NodeId).ToString(), sentAt.Ticks.ToString(CultureInfo.InvariantCulture), Guid.NewGuid().ToString("N")])
                .WaitAsync(_node.Options.FenceAfter, _node.Clock)
                .ConfigureAwait(false);

            // The ping reached Redis. If none has come back for a long while, the subscription is gone without a word.
            var heardSince = TimeSpan.FromTicks(Math.Max(Interlocked.Read(ref _lastPingBackTicks), Interlocked.Read(ref _subscribedTicks)));
            if (sentAt - heardSince > _node.Options.ResubscribeAfter && Interlocked.CompareExchange(ref _resubscribing, 1, 0) == 0)
            {
                _ = ResubscribeAsync();
            }
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException)
        {
            // No proof comes back; the watchdog fences the node when the last one grows too old.
            LogPingFailed(exception.GetType().Name, exception.Message);
        }
    }

    private void OnPing(ChannelMessage message)
    {
        var now = _node.Now;
        if (!Wire.TryParseEnvelope(message.Message, out var incarnation, out var sequence, out var payload)
            || !Wire.TryParsePing(payload, out var tick, out var sentTicks))
        {
            return;
        }

        Interlocked.Exchange(ref _lastPingBackTicks, now.Ticks);
        var sentAt = TimeSpan.FromTicks(sentTicks);
        _node.State.PingReturned(now - sentAt);
        _node.ReportFenced(_node.Fence.OnPing(incarnation, sequence, sentAt, now, tick));
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "A watchdog ping could not be sent ({Type}: {Message})")]
    private partial void LogPingFailed(string type, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {NodeId}: no ping came back for {Milliseconds} ms although they reached Redis; subscribing again")]
    private partial void LogResubscribing(string nodeId, double milliseconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Leaving the cluster cleanly failed: {Message}")]
    private partial void LogLeaveFailed(string message);
}
