using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace Tessera.AspNetCore.Authentication;

/// <summary>The codes, sentences and problem bodies the package answers refused API requests with (documented in its README).</summary>
public static class TesseraProblems
{
    /// <summary>No token, or one that does not hold (Tessera does not say why): sign in.</summary>
    public const string Unauthenticated = "unauthenticated";

    /// <summary>The session was ended at Tessera, and the app heard why (<c>reason</c>).</summary>
    public const string SessionRevoked = "session_revoked";

    /// <summary>Signed in, but the endpoint's policy does not allow the user.</summary>
    public const string Forbidden = "forbidden";

    /// <summary>Tessera could not be asked; nothing was decided (503, retry later).</summary>
    public const string AuthorityUnavailable = "authority_unavailable";

    private static readonly Dictionary<string, string> Sentences = new(StringComparer.Ordinal)
    {
        ["signed_out"] = "You signed out.",
        ["signed_out_all_devices"] = "You signed out of all devices.",
        ["signed_out_other_devices"] = "Your session was ended from another device.",
        ["revoked_by_user"] = "Your session was ended from another device.",
        ["password_changed"] = "Your password was changed, so this session was ended. Please sign in again.",
        ["password_reset"] = "Your password was reset, so this session was ended. Please sign in again.",
        ["user_deactivated"] = "Your account has been deactivated.",
        ["user_banned"] = "Your account has been banned.",
        ["user_deleted"] = "Your account has been deleted.",
        ["revoked_by_admin"] = "An administrator ended your session.",
        ["token_revoked"] = "Your session token was revoked. Please sign in again.",
        ["sign_in_code_replayed"] = "The one-time code that signed this session in was used again, so the session was ended to be safe. Please sign in again.",
        ["session_expired"] = "Your session has expired. Please sign in again.",
    };

    /// <summary>The sentence for a person for a revocation reason (Tessera's own, docs/api.md), or a general one.</summary>
    public static string SentenceFor(string? reason) =>
        reason is not null && Sentences.TryGetValue(reason, out var sentence) ? sentence : "Your session has ended. Please sign in again.";

    internal static Task WriteAsync(HttpContext context, int status, string code, string title, string detail, string? reason = null, DateTimeOffset? bannedUntil = null)
    {
        var problem = new ProblemDetails
        {
            Type = $"https://httpstatuses.io/{status}",
            Title = title,
            Status = status,
            Detail = detail,
        };
        problem.Extensions["code"] = code;
        if (reason is not null)
        {
            problem.Extensions["reason"] = reason;
        }

        if (bannedUntil is not null)
        {
            problem.Extensions["bannedUntil"] = bannedUntil;
        }

        context.Response.StatusCode = status;
        context.Response.Headers.CacheControl = "no-store";
        return context.Response.WriteAsJsonAsync(problem, options: null, contentType: "application/problem+json", context.RequestAborted);
    }
}
