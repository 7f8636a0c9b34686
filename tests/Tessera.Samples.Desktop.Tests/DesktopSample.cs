using Xunit;

namespace Tessera.Samples.Desktop.Tests;

/// <summary>
/// The built sample (<c>dotnet Tessera.Samples.Desktop.dll --url …</c>) running in a real terminal, with a token file of
/// its own (XDG_DATA_HOME in a temporary folder), as a person would start it.
/// </summary>
internal sealed class DesktopSample : IAsyncDisposable
{
    private readonly string _dataHome;
    private bool _ownsDataHome = true;

    private DesktopSample(TmuxTerminal terminal, string dataHome)
    {
        Terminal = terminal;
        _dataHome = dataHome;
    }

    public TmuxTerminal Terminal { get; }

    /// <summary>The token file the sample keeps (FileTokenStore.ForApp under XDG_DATA_HOME).</summary>
    public string TokenFile => Path.Combine(_dataHome, "Tessera.Samples.Desktop", "session.token");

    /// <param name="url">The server.</param>
    /// <param name="environment">More variables for the sample (TESSERA_LATENCY_TRACE...).</param>
    public static Task<DesktopSample> StartAsync(string url, IReadOnlyDictionary<string, string>? environment = null) =>
        StartAsync(url, Path.Combine(Path.GetTempPath(), "tessera-desktop-tests", Guid.NewGuid().ToString("N")), environment);

    /// <summary>
    /// Closes this terminal and starts the sample again with the same token file, as a person starts the app again.
    /// The new one owns the folder from then on.
    /// </summary>
    public async Task<DesktopSample> StartAgainAsync(string url)
    {
        await Terminal.DisposeAsync();
        _ownsDataHome = false;
        return await StartAsync(url, _dataHome);
    }

    private static async Task<DesktopSample> StartAsync(string url, string dataHome, IReadOnlyDictionary<string, string>? environment = null)
    {
        Directory.CreateDirectory(dataHome);
        var variables = new Dictionary<string, string>
        {
            ["XDG_DATA_HOME"] = dataHome,
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["TESSERA_URL"] = "http://127.0.0.1:9/not-this-one",
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            variables[name] = value;
        }

        var terminal = await TmuxTerminal.StartAsync($"dotnet {Quote(SampleDll())} --url {Quote(url)}", variables);
        return new DesktopSample(terminal, dataHome);
    }

    /// <summary>Types into the sign-in screen: the email only when the field is empty (the sample keeps the last one).</summary>
    public async Task SignInAsync(string? email, string password)
    {
        await Terminal.WaitForTextAsync("Password:");
        if (email is not null)
        {
            await Terminal.TypeAsync(email);
            await Terminal.SendKeysAsync("Tab");
        }

        await Terminal.TypeAsync(password);
        await Terminal.SendKeysAsync("Enter");
    }

    /// <summary>The devices screen with the watcher's stream open: from here an end of the session anywhere shows at once.</summary>
    public Task<string> WaitUntilLiveAsync() =>
        Terminal.WaitForAsync(screen => screen.Contains("This device", StringComparison.Ordinal) && screen.Contains("Live:", StringComparison.Ordinal),
            "the devices screen with the watcher live");

    public async ValueTask DisposeAsync()
    {
        await Terminal.DisposeAsync();
        if (!_ownsDataHome)
        {
            return;
        }

        try
        {
            Directory.Delete(_dataHome, recursive: true);
        }
        catch (Exception exception) when (exception is IOException or DirectoryNotFoundException)
        {
            // A temporary folder; the next clean-up of /tmp takes it.
        }
    }

    private static string Quote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>The sample's build output beside this suite's (same configuration), found from the repository root.</summary>
    private static string SampleDll()
    {
        var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var dll = Path.Combine(Captures.RepositoryRoot, "samples", "Tessera.Samples.Desktop", "bin", framework.Parent!.Name, framework.Name, "Tessera.Samples.Desktop.dll");
        return File.Exists(dll) ? dll : throw new InvalidOperationException($"The sample is not built: {dll} (dotnet build Tessera.slnx).");
    }
}

/// <summary>Text captures of the sample's screens, kept under artifacts/desktop-sample/ for people to look at.</summary>
internal static class Captures
{
    public static string RepositoryRoot { get; } = FindRoot();

    public static string Directory { get; } = Path.Combine(RepositoryRoot, "artifacts", "desktop-sample");

    public static void Save(string name, string screen)
    {
        System.IO.Directory.CreateDirectory(Directory);
        File.WriteAllText(Path.Combine(Directory, name + ".txt"), screen);
        TestContext.Current.SendDiagnosticMessage($"Saved the screen '{name}' to {Path.Combine(Directory, name + ".txt")}");
    }

    private static string FindRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Tessera.slnx")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("The repository root (Tessera.slnx) was not found above " + AppContext.BaseDirectory);
    }
}
