using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.RegularExpressions;
using Xunit;

namespace Tessera.Testing;

/// <summary>
/// Shared by the AspNetCore and cluster suites (linked into both). The sample Portal (samples/Tessera.Samples.Portal) as an operator runs it: <c>dotnet Tessera.Samples.Portal.dll</c>
/// from its build output, a process of its own on a port Kestrel picks (read from its "Now listening on" line),
/// configured on the command line. It can be frozen with SIGSTOP and resumed with SIGCONT; it is killed on dispose.
/// </summary>
public sealed partial class SamplePortalProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    private SamplePortalProcess(Process process) => _process = process;

    public string BaseUrl { get; private set; } = string.Empty;

    public int ProcessId => _process.Id;

    /// <summary>What the Portal wrote (stdout and stderr), each line stamped with the seconds since it started.</summary>
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

    /// <param name="started">Told of the process as soon as it runs (the cluster suite kills its children if the test host dies).</param>
    public static async Task<SamplePortalProcess> StartAsync(Uri authority, string clientId, string clientSecret, Action<Process>? started = null)
    {
        var dll = SampleDll();
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            dll, "--urls", "http://127.0.0.1:0", $"--Tessera:Authority={authority}", $"--Tessera:ClientId={clientId}",
            $"--Tessera:ClientSecret={clientSecret}", "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Information",
            // The package's account of its stream (connected, stalled, reset, revoked) for the output shown on failure.
            "--Logging:LogLevel:Tessera.AspNetCore=Debug",
        })
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("Tessera__", StringComparison.OrdinalIgnoreCase)
                     || k.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(key);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet could not be started.");
        started?.Invoke(process);
        var portal = new SamplePortalProcess(process);
        var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        void Read(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (portal._output)
            {
                portal._output.Append(portal._clock.Elapsed.TotalSeconds.ToString("F3", CultureInfo.InvariantCulture)).Append(' ').AppendLine(line);
            }

            if (Listening().Match(line) is { Success: true } match)
            {
                listening.TrySetResult(match.Groups[1].Value);
            }
        }

        process.OutputDataReceived += (_, e) => Read(e.Data);
        process.ErrorDataReceived += (_, e) => Read(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var exited = process.WaitForExitAsync(TestContext.Current.CancellationToken);
            var first = await Task.WhenAny(listening.Task, exited).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
            if (first != listening.Task)
            {
                throw new InvalidOperationException($"The Portal exited with {process.ExitCode} before listening:\n{portal.Output}");
            }
        }
        catch (TimeoutException)
        {
            await portal.DisposeAsync();
            throw new InvalidOperationException($"The Portal did not start listening within 60 s:\n{portal.Output}");
        }

        portal.BaseUrl = (await listening.Task).TrimEnd('/');
        return portal;
    }

    /// <summary>SIGSTOP: every thread of the Portal stops where it is; its sockets stay open and the kernel queues what arrives.</summary>
    public Task FreezeAsync() => SignalAsync("STOP");

    /// <summary>SIGCONT: the Portal goes on, with its monotonic clock having counted the time it was stopped.</summary>
    public Task ThawAsync() => SignalAsync("CONT");

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                // A frozen process is killed just as well by SIGKILL.
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync(CancellationToken.None);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
    }

    private async Task SignalAsync(string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, ProcessId.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false })
            ?? throw new InvalidOperationException("kill could not be started.");
        await kill.WaitForExitAsync(TestContext.Current.CancellationToken);
        Assert.True(kill.ExitCode == 0, $"kill -{signal} {ProcessId} exited with {kill.ExitCode}");
        lock (_output)
        {
            _output.Append(_clock.Elapsed.TotalSeconds.ToString("F3", CultureInfo.InvariantCulture)).AppendLine($" ==== SIG{signal} sent by the test");
        }
    }

    /// <summary>The sample's build output beside this suite's (same configuration), found from the repository root.</summary>
    private static string SampleDll()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Tessera.slnx")))
        {
            directory = directory.Parent;
        }

        if (directory is null)
        {
            throw new InvalidOperationException("The repository root (Tessera.slnx) was not found above " + AppContext.BaseDirectory);
        }

        // bin/<Configuration>/<TargetFramework>/ of this suite names the same folders for the sample.
        var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var dll = Path.Combine(directory.FullName, "samples", "Tessera.Samples.Portal", "bin", framework.Parent!.Name, framework.Name, "Tessera.Samples.Portal.dll");
        return File.Exists(dll) ? dll : throw new InvalidOperationException($"The sample is not built: {dll} (dotnet build Tessera.slnx).");
    }

    [GeneratedRegex(@"Now listening on: (http://127\.0\.0\.1:\d+)")]
    private static partial Regex Listening();
}
