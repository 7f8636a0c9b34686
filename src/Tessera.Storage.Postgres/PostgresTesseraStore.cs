using System.Data;
using System.Data.Common;
using Dapper;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Tessera.Core.Storage;
using Tessera.Storage.Postgres.Internal;
using Tessera.Storage.Relational.Internal;

namespace Tessera.Storage.Postgres;

/// <summary>
/// The store for a cluster: one PostgreSQL database shared by every node. Each transaction gets its own pooled
/// connection from one <see cref="NpgsqlDataSource"/>.
/// <list type="bullet">
/// <item>Reads run in REPEATABLE READ READ ONLY transactions: one snapshot for the whole transaction, and no writes.</item>
/// <item>Writes run in READ COMMITTED transactions and serialise where they must with row locks, across nodes:
/// a user read in a write transaction is locked (SELECT ... FOR UPDATE) until it ends, so that two read-modify-writes
/// of one user run one after the other and the second reads what the first wrote; statements that change several
/// sessions lock them in id order, so that writers never deadlock. Writers that touch different users do not wait for
/// each other (unlike SQLite's single writer).</item>
/// <item>Times are kept to the millisecond, as in every store.</item>
/// </list>
/// </summary>
public sealed class PostgresTesseraStore : ITesseraStore, IDisposable, IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly ILogger _logger;

    /// <param name="connectionString">An Npgsql connection string, e.g. <c>Host=db;Username=tessera;Password=...;Database=tessera</c>.</param>
    /// <param name="logger">Where the migration run is reported; nothing is logged when null.</param>
    public PostgresTesseraStore(string connectionString, ILogger<PostgresTesseraStore>? logger = null)
    {
        var resolved = Resolve(connectionString);
        var builder = new NpgsqlDataSourceBuilder(resolved.ConnectionString);
        if (!builder.ConnectionStringBuilder.ContainsKey("Max Auto Prepare"))
        {
            // The store runs a few statements over and over (the session read, the revoking update, the audit insert):
            // prepared once per pooled connection, PostgreSQL stops parsing and planning them each time. An operator's
            // own setting wins, including 0 (off).
            builder.ConnectionStringBuilder.MaxAutoPrepare = 32;
        }

        _dataSource = builder.Build();
        Database = resolved.Database;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>The name of the database, for messages.</summary>
    public string Database { get; }

    public async Task MigrateAsync(CancellationToken cancellationToken) => await MigrateAsync(include: null, cancellationToken);

    /// <summary>Applies the migrations <paramref name="include"/> accepts (by script name); tests use it to build older schemas.</summary>
    internal async Task<IReadOnlyList<string>> MigrateAsync(Func<string, bool>? include, CancellationToken cancellationToken)
    {
        // Nodes of a cluster start together and each migrates: a session-level advisory lock, held on a connection of
        // its own while DbUp works on others, makes them take turns. Should this process die, its session ends and the
        // lock goes with it.
        await using var lockConnection = await _dataSource.OpenConnectionAsync(cancellationToken);
        var acquired = await lockConnection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT pg_try_advisory_lock(@key)", new { key = PostgresMigrations.AdvisoryLockKey }, cancellationToken: cancellationToken));
        if (!acquired)
        {
            Log.WaitingForMigrationLock(_logger, Database);
            // As long as the other migrator takes: no command timeout, but the caller can still give up.
            await lockConnection.ExecuteAsync(new CommandDefinition(
                "SELECT pg_advisory_lock(@key)", new { key = PostgresMigrations.AdvisoryLockKey }, commandTimeout: 0, cancellationToken: cancellationToken));
        }

        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            // DbUp is synchronous; keep it off the caller's thread.
            return await Task.Run(() => PostgresMigrations.Run(_dataSource, Database, _logger, include), cancellationToken);
        }
        finally
        {
            // Also released when the connection's session ends; the pool resets a returned connection with DISCARD ALL,
            // which releases advisory locks too.
            await lockConnection.ExecuteAsync(new CommandDefinition(
                "SELECT pg_advisory_unlock(@key)", new { key = PostgresMigrations.AdvisoryLockKey }, cancellationToken: CancellationToken.None));
        }
    }

    public Task<IStoreTransaction> BeginWriteAsync(CancellationToken cancellationToken) =>
        RelationalStore.BeginAsync(PostgresDialect.Instance, forWrite: true, writeLock: null, OpenAsync, BeginReadCommittedAsync, cancellationToken);

    public Task<IStoreTransaction> BeginReadAsync(CancellationToken cancellationToken) =>
        RelationalStore.BeginAsync(PostgresDialect.Instance, forWrite: false, writeLock: null, OpenAsync, BeginRepeatableReadAsync, cancellationToken);

    public Task<bool> IsReadyAsync(CancellationToken cancellationToken) => RelationalStore.IsReadyAsync(OpenAsync, cancellationToken);

    /// <summary>Closes the pooled connections.</summary>
    public void Dispose() => _dataSource.Dispose();

    /// <summary>Closes the pooled connections.</summary>
    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    /// <summary>Checks the connection string and names the store's connections, so they can be told apart on the server.</summary>
    internal static (string ConnectionString, string Database) Resolve(string connectionString, string applicationName = "tessera")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException exception)
        {
            throw new ArgumentException($"Not a valid PostgreSQL (Npgsql) connection string: {exception.Message}", nameof(connectionString), exception);
        }

        if (string.IsNullOrWhiteSpace(builder.Host))
        {
            throw new ArgumentException("The PostgreSQL connection string names no Host.", nameof(connectionString));
        }

        if (string.IsNullOrWhiteSpace(builder.ApplicationName))
        {
            builder.ApplicationName = applicationName;
        }

        return (builder.ConnectionString, builder.Database ?? builder.Username ?? "(default database)");
    }

    private Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken) => _dataSource.OpenConnectionAsync(cancellationToken).AsTask();

    // Npgsql sends the BEGIN with the transaction's first command: no round trip of its own.
    private static async ValueTask<DbTransaction> BeginReadCommittedAsync(NpgsqlConnection connection, CancellationToken cancellationToken) =>
        await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken);

    private static async ValueTask<DbTransaction> BeginRepeatableReadAsync(NpgsqlConnection connection, CancellationToken cancellationToken) =>
        await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);
}
