using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Tessera.Core.Storage;
using Tessera.Storage.Relational.Internal;
using Tessera.Storage.Sqlite.Internal;

namespace Tessera.Storage.Sqlite;

/// <summary>
/// The embedded store: one SQLite database file in WAL mode. Every transaction gets its own (pooled) connection;
/// writers take the write lock when they begin (BEGIN IMMEDIATE) and are queued, readers never wait for them.
/// </summary>
public sealed class SqliteTesseraStore : ITesseraStore, IDisposable
{
    // busy_timeout: how long SQLite itself waits for a lock held by another connection (another process, typically).
    // foreign_keys and busy_timeout are per connection and not remembered by the file; synchronous=FULL makes every
    // commit durable in WAL mode (NORMAL could lose the last commits on power loss); query_only keeps a read
    // transaction from writing. Set on every open since the pool hands connections back with whatever they had.
    private const string WritePragmas =
        "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA synchronous = FULL; PRAGMA query_only = OFF;";

    private const string ReadPragmas =
        "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA synchronous = FULL; PRAGMA query_only = ON;";

    // How long a writer waits for this process's other writers before it gives up.
    private static readonly TimeSpan WriteQueueTimeout = TimeSpan.FromSeconds(30);

    private readonly string _connectionString;
    private readonly string _databasePath;
    private readonly ILogger _logger;
    private readonly WriteGate _writeGate;

    /// <param name="connectionString">A Microsoft.Data.Sqlite connection string naming a database file, e.g. <c>Data Source=data/tessera.db</c>.</param>
    /// <param name="logger">Where the migration run is reported; nothing is logged when null.</param>
    public SqliteTesseraStore(string connectionString, ILogger<SqliteTesseraStore>? logger = null)
    {
        (_connectionString, _databasePath) = Resolve(connectionString);
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _writeGate = WriteGate.For(_databasePath);
    }

    /// <summary>The full path of the database file.</summary>
    public string DatabasePath => _databasePath;

    public async Task MigrateAsync(CancellationToken cancellationToken) => await MigrateAsync(include: null, cancellationToken);

    /// <summary>Applies the migrations <paramref name="include"/> accepts (by script name); tests use it to build older schemas.</summary>
    internal async Task<IReadOnlyList<string>> MigrateAsync(Func<string, bool>? include, CancellationToken cancellationToken)
    {
        using var writing = await _writeGate.EnterAsync(WriteQueueTimeout, cancellationToken);

        var directory = Path.GetDirectoryName(_databasePath);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        await using (var connection = await OpenAsync(write: true, cancellationToken))
        {
            // WAL is remembered by the file: readers keep their snapshot while one writer commits.
            await using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA journal_mode = WAL;";
            var mode = (string?)await command.ExecuteScalarAsync(cancellationToken);
            if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException(
                    $"The SQLite database {_databasePath} could not be put in WAL mode (it reports '{mode}'); is it on a file system without shared memory?");
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        return SqliteMigrations.Run(_connectionString, _databasePath, _logger, include);
    }

    public async Task<IStoreTransaction> BeginWriteAsync(CancellationToken cancellationToken)
    {
        var writing = await _writeGate.EnterAsync(WriteQueueTimeout, cancellationToken);
        return await RelationalStore.BeginAsync(
            SqliteDialect.Instance, forWrite: true, writing, OpenForWriteAsync, BeginImmediate, cancellationToken);
    }

    public Task<IStoreTransaction> BeginReadAsync(CancellationToken cancellationToken) =>
        RelationalStore.BeginAsync(SqliteDialect.Instance, forWrite: false, writeLock: null, OpenForReadAsync, BeginDeferred, cancellationToken);

    public Task<bool> IsReadyAsync(CancellationToken cancellationToken) => RelationalStore.IsReadyAsync(OpenForReadAsync, cancellationToken);

    /// <summary>Closes the pooled connections to the database, which also checkpoints its write-ahead log.</summary>
    public void Dispose()
    {
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
    }

    /// <summary>Checks that <paramref name="connectionString"/> names a writable database file and makes its path absolute.</summary>
    internal static (string ConnectionString, string DatabasePath) Resolve(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var builder = new SqliteConnectionStringBuilder(connectionString);
        if (builder.Mode == SqliteOpenMode.Memory
            || string.IsNullOrWhiteSpace(builder.DataSource)
            || builder.DataSource.Trim() == ":memory:")
        {
            throw new ArgumentException(
                "The SQLite store needs a database file: an in-memory database lives only as long as one connection, and the store opens one per transaction.",
                nameof(connectionString));
        }

        if (builder.Mode == SqliteOpenMode.ReadOnly)
        {
            throw new ArgumentException("The SQLite store writes: its database cannot be opened read-only.", nameof(connectionString));
        }

        // An absolute path, so that the store keeps naming the same file whatever the current directory becomes.
        var databasePath = Path.GetFullPath(builder.DataSource);
        builder.DataSource = databasePath;
        return (builder.ToString(), databasePath);
    }

    // deferred: false is BEGIN IMMEDIATE: the write lock is taken now, so that this transaction can never
    // fail later on upgrading a read lock that another writer got first.
    private static ValueTask<DbTransaction> BeginImmediate(SqliteConnection connection, CancellationToken cancellationToken) =>
        new(connection.BeginTransaction(deferred: false));

    // A plain BEGIN: the snapshot is fixed by the first read and kept until the transaction ends.
    private static ValueTask<DbTransaction> BeginDeferred(SqliteConnection connection, CancellationToken cancellationToken) =>
        new(connection.BeginTransaction(deferred: true));

    private Task<SqliteConnection> OpenForWriteAsync(CancellationToken cancellationToken) => OpenAsync(write: true, cancellationToken);

    private Task<SqliteConnection> OpenForReadAsync(CancellationToken cancellationToken) => OpenAsync(write: false, cancellationToken);

    private async Task<SqliteConnection> OpenAsync(bool write, CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            connection.CreateFunction<string?, string?>(SqliteDialect.CaseFoldFunction, SqliteDialect.CaseFold, isDeterministic: true);
            await using var command = connection.CreateCommand();
            command.CommandText = write ? WritePragmas : ReadPragmas;
            await command.ExecuteNonQueryAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }
}
