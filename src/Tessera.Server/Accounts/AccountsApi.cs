using Microsoft.AspNetCore.Http.HttpResults;
using Tessera.Core;
using Tessera.Core.Accounts;
using Tessera.Core.Clients;
using Tessera.Core.Devices;
using Tessera.Core.Sessions;
using Tessera.Server.Authentication;
using Tessera.Server.Contracts;
using Tessera.Server.Http;
using Tessera.Server.OAuth;

namespace Tessera.Server.Accounts;

/// <summary>/v1/auth: register, sign in and out, whoami, the profile, change and reset the password.</summary>
internal static class AccountsApi
{
    public static IEndpointRouteBuilder MapAccountsApi(this IEndpointRouteBuilder endpoints)
    {
        var anonymous = endpoints.MapGroup("/v1/auth").WithTags("Auth");
        anonymous.MapPost("/register", RegisterAsync);
        anonymous.MapPost("/login", LoginAsync);
        anonymous.MapPost("/password/reset-request", RequestResetAsync);
        anonymous.MapPost("/password/reset", ResetAsync);

        var signedIn = endpoints.MapGroup("/v1/auth").WithTags("Auth").RequireSession();
        // GET /v1/auth/session is Authentication.SessionCheckEndpoints: short-circuited, as the hottest route.
        signedIn.MapPatch("/me", ChangeProfileAsync);
        signedIn.MapPost("/logout", LogoutAsync);
        signedIn.MapPost("/password/change", ChangePasswordAsync);
        return endpoints;
    }

    private static async Task<Results<Created<UserResponse>, ProblemHttpResult>> RegisterAsync(
        RegisterRequest? body, Registration registration, TimeProvider clock, HttpContext httpContext)
    {
        if (body is null)
        {
            return Problems.Validation("body", "Send {email, password, displayName?}.");
        }

        var user = await registration.RegisterAsync(body.Email, body.Password, body.DisplayName, httpContext.ClientIp(), httpContext.RequestAborted);
        return TypedResults.Created($"/v1/admin/users/{user.Id}", new UserResponse(UserDto.From(user, clock.GetUtcNow())));
    }

    /// <summary>
    /// POST /v1/auth/login: directly (the request's own address and User-Agent), or from a relying app's server that
    /// authenticates as a service client with the scope <c>login</c> (HTTP Basic) and names its visitor's address and user
    /// agent in <c>visitor</c>; the session then records the client.
    /// </summary>
    private static async Task<Results<Ok<LoginResponse>, ProblemHttpResult>> LoginAsync(
        LoginRequestBody? body, SignIn signIn, SessionService sessions, ServiceClients clients, TimeProvider clock, HttpContext httpContext)
    {
        if (body is null)
        {
            return Problems.Validation("body", "Send {email, password, device?, useCookie?}.");
        }

        var (client, refusal) = await AuthenticateClientAsync(httpContext, clients, body.Visitor is not null);
        if (refusal is not null)
        {
            return refusal;
        }

        var userAgent = httpContext.UserAgent();
        var ipAddress = httpContext.ClientIp();
        if (body.Visitor is { } visitor)
        {
            ipAddress = VisitorInput.CheckIpAddress(visitor.IpAddress);
            userAgent = VisitorInput.CheckUserAgent(visitor.UserAgent);
        }

        if (client is not null && body.UseCookie == true)
        {
            // The cookie would be set on the relying app's server, for Tessera's host: no browser would ever hold it.
            return Problems.Validation("useCookie", "useCookie is for browsers signing in to Tessera itself; a service client gets the token in the body.");
        }

        var device = body.Device is { } d ? new DeviceDescription(d.Name, d.Platform, d.Os) : null;
        var result = await signIn.LoginAsync(
            new LoginRequest(body.Email, body.Password, device, userAgent, ipAddress, client?.Id), httpContext.RequestAborted);

        var session = result.Session;
        var names = client is null ? null : new Dictionary<string, string>(StringComparer.Ordinal) { [client.Id] = client.Name };
        var response = new LoginResponse(
            result.Token, SessionDto.From(sessions.Describe(session, session.LastActiveAt), session.Id, names), UserDto.From(result.User, clock.GetUtcNow()));
        if (body.UseCookie == true)
        {
            SessionCredentials.SetCookie(httpContext.Response, result.Token, session.AbsoluteExpiresAt, httpContext.Request.IsHttps);
            response = response with { Token = null };
        }

        return TypedResults.Ok(response);
    }

