using Microsoft.AspNetCore.Http.HttpResults;
using Tessera.Core.Administration;
using Tessera.Core.Audit;
using Tessera.Core.Clients;
using Tessera.Core.Storage;
using Tessera.Server.Authentication;
using Tessera.Server.Contracts;
using Tessera.Server.Http;

namespace Tessera.Server.Admin;

/// <summary>/v1/admin: users, their sessions, the decisions about them, and the audit log. Admins only, checked on every call.</summary>
internal static class AdminApi
{
    public const int DefaultPageSize = 50;
    public const int MaxPageSize = 200;
    public const int DefaultAuditLimit = 100;
    public const int MaxAuditLimit = 1000;

    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/v1/admin").WithTags("Admin").RequireAdmin();
        group.MapGet("/users", SearchAsync);
        group.MapGet("/users/{id}", GetAsync);
        group.MapGet("/users/{id}/sessions", ListSessionsAsync);
        group.MapDelete("/users/{id}/sessions", RevokeSessionsAsync);
        group.MapDelete("/users/{id}/sessions/{sessionId}", RevokeSessionAsync);
        group.MapPost("/users/{id}/deactivate", DeactivateAsync);
        group.MapPost("/users/{id}/reactivate", ReactivateAsync);
        group.MapPost("/users/{id}/ban", BanAsync);
        group.MapPost("/users/{id}/unban", UnbanAsync);
        group.MapDelete("/users/{id}", DeleteAsync);
        group.MapPost("/users/bulk", BulkAsync);
        group.MapGet("/sessions/{sessionId}", GetSessionAsync);
        group.MapDelete("/sessions/{sessionId}", RevokeSessionByIdAsync);
        group.MapGet("/audit", AuditAsync);
        return endpoints;
    }

    private static async Task<Results<Ok<UsersResponse>, ProblemHttpResult>> SearchAsync(
        string? search, string? status, int? page, int? pageSize, UserAdministration admin, TimeProvider clock, HttpContext httpContext)
    {
        UserStatusFilter? filter = null;
        if (!string.IsNullOrEmpty(status))
        {
            if (status is not ("active" or "deactivated" or "deleted" or "banned") || !Enum.TryParse<UserStatusFilter>(status, ignoreCase: true, out var parsed))
            {
                return Problems.Validation("status", "status must be one of active, deactivated, deleted, banned.");
            }

            filter = parsed;
        }

        if (page is < 1)
        {
            return Problems.Validation("page", "page starts at 1.");
        }

        if (pageSize is < 1 or > MaxPageSize)
        {
            return Problems.Validation("pageSize", $"pageSize must be between 1 and {MaxPageSize}.");
        }

        var result = await admin.SearchAsync(search, filter, page ?? 1, pageSize ?? DefaultPageSize, httpContext.RequestAborted);
        var now = clock.GetUtcNow();
        return TypedResults.Ok(new UsersResponse(result.Users.Select(u => UserDto.From(u, now)).ToList(), result.Total));
    }

    private static async Task<Ok<AdminUserResponse>> GetAsync(string id, UserAdministration admin, TimeProvider clock, HttpContext httpContext)
    {
        var (user, activeSessions) = await admin.GetAsync(id, httpContext.RequestAborted);
        return TypedResults.Ok(new AdminUserResponse(UserDto.From(user, clock.GetUtcNow()), activeSessions));
    }

    private static async Task<Ok<SessionsResponse>> ListSessionsAsync(string id, UserAdministration admin, ServiceClients clients, HttpContext httpContext)
    {
        var sessions = await admin.ListSessionsAsync(id, httpContext.RequestAborted);
        var names = await clients.NamesAsync(sessions.Select(s => s.Session.ClientId), httpContext.RequestAborted);
        return TypedResults.Ok(new SessionsResponse(sessions.Select(s => SessionDto.From(s, currentSessionId: null, names)).ToList()));
    }

    private static async Task<Ok<RevokedResponse>> RevokeSessionsAsync(string id, CurrentSession current, UserAdministration admin, HttpContext httpContext) =>
        TypedResults.Ok(new RevokedResponse(await admin.RevokeSessionsAsync(current.Actor, id, httpContext.ClientIp(), httpContext.RequestAborted)));

    private static async Task<NoContent> RevokeSessionAsync(string id, string sessionId, CurrentSession current, UserAdministration admin, HttpContext httpContext)
    {
        await admin.RevokeSessionAsync(current.Actor, id, sessionId, httpContext.ClientIp(), httpContext.RequestAborted);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<AdminSessionResponse>> GetSessionAsync(
        string sessionId, UserAdministration admin, ServiceClients clients, TimeProvider clock, HttpContext httpContext)
    {
        var (user, session) = await admin.GetSessionAsync(sessionId, httpContext.RequestAborted);
        var names = await clients.NamesAsync([session.Session.ClientId], httpContext.RequestAborted);
        return TypedResults.Ok(new AdminSessionResponse(UserDto.From(user, clock.GetUtcNow()), SessionDto.From(session, currentSessionId: null, names)));
    }

    private static async Task<NoContent> RevokeSessionByIdAsync(string sessionId, CurrentSession current, UserAdministration admin, HttpContext httpContext)
    {
        await admin.RevokeSessionAsync(current.Actor, sessionId, httpContext.ClientIp(), httpContext.RequestAborted);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<UserChangeResponse>> DeactivateAsync(
        string id, ReasonRequest? body, CurrentSession current, UserAdministration admin, TimeProvider clock, HttpContext httpContext) =>
        Respond(await admin.DeactivateAsync(current.Actor, id, body?.Reason, httpContext.ClientIp(), httpContext.RequestAborted), clock);

    private static async Task<Ok<UserResponse>> ReactivateAsync(string id, CurrentSession current, UserAdministration admin, TimeProvider clock, HttpContext httpContext)
    {
        var result = await admin.ReactivateAsync(current.Actor, id, httpContext.ClientIp(), httpContext.RequestAborted);
        return TypedResults.Ok(new UserResponse(UserDto.From(result.User, clock.GetUtcNow())));
    }

    private static async Task<Ok<UserChangeResponse>> BanAsync(
        string id, BanRequest? body, CurrentSession current, UserAdministration admin, TimeProvider clock, HttpContext httpContext) =>
        Respond(await admin.BanAsync(current.Actor, id, body?.Reason, body?.Until, httpContext.ClientIp(), httpContext.RequestAborted), clock);

    private static async Task<Ok<UserResponse>> UnbanAsync(string id, CurrentSession current, UserAdministration admin, TimeProvider clock, HttpContext httpContext)
    {
        var result = await admin.UnbanAsync(current.Actor, id, httpContext.ClientIp(), httpContext.RequestAborted);
        return TypedResults.Ok(new UserResponse(UserDto.From(result.User, clock.GetUtcNow())));
    }

    private static async Task<Ok<RevokedSessionsResponse>> DeleteAsync(string id, CurrentSession current, UserAdministration admin, HttpContext httpContext)
    {
        var result = await admin.DeleteAsync(current.Actor, id, httpContext.ClientIp(), httpContext.RequestAborted);
        return TypedResults.Ok(new RevokedSessionsResponse(result.RevokedSessions));
    }

    private static async Task<Results<Ok<BulkResponse>, ProblemHttpResult>> BulkAsync(
        BulkRequest? body, CurrentSession current, UserAdministration admin, HttpContext httpContext)
    {
        if (body is null)
        {
            return Problems.Validation("body", "Send {action, userIds, reason?, until?}.");
        }

        if (!TryParseBulkAction(body.Action, out var action))
        {
            return Problems.Validation("action", "action must be one of deactivate, reactivate, ban, unban, revoke_sessions, delete.");
        }

        if (body.UserIds is null || body.UserIds.Any(string.IsNullOrWhiteSpace))
        {
            return Problems.Validation("userIds", "userIds must be a list of user ids.");
        }

        var results = await admin.BulkAsync(current.Actor, action, body.UserIds, body.Reason, body.Until, httpContext.ClientIp(), httpContext.RequestAborted);
        return TypedResults.Ok(new BulkResponse(results.Select(r => new BulkResultDto(r.UserId, r.Ok, r.RevokedSessions, r.Code)).ToList()));
    }

    private static async Task<Results<Ok<AuditResponse>, ProblemHttpResult>> AuditAsync(
        string? userId, string? action, DateTimeOffset? after, DateTimeOffset? before, int? limit, UserAdministration admin, HttpContext httpContext)
    {
        if (!string.IsNullOrEmpty(action) && !AuditActions.All.Contains(action))
        {
            return Problems.Validation("action", $"action must be one of {string.Join(", ", AuditActions.All.Order(StringComparer.Ordinal))}.");
        }

        if (limit is < 1 or > MaxAuditLimit)
        {
            return Problems.Validation("limit", $"limit must be between 1 and {MaxAuditLimit}.");
        }

        var events = await admin.QueryAuditAsync(
            new AuditQuery(string.IsNullOrEmpty(userId) ? null : userId, string.IsNullOrEmpty(action) ? null : action, after, before, limit ?? DefaultAuditLimit),
            httpContext.RequestAborted);
        return TypedResults.Ok(new AuditResponse(events.Select(AuditEventDto.From).ToList()));
    }

    private static Ok<UserChangeResponse> Respond(UserChangeResult result, TimeProvider clock) =>
        TypedResults.Ok(new UserChangeResponse(UserDto.From(result.User, clock.GetUtcNow()), result.RevokedSessions));

    private static bool TryParseBulkAction(string? value, out BulkAction action)
    {
        action = value switch
        {
            "deactivate" => BulkAction.Deactivate,
            "reactivate" => BulkAction.Reactivate,
            "ban" => BulkAction.Ban,
            "unban" => BulkAction.Unban,
            "revoke_sessions" => BulkAction.RevokeSessions,
            "delete" => BulkAction.Delete,
            _ => (BulkAction)(-1),
        };
        return Enum.IsDefined(action);
    }
}

/// <summary>A session found by its id alone (<c>GET /v1/admin/sessions/{sessionId}</c>), with the user it belongs to.</summary>
internal sealed record AdminSessionResponse(UserDto User, SessionDto Session);
