using System.Diagnostics;
using System.Globalization;
using StackExchange.Redis;

namespace Tessera.Cluster.Tests.Infrastructure;

/// <summary>
/// A redis-server of one cluster's own, on a free loopback port, without persistence, that a test may kill and start
/// again on the same port (empty, as a production Redis without persistence comes back).
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly string _binary;
    private Process? _process;
    private RedisAdmin? _admin;

    private RedisServer(string binary, int port, string directory)
    {
        _binary = binary;
        Port = port;
        Directory = directory;
    }

    public int Port { get; }

    public string Directory { get; }

    public string Endpoint => $"127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";

    public bool IsRunning => _process is { HasExited: false };

    public static async Task<RedisServer> StartAsync(string directory)
    {
        var server = new RedisServer(TestEnvironment.RedisServerBinary, TestEnvironment.FreePort(), directory);
        System.IO.Directory.CreateDirectory(directory);
        await server.StartAgainAsync();
        return server;
    }

    /// <summary>Starts the server (again) on the same port, empty.</summary>
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
                     "--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", string.Empty,
                     "--appendonly", "no", "--dir", Directory, "--logfile", Path.Combine(Directory, "redis.log"),
                 })
        {
            info.ArgumentList.Add(argument);
        }

        _process = Process.Start(info) ?? throw new InvalidOperationException("redis-server did not start");
        ChildProcesses.Track(_process);
        var waited = Stopwatch.StartNew();
        while (waited.Elapsed < TimeSpan.FromSeconds(15))
        {
            if (_process.HasExited)
            {
                break;
            }

            try
            {
                _admin ??= new RedisAdmin(Endpoint);
                await _admin.PingAsync();
                return;
            }
            catch (RedisException)
            {
                await Task.Delay(50);
            }
        }

        throw new InvalidOperationException($"redis-server did not answer on port {Port} within 15 s; see {Directory}/redis.log");
    }

    /// <summary>Kills the server at once (SIGKILL): every connection breaks, nothing is kept.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }

        _process?.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync()
    {
        if (_admin is not null)
        {
            await _admin.DisposeAsync();
        }

        await KillAsync();
    }
}
