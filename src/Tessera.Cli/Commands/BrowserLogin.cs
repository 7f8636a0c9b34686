using System.ComponentModel;
using System.Net;
using Spectre.Console;
using Tessera.Cli.Api;
using Tessera.Client;

namespace Tessera.Cli.Commands;

/// <summary>
/// <c>tessera login --provider NAME</c>: the admin signs in through an OpenID Connect provider in the browser, by the
/// loopback flow of RFC 8252 as <see cref="TesseraClient.SignInWithBrowserAsync"/> does it (a listener on 127.0.0.1, PKCE
/// S256, a <c>state</c>, the one-time code exchanged for a session on this device). Tessera.Client is HTTP only, as the CLI
/// is, so the CLI uses it rather than a second copy of the protocol; only the token is taken from it, kept in memory until
/// the profile has it.
/// </summary>
internal static class BrowserLogin
{
    /// <summary>How long the browser has to come back: the person may have to type a password and a second factor there.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromMinutes(5);

    /// <summary>Signs in; the new session's token (nothing is saved yet).</summary>
    public static async Task<string> SignInAsync(CliContext context, TesseraApi api, string provider, DeviceInfo device, bool openBrowser, CancellationToken cancellationToken)
    {
        var token = new MemoryTokenStore();
        using var client = new TesseraClient(new TesseraClientOptions
        {
            Authority = new Uri(api.BaseUrl + "/"),
            TokenStore = token,
            Device = device,
            // Tessera's callback may be slow to answer only while the person is at the provider; the exchange itself is quick.
            RequestTimeout = TimeSpan.FromSeconds(30),
        });
        var options = new BrowserSignInOptions
        {
            Timeout = Timeout,
            OpenBrowser = (address, token) => OpenAsync(context, address, provider, openBrowser, token),
        };

        try
        {
            await client.SignInWithBrowserAsync(provider, options, cancellationToken);
        }
        catch (TesseraApiException refused) when (refused.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            // A deactivated, banned or unknown account, as the password login says it: not a session that ended.
            throw new CliException($"Sign-in refused ({refused.Code}): {refused.Message}", ExitCodes.NotAuthorised, refused.Code ?? "refused");
        }
        catch (TesseraApiException refused) when (refused.Code == "unknown_provider")
        {
            throw new CliException(refused.Message, ExitCodes.Usage, "unknown_provider");
        }
        catch (TesseraApiException refused)
        {
            throw new CliException($"Sign-in failed ({refused.Code}): {refused.Message}", ExitCodes.Failed, refused.Code ?? "failed");
        }
        catch (TesseraUnavailableException unreachable)
        {
            throw new CliException($"Cannot reach Tessera at {api.BaseUrl}: {unreachable.Message.TrimEnd('.')}.", ExitCodes.Failed, "unreachable");
        }
        catch (TimeoutException)
        {
            throw new CliException($"The browser did not come back within {Timeout.TotalMinutes:0} minutes. Run tessera login --provider {provider} again.", ExitCodes.Failed, "timeout");
        }

        return token.Load() ?? throw new CliException("Tessera answered the sign-in without a token.", ExitCodes.Failed, "no_token");
    }

    /// <summary>
    /// Says where to go, on standard error (standard output stays the result's, for --json), then opens the system browser
    /// unless asked not to. The address is always printed: the browser may not open (no desktop, an SSH session), and it
    /// must be opened on this machine, where the listener is.
    /// </summary>
    private static Task OpenAsync(CliContext context, Uri address, string provider, bool openBrowser, CancellationToken cancellationToken)
    {
        // Written as it is, never wrapped at the terminal's width: the address is copied whole.
        Console.Error.WriteLine($"To sign in with {provider}, open this address in a browser on this machine:");
        Console.Error.WriteLine(address.AbsoluteUri);
        Console.Error.WriteLine($"Waiting up to {Timeout.TotalMinutes:0} minutes for the browser to come back (Ctrl+C to stop).");
        if (!openBrowser)
        {
            return Task.CompletedTask;
        }

        try
        {
            return BrowserSignInOptions.OpenSystemBrowser(address, cancellationToken);
        }
        catch (Exception failed) when (failed is Win32Exception or InvalidOperationException or PlatformNotSupportedException)
        {
            // No browser to start here (xdg-open missing on a server): the address above is the way.
            context.Error.MarkupLine($"[yellow]warning:[/] could not open a browser ({Markup.Escape(failed.Message)}); open the address yourself.");
            return Task.CompletedTask;
        }
    }
}
