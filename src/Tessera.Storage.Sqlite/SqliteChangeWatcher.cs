using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Tessera.Core.Caching;
using Tessera.Core.Invalidations;
using Tessera.Core.Sessions;
using Tessera.Storage.Sqlite.Internal;

namespace Tessera.Storage.Sqlite;

/// <summary>
/// Sees every change committed to the users and sessions tables of the SQLite file, by Tessera or by anything else (an
/// operator's sqlite3 console, a script), and hands it to this node's <see cref="IInvalidationHandler"/>s (the session
/// cache, the event streams). The triggers of V003 record each changed user and session in <c>change_log</c> in the
/// same transaction; this service reads the rows after the last id it applied whenever the file's commit counter moves.
/// </summary>
/// <remarks>
/// <para>How it notices a commit: the wal-index's commit counter (<see cref="WalIndex"/>, what <c>PRAGMA data_version</c>
/// is made from), read from shared memory when a file-system notification on the database's files wakes it (inotify on
/// Linux), when a check finds the counter moved, and every <see cref="PollInterval"/> as a safety net: notifications
/// can be unavailable (the per-user inotify limit, some network and container file systems) and a WAL write is seen
/// before the commit it belongs to is published, so the watcher also looks again a few times shortly after an event.</para>
/// <para>Why a check never answers from a cache that is behind: the watcher registers a currency check with the
/// <see cref="SessionCache"/> that compares the live commit counter with the one it has applied, a memory read. A
/// commit that is published is seen by every later check; until the watcher has applied it (and so dropped whatever
/// it changed), checks read through to the file, which already holds it. So the first check after an external commit
/// gives the new answer, whatever the watcher is doing. Tessera's own commits move the counter too: for the moment
/// until the watcher has caught up (it already invalidated them in-process; applying them again is harmless) checks
/// read through; a hit stays a memory read.</para>
/// <para>As with the PostgreSQL listener (<see cref="StoreChangeFeed"/>), the cache is distrusted (emptied, read through) until the watcher has read
/// where the log stands, and again whenever it fails or the database file is replaced or deleted (another inode at
/// the path): it starts over on the file at the path, from where that file's log stands.</para>
/// <para>Trimming: the watcher deletes rows it has applied once they are older than <see cref="Retention"/>. Another
/// process watching the same file that is further behind finds the row after its last one gone (ids never skip
/// otherwise) and drops its whole cache instead of missing a change.</para>
/// </remarks>
public sealed class SqliteChangeWatcher : StoreChangeFeed
{
    /// <summary>How this watcher names itself when it distrusts the session cache.</summary>
    public const string TrustSource = "sqlite-watcher";

    // A file-system event comes with a WAL write; SQLite publishes the commit in the wal-index only after its last write
    // and its sync. When an event shows nothing new yet, look again after these pauses before going back to polling.
    private static readonly TimeSpan[] FollowUps =
        [.. new[] { 1, 2, 4, 8, 16, 32, 64, 128 }.Select(ms => TimeSpan.FromMilliseconds(ms))];

    private const long NothingApplied = -1;

    private readonly string _storeConnectionString;
    private readonly string _connectionString;
    private readonly string _databasePath;
    private readonly ILogger _logger;
    private readonly Func<bool> _currencyCheck;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    private volatile WalIndex? _walIndex;
    private long _applied = NothingApplied;
    private long _lastId;
    private int _wakeRequested;
    private long _nextTrim;

    /// <param name="connectionString">The store's connection string; the watcher opens one unpooled connection of its own with it.</param>
    /// <param name="handlers">Every handler on this node; the session cache is normally one of them.</param>
    /// <param name="cache">The cache to distrust while changes may be missed, and to give the currency check to.</param>
    /// <param name="clock">The clock of the poll, the retries and the trimming.</param>
    /// <param name="logger">Where losing and regaining the file is reported.</param>
    public SqliteChangeWatcher(
        string connectionString,
        IEnumerable<IInvalidationHandler> handlers,
        SessionCache cache,
        TimeProvider? clock = null,
        ILogger<SqliteChangeWatcher>? logger = null)
        : base(TrustSource, handlers, cache, clock)
    {
        (_storeConnectionString, _databasePath) = SqliteTesseraStore.Resolve(connectionString);
        _connectionString = new SqliteConnectionStringBuilder(_storeConnectionString)
        {
            // One long-lived connection of its own; the file must exist (the store made it), never created here.
            Pooling = false,
            Mode = SqliteOpenMode.ReadWrite,
        }.ToString();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _currencyCheck = IsCurrent;
    }

    /// <summary>True while the watcher is current with the file's log (and so the cache may be trusted).</summary>
    public bool IsWatching => IsFollowing;

    /// <summary>The last change_log id applied.</summary>
    public long LastAppliedId => Interlocked.Read(ref _lastId);

