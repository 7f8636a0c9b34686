using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Tessera.Client;

/// <summary>How <see cref="TesseraClient.SignInWithBrowserAsync"/> opens the browser and how long it waits.</summary>
public sealed class BrowserSignInOptions
{
    /// <summary>
    /// Opens the person's browser at the address given (Tessera's start, which leads to the provider). Default: the system
    /// browser (<see cref="OpenSystemBrowser"/>). An app may print the address instead (to be opened on this machine: the
    /// listener is on its loopback), and tests drive it.
    /// </summary>
    public Func<Uri, CancellationToken, Task> OpenBrowser { get; set; } = OpenSystemBrowser;

    /// <summary>How long to wait for the browser to come back to the client's listener. Default: 5 minutes.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The system browser: the shell's handler on Windows, <c>open</c> on macOS, <c>xdg-open</c> elsewhere.</summary>
    public static Task OpenSystemBrowser(Uri address, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(address);
        var start = OperatingSystem.IsWindows()
            ? new ProcessStartInfo(address.AbsoluteUri) { UseShellExecute = true }
            : new ProcessStartInfo(OperatingSystem.IsMacOS() ? "open" : "xdg-open") { UseShellExecute = false, ArgumentList = { address.AbsoluteUri } };
        using var process = Process.Start(start);
        return Task.CompletedTask;
    }
}

/// <summary>
/// The loopback flow of RFC 8252 for a desktop or CLI app: a listener on 127.0.0.1 at a free port, the system browser at
/// Tessera's start with that listener as <c>redirect_uri</c>, a PKCE challenge (S256) and a <c>state</c>; the browser
/// comes back with a one-time code, which only this process (it holds the verifier) can exchange for a session.
/// </summary>
internal static class BrowserSignIn
{
    private const string CallbackPath = "/tessera/signed-in/";

    /// <summary>One listener on a free loopback port: the port is found by binding port 0, then taken by the listener (tried a few times, as another program may take it in between).</summary>
    public static HttpListener Listen(out Uri redirectUri)
    {
        for (var attempt = 0; ; attempt++)
        {
            int port;
            using (var probe = new TcpListener(IPAddress.Loopback, 0))
            {
                probe.Start();
                port = ((IPEndPoint)probe.LocalEndpoint).Port;
            }

            var prefix = $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}{CallbackPath}";
            var listener = new HttpListener();
            listener.Prefixes.Add(prefix);
            try
            {
                listener.Start();
                redirectUri = new Uri(prefix);
                return listener;
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                listener.Close();
            }
        }
    }

    public static string NewSecret()
    {
        Span<byte> bytes = stackalloc byte[32];
        RandomNumberGenerator.Fill(bytes);
        return Base64Url(bytes);
    }

    public static string ChallengeOf(string verifier) => Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));

    private static string Base64Url(ReadOnlySpan<byte> bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>
    /// Waits for the browser's arrival at the callback path with <paramref name="state"/>; anything else (a favicon, a
    /// stray or forged request with another state) is answered and ignored.
    /// </summary>
    public static async Task<HttpListenerContext> WaitForCallbackAsync(HttpListener listener, string state, CancellationToken cancellationToken)
    {
        // HttpListener takes no token: closing it ends the wait (GetContextAsync then throws, and the caller sees the cancellation).
        using var registration = cancellationToken.Register(listener.Close);
        while (true)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception closed) when (closed is HttpListenerException or ObjectDisposedException or InvalidOperationException && cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException(cancellationToken);
            }

            var path = context.Request.Url?.AbsolutePath;
            if (path is not (CallbackPath or "/tessera/signed-in") || context.Request.QueryString["state"] != state)
            {
                await AnswerAsync(context, HttpStatusCode.NotFound, "Not this sign-in", "This address is waiting for another sign-in.").ConfigureAwait(false);
                continue;
            }

            return context;
        }
    }

    /// <summary>The small page the browser shows at the end; the app has the outcome itself.</summary>
    public static async Task AnswerAsync(HttpListenerContext context, HttpStatusCode status, string title, string sentence)
    {
        try
        {
            var html = $$"""
                <!doctype html>
                <html lang="en"><head><meta charset="utf-8"><title>{{WebUtility.HtmlEncode(title)}}</title>
                <style>body{font:16px system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}</style></head>
                <body><h1>{{WebUtility.HtmlEncode(title)}}</h1><p>{{WebUtility.HtmlEncode(sentence)}}</p></body></html>
                """;
            var bytes = Encoding.UTF8.GetBytes(html);
            var response = context.Response;
            response.StatusCode = (int)status;
            response.ContentType = "text/html; charset=utf-8";
            response.Headers["Cache-Control"] = "no-store";
            response.Headers["Referrer-Policy"] = "no-referrer";
            response.ContentLength64 = bytes.Length;
            await response.OutputStream.WriteAsync(bytes).ConfigureAwait(false);
            response.Close();
        }
        catch (Exception gone) when (gone is HttpListenerException or ObjectDisposedException or IOException)
        {
            // The browser went away; the app has the outcome anyway.
        }
    }

    /// <summary>The status a refusal that came through the browser would have had from the API, for <see cref="TesseraApiException.StatusCode"/>.</summary>
    public static HttpStatusCode StatusOf(string? code) => code switch
    {
        "account_deleted" => HttpStatusCode.Unauthorized,
        "account_deactivated" or "account_banned" or "external_registration_closed" or "access_denied" => HttpStatusCode.Forbidden,
        "external_email_unverified" => HttpStatusCode.Conflict,
        _ => HttpStatusCode.BadRequest,
    };
}
