using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;

namespace Tessera.AspNetCore;

/// <summary>How a relying app reaches Tessera, keeps its verdicts, and answers requests it refuses.</summary>
public sealed class TesseraAuthenticationOptions : AuthenticationSchemeOptions
{
    /// <summary>Tessera's base address, e.g. <c>http://tessera:5080</c>. Required.</summary>
    public Uri? Authority { get; set; }

    /// <summary>The service client's id (<c>cli_…</c>), created by an admin with the scopes <c>introspect</c>, <c>revocations</c> (and <c>login</c> for <see cref="TesseraSignIn"/>). Required.</summary>
    public string? ClientId { get; set; }

    /// <summary>The service client's secret, shown once when the client was created. Required.</summary>
    public string? ClientSecret { get; set; }

    /// <summary>
    /// The app's cookie that carries the token for pages. Defaults: <see cref="TesseraDefaults.CookieName"/>, HttpOnly,
    /// SameSite=Lax, Secure when the request came over HTTPS, path <c>/</c>, kept 30 days (Tessera's absolute session
    /// lifetime by default; the session ends at Tessera whatever the cookie says).
    /// </summary>
    public CookieBuilder Cookie { get; set; } = new()
    {
        Name = TesseraDefaults.CookieName,
        HttpOnly = true,
        SameSite = SameSiteMode.Lax,
        SecurePolicy = CookieSecurePolicy.SameAsRequest,
        Path = "/",
        IsEssential = true,
        MaxAge = TimeSpan.FromDays(30),
    };

    /// <summary>Where a page request without a session is sent (with <c>returnUrl</c> and <c>reason</c>). Default <c>/signin</c>.</summary>
    public PathString SignInPath { get; set; } = new("/signin");

    /// <summary>Where a page request that is signed in but not allowed is sent; default <see cref="SignInPath"/> with <c>reason=forbidden</c>.</summary>
    public PathString? AccessDeniedPath { get; set; }

    /// <summary>
    /// Tells a page request (answered with a redirect) from an API request (answered with a problem). Default: a
    /// <c>GET</c> or <c>HEAD</c> whose <c>Accept</c> header names <c>text/html</c>, as browsers send for a navigation.
    /// </summary>
    public Func<HttpContext, bool> IsPageRequest { get; set; } = DefaultIsPageRequest;

    /// <summary>How many verdicts the app keeps in memory (a <c>MemoryCache</c> size limit): when full, a compaction drops the least recently used, and a new verdict is not kept until there is room (its token is simply asked again). Default 100,000.</summary>
    public int VerdictCacheSize { get; set; } = 100_000;

    /// <summary>
    /// The longest a cached verdict is used before Tessera is asked again, even while the lease holds. It also bounds how
    /// long the app's use of a session goes unseen by Tessera's idle timeout (an introspection is use). Default 5 minutes.
    /// </summary>
    public TimeSpan MaxVerdictAge { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Whether to follow the revocation stream (needs the <c>revocations</c> scope). Without it nothing is cached:
    /// every request is introspected. Default true.
    /// </summary>
    public bool FollowRevocations { get; set; } = true;

    /// <summary>How long one call to Tessera (introspection, sign-in, acknowledgement) may take. Default 10 seconds.</summary>
    public TimeSpan BackchannelTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The longest wait between two attempts to reconnect the revocation stream (the waits grow from 100 ms, with jitter). Default 5 seconds.</summary>
    public TimeSpan MaxReconnectDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Where verdicts come from. Null (the default): Tessera is asked over HTTP at <see cref="Authority"/> with the service
    /// client, and verdicts are cached under the revocation stream's lease. Set by <c>AddTessera&lt;TVerdictSource&gt;</c>;
    /// then <see cref="Authority"/>, <see cref="ClientId"/> and <see cref="ClientSecret"/> are not used.
    /// </summary>
    public ITesseraVerdictSource? VerdictSource { get; set; }

    /// <summary>The default of <see cref="IsPageRequest"/>.</summary>
    public static bool DefaultIsPageRequest(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var request = context.Request;
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
        {
            return false;
        }

        foreach (var accept in request.Headers.Accept)
        {
            if (accept is not null && accept.Contains("text/html", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
