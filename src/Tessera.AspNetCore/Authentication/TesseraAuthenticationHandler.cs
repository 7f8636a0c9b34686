using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Tessera.AspNetCore.Verdicts;

namespace Tessera.AspNetCore.Authentication;

/// <summary>
/// Authenticates a request by Tessera's session token, from <c>Authorization: Bearer</c> or else the app's cookie (when
/// the request has an Authorization header, it alone counts, as at Tessera). API requests that are refused get problems
/// with a <c>code</c>; page requests are sent to the sign-in page with <c>returnUrl</c> and <c>reason</c>.
/// </summary>
internal sealed class TesseraAuthenticationHandler : AuthenticationHandler<TesseraAuthenticationOptions>
{
    private readonly TesseraAuthorities _authorities;

    public TesseraAuthenticationHandler(
        IOptionsMonitor<TesseraAuthenticationOptions> options, ILoggerFactory logger, UrlEncoder encoder, TesseraAuthorities authorities)
        : base(options, logger, encoder)
    {
        _authorities = authorities;
    }

    /// <summary>The scheme has no events; the base class would make a new object (and a task) for them on every request.</summary>
    private static readonly Task<object> NoEvents = Task.FromResult(new object());

    protected override Task<object> CreateEventsAsync() => NoEvents;

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var (token, viaCookie) = ReadToken();
        if (token is null)
        {
            return AuthenticateResult.NoResult();
        }

        if (Options.VerdictSource is { } source)
        {
            return await AuthenticateWithAsync(source, token, viaCookie);
        }

        var authority = _authorities.Get(Scheme.Name);
        Verdict verdict;
        try
        {
            verdict = await authority.GetVerdictAsync(token, Context.RequestAborted);
        }
        catch (AuthorityUnavailableException exception)
        {
            Context.Features.Set(new Refusal(TesseraProblems.AuthorityUnavailable, null, viaCookie));
            return AuthenticateResult.Fail(exception);
        }

        if (!verdict.Active)
        {
            var code = verdict.KnownEnded ? TesseraProblems.SessionRevoked : TesseraProblems.Unauthenticated;
            Context.Features.Set(new Refusal(code, verdict.EndReason, viaCookie));
            return AuthenticateResult.Fail(verdict.KnownEnded ? "The session was ended at Tessera." : "The token does not name a session that holds.");
        }

