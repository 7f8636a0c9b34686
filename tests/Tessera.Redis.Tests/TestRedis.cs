using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Xunit;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Tessera.Redis.Tests;

/// <summary>
/// The shared test Redis, started by <c>eng/redis.sh start</c>. Tests fail (they do not skip) without it: a suite that
/// silently tests nothing is worse than a red one.
/// </summary>
public static class TestRedis
{
    public const string Variable = "TESSERA_TEST_REDIS";

    public static string Configuration
    {
        get
        {
            var value = Environment.GetEnvironmentVariable(Variable);
            if (string.IsNullOrWhiteSpace(value))
            {
                Assert.Fail(
                    $"{Variable} is not set. Start a throwaway Redis first: eval \"$(eng/redis.sh start)\" && " +
                    "dotnet test --project tests/Tessera.Redis.Tests; eng/redis.sh stop \"$TESSERA_TEST_REDIS_DIR\"");
            }

            return value + ",connectTimeout=2000";
        }
    }

    /// <summary>A key prefix no other test uses, so that nodes of different tests never meet.</summary>
    public static string NewPrefix() => "t" + Guid.NewGuid().ToString("N")[..12];

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>A redis-server of a test's own, on its own port and directory, that the test may kill and start again.</summary>
public sealed class RedisServerProcess : IAsyncDisposable
{
    private readonly string _binary;
    private Process? _process;

    private RedisServerProcess(string binary, int port, DirectoryInfo directory)
    {
        _binary = binary;
        Port = port;
        Directory = directory;
    }

    public int Port { get; }

    public DirectoryInfo Directory { get; }

    public string Configuration => $"127.0.0.1:{Port},connectTimeout=1000";

    public static async Task<RedisServerProcess> StartAsync()
    {
        // The shared server proves the machine is set up (and says how to set it up when it is not).
        _ = TestRedis.Configuration;
        var binary = FindOnPath("redis-server")
            ?? throw new InvalidOperationException("redis-server is not on PATH: eng/redis.sh start installs it (Debian package redis-server).");
        var server = new RedisServerProcess(binary, TestRedis.FreePort(), System.IO.Directory.CreateTempSubdirectory("tessera-redis-test."));
        await server.StartAgainAsync();
        return server;
    }

    /// <summary>Starts the server (again) on the same port, empty: no data survives, as in production without persistence.</summary>
    public async Task StartAgainAsync()
    {
        var info = new ProcessStartInfo(_binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
                 {
                     "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
                     "--save", string.Empty, "--appendonly", "no", "--dir", Directory.FullName, "--logfile", Path.Combine(Directory.FullName, "redis.log"),
                 })
        {
            info.ArgumentList.Add(argument);
        }

        _process = Process.Start(info) ?? throw new InvalidOperationException("redis-server did not start");
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (await PingAsync())
            {
                return;
            }

            await Task.Delay(50);
        }

        throw new InvalidOperationException($"redis-server did not answer on port {Port} within 10 s; see {Directory.FullName}/redis.log");
    }

    /// <summary>Kills the server at once (SIGKILL): connections break, nothing is saved.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }

        _process?.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        try
        {
            Directory.Delete(recursive: true);
        }
        catch (IOException)
        {
            // A leftover temporary directory is harmless.
        }
    }

    private async Task<bool> PingAsync()
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Port);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray());
            var buffer = new byte[16];
            var read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(1));
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (Exception exception) when (exception is SocketException or IOException or TimeoutException)
        {
            return false;
        }
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
        .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
        .Select(directory => Path.Combine(directory, name))
        .FirstOrDefault(File.Exists);
}
