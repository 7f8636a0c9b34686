using System.Net;
using System.Net.Sockets;
using System.Reflection;
using Npgsql;
using StackExchange.Redis;
using Xunit;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Tessera.Cluster.Tests.Infrastructure;

/// <summary>
/// What the cluster suite needs from the machine: a PostgreSQL server (TESSERA_TEST_POSTGRES, a role that may create
/// databases), Redis (TESSERA_TEST_REDIS, which also proves that redis-server is installed), and the server built in
/// the same configuration as this assembly. Anything missing fails the tests with a message that says how to set it
/// up; nothing is skipped, since a fault suite that quietly tests nothing is worse than a red one.
/// </summary>
internal static class TestEnvironment
{
    public const string PostgresVariable = "TESSERA_TEST_POSTGRES";
    public const string RedisVariable = "TESSERA_TEST_REDIS";

    /// <summary>Optional: another build of Tessera.Server.dll to run as the nodes (an older commit, to bisect a failure).</summary>
    public const string ServerVariable = "TESSERA_CLUSTER_SERVER";

    public const string HowToRun =
        "Run the suite with throwaway servers:\n" +
        "  cd /work/main && eval \"$(eng/postgres.sh start)\" && eval \"$(eng/redis.sh start)\" && dotnet build src/Tessera.Server && " +
        "dotnet test --project tests/Tessera.Cluster.Tests; eng/postgres.sh stop \"$TESSERA_TEST_POSTGRES_DIR\"; eng/redis.sh stop \"$TESSERA_TEST_REDIS_DIR\"";

    private static readonly Lazy<string> ServerAssemblyPath = new(FindServerAssembly);

    /// <summary>The admin connection string from the environment (a role that may CREATE DATABASE).</summary>
    public static string PostgresAdmin
    {
        get
        {
            var value = Environment.GetEnvironmentVariable(PostgresVariable);
            if (string.IsNullOrWhiteSpace(value))
            {
                throw new InvalidOperationException(
                    $"{PostgresVariable} is not set: the cluster tests need a PostgreSQL server. Start one with eval \"$(eng/postgres.sh start)\".\n{HowToRun}");
            }

            return value;
        }
    }

    /// <summary>host:port of the shared test Redis.</summary>
    public static string SharedRedis
    {
        get
        {
            var value = Environment.GetEnvironmentVariable(RedisVariable);
            if (string.IsNullOrWhiteSpace(value))
            {
                throw new InvalidOperationException(
                    $"{RedisVariable} is not set: the cluster tests need Redis (and redis-server installed). Start one with eval \"$(eng/redis.sh start)\".\n{HowToRun}");
            }

            return value;
        }
    }

    /// <summary>Tessera.Server.dll, built in this assembly's configuration (the project reference builds it alongside).</summary>
    public static string ServerAssembly => ServerAssemblyPath.Value;

    /// <summary>Fails with a clear message when either server is missing, unreachable, or not what the suite needs.</summary>
    public static async Task CheckAsync()
    {
        var admin = PostgresAdmin;
        var redis = SharedRedis;
        try
        {
            await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(admin) { Pooling = false, Timeout = 10 }.ConnectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user", connection);
            if (await command.ExecuteScalarAsync() is not true)
            {
                throw new InvalidOperationException($"The role in {PostgresVariable} may not create databases; the cluster tests make one per cluster.");
            }
        }
        catch (NpgsqlException exception)
        {
            throw new InvalidOperationException(
                $"{PostgresVariable} names a PostgreSQL server that does not answer ({exception.Message}). Is it running? eval \"$(eng/postgres.sh start)\" starts one.\n{HowToRun}",
                exception);
        }

        try
        {
            await using var connection = await ConnectionMultiplexer.ConnectAsync($"{redis},connectTimeout=3000,abortConnect=true");
            await connection.GetDatabase().PingAsync();
        }
        catch (RedisException exception)
        {
            throw new InvalidOperationException(
                $"{RedisVariable}={redis} does not answer ({exception.Message}). Is it running? eval \"$(eng/redis.sh start)\" starts one.\n{HowToRun}",
                exception);
        }

        _ = ServerAssembly;
        _ = RedisServerBinary;
    }

    /// <summary>redis-server on PATH (eng/redis.sh installs it): every cluster runs its own, which its tests may stop.</summary>
    public static string RedisServerBinary =>
        FindOnPath("redis-server")
        ?? throw new InvalidOperationException($"redis-server is not on PATH: eng/redis.sh start installs it (Debian package redis-server).\n{HowToRun}");

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string FindServerAssembly()
    {
        if (Environment.GetEnvironmentVariable(ServerVariable) is { Length: > 0 } explicitPath)
        {
            return File.Exists(explicitPath)
                ? Path.GetFullPath(explicitPath)
                : throw new InvalidOperationException($"{ServerVariable}={explicitPath} does not name a file.");
        }

        // bin/<Configuration>/<tfm>/ of this assembly names the server's output folder too.
        var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var framework = testOutput.Name;
        var configuration = typeof(TestEnvironment).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration
            ?? testOutput.Parent?.Name
            ?? "Debug";
        var root = testOutput;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Tessera.slnx")))
        {
            root = root.Parent;
        }

        if (root is null)
        {
            throw new InvalidOperationException($"Cannot find the repository (Tessera.slnx) above {AppContext.BaseDirectory}.");
        }

        var path = Path.Combine(root.FullName, "src", "Tessera.Server", "bin", configuration, framework, "Tessera.Server.dll");
        if (!File.Exists(path))
        {
            throw new InvalidOperationException(
                $"The server is not built at {path}: build it in the {configuration} configuration first (dotnet build src/Tessera.Server -c {configuration}).\n{HowToRun}");
        }

        return path;
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
        .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
        .Select(directory => Path.Combine(directory, name))
        .FirstOrDefault(File.Exists);
}