    /// <summary>How often the commit counter is looked at without any notification.</summary>
    /// <remarks>
    /// Checks never depend on it (they read the counter themselves); open event streams do, when file-system
    /// notifications are missing: it bounds how late they hear of a change then. A look is one memory read.
    /// </remarks>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How long an applied change_log row is kept for other processes watching the same file.</summary>
    public TimeSpan Retention { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>How often applied rows older than <see cref="Retention"/> are deleted.</summary>
    public TimeSpan TrimInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Raised with true once the watcher is current and the cache trusted, with false once it is distrusted (tests watch it).</summary>
    internal event Action<bool>? WatchingChanged;

    protected override void OnStarting() => Cache.AddCurrencyCheck(_currencyCheck);

    protected override void OnLost(Exception exception) => Log.WatcherLost(_logger, exception, _databasePath);

    protected override void OnRetry(Exception exception, int attempt, TimeSpan delay) => Log.WatcherRetry(_logger, exception, _databasePath, attempt, delay);

    protected override void OnStopped()
    {
        Cache.RemoveCurrencyCheck(_currencyCheck);
        Log.WatcherStopped(_logger, _databasePath);
    }

    protected override void OnHandlerFailed(Exception exception, Invalidation invalidation) => Log.HandlerFailed(_logger, exception, invalidation.ToString());

    protected override void OnFollowingChanged(bool following) => WatchingChanged?.Invoke(following);

    /// <summary>The currency check: a memory read; when the counter moved, the watcher is woken to catch up.</summary>
    private bool IsCurrent()
    {
        var index = _walIndex;
        if (index is not null && index.Change == Interlocked.Read(ref _applied))
        {
            return true;
        }

        Wake();
        return false;
    }

    private void Wake()
    {
        if (Volatile.Read(ref _wakeRequested) == 0 && Interlocked.Exchange(ref _wakeRequested, 1) == 0)
        {
            _wake.Writer.TryWrite(true);
        }
    }

    protected override async Task FollowAsync(CancellationToken stoppingToken)
    {
        await using var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(stoppingToken);
        await ExecuteAsync(connection, "PRAGMA busy_timeout = 5000;", stoppingToken);
        var identity = FileIdentity.Of(_databasePath) ?? throw new FileNotFoundException("The database file is gone.", _databasePath);

        // A first read makes sure the wal-index exists and is set up before it is mapped.
        await ReadSequenceAsync(connection, transaction: null, stoppingToken);
        Interlocked.Exchange(ref _applied, NothingApplied);
        var index = _walIndex = WalIndex.Of(_databasePath);

        // The counter first, then the log: the read sees at least every commit the counter counts.
        var change = index.Change;
        Interlocked.Exchange(ref _lastId, await ReadSequenceAsync(connection, transaction: null, stoppingToken));
        Interlocked.Exchange(ref _applied, change);

        using var notifications = WatchFiles();
        _nextTrim = Clock.GetTimestamp();
        SetFollowing(true);
        Log.Watching(_logger, _databasePath, LastAppliedId);

        var followUp = FollowUps.Length;
        while (true)
        {
            var woken = await WaitAsync(followUp < FollowUps.Length ? FollowUps[followUp] : PollInterval, stoppingToken);
            Volatile.Write(ref _wakeRequested, 0);
            if (FileIdentity.Of(_databasePath) != identity)
            {
                // Another file at the path, or none: the store's pooled connections may still hold the old one.
                SqliteConnection.ClearPool(new SqliteConnection(_storeConnectionString));
                throw new IOException($"The database file {_databasePath} was replaced or deleted.");
            }

            if (index.Change != Interlocked.Read(ref _applied))
            {
                await ApplyAsync(connection, index, stoppingToken);
                followUp = FollowUps.Length;
            }
            else if (woken)
            {
                followUp = 0;
            }
            else if (followUp < FollowUps.Length)
            {
                followUp++;
            }

            await TrimIfDueAsync(connection, stoppingToken);
        }
    }

    /// <summary>Applies the rows committed since the last id, then records the counter they were read at.</summary>
    private async Task ApplyAsync(SqliteConnection connection, WalIndex index, CancellationToken cancellationToken)
    {
        var change = index.Change;
        var rows = new List<ChangeRow>();
        long sequence;
        var last = LastAppliedId;

        // One snapshot for both reads, taken after the counter was: it holds every commit the counter counts.
        await using (var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken))
        {
            sequence = await ReadSequenceAsync(connection, transaction, cancellationToken);
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "SELECT id, user_id, session_id, reason FROM change_log WHERE id > $last ORDER BY id;";
            command.Parameters.AddWithValue("$last", last);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add(new ChangeRow(
                    reader.GetInt64(0),
                    reader.GetString(1),
                    reader.IsDBNull(2) ? null : reader.GetString(2),
                    reader.IsDBNull(3) ? null : reader.GetString(3)));
            }
        }

