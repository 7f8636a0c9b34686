using Microsoft.AspNetCore.Http.HttpResults;
using Tessera.Core;
using Tessera.Core.Clients;
using Tessera.Core.Sessions;
using Tessera.Core.Storage;
using Tessera.Server.Authentication;
using Tessera.Server.Contracts;
using Tessera.Server.Http;

namespace Tessera.Server.Sessions;

/// <summary>/v1/sessions: the caller's own sessions, "sign out other devices" and "sign out all devices".</summary>
internal static class SessionsApi
{
    public static IEndpointRouteBuilder MapSessionsApi(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/v1/sessions").WithTags("Sessions").RequireSession();
        group.MapGet("/", ListAsync);
        group.MapDelete("/{id}", RevokeAsync);
        group.MapPost("/revoke-others", RevokeOthersAsync);
        group.MapPost("/revoke-all", RevokeAllAsync);
        return endpoints;
    }

    private static async Task<Ok<SessionsResponse>> ListAsync(CurrentSession current, SessionService sessions, ServiceClients clients, HttpContext httpContext)
    {
        var active = await sessions.ListActiveAsync(current.User.Id, httpContext.RequestAborted);
        var names = await clients.NamesAsync(active.Select(s => s.Session.ClientId), httpContext.RequestAborted);
        return TypedResults.Ok(new SessionsResponse(active.Select(s => SessionDto.From(s, current.Session.Id, names)).ToList()));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RevokeAsync(string id, CurrentSession current, SessionService sessions, HttpContext httpContext)
    {
        if (id == current.Session.Id)
        {
            return Problems.From(new TesseraException(ErrorCodes.CannotRevokeCurrent, "This is the session making the request: sign out with POST /v1/auth/logout."));
        }

        // Another user's session id gets the same 404 as one that never existed.
        return await sessions.RevokeAsync(current.User.Id, id, RevocationReason.RevokedByUser, current.Actor, httpContext.ClientIp(), httpContext.RequestAborted)
            ? TypedResults.NoContent()
            : Problems.NotFound("The session");
    }

    private static async Task<Ok<RevokedResponse>> RevokeOthersAsync(CurrentSession current, SessionService sessions, HttpContext httpContext)
    {
        var revoked = await sessions.RevokeAsync(current.User.Id, RevocationScope.AllExcept(current.Session.Id), RevocationReason.SignedOutOtherDevices,
            current.Actor, httpContext.ClientIp(), httpContext.RequestAborted);
        return TypedResults.Ok(new RevokedResponse(revoked));
    }

    private static async Task<Ok<RevokedResponse>> RevokeAllAsync(CurrentSession current, SessionService sessions, HttpContext httpContext)
    {
        var revoked = await sessions.RevokeAsync(current.User.Id, RevocationScope.All, RevocationReason.SignedOutAllDevices,
            current.Actor, httpContext.ClientIp(), httpContext.RequestAborted);
        if (current.ViaCookie)
        {
            SessionCredentials.ClearCookie(httpContext.Response, httpContext.Request.IsHttps);
        }

        return TypedResults.Ok(new RevokedResponse(revoked));
    }
}
