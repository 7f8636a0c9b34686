using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;

namespace Tessera.Web.Tests.Infrastructure;

/// <summary>
/// The server as a deployment runs it: <c>dotnet publish</c> of Tessera.Server once per test run (from the build that is
/// already there, so it neither compiles nor races another build), into a temporary folder. Each
/// <see cref="StartAsync"/> starts <c>dotnet Tessera.Server.dll</c> from a different, empty working directory on a free
/// loopback port, in the Production environment, as a service would be started.
/// </summary>
public sealed class PublishedBuild : IAsyncLifetime
{
    private static readonly string Configuration =
        typeof(PublishedBuild).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";

    private readonly string _root = Path.Combine(Path.GetTempPath(), "tessera-web-tests", "published-" + Guid.NewGuid().ToString("N"));

    public string Directory => Path.Combine(_root, "app");

    public async ValueTask InitializeAsync()
    {
        var project = Path.Combine(Screenshots.RepositoryRoot, "src", "Tessera.Server", "Tessera.Server.csproj");
        var (code, output) = await ProcessRunner.RunAsync("dotnet",
            ["publish", project, "-c", Configuration, "--no-build", "-o", Directory, "-nologo", "-v", "quiet"],
            Screenshots.RepositoryRoot, TimeSpan.FromMinutes(5));
        Assert.True(code == 0, $"dotnet publish failed ({code}). Build first (-c {Configuration}).\n{output}");
        Assert.True(File.Exists(Path.Combine(Directory, "Tessera.Server.dll")), $"No Tessera.Server.dll in {Directory}.\n{output}");
    }

    /// <summary>Starts the published server; <paramref name="settings"/> go on its command line.</summary>
    public async Task<PublishedServer> StartAsync(IDictionary<string, string>? settings = null, bool bootstrapAdmin = true)
    {
        var arguments = new Dictionary<string, string>
        {
            ["urls"] = "http://127.0.0.1:0",
            ["Tessera:RateLimiting:LoginPerIpPerMinute"] = "100000",
            ["Tessera:RateLimiting:FailedLoginsBeforeBackoff"] = "1000",
            ["Tessera:Passwords:HashIterations"] = "1000",
        };
        if (bootstrapAdmin)
        {
            arguments["Tessera:Bootstrap:AdminEmail"] = TesseraWebServer.AdminEmail;
            arguments["Tessera:Bootstrap:AdminPassword"] = TesseraWebServer.AdminPassword;
        }

        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            arguments[key] = value;
        }

        var server = new PublishedServer(Path.Combine(_root, "run-" + Guid.NewGuid().ToString("N")), Path.Combine(Directory, "Tessera.Server.dll"), arguments);
        await server.StartAsync();
        return server;
    }

    public ValueTask DisposeAsync()
    {
        ProcessRunner.DeleteDirectory(_root);
        return ValueTask.CompletedTask;
    }
}

/// <summary>One published server process; its console output is kept for the test to read (the first-run code is there).</summary>
public sealed partial class PublishedServer : IAsyncDisposable
{
    private readonly StringBuilder _output = new();
    private readonly Process _process;
    private readonly TaskCompletionSource<string> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal PublishedServer(string workingDirectory, string program, IDictionary<string, string> settings)
    {
        WorkingDirectory = workingDirectory;
        System.IO.Directory.CreateDirectory(workingDirectory);
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(program);
        foreach (var (key, value) in settings)
        {
            start.ArgumentList.Add($"--{key}={value}");
        }

        // Nothing of the test host's own hosting settings: the server finds its content root and environment by itself.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("ASPNETCORE_", StringComparison.Ordinal)
            || k is "DOTNET_ENVIRONMENT" or "DOTNET_CONTENTROOT" or "DOTNET_STARTUP_HOOKS").ToList())
        {
            start.Environment.Remove(name);
        }

        _process = new Process { StartInfo = start, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, line) => Receive(line.Data);
        _process.ErrorDataReceived += (_, line) => Receive(line.Data);
        _process.Exited += (_, _) => _listening.TrySetException(new InvalidOperationException($"The server exited:\n{Output}"));
    }

    /// <summary>The directory it was started from (not the publish folder): its <c>./data</c> is here.</summary>
    public string WorkingDirectory { get; }

    public string BaseUrl { get; private set; } = string.Empty;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>The first-run page's one-time code, as the server wrote it to its log.</summary>
    public string SetupCode => SetupCodePattern().Match(Output) is { Success: true } match
        ? match.Groups[1].Value
        : throw new InvalidOperationException($"The server wrote no first-run code:\n{Output}");

    internal async Task StartAsync()
    {
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        BaseUrl = await _listening.Task.WaitAsync(TimeSpan.FromSeconds(60));
    }

    private void Receive(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }

        if (ListeningPattern().Match(line) is { Success: true } match)
        {
            _listening.TrySetResult(match.Groups[1].Value);
        }
    }

    [GeneratedRegex(@"Now listening on: (http://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningPattern();

    [GeneratedRegex(@"one-time code ([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})")]
    private static partial Regex SetupCodePattern();

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}

internal static class ProcessRunner
{
    public static async Task<(int ExitCode, string Output)> RunAsync(string file, IEnumerable<string> arguments, string workingDirectory, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(file)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(cancel.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    public static void DeleteDirectory(string path)
    {
        try
        {
            if (System.IO.Directory.Exists(path))
            {
                System.IO.Directory.Delete(path, recursive: true);
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // A temporary folder left behind is not a test failure.
        }
    }
}