    /// <summary>
    /// The service client behind a login's <c>Authorization: Basic</c>, if it has one; checked as at <c>/oauth2</c> (the store
    /// on every call, failures from the caller's address throttled) and for the scope <c>login</c>. A <c>visitor</c> is only
    /// taken from such a client: anyone else could pick the address the throttle and the audit see.
    /// </summary>
    private static async Task<(ServiceClient? Client, ProblemHttpResult? Refusal)> AuthenticateClientAsync(
        HttpContext httpContext, ServiceClients clients, bool namesVisitor)
    {
        var credentials = ClientCredentials.Read(httpContext.Request, FormCollection.Empty);
        if (!credentials.ViaBasic)
        {
            return namesVisitor
                ? (null, Problems.Validation("visitor",
                    "visitor is taken only from a service client with the scope 'login' that authenticates with HTTP Basic (its id and secret)."))
                : (null, null);
        }

        // The connection's address, not the visitor's: it is the caller who guesses secrets.
        var authentication = await clients.AuthenticateAsync(credentials.ClientId, credentials.Secret, httpContext.ClientIp(), httpContext.RequestAborted);
        if (authentication.RetryAfter is { } wait)
        {
            throw TesseraException.RateLimited(wait, $"Too many failed client authentications from this address; try again in {Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds))} seconds.");
        }

        if (authentication.Client is not { } client)
        {
            httpContext.Response.Headers.WWWAuthenticate = OAuthErrors.BasicChallenge;
            return (null, Problems.Create(ErrorCodes.InvalidClient, "The client is unknown or disabled, or its secret is wrong."));
        }

        return client.HasScope(ClientScopes.Login)
            ? (client, null)
            : (null, Problems.Create(ErrorCodes.InsufficientScope, $"The client does not have the scope '{ClientScopes.Login}' needed to sign visitors in."));
    }

    /// <summary>PATCH /v1/auth/me <c>{displayName}</c>: the caller's own profile; 200 <c>{user}</c>.</summary>
    private static async Task<Results<Ok<UserResponse>, ProblemHttpResult>> ChangeProfileAsync(
        ProfileRequest? body, CurrentSession current, Profile profile, TimeProvider clock, HttpContext httpContext)
    {
        if (body is null)
        {
            return Problems.Validation("body", "Send {displayName}.");
        }

        var user = await profile.ChangeDisplayNameAsync(current.Entry, body.DisplayName, httpContext.RequestAborted);
        return TypedResults.Ok(new UserResponse(UserDto.From(user, clock.GetUtcNow())));
    }

    private static async Task<NoContent> LogoutAsync(CurrentSession current, SignOut signOut, HttpContext httpContext)
    {
        await signOut.LogoutAsync(current.Entry, httpContext.ClientIp(), httpContext.RequestAborted);
        if (current.ViaCookie)
        {
            SessionCredentials.ClearCookie(httpContext.Response, httpContext.Request.IsHttps);
        }

        return TypedResults.NoContent();
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> ChangePasswordAsync(
        ChangePasswordRequest? body, CurrentSession current, PasswordChange passwordChange, HttpContext httpContext)
    {
        if (body is null)
        {
            return Problems.Validation("body", "Send {currentPassword, newPassword}.");
        }

        await passwordChange.ChangePasswordAsync(current.Entry, body.CurrentPassword, body.NewPassword, httpContext.ClientIp(), httpContext.RequestAborted);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Accepted, ProblemHttpResult>> RequestResetAsync(ResetRequestRequest? body, PasswordReset passwordReset, HttpContext httpContext)
    {
        if (body is null)
        {
            return Problems.Validation("body", "Send {email}.");
        }

        // Same answer whether or not the email exists.
        await passwordReset.RequestPasswordResetAsync(body.Email, httpContext.ClientIp(), httpContext.RequestAborted);
        return TypedResults.Accepted((string?)null);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> ResetAsync(ResetPasswordRequest? body, PasswordReset passwordReset, HttpContext httpContext)
    {
        if (body is null)
        {
            return Problems.Validation("body", "Send {token, newPassword}.");
        }

        await passwordReset.ResetPasswordAsync(body.Token, body.NewPassword, httpContext.ClientIp(), httpContext.RequestAborted);
        return TypedResults.NoContent();
    }
}
