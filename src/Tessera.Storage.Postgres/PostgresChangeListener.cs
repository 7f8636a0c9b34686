using Microsoft.Extensions.Hosting;
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
/// A node that may have missed a notification must not answer from memory. So the session cache is distrusted
/// (emptied, and read through to the store) from the start until the first LISTEN holds, and again the moment the
/// connection is lost; the listener reconnects with backoff, LISTENs again, and only then trusts the cache again.
/// Changes committed while nobody listened cannot be in the cache: it was emptied, and keeps nothing while distrusted.
/// A quiet connection is checked every <see cref="PingInterval"/>, so that a silently dropped one is noticed too.
/// </remarks>
public sealed class PostgresChangeListener : BackgroundService
{
    /// <summary>How this listener names itself when it distrusts the session cache.</summary>
    public const string TrustSource = "postgres-listener";

    /// <summary>The NOTIFY channel the triggers write to.</summary>
    public const string Channel = "tessera_changes";

    /// <summary>The application_name of the listening connection, as pg_stat_activity shows it.</summary>
    public const string ApplicationName = "tessera-listener";

    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(5);

    private readonly string _connectionString;
    private readonly string _database;
    private readonly IInvalidationHandler[] _handlers;
    private readonly SessionCache _cache;
    private readonly ILogger _logger;
    private volatile bool _listening;

    /// <param name="connectionString">The store's Npgsql connection string; the listener opens one unpooled connection of its own with it.</param>
    /// <param name="handlers">Every handler on this node; the session cache is normally one of them.</param>
    /// <param name="cache">The cache to distrust while notifications may be missed.</param>
    /// <param name="logger">Where losing and regaining the connection is reported.</param>
    public PostgresChangeListener(
        string connectionString, IEnumerable<IInvalidationHandler> handlers, SessionCache cache, ILogger<PostgresChangeListener>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(handlers);
        ArgumentNullException.ThrowIfNull(cache);
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
        _handlers = [.. handlers];
        _cache = cache;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>True while LISTEN holds on a live connection (and so the cache may be trusted).</summary>
    public bool IsListening => _listening;

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

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Nothing heard yet: nothing may be served from memory.
        SetListening(false, force: true);
        var attempt = 0;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                Exception? failure;
                var connection = new NpgsqlConnection(_connectionString);
                await using (connection)
                {
                    connection.Notification += OnNotification;
                    try
                    {
                        await ListenAsync(connection, stoppingToken);
                        return; // Only ends when stopping.
                    }
                    catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                    {
                        return;
                    }
#pragma warning disable CA1031 // Whatever broke the connection, the answer is the same: distrust, reconnect.
                    catch (Exception exception)
#pragma warning restore CA1031
                    {
                        failure = exception;
                        if (_listening)
                        {
                            // At once, before anything else: from now on a change may go unheard.
                            SetListening(false);
                            Log.ListenerLost(_logger, exception, _database);
                            attempt = 0;
                        }
                    }
                    finally
                    {
                        connection.Notification -= OnNotification;
                    }
                }

                attempt++;
                var delay = RetryDelay(attempt);
                Log.ListenerRetry(_logger, failure, _database, attempt, delay);
                await Task.Delay(delay, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            // Nobody listens any more: whatever still runs on this node reads through to the store.
            SetListening(false);
            Log.ListenerStopped(_logger, _database);
        }
    }

    /// <summary>100 ms, doubling up to 5 s.</summary>
    internal static TimeSpan RetryDelay(int attempt)
    {
        var delay = FirstRetryDelay * Math.Pow(2, Math.Min(attempt - 1, 16));
        return delay < MaxRetryDelay ? delay : MaxRetryDelay;
    }

    private async Task ListenAsync(NpgsqlConnection connection, CancellationToken stoppingToken)
    {
        await connection.OpenAsync(stoppingToken);
        await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", connection))
        {
            await listen.ExecuteNonQueryAsync(stoppingToken);
        }

        // Every change committed from now on will be heard; the cache may serve again.
        SetListening(true);
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
                DropEverything();
                break;
            default:
                Log.UnknownNotification(_logger, e.Payload);
                DropEverything();
                break;
        }
    }

    private void Dispatch(Invalidation invalidation)
    {
        foreach (var handler in _handlers)
        {
            try
            {
                handler.Handle(invalidation);
            }
#pragma warning disable CA1031 // Handlers must not throw; one that does must not stop the others or the listener.
            catch (Exception exception)
#pragma warning restore CA1031
            {
                Log.HandlerFailed(_logger, exception, invalidation.ToString());
            }
        }
    }

    /// <summary>A table was emptied, or a payload not understood: forget every session and user this node holds.</summary>
    private void DropEverything() => _cache.DropAll();

    private void SetListening(bool listening, bool force = false)
    {
        if (!force && _listening == listening)
        {
            return;
        }

        if (listening)
        {
            _cache.Trust(TrustSource);
        }
        else
        {
            _cache.Distrust(TrustSource);
        }

        _listening = listening;
        ListeningChanged?.Invoke(listening);
    }
}
