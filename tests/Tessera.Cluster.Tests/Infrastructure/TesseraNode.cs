using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Tessera.Cluster.Tests.Infrastructure;

/// <summary>
/// One real Tessera.Server process on a loopback port, with its own data directory, and its stdout and stderr in a
/// log file (appended across restarts, each start marked). It can be killed with SIGKILL and started again on the
/// same port with the same arguments.
/// </summary>
public sealed class TesseraNode : IAsyncDisposable
{
    private readonly IReadOnlyList<string> _arguments;
    private readonly Lock _logLock = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private StreamWriter? _log;
    private Process? _process;
    private HttpClient? _http;
    private int _starts;

    public TesseraNode(string name, int port, string directory, IReadOnlyList<string> arguments)
    {
        Name = name;
        Port = port;
        Directory = directory;
        _arguments = arguments;
        System.IO.Directory.CreateDirectory(directory);
        LogPath = Path.Combine(directory, "node.log");
    }

    public string Name { get; }

    public int Port { get; }

    public string Directory { get; }

    public string LogPath { get; }

    public string BaseUrl => $"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>A client for this node; a new one (with no pooled connections) after every start.</summary>
    public HttpClient Http => _http ?? throw new InvalidOperationException($"Node {Name} has not been started.");

    public void Start()
    {
        if (IsRunning)
        {
            throw new InvalidOperationException($"Node {Name} is already running.");
        }

        _starts++;
        _log ??= new StreamWriter(new FileStream(LogPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite), Encoding.UTF8) { AutoFlush = true };
        WriteLog($"==== start #{_starts} of node {Name} on {BaseUrl}");

        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Directory,
        };
        info.ArgumentList.Add(TestEnvironment.ServerAssembly);
        foreach (var argument in _arguments)
        {
            info.ArgumentList.Add(argument);
        }

        // Only the command line configures the node: nothing from the test runner's environment leaks in.
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("Tessera__", StringComparison.OrdinalIgnoreCase)
                     || k.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase)
                     || k.StartsWith("DOTNET_ENVIRONMENT", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            info.Environment.Remove(key);
        }

        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                WriteLog(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                WriteLog("[stderr] " + e.Data);
            }
        };
        if (!process.Start())
        {
            throw new InvalidOperationException($"Node {Name} did not start.");
        }

        ChildProcesses.Track(process);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        _http?.Dispose();
        _http = new HttpClient(new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(5),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
        })
        {
            BaseAddress = new Uri(BaseUrl),
            Timeout = TimeSpan.FromSeconds(60),
        };
    }

    /// <summary>SIGKILL to the process and its children; returns once it is gone.</summary>
    public async Task KillAsync()
    {
        if (_process is { } process)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }

                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }

            WriteLog($"==== node {Name} killed (exit code {SafeExitCode(process)})");
            process.Dispose();
            _process = null;
        }
    }

    /// <summary>
    /// Waits until /readyz says Healthy: the store answers, Redis is reachable, and this node has proved it hears every
    /// invalidation (it serves from its cache). Fails with the log when the process dies or the time runs out.
    /// </summary>
    public async Task WaitUntilHealthyAsync(TimeSpan timeout)
    {
        var waited = Stopwatch.StartNew();
        var last = "no answer yet";
        while (waited.Elapsed < timeout)
        {
            if (_process is null || _process.HasExited)
            {
                throw new InvalidOperationException($"Node {Name} exited during start-up.\n{LogTail(80)}");
            }

            var ready = await ReadyzAsync();
            if (ready.Status == 200 && ready.Body == "Healthy")
            {
                return;
            }

            last = ready.ToString();
            await Task.Delay(100);
        }

        throw new TimeoutException($"Node {Name} was not healthy within {timeout.TotalSeconds:0} s (last /readyz: {last}).\n{LogTail(80)}");
    }

    public async Task<ApiResponse> ReadyzAsync() => await SendAsync(HttpMethod.Get, "/readyz", timeout: TimeSpan.FromSeconds(5));

    /// <summary>A Prometheus sample without labels (or with the labels written out as in the exposition), or null.</summary>
    public async Task<double?> MetricAsync(string sample)
    {
        var metrics = await SendAsync(HttpMethod.Get, "/metrics", timeout: TimeSpan.FromSeconds(10));
        if (metrics.Status != 200)
        {
            return null;
        }

        foreach (var line in metrics.Body.Split('\n'))
        {
            // OpenTelemetry's exporter writes a series without labels with empty braces ("name{} 3"), as Prometheus reads "name 3".
            var prefix = line.StartsWith(sample + " ", StringComparison.Ordinal) ? sample.Length + 1
                : !sample.Contains('{', StringComparison.Ordinal) && line.StartsWith(sample + "{} ", StringComparison.Ordinal) ? sample.Length + 3
                : -1;
            if (prefix > 0 && double.TryParse(line.AsSpan(prefix), NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                return value;
            }
        }

        return null;
    }

    /// <summary>Sends a request and reads the whole answer; a request that gets no answer comes back as status 0.</summary>
    public async Task<ApiResponse> SendAsync(HttpMethod method, string path, string? token = null, object? body = null, TimeSpan? timeout = null)
    {
        using var request = Requests.Create(method, path, token, body);
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        try
        {
            using var response = await Http.SendAsync(request, cancel.Token);
            return new ApiResponse((int)response.StatusCode, await response.Content.ReadAsStringAsync(cancel.Token));
        }
        catch (Exception exception) when (exception is HttpRequestException or OperationCanceledException or IOException)
        {
            return ApiResponse.Failed(exception);
        }
    }

    public Task<ApiResponse> GetAsync(string path, string? token = null) => SendAsync(HttpMethod.Get, path, token);

    public Task<ApiResponse> PostAsync(string path, object? body, string? token = null) => SendAsync(HttpMethod.Post, path, token, body ?? new { });

    public Task<ApiResponse> DeleteAsync(string path, string? token = null) => SendAsync(HttpMethod.Delete, path, token);

    /// <summary>GET /v1/auth/session: the check every client makes.</summary>
    public Task<ApiResponse> WhoAmIAsync(string token) => SendAsync(HttpMethod.Get, "/v1/auth/session", token);

    public string LogTail(int lines)
    {
        try
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            var all = reader.ReadToEnd().Split('\n');
            return $"---- {Name}: last {Math.Min(lines, all.Length)} lines of {LogPath}\n" + string.Join('\n', all.TakeLast(lines));
        }
        catch (IOException exception)
        {
            return $"---- {Name}: {LogPath} could not be read ({exception.Message})";
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _http?.Dispose();
        lock (_logLock)
        {
            _log?.Dispose();
            _log = null;
        }
    }

    private void WriteLog(string line)
    {
        lock (_logLock)
        {
            _log?.WriteLine($"{_clock.Elapsed.TotalSeconds,9:F3} {line}");
        }
    }

    private static string SafeExitCode(Process process)
    {
        try
        {
            return process.ExitCode.ToString(CultureInfo.InvariantCulture);
        }
        catch (InvalidOperationException)
        {
            return "?";
        }
    }
}
