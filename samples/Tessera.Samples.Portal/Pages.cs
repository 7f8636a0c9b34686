using System.Globalization;
using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Antiforgery;
using Tessera.AspNetCore;
using Tessera.AspNetCore.Authentication;

namespace Tessera.Samples.Portal;

/// <summary>The sample's few pages, written out as HTML (every value encoded).</summary>
internal static class Pages
{
    private const string Style = """
        <style>
          body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; }
          .notice { padding: .75rem 1rem; border-radius: .5rem; background: #fff4e5; border: 1px solid #f0b35c; }
          label { display: block; margin: .5rem 0; } input { font: inherit; padding: .3rem; width: 100%; box-sizing: border-box; }
          button { font: inherit; padding: .4rem 1rem; margin-top: .5rem; }
          #feed { font-family: ui-monospace, monospace; background: #f4f4f4; padding: .5rem; min-height: 6rem; }
          dt { font-weight: 600; } dd { margin: 0 0 .5rem 0; }
        </style>
        """;

    public sealed record Page(string Html) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.ContentType = "text/html; charset=utf-8";
            httpContext.Response.Headers.CacheControl = "no-store";
            return httpContext.Response.WriteAsync(Html);
        }
    }

    /// <summary>What a form post without a valid antiforgery token is told.</summary>
    public const string StaleForm = "This form has expired or was sent from another site. Please try again.";

    public static Page SignIn(AntiforgeryTokenSet tokens, string returnUrl, string? notice, string? email) => new($"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>Sign in · Portal</title>{Style}</head>
        <body>
          <h1>Sign in to the Portal</h1>
          {(notice is null ? "" : $"<p class=\"notice\" role=\"alert\" id=\"notice\">{E(notice)}</p>")}
          <form method="post" action="/signin">
            <input type="hidden" name="{E(tokens.FormFieldName)}" value="{E(tokens.RequestToken)}">
            <input type="hidden" name="returnUrl" value="{E(returnUrl)}">
            <label>Email <input name="email" type="email" autocomplete="username" required value="{E(email)}"></label>
            <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
            <button type="submit">Sign in</button>
          </form>
        </body></html>
        """);

    public static Page Home(ClaimsPrincipal user, AntiforgeryTokenSet tokens)
    {
        string? Claim(string type) => user.FindFirstValue(type);
        var device = string.Join(", ", new[] { Claim(TesseraClaimTypes.DeviceName), Claim(TesseraClaimTypes.DeviceOs), Claim(TesseraClaimTypes.DeviceBrowser), Claim(TesseraClaimTypes.DevicePlatform) }
            .Where(part => !string.IsNullOrEmpty(part)));
        return new($$"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>Portal</title>{{Style}}</head>
            <body>
              <h1>Hello, {{E(user.Identity?.Name)}}</h1>
              <dl>
                <dt>Email</dt><dd id="email">{{E(Claim(TesseraClaimTypes.Email))}}</dd>
                <dt>Role</dt><dd id="role">{{E(Claim(TesseraClaimTypes.Role))}}</dd>
                <dt>This device</dt><dd id="device">{{E(device)}}</dd>
                <dt>Session</dt><dd id="session">{{E(Claim(TesseraClaimTypes.SessionId))}}</dd>
              </dl>
              <form method="post" action="/signout">
                <input type="hidden" name="{{E(tokens.FormFieldName)}}" value="{{E(tokens.RequestToken)}}">
                <button type="submit">Sign out</button>
              </form>
              <h2>Live feed</h2>
              <div id="feed" aria-live="polite"></div>
              <p id="closed" class="notice" hidden></p>
              <script>
                const feed = document.getElementById('feed');
                const closed = document.getElementById('closed');
                const socket = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/feed');
                socket.onmessage = (message) => {
                  const line = document.createElement('div');
                  line.textContent = message.data;
                  feed.prepend(line);
                  while (feed.childElementCount > 5) feed.lastElementChild.remove();
                };
                socket.onclose = (event) => {
                  closed.hidden = false;
                  if (event.code === {{TesseraDefaults.SessionEndedCloseStatus}}) {
                    closed.textContent = 'Your session ended (' + event.reason + '). ';
                    const link = document.createElement('a');
                    link.href = '/signin?reason=' + encodeURIComponent(event.reason);
                    link.textContent = 'Sign in again';
                    closed.append(link);
                  } else {
                    closed.textContent = 'The feed closed (' + event.code + '). Reload the page to reconnect.';
                  }
                };
              </script>
            </body></html>
            """);
    }

    /// <summary>The sentence for the sign-in page's <c>reason</c> (why the visitor was sent there).</summary>
    public static string? ReasonSentence(string? reason) => reason switch
    {
        null or "" or "unauthenticated" => null,
        "forbidden" => "You are signed in, but that page is not for your account. Sign in with another account to open it.",
        "session_ended" => "Your session has ended. Please sign in again.",
        _ => TesseraProblems.SentenceFor(reason),
    };

    /// <summary>Tessera's refusal, as a person should read it.</summary>
    public static string Refusal(TesseraSignInResult result) => result.Code switch
    {
        "invalid_credentials" => "Wrong email or password.",
        "account_deactivated" => "Your account has been deactivated. Contact an administrator.",
        "account_banned" when result.BannedUntil is { } until =>
            $"Your account is banned until {until.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)} UTC.",
        "account_banned" => "Your account has been banned.",
        "rate_limited" when result.RetryAfter is { } wait =>
            $"Too many attempts. Try again in {Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds))} seconds.",
        "rate_limited" => "Too many attempts. Try again later.",
        _ => result.Message ?? "Signing in did not work.",
    };

    /// <summary>Only a path on this site: never a redirect to another one.</summary>
    public static string LocalOrHome(string? returnUrl) =>
        returnUrl is { Length: > 0 } url && url[0] == '/' && (url.Length == 1 || (url[1] != '/' && url[1] != '\\')) ? url : "/";

    private static string E(string? value) => WebUtility.HtmlEncode(value ?? string.Empty);
}
