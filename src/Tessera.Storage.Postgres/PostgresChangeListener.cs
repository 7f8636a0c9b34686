using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Tessera.Core.Caching;
using Tessera.Core.Invalidations;
using Tessera.Storage.Postgres.Internal;

namespace Tessera.Storage.Postgres;

/// <summary>
/// Hears every change written to the users and sessions tables, by any node or straight in SQL, and hands it to this
/// node's <see cref="IInvalidationHandler"/>s (the session cache, the event streams): the database triggers of
/// V003 NOTIFY on <see cref="Channel"/>, and this service LISTENs on a dedicated connection.
/// </summary>
/// <remarks>
/// A node that may have missed a notification must not answer from memory (<see cref="StoreChangeFeed"/>): the cache
/// is trusted from the first LISTEN that holds until the connection is lost; the listener reconnects with backoff and
/// LISTENs again. A quiet connection is checked every <see cref="PingInterval"/>, so that a silently dropped one is
/// noticed too.
/// </remarks>
public sealed class PostgresChangeListener : StoreChangeFeed
{
    /// <summary>How this listener names itself when it distrusts the session cache.</summary>
    public const string TrustSource = "postgres-listener";

    /// <summary>The NOTIFY channel the triggers write to.</summary>
    public const string Channel = "tessera_changes";

    /// <summary>The application_name of the listening connection, as pg_stat_activity shows it.</summary>
    public const string ApplicationName = "tessera-listener";

    private readonly string _connectionString;
    private readonly string _database;
    private readonly ILogger _logger;

    /// <param name="connectionString">The store's Npgsql connection string; the listener opens one unpooled connection of its own with it.</param>
    /// <param name="handlers">Every handler on this node; the session cache is normally one of them.</param>
    /// <param name="cache">The cache to distrust while notifications may be missed.</param>
    /// <param name="logger">Where losing and regaining the connection is reported.</param>
    public PostgresChangeListener(
        string connectionString, IEnumerable<IInvalidationHandler> handlers, SessionCache cache, ILogger<PostgresChangeListener>? logger = null)
        : base(TrustSource, handlers, cache, clock: null)
    {
        var (resolved, database) = PostgresTesseraStore.Resolve(connectionString, ApplicationName);
        _connectionString = new NpgsqlConnectionStringBuilder(resolved)
        {
            // One long-lived connection that never goes back to a pool (where its LISTEN would be reset anyway).
            Pooling = false,
            Multiplexing = false,
            ApplicationName = ApplicationName,
            // A ping that timed out breaks the connection at once, instead of first waiting for the server to confirm
            // a cancellation it may never send (a stopped or unreachable server).
            CancellationTimeout = -1,
        }.ConnectionString;
        _database = database;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>True while LISTEN holds on a live connection (and so the cache may be trusted).</summary>
    public bool IsListening => IsFollowing;

    /// <summary>How long the connection may stay quiet before it is checked with a query.</summary>
    /// <remarks>
    /// Short, with <see cref="PingTimeout"/>, because a connection that goes silent without breaking (a stalled
    /// network path) misses direct SQL changes while the cache still trusts it: together they bound that window to
    /// about the Redis fence's, a second and a bit. A quiet node pays a trivial query four times a second.
    /// </remarks>
    public TimeSpan PingInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How long that check may take before the connection counts as lost (whole seconds, at least one).</summary>
    public TimeSpan PingTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Raised with true once LISTEN holds and the cache is trusted, with false once it is distrusted (tests watch it).</summary>
    internal event Action<bool>? ListeningChanged;

    protected override async Task FollowAsync(CancellationToken stoppingToken)
    {
        var connection = new NpgsqlConnection(_connectionString);
        await using (connection)
        {
            connection.Notification += OnNotification;
            try
            {
                await ListenAsync(connection, stoppingToken);
            }
            finally
            {
                connection.Notification -= OnNotification;
            }
        }
    }

    protected override void OnLost(Exception exception) => Log.ListenerLost(_logger, exception, _database);

    protected override void OnRetry(Exception exception, int attempt, TimeSpan delay) => Log.ListenerRetry(_logger, exception, _database, attempt, delay);

    protected override void OnStopped() => Log.ListenerStopped(_logger, _database);

    protected override void OnHandlerFailed(Exception exception, Invalidation invalidation) => Log.HandlerFailed(_logger, exception, invalidation.ToString());

    protected override void OnFollowingChanged(bool following) => ListeningChanged?.Invoke(following);

    private async Task ListenAsync(NpgsqlConnection connection, CancellationToken stoppingToken)
    {
        await connection.OpenAsync(stoppingToken);
        await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", connection))
        {
            await listen.ExecuteNonQueryAsync(stoppingToken);
        }

        // Every change committed from now on will be heard; the cache may serve again.
        SetFollowing(true);
        Log.Listening(_logger, _database, Channel);

        await using var ping = new NpgsqlCommand("SELECT 1", connection) { CommandTimeout = Math.Max(1, (int)Math.Ceiling(PingTimeout.TotalSeconds)) };
        while (true)
        {
            // Notifications are raised (OnNotification) from inside WaitAsync, on this flow.
            if (!await connection.WaitAsync(PingInterval, stoppingToken))
            {
                // Quiet for a while: make sure the server is still there. A lost connection throws here or in WaitAsync.
                await ping.ExecuteScalarAsync(stoppingToken);
            }
        }
    }

    private void OnNotification(object sender, NpgsqlNotificationEventArgs e)
    {
        switch (ChangeNotification.Parse(e.Payload, out var invalidation))
        {
            case ChangeKind.Row:
                Dispatch(invalidation!);
                break;
            case ChangeKind.All:
                // A table was emptied: forget every session and user this node holds.
                Cache.DropAll();
                break;
            default:
                Log.UnknownNotification(_logger, e.Payload);
                Cache.DropAll();
                break;
        }
    }
}
