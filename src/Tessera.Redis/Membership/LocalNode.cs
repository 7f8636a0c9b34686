using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Tessera.Core.Caching;
using Tessera.Core.Invalidations;
using Tessera.Redis.Caching;
using Tessera.Redis.Internal;

namespace Tessera.Redis.Membership;

/// <summary>
/// This node as the bus and the membership (<see cref="ClusterMembership"/>) share it: its identity, its Redis connection, its local handlers, and the
/// fence that decides whether its session cache may answer. Created when either is first resolved; the cache is
/// distrusted from that moment until the node has proved that it hears the bus.
/// </summary>
internal sealed partial class LocalNode : IDisposable
{
    private readonly IInvalidationHandler[] _handlers;
    private readonly TimeProvider _clock;
    private readonly long _started;
    private readonly ILogger<LocalNode> _logger;

    public LocalNode(
        IConnectionMultiplexer multiplexer,
        SessionCache cache,
        IEnumerable<IInvalidationHandler> handlers,
        IOptions<RedisClusterOptions> options,
        RedisClusterState state,
        SharedEntryGate gate,
        TimeProvider clock,
        ILogger<LocalNode> logger)
    {
        Multiplexer = multiplexer;
        Options = options.Value;
        State = state;
        _handlers = handlers.ToArray();
        _clock = clock;
        _started = clock.GetTimestamp();
        _logger = logger;
        Keys = new RedisKeys(Options.KeyPrefix);
        Gate = gate;
        gate.Attach(() => Now);
        Fence = new NodeFence(cache, Options, Now, Gate);
        state.Attach(Fence, () => Now);
        multiplexer.ConnectionFailed += OnConnectionFailed;
        multiplexer.ConnectionRestored += OnConnectionRestored;
    }

    public IConnectionMultiplexer Multiplexer { get; }

    public RedisClusterOptions Options { get; }

    public RedisClusterState State { get; }

    public RedisKeys Keys { get; }

    public NodeFence Fence { get; }

    /// <summary>Which shared session cache entries this node may answer from.</summary>
    public SharedEntryGate Gate { get; }

    public string NodeId => State.NodeId;

    public TimeProvider Clock => _clock;

    /// <summary>This node's monotonic time: what every fence decision is measured in.</summary>
    public TimeSpan Now => _clock.GetElapsedTime(_started);

    public IDatabase Database => Multiplexer.GetDatabase();

    /// <summary>Runs every local handler. A handler that throws leaves the node unsure of its state: it fences itself.</summary>
    public void ApplyLocally(Invalidation invalidation)
    {
        foreach (var handler in _handlers)
        {
            try
            {
                handler.Handle(invalidation);
            }
            catch (Exception exception)
            {
                LogHandlerFailed(exception, handler.GetType().Name);
                Fail($"the invalidation handler {handler.GetType().Name} failed");
            }
        }
    }

    /// <summary>Fences the node (no-op when it already is) and says so once.</summary>
    public void Fail(string reason)
    {
        if (Fence.OnFailure(reason, Now) is { } fenced)
        {
            LogFenced(NodeId, fenced);
        }
    }

    /// <summary>Fences the node for good: it is stopping.</summary>
    public void Retire(string reason)
    {
        if (Fence.Retire(reason, Now) is { } fenced)
        {
            LogFenced(NodeId, fenced);
        }
    }

    public void ReportFenced(string? reason)
    {
        if (reason is not null)
        {
            LogFenced(NodeId, reason);
        }
    }

    public void ReportTrusted() => LogTrusted(NodeId);

    public void Dispose()
    {
        Multiplexer.ConnectionFailed -= OnConnectionFailed;
        Multiplexer.ConnectionRestored -= OnConnectionRestored;
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e) =>
        // Whatever was on the wire when the connection broke may be lost, and a quick reconnect would hide it.
        Fail($"the {e.ConnectionType} connection to {e.EndPoint} failed ({e.FailureType})");

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e) =>
        LogRestored(NodeId, e.ConnectionType.ToString(), e.EndPoint?.ToString());

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {NodeId} is fenced: every session check reads the store ({Reason})")]
    private partial void LogFenced(string nodeId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId} trusts its session cache again: it hears every invalidation")]
    private partial void LogTrusted(string nodeId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Node {NodeId}: the {ConnectionType} connection to {EndPoint} is back")]
    private partial void LogRestored(string nodeId, string connectionType, string? endPoint);

    [LoggerMessage(Level = LogLevel.Error, Message = "The invalidation handler {Handler} threw")]
    private partial void LogHandlerFailed(Exception exception, string handler);
}
