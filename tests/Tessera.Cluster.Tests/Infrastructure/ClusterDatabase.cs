using Npgsql;

namespace Tessera.Cluster.Tests.Infrastructure;

/// <summary>
/// A fresh PostgreSQL database for one cluster (UTF8, C locale), made with the admin connection of TESSERA_TEST_POSTGRES
/// and dropped, with whatever connections are still open to it, when disposed.
/// </summary>
public sealed class ClusterDatabase : IAsyncDisposable
{
    private readonly string _adminConnectionString;

    private ClusterDatabase(string adminConnectionString, string name)
    {
        _adminConnectionString = adminConnectionString;
        Name = name;
        ConnectionString = new NpgsqlConnectionStringBuilder(adminConnectionString) { Database = name, ApplicationName = null }.ConnectionString;
    }

    public string Name { get; }

    /// <summary>What the nodes are given as Tessera:Storage:ConnectionString.</summary>
    public string ConnectionString { get; }

    public static async Task<ClusterDatabase> CreateAsync()
    {
        var admin = new NpgsqlConnectionStringBuilder(TestEnvironment.PostgresAdmin)
        {
            Pooling = false,
            ApplicationName = "tessera-cluster-tests-admin",
        }.ConnectionString;
        var name = $"cluster_{Guid.NewGuid():N}";
        await ExecuteOnAsync(admin, $"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'");
        return new ClusterDatabase(admin, name);
    }

    /// <summary>A plain, unpooled connection with none of the store's settings, as an operator's psql would be.</summary>
    public async Task<NpgsqlConnection> OpenAsync(string applicationName = "tessera-cluster-tests-operator")
    {
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(ConnectionString)
        {
            Pooling = false,
            ApplicationName = applicationName,
            Timeout = 10,
            CommandTimeout = 30,
        }.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    public async Task<int> ExecuteAsync(string sql, params (string Name, object? Value)[] parameters)
    {
        await using var connection = await OpenAsync();
        await using var command = Command(connection, sql, parameters);
        return await command.ExecuteNonQueryAsync();
    }

    public async Task<T?> ScalarAsync<T>(string sql, params (string Name, object? Value)[] parameters)
    {
        await using var connection = await OpenAsync();
        await using var command = Command(connection, sql, parameters);
        var value = await command.ExecuteScalarAsync();
        return value is null or DBNull ? default : (T)value;
    }

    public static NpgsqlCommand Command(NpgsqlConnection connection, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }

    /// <summary>Runs a statement as the admin role, connected to the admin's own database (for ALTER DATABASE and the like).</summary>
    public Task AdminExecuteAsync(string sql) => ExecuteOnAsync(_adminConnectionString, sql);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await ExecuteOnAsync(_adminConnectionString, $"DROP DATABASE IF EXISTS {Name} WITH (FORCE)");
        }
        catch (NpgsqlException)
        {
            // A database left behind in a throwaway server is harmless.
        }
    }

    private static async Task ExecuteOnAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 120 };
        await command.ExecuteNonQueryAsync();
    }
}
