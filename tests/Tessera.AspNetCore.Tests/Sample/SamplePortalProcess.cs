using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Tessera.AspNetCore.Tests.Sample;

/// <summary>
/// The sample Portal as CI runs it: <c>dotnet Tessera.Samples.Portal.dll</c> from its build output, a process of its own,
/// on a port Kestrel picks (read from its "Now listening on" line), configured on the command line. Killed on dispose.
/// </summary>
public sealed partial class SamplePortalProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private SamplePortalProcess(Process process) => _process = process;

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

    public static async Task<SamplePortalProcess> StartAsync(Uri authority, string clientId, string clientSecret)
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
        })
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet could not be started.");
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
                portal._output.AppendLine(line);
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
                throw new InvalidOperationException($"The sample exited with {process.ExitCode} before listening:\n{portal.Output}");
            }
        }
        catch (TimeoutException)
        {
            await portal.DisposeAsync();
            throw new InvalidOperationException($"The sample did not start listening within 60 s:\n{portal.Output}");
        }

        portal.BaseUrl = (await listening.Task).TrimEnd('/');
        return portal;
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

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(CancellationToken.None);
        }

        _process.Dispose();
    }

    [GeneratedRegex(@"Now listening on: (http://127\.0\.0\.1:\d+)")]
    private static partial Regex Listening();
}