        // The log went backwards (another file with an older log) or lost rows this node had not read (trimmed by a
        // watcher in another process, or by hand): what changed is not known, so nothing held is kept.
        if (sequence < last || (sequence > last && (rows.Count == 0 || rows[0].Id != last + 1)))
        {
            Log.ChangesMissed(_logger, _databasePath, last);
            Cache.DropAll();
        }

        DispatchRows(rows);
        Interlocked.Exchange(ref _lastId, sequence);
        Interlocked.Exchange(ref _applied, change);
    }

    /// <summary>One invalidation per user: its own row changed, or these of its sessions did.</summary>
    private void DispatchRows(List<ChangeRow> rows)
    {
        var byUser = new Dictionary<string, (bool UserChanged, List<string> Sessions, RevocationReason? Reason)>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            ref var entry = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(byUser, row.UserId, out var existed);
            if (!existed)
            {
                entry = (false, [], null);
            }

            if (row.SessionId is null)
            {
                entry.UserChanged = true;
            }
            else
            {
                entry.Sessions.Add(row.SessionId);
                // A reason this version does not know (or none: a deleted row, a cleared revocation) is no reason.
                if (RevocationReasons.TryParse(row.Reason, out var reason))
                {
                    entry.Reason = reason;
                }
            }
        }

        foreach (var (userId, (userChanged, sessions, reason)) in byUser)
        {
            Dispatch(new Invalidation(userId, sessions, reason, userChanged));
        }
    }

    /// <summary>
    /// Deletes applied rows older than <see cref="Retention"/>, when nobody is writing: it never waits for the write
    /// lock (this process's writers or another's), it tries again at the next interval.
    /// </summary>
    private async Task TrimIfDueAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        var now = Clock.GetTimestamp();
        if (now < _nextTrim)
        {
            return;
        }

        _nextTrim = now + (long)(TrimInterval.TotalSeconds * Clock.TimestampFrequency);
        IDisposable writing;
        try
        {
            writing = await WriteGate.For(_databasePath).EnterAsync(TimeSpan.Zero, cancellationToken);
        }
        catch (TimeoutException)
        {
            Log.TrimSkipped(_logger, _databasePath, "this process is writing");
            return;
        }

        using (writing)
        {
            try
            {
                await ExecuteAsync(connection, "PRAGMA busy_timeout = 0;", cancellationToken);
                await using var transaction = connection.BeginTransaction(deferred: false);
                await using var command = connection.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = "DELETE FROM change_log WHERE id <= $last AND at < $before;";
                command.Parameters.AddWithValue("$last", LastAppliedId);
                command.Parameters.AddWithValue("$before", (Clock.GetUtcNow() - Retention).ToUnixTimeSeconds());
                await command.ExecuteNonQueryAsync(cancellationToken);
                await transaction.CommitAsync(cancellationToken);
            }
            catch (SqliteException exception) when (exception.SqliteErrorCode is 5 or 6)
            {
                Log.TrimSkipped(_logger, _databasePath, "another process is writing");
            }
            finally
            {
                await ExecuteAsync(connection, "PRAGMA busy_timeout = 5000;", cancellationToken);
            }
        }
    }

    /// <summary>Waits for a wake-up (true) or until <paramref name="timeout"/> has passed (false).</summary>
    private async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (_wake.Reader.TryRead(out _))
        {
            return true;
        }

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var signal = _wake.Reader.WaitToReadAsync(cancel.Token).AsTask();
        var delay = Task.Delay(timeout, Clock, cancel.Token);
        var first = await Task.WhenAny(signal, delay);
        await cancel.CancelAsync();
        cancellationToken.ThrowIfCancellationRequested();
        return first == signal && signal.IsCompletedSuccessfully && _wake.Reader.TryRead(out _);
    }

    /// <summary>Notifications of writes to the database's files (the WAL mostly), or null where there are none.</summary>
    private FileSystemWatcher? WatchFiles()
    {
        try
        {
            var watcher = new FileSystemWatcher(Path.GetDirectoryName(_databasePath)!, Path.GetFileName(_databasePath) + "*")
            {
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size,
                IncludeSubdirectories = false,
            };
            watcher.Changed += (_, _) => Wake();
            watcher.Created += (_, _) => Wake();
            watcher.Deleted += (_, _) => Wake();
            watcher.Renamed += (_, _) => Wake();
            watcher.Error += (_, _) => Wake();
            watcher.EnableRaisingEvents = true;
            return watcher;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or PlatformNotSupportedException or ArgumentException)
        {
            Log.NoFileNotifications(_logger, _databasePath, exception.Message, PollInterval);
            return null;
        }
    }

    private static async Task<long> ReadSequenceAsync(SqliteConnection connection, SqliteTransaction? transaction, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        // The highest id ever given, even when every row has been trimmed since.
        command.CommandText = "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'change_log'), 0);";
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private sealed record ChangeRow(long Id, string UserId, string? SessionId, string? Reason);
}