        Context.Features.Set(new TesseraRequestFeature(authority, token, verdict));
        var principal = new ClaimsPrincipal(CreateIdentity(verdict.Introspection, Scheme.Name));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name));
    }

    /// <summary>The verdict from the scheme's own <see cref="ITesseraVerdictSource"/>.</summary>
    private async Task<AuthenticateResult> AuthenticateWithAsync(ITesseraVerdictSource source, string token, bool viaCookie)
    {
        var watching = Context.GetEndpoint()?.Metadata.GetMetadata<TesseraWatchOnlyAttribute>() is not null;
        var verdict = await source.GetVerdictAsync(new TesseraVerdictRequest(Context, Scheme.Name, token, viaCookie, watching), Context.RequestAborted);
        Context.Features.Set(new TesseraRequestFeature(token, verdict));
        if (!verdict.IsActive)
        {
            var code = verdict.Code ?? TesseraProblems.Unauthenticated;
            Context.Features.Set(new Refusal(code, verdict.Reason, viaCookie, verdict.Sentence, verdict.BannedUntil));
            return AuthenticateResult.Fail(code == TesseraProblems.Unauthenticated
                ? "The token does not name a session that holds."
                : "The session was ended at Tessera.");
        }

        var principal = new ClaimsPrincipal(CreateIdentity(verdict, Scheme.Name));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        await HandleAuthenticateOnceSafeAsync();
        var refusal = Context.Features.Get<Refusal>() ?? new Refusal(TesseraProblems.Unauthenticated, null, ViaCookie: false);
        if (refusal.ViaCookie && refusal.Code != TesseraProblems.AuthorityUnavailable)
        {
            // The cookie's token will never hold again: a browser should not keep sending it.
            TesseraCookie.Delete(Context, Options);
        }

        if (refusal.Code == TesseraProblems.AuthorityUnavailable)
        {
            Response.Headers.RetryAfter = "1";
            await TesseraProblems.WriteAsync(Context, StatusCodes.Status503ServiceUnavailable, refusal.Code, "Service unavailable.",
                "The sign-in service cannot be reached; nothing was decided. Try again in a moment.");
            return;
        }

        if (Options.IsPageRequest(Context))
        {
            Response.Redirect(SignInUrl(Options.SignInPath, refusal.Reason ?? refusal.Code));
            return;
        }

        Response.Headers.WWWAuthenticate = "Bearer";
        var detail = refusal.Sentence ?? (refusal.Code == TesseraProblems.SessionRevoked
            ? TesseraProblems.SentenceFor(refusal.Reason)
            : "Sign in to continue.");
        await TesseraProblems.WriteAsync(Context, StatusCodes.Status401Unauthorized, refusal.Code, "Not signed in.", detail, refusal.Reason, refusal.BannedUntil);
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        if (Options.IsPageRequest(Context))
        {
            Response.Redirect(SignInUrl(Options.AccessDeniedPath ?? Options.SignInPath, TesseraProblems.Forbidden));
            return;
        }

        await TesseraProblems.WriteAsync(Context, StatusCodes.Status403Forbidden, TesseraProblems.Forbidden, "Forbidden.",
            "You are signed in, but not allowed to do this.");
    }

    /// <summary>The identity for an active introspection: Tessera's claim names, plus the .NET ones a developer looks for.</summary>
    internal static ClaimsIdentity CreateIdentity(Introspection introspection, string authenticationType) => CreateIdentity(
        authenticationType, introspection.Sub, introspection.Sid, introspection.Email ?? introspection.Username, introspection.Name, introspection.Role,
        introspection.DeviceName, introspection.DevicePlatform, introspection.DeviceOs, introspection.DeviceBrowser);

    /// <summary>The same identity for an active verdict of a <see cref="ITesseraVerdictSource"/> (claims for what it gave).</summary>
    internal static ClaimsIdentity CreateIdentity(TesseraVerdict verdict, string authenticationType) => CreateIdentity(
        authenticationType, verdict.Subject, verdict.SessionId, verdict.Email, verdict.Name, verdict.Role,
        verdict.DeviceName, verdict.DevicePlatform, verdict.DeviceOs, verdict.DeviceBrowser);

    /// <summary>The issuer of every claim the handler gives.</summary>
    private const string Issuer = "tessera";

    private static ClaimsIdentity CreateIdentity(
        string authenticationType, string? sub, string? sid, string? email, string? name, string? role,
        string? deviceName, string? devicePlatform, string? deviceOs, string? deviceBrowser)
    {
        var identity = new ClaimsIdentity(authenticationType, TesseraClaimTypes.Name, TesseraClaimTypes.Role);
        void Add(string type, string? value)
        {
            if (!string.IsNullOrEmpty(value))
            {
                // Made with the identity as its subject: AddClaim would otherwise keep a copy of each claim (one more
                // object per claim on every authenticated request).
                identity.AddClaim(new Claim(type, value, ClaimValueTypes.String, Issuer, Issuer, identity));
            }
        }

        Add(TesseraClaimTypes.Subject, sub);
        Add(ClaimTypes.NameIdentifier, sub);
        Add(TesseraClaimTypes.SessionId, sid);
        Add(TesseraClaimTypes.Email, email);
        Add(ClaimTypes.Email, email);
        Add(TesseraClaimTypes.Name, name);
        Add(TesseraClaimTypes.Role, role);
        Add(TesseraClaimTypes.DeviceName, deviceName);
        Add(TesseraClaimTypes.DevicePlatform, devicePlatform);
        Add(TesseraClaimTypes.DeviceOs, deviceOs);
        Add(TesseraClaimTypes.DeviceBrowser, deviceBrowser);
        return identity;
    }

    private (string? Token, bool ViaCookie) ReadToken()
    {
        var token = TesseraSessionToken.Read(Request, Options.Cookie.Name!, out var viaCookie);
        return (token, viaCookie);
    }

    private string SignInUrl(PathString path, string reason)
    {
        var returnUrl = Request.PathBase + Request.Path + Request.QueryString;
        var query = QueryString.Create([KeyValuePair.Create("returnUrl", (string?)returnUrl.ToString()), KeyValuePair.Create("reason", (string?)reason)]);
        return Request.PathBase + path + query;
    }

    /// <summary>Why this request was refused, kept between authenticate and challenge.</summary>
    private sealed record Refusal(string Code, string? Reason, bool ViaCookie, string? Sentence = null, DateTimeOffset? BannedUntil = null);
}

/// <summary>
/// The claim types the package gives a Tessera user (besides <c>ClaimTypes.NameIdentifier</c> and <c>ClaimTypes.Email</c>).
/// The identity's name claim is <see cref="Name"/> (the display name) and its role claim <see cref="Role"/>, so that
/// <c>User.Identity.Name</c>, <c>IsInRole</c>, <c>[Authorize(Roles = "admin")]</c> and <c>RequireRole</c> work.
/// </summary>
public static class TesseraClaimTypes
{
    public const string Subject = "sub";
    public const string SessionId = "sid";
    public const string Email = "email";
    public const string Name = "name";
    public const string Role = "role";
    public const string DeviceName = "device_name";
    public const string DevicePlatform = "device_platform";
    public const string DeviceOs = "device_os";
    public const string DeviceBrowser = "device_browser";
}
