using Microsoft.AspNetCore.Http.HttpResults;
using Tessera.Core.Accounts;
using Tessera.Core.Devices;
using Tessera.Core.Sessions;
using Tessera.Server.Authentication;
using Tessera.Server.Contracts;
using Tessera.Server.Http;

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
        signedIn.MapGet("/session", WhoAmI);
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

    private static async Task<Results<Ok<LoginResponse>, ProblemHttpResult>> LoginAsync(
        LoginRequestBody? body, SignIn signIn, SessionService sessions, TimeProvider clock, HttpContext httpContext)
    {
        if (body is null)
        {
            return Problems.Validation("body", "Send {email, password, device?, useCookie?}.");
        }

        var device = body.Device is { } d ? new DeviceDescription(d.Name, d.Platform, d.Os) : null;
        var result = await signIn.LoginAsync(
            new LoginRequest(body.Email, body.Password, device, httpContext.UserAgent(), httpContext.ClientIp()), httpContext.RequestAborted);

        var session = result.Session;
        var response = new LoginResponse(
            result.Token, SessionDto.From(sessions.Describe(session, session.LastActiveAt), session.Id), UserDto.From(result.User, clock.GetUtcNow()));
        if (body.UseCookie == true)
        {
            SessionCredentials.SetCookie(httpContext.Response, result.Token, session.AbsoluteExpiresAt, httpContext.Request.IsHttps);
            response = response with { Token = null };
        }

        return TypedResults.Ok(response);
    }

    private static Ok<WhoAmIResponse> WhoAmI(CurrentSession current, SessionService sessions, TimeProvider clock) =>
        TypedResults.Ok(new WhoAmIResponse(
            SessionDto.From(sessions.Describe(current.Session, current.Entry.LastActiveAt), current.Session.Id),
            UserDto.From(current.User, clock.GetUtcNow())));

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
