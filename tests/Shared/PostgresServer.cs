using Npgsql;
using Tessera.Storage.Postgres.Tests;
using Xunit;

[assembly: AssemblyFixture(typeof(PostgresServer))]

namespace Tessera.Storage.Postgres.Tests;

/// <summary>
/// The PostgreSQL server the tests run against, named by the environment variable TESSERA_TEST_POSTGRES (an Npgsql
/// connection string for a role that may create databases). Without it every test fails: a store suite that quietly
/// skips would pass for a store that was never tried.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    public const string Variable = "TESSERA_TEST_POSTGRES";

    private const int MadeAhead = 4;

    private readonly Lock _lock = new();
    private readonly Queue<Task<string>> _ahead = new();
    private readonly List<Task> _drops = [];
    private string? _adminConnectionString;

    /// <summary>The connection string from the environment, for the database it names (used for admin statements).</summary>
    public string AdminConnectionString => _adminConnectionString ?? throw new InvalidOperationException("The server fixture has not started.");

    public async ValueTask InitializeAsync()
    {
        var connectionString = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException(
                $"{Variable} is not set: these tests need a PostgreSQL server. Start a throwaway one and run them with:\n" +
                "  eval \"$(eng/postgres.sh start)\" && dotnet test --project tests/Tessera.Storage.Postgres.Tests; " +
                "eng/postgres.sh stop \"$TESSERA_TEST_POSTGRES_DIR\"");
        }

        _adminConnectionString = new NpgsqlConnectionStringBuilder(connectionString)
        {
            Pooling = false,
            ApplicationName = "tessera-tests-admin",
        }.ConnectionString;
        try
        {
            await using var connection = new NpgsqlConnection(_adminConnectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user", connection);
            if (await command.ExecuteScalarAsync() is not true)
            {
                throw new InvalidOperationException($"The role in {Variable} may not create databases; the tests make one per test.");
            }
        }
        catch (NpgsqlException exception)
        {
            throw new InvalidOperationException(
                $"{Variable} names a PostgreSQL server that does not answer ({exception.Message}). Is it running? " +
                "eval \"$(eng/postgres.sh start)\" starts one.", exception);
        }

        lock (_lock)
        {
            for (var i = 0; i < MadeAhead; i++)
            {
                _ahead.Enqueue(MakeDatabaseAsync());
            }
        }
    }

    /// <summary>A new, empty database (UTF8, C locale) that is dropped when disposed.</summary>
    /// <remarks>
    /// With fsync on, one CREATE DATABASE costs most of a second, while several at once cost hardly more than one:
    /// a few are kept made ahead, and dropping happens in the background (awaited when the run ends).
    /// </remarks>
    public async Task<TestDatabase> CreateDatabaseAsync()
    {
        Task<string> next;
        lock (_lock)
        {
            next = _ahead.Count > 0 ? _ahead.Dequeue() : MakeDatabaseAsync();
            _ahead.Enqueue(MakeDatabaseAsync());
        }

        var name = await next;
        var connectionString = new NpgsqlConnectionStringBuilder(AdminConnectionString)
        {
            Database = name,
            Pooling = true,
            ApplicationName = null,
        }.ConnectionString;
        return new TestDatabase(this, name, connectionString);
    }

    public async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Drops the database in the background, closing whatever connections are still open to it.</summary>
    internal void Drop(string name)
    {
        lock (_lock)
        {
            _drops.Add(ExecuteAsync($"DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }

    public async ValueTask DisposeAsync()
    {
        List<Task> pending;
        lock (_lock)
        {
            foreach (var ahead in _ahead)
            {
                _drops.Add(ahead.ContinueWith(
                    made => made.IsCompletedSuccessfully ? ExecuteAsync($"DROP DATABASE IF EXISTS {made.Result} WITH (FORCE)") : Task.CompletedTask,
                    TaskScheduler.Default).Unwrap());
            }

            _ahead.Clear();
            pending = [.. _drops];
        }

        // Dropping a throwaway database is housekeeping, not a test: a failure here is reported, never thrown, since
        // an assembly fixture that throws on dispose is counted as a failure of every test in the assembly.
        try
        {
            await Task.WhenAll(pending);
        }
        catch (NpgsqlException)
        {
            foreach (var failure in pending.Where(drop => drop.IsFaulted))
            {
                await Console.Error.WriteLineAsync($"A test database could not be dropped: {failure.Exception?.GetBaseException().Message}");
            }
        }
    }

    private async Task<string> MakeDatabaseAsync()
    {
        var name = $"t_{Guid.NewGuid():N}";
        // The C locale on purpose: the store must not rely on the database's locale (user search folds case with ICU).
        await ExecuteAsync($"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'");
        return name;
    }
}

/// <summary>One test's database. Disposing has it dropped (in the background), closing whatever connections are still open to it.</summary>
public sealed class TestDatabase(PostgresServer server, string name, string connectionString) : IAsyncDisposable
{
    public string Name { get; } = name;

    /// <summary>A pooled connection string for the database, as a node would use.</summary>
    public string ConnectionString { get; } = connectionString;

    /// <summary>A plain, unpooled connection with none of the store's settings, as an operator's psql would be.</summary>
    public async Task<NpgsqlConnection> OpenRawAsync(string applicationName = "tessera-tests-operator")
    {
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(ConnectionString)
        {
            Pooling = false,
            ApplicationName = applicationName,
        }.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    public async Task<int> ExecuteAsync(string sql, params (string Name, object? Value)[] parameters)
    {
        await using var connection = await OpenRawAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (parameterName, value) in parameters)
        {
            command.Parameters.AddWithValue(parameterName, value ?? DBNull.Value);
        }

        return await command.ExecuteNonQueryAsync();
    }

    public async Task<object?> ScalarAsync(string sql, params (string Name, object? Value)[] parameters)
    {
        await using var connection = await OpenRawAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (parameterName, value) in parameters)
        {
            command.Parameters.AddWithValue(parameterName, value ?? DBNull.Value);
        }

        return await command.ExecuteScalarAsync();
    }

    public ValueTask DisposeAsync()
    {
        server.Drop(Name);
        return ValueTask.CompletedTask;
    }
}
