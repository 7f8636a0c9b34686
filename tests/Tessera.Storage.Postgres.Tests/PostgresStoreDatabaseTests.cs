using System.Data.Common;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using Tessera.Core.Storage;
using Tessera.Storage.Postgres.Internal;
using Tessera.Storage.Specification;

namespace Tessera.Storage.Postgres.Tests;

/// <summary>The store database specification, on a fresh PostgreSQL database per test.</summary>
public sealed class PostgresStoreDatabaseTests(PostgresServer server) : StoreDatabaseSpecification, IAsyncDisposable
{
    private readonly List<PostgresTesseraStore> _stores = [];
    private readonly List<TestDatabase> _databases = [];

    protected override IReadOnlyList<string> MigrationScripts => PostgresMigrations.All;

    protected override IReadOnlyList<string> ExpectedMigrationFileNames =>
        ["V001__Initial.sql", "V002__AuditAppendOnly.sql", "V003__ChangeNotifications.sql", "V004__DataProtectionKeys.sql", "V005__DeletedUserTombstones.sql", "V006__ServiceClients.sql", "V007__SessionClients.sql", "V008__ExternalIdentities.sql", "V009__ExternalLoopbackCodes.sql", "V010__LoopbackCodeSessions.sql"];

    protected override string TombstoneMigration => "Tessera.Storage.Postgres.Migrations.V005__DeletedUserTombstones.sql";

    protected override string SessionClientMigration => "Tessera.Storage.Postgres.Migrations.V007__SessionClients.sql";

    protected override object StoredTime(DateTimeOffset at) => at.ToUniversalTime();

    protected override IReadOnlyList<string> AuditLogRewrites =>
        ["UPDATE audit_events SET reason = 'rewritten'", "DELETE FROM audit_events", "TRUNCATE audit_events"];

    protected override Type StoreType => typeof(PostgresTesseraStore);

    protected override Type ChangeFeedType => typeof(PostgresChangeListener);

    protected override async Task<string> CreateDatabaseAsync() => (await NewDatabaseAsync()).ConnectionString;

    protected override ITesseraStore CreateStore(string connectionString, ILoggerFactory? loggerFactory = null)
    {
        var store = new PostgresTesseraStore(connectionString, loggerFactory?.CreateLogger<PostgresTesseraStore>());
        _stores.Add(store);
        return store;
    }

    // A port nobody listens on.
    protected override async Task<ITesseraStore> CreateUnreachableStoreAsync() =>
        CreateStore(new NpgsqlConnectionStringBuilder(await CreateDatabaseAsync())
        {
            Port = await UnusedPortAsync(),
            Timeout = 2,
        }.ConnectionString);

    protected override Task<IReadOnlyList<string>> MigrateAsync(ITesseraStore store, Func<string, bool>? include) =>
        ((PostgresTesseraStore)store).MigrateAsync(include, TestData.Ct);

    protected override Task<int> ExecuteAsync(string connectionString, string sql, params (string Name, object? Value)[] parameters) =>
        Database(connectionString).ExecuteAsync(sql, parameters);

    protected override Task<object?> ScalarAsync(string connectionString, string sql, params (string Name, object? Value)[] parameters) =>
        Database(connectionString).ScalarAsync(sql, parameters);

    protected override async Task<long> CountTriggersAsync(string connectionString, string? table = null) =>
        (long)(await ScalarAsync(
            connectionString,
            "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND (@table::text IS NULL OR tgrelid = to_regclass(@table::text))",
            ("table", table)))!;

    /// <summary>Searches every session row: its token hash as bytes, and the whole row as text.</summary>
    protected override async Task<bool> HoldsAsync(string connectionString, byte[] bytes) =>
        (long)(await ScalarAsync(
            connectionString,
            "SELECT count(*) FROM sessions AS s WHERE position(@bytes IN s.token_hash) > 0 OR position(@bytes IN convert_to(s::text, 'UTF8')) > 0",
            ("bytes", bytes)))! > 0;

    protected override bool IsForeignKeyViolation(DbException exception) =>
        exception is PostgresException { SqlState: PostgresErrorCodes.ForeignKeyViolation };

    protected override bool IsReadOnlyViolation(DbException exception) =>
        exception is PostgresException { SqlState: PostgresErrorCodes.ReadOnlySqlTransaction };

    protected override IServiceCollection AddStore(IServiceCollection services, string connectionString) =>
        services.AddTesseraPostgresStore(connectionString);

    public async ValueTask DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }

        foreach (var database in _databases)
        {
            await database.DisposeAsync();
        }
    }

    private TestDatabase Database(string connectionString) =>
        _databases.Single(database => database.ConnectionString == connectionString);

    private async Task<TestDatabase> NewDatabaseAsync()
    {
        var database = await server.CreateDatabaseAsync();
        _databases.Add(database);
        return database;
    }

    private static async Task<int> UnusedPortAsync()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        await Task.Yield();
        return port;
    }
}
