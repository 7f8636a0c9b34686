using Microsoft.Extensions.Configuration;
using Tessera.Client;
using Tessera.Samples.Desktop;

// Settings: --url or TESSERA_URL (the Tessera server), --app-name or TESSERA_APP_NAME (the folder of the token file,
// under ~/.local/share on Linux). The command line wins over the environment. For measuring only:
// TESSERA_UI_ITERATIONS_PER_SECOND (Terminal.Gui's loop rate, DesktopApp.DefaultIterationsPerSecond) and
// TESSERA_LATENCY_TRACE (a file of timings per ended session, see LatencyTrace).
var configuration = new ConfigurationBuilder()
    .AddEnvironmentVariables("TESSERA_")
    .AddCommandLine(args, new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["--url"] = "URL",
        ["--app-name"] = "APP_NAME",
    })
    .Build();

var url = configuration["URL"] ?? "http://localhost:5080";
if (!Uri.TryCreate(url, UriKind.Absolute, out var authority) || authority.Scheme is not ("http" or "https"))
{
    Console.Error.WriteLine($"--url (or TESSERA_URL) must be the absolute http(s) URL of a Tessera server, not '{url}'.");
    return 2;
}

using var client = new TesseraClient(new TesseraClientOptions
{
    Authority = authority,
    AppName = configuration["APP_NAME"] ?? "Tessera.Samples.Desktop",
});

var iterationsPerSecond = int.TryParse(configuration["UI_ITERATIONS_PER_SECOND"], System.Globalization.CultureInfo.InvariantCulture, out var rate) && rate > 0
    ? rate
    : DesktopApp.DefaultIterationsPerSecond;
DesktopApp.Run(client, iterationsPerSecond, LatencyTrace.FromSetting(configuration["LATENCY_TRACE"]));
return 0;
