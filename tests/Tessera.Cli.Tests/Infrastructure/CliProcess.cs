using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace Tessera.Cli.Tests.Infrastructure;

/// <summary>What a run of the tool gave: its exit code and everything it wrote.</summary>
public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public JsonElement Json => JsonDocument.Parse(Stdout).RootElement;

    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}

/// <summary>
/// The built <c>tessera</c> tool (its dll, run by the same dotnet as the tests) as a child process, with a config file
/// of its own: every test signs in afresh and never reads the operator's real profiles.
/// </summary>
public sealed class CliProcess(string configPath)
{
    public static readonly string Dll = Path.GetFullPath(typeof(CliProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(attribute => attribute.Key == "TesseraCliDll").Value!);

    public string ConfigPath { get; } = configPath;

    public Dictionary<string, string?> Environment { get; } = new();

    public ProcessStartInfo StartInfo(params string[] args)
    {
        if (!File.Exists(Dll))
        {
            throw new InvalidOperationException($"The tool is not built at {Dll}.");
        }

        // Through coreutils' env with SIGINT back to its default: a test run started in the background by a
        // non-interactive shell (as CI may start test.sh) inherits SIGINT ignored, and .NET keeps an ignored SIGINT
        // ignored, so the tool would never see the Ctrl+C that a terminal sends it (BulkTests' Ctrl+C test).
        var info = new ProcessStartInfo("env", ["--default-signal=INT", DotnetHost(), Dll, .. args])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        info.Environment["TESSERA_CONFIG"] = ConfigPath;
        info.Environment["TESSERA_URL"] = null;
        info.Environment["TESSERA_PROFILE"] = null;
        info.Environment["NO_COLOR"] = "1";
        foreach (var (key, value) in Environment)
        {
            info.Environment[key] = value;
        }

        return info;
    }

    /// <summary>Runs the tool to its end (at most two minutes), with <paramref name="stdin"/> as its standard input.</summary>
    public async Task<CliResult> RunWithInputAsync(string? stdin, params string[] args)
    {
        using var tool = new RunningTool(Process.Start(StartInfo(args))!, args, stdin);
        return await tool.WaitForExitAsync();
    }

    public Task<CliResult> RunAsync(params string[] args) => RunWithInputAsync(stdin: null, args);

    /// <summary>Starts the tool and leaves it running, for a test that acts on what it writes before it ends (a sign-in in the browser).</summary>
    public RunningTool Start(params string[] args) => new(Process.Start(StartInfo(args))!, args);

    /// <summary>The dotnet that runs these tests runs the tool too.</summary>
    public static string DotnetHost() =>
        System.Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)
            ? host
            : Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", "..", OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet");
}

/// <summary>
/// The tool while it runs: its standard error read line by line as it comes (what it asks the person to do), and its
/// result once it ends. Disposing kills a tool still running.
/// </summary>
public sealed class RunningTool : IDisposable
{
    private readonly Process _process;
    private readonly string[] _args;
    private readonly Task<string> _stdout;
    private readonly Task<string> _stderr;
    private readonly System.Threading.Channels.Channel<string> _lines = System.Threading.Channels.Channel.CreateUnbounded<string>();

    /// <summary>Takes a started tool: reads what it writes, gives it <paramref name="stdin"/> (if any) and closes its input.</summary>
    internal RunningTool(Process process, string[] args, string? stdin = null)
    {
        _process = process;
        _args = args;
        _stdout = process.StandardOutput.ReadToEndAsync();
        _stderr = ReadErrorsAsync();
        if (stdin is not null)
        {
            _process.StandardInput.Write(stdin);
        }

        _process.StandardInput.Close();
    }

    /// <summary>The first line of standard error that <paramref name="wanted"/> accepts, within <paramref name="timeout"/>.</summary>
    public async Task<string> WaitForErrorLineAsync(Func<string, bool> wanted, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await foreach (var line in _lines.Reader.ReadAllAsync(deadline.Token))
            {
                if (wanted(line))
                {
                    return line;
                }
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
        }

        throw new TimeoutException($"tessera {string.Join(' ', _args)} wrote no such line within {timeout}; it {(_process.HasExited ? $"ended with {_process.ExitCode}" : "still runs")}.");
    }

    /// <summary>Waits for the end (at most two minutes) and gives what it wrote.</summary>
    public async Task<CliResult> WaitForExitAsync()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"tessera {string.Join(' ', _args)} did not end within two minutes.");
        }

        return new CliResult(_process.ExitCode, await _stdout, await _stderr);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }

    private async Task<string> ReadErrorsAsync()
    {
        var all = new StringBuilder();
        while (await _process.StandardError.ReadLineAsync() is { } line)
        {
            all.AppendLine(line);
            _lines.Writer.TryWrite(line);
        }

        _lines.Writer.TryComplete();
        return all.ToString();
    }
}
