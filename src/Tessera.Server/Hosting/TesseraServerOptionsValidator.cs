using Microsoft.Extensions.Options;

namespace Tessera.Server.Hosting;

/// <summary>Fails start-up with a clear message for server settings that cannot work.</summary>
internal sealed class TesseraServerOptionsValidator : IValidateOptions<TesseraServerOptions>
{
    public ValidateOptionsResult Validate(string? name, TesseraServerOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.DataDirectory))
        {
            failures.Add("Tessera:DataDirectory must name a directory.");
        }

        foreach (var proxy in options.ForwardedHeaders.TrustedProxies)
        {
            if (!System.Net.IPNetwork.TryParse(proxy, out _) && !System.Net.IPAddress.TryParse(proxy, out _))
            {
                failures.Add($"Tessera:ForwardedHeaders:TrustedProxies: '{proxy}' is neither an IP address nor a network such as 10.0.0.0/8.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
