using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Tessera.Core.Storage;
using Tessera.Storage.Specification;
using Tessera.Storage.Sqlite.Internal;
using static Tessera.Storage.Sqlite.Tests.TestDatabaseDirectory;

namespace Tessera.Storage.Sqlite.Tests;

/// <summary>The store database specification, on a new database file per test.</summary>
public sealed class SqliteStoreDatabaseTests : StoreDatabaseSpecification, IDisposable
{
    private readonly TestDatabaseDirectory _directory = new();
    private readonly List<SqliteTesseraStore> _stores = [];

    protected override IReadOnlyList<string> MigrationScripts => SqliteMigrations.All;

    protected override IReadOnlyList<string> ExpectedMigrationFileNames =>
        ["V001__Initial.sql", "V002__AuditAppendOnly.sql", "V003__ChangeLog.sql", "V004__DeletedUserTombstones.sql", "V005__ServiceClients.sql", "V006__SessionClients.sql", "V007__ExternalIdentities.sql", "V008__ExternalLoopbackCodes.sql", "V009__LoopbackCodeSessions.sql"];

    protected override string TombstoneMigration => "Tessera.Storage.Sqlite.Migrations.V004__DeletedUserTombstones.sql";

    protected override string SessionClientMigration => "Tessera.Storage.Sqlite.Migrations.V006__SessionClients.sql";

    // INTEGER unix milliseconds, as every timestamp of the schema.
    protected override object StoredTime(DateTimeOffset at) => at.ToUnixTimeMilliseconds();

    // SQLite has no TRUNCATE; a DELETE without WHERE is how it empties a table.
    protected override IReadOnlyList<string> AuditLogRewrites => ["UPDATE audit_events SET reason = 'rewritten'", "DELETE FROM audit_events"];

    protected override Type StoreType => typeof(SqliteTesseraStore);

    protected override Type ChangeFeedType => typeof(SqliteChangeWatcher);

    protected override Task<string> CreateDatabaseAsync() => Task.FromResult(_directory.NewConnectionString());

    protected override ITesseraStore CreateStore(string connectionString, ILoggerFactory? loggerFactory = null)
    {
        var store = new SqliteTesseraStore(connectionString, loggerFactory?.CreateLogger<SqliteTesseraStore>());
        _stores.Add(store);
        return store;
    }

    // A file in a directory that does not exist: opening it fails (only migrating creates the directory).
    protected override Task<ITesseraStore> CreateUnreachableStoreAsync() =>
        Task.FromResult(CreateStore($"Data Source={Path.Combine(_directory.Path, "missing", "tessera.db")}"));

    protected override Task<IReadOnlyList<string>> MigrateAsync(ITesseraStore store, Func<string, bool>? include) =>
        ((SqliteTesseraStore)store).MigrateAsync(include, TestData.Ct);

    protected override Task<int> ExecuteAsync(string connectionString, string sql, params (string Name, object? Value)[] parameters)
    {
        using var raw = OpenRaw(connectionString);
        using var command = Command(raw, sql, parameters);
        return Task.FromResult(command.ExecuteNonQuery());
    }

    protected override Task<object?> ScalarAsync(string connectionString, string sql, params (string Name, object? Value)[] parameters)
    {
        using var raw = OpenRaw(connectionString);
        using var command = Command(raw, sql, parameters);
        return Task.FromResult(command.ExecuteScalar());
    }

    protected override async Task<long> CountTriggersAsync(string connectionString, string? table = null) =>
        (long)(await ScalarAsync(
            connectionString,
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND (@table IS NULL OR tbl_name = @table)",
            ("table", table)))!;

    /// <summary>Searches the database file and its write-ahead log, after a checkpoint has copied the committed pages into the file (the log keeps its copy too).</summary>
    protected override async Task<bool> HoldsAsync(string connectionString, byte[] bytes)
    {
        await ScalarAsync(connectionString, "PRAGMA wal_checkpoint(PASSIVE)");
        var databasePath = DatabasePath(connectionString);
        return new[] { databasePath, databasePath + "-wal" }
            .Where(File.Exists)
            .Any(path => ReadShared(path).AsSpan().IndexOf(bytes) >= 0);
    }

    protected override bool IsForeignKeyViolation(DbException exception) =>
        exception is SqliteException { SqliteExtendedErrorCode: 787 }; // SQLITE_CONSTRAINT_FOREIGNKEY

    protected override bool IsReadOnlyViolation(DbException exception) =>
        exception is SqliteException { SqliteErrorCode: 8 }; // SQLITE_READONLY

    protected override IServiceCollection AddStore(IServiceCollection services, string connectionString) =>
        services.AddTesseraSqliteStore(connectionString);

    public void Dispose()
    {
        foreach (var store in _stores)
        {
            store.Dispose();
        }

        _directory.Dispose();
    }

    private static SqliteCommand Command(SqliteConnection connection, string sql, (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue("@" + name, value ?? DBNull.Value);
        }

        return command;
    }

    private static byte[] ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
