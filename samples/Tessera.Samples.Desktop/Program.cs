using Microsoft.Extensions.Configuration;
using Tessera.Client;
using Tessera.Samples.Desktop;

// Settings: --url or TESSERA_URL (the Tessera server), --app-name or TESSERA_APP_NAME (the folder of the token file,
// under ~/.local/share on Linux). The command line wins over the environment.
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

DesktopApp.Run(client);
return 0;
