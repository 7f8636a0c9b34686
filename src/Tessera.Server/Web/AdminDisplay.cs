using Tessera.Core;
using Tessera.Core.Administration;
using Tessera.Core.Audit;
using Tessera.Core.Users;

namespace Tessera.Server.Web;

/// <summary>Words and badges the admin pages share.</summary>
internal static class AdminDisplay
{
    /// <summary>The bulk actions as the API names them, with what each does to the people it touches.</summary>
    public static readonly IReadOnlyList<BulkChoice> BulkChoices =
    [
        new("deactivate", BulkAction.Deactivate, "Deactivate", "deactivated",
            "They are signed out everywhere at once and cannot sign in until an admin reactivates them."),
        new("reactivate", BulkAction.Reactivate, "Reactivate", "reactivated", "They can sign in again right away."),
        new("ban", BulkAction.Ban, "Ban", "banned",
            "They are signed out everywhere at once and cannot sign in until an admin unbans them."),
        new("unban", BulkAction.Unban, "Unban", "unbanned", "They can sign in again right away."),
        new("revoke_sessions", BulkAction.RevokeSessions, "Sign out", "signed out",
            "Every session they have ends at once; they can sign in again."),
        new("delete", BulkAction.Delete, "Delete", "deleted",
            "Their personal data is erased, every session ends at once, and they can never sign in again. This cannot be undone."),
    ];

    /// <summary>A bulk refusal's code in words (the single actions show the core's own message).</summary>
    public static string DescribeRefusal(string? code) => code switch
    {
        ErrorCodes.CannotTargetSelf => "Admins cannot do this to their own account.",
        ErrorCodes.NotFound => "The user was not found.",
        ErrorCodes.UserDeleted => "This user has been deleted.",
        _ => "The request is not valid.",
    };

    public static (string Text, string Tone) Status(User user) => user.Status switch
    {
        UserStatus.Deactivated => ("Deactivated", "amber"),
        UserStatus.Deleted => ("Deleted", "gray"),
        _ => ("Active", "green"),
    };

    public static string Role(User user) => user.Role == UserRole.Admin ? "Admin" : "User";

    public static string Actor(Actor actor) => actor.Kind switch
    {
        ActorKind.System => "System",
        ActorKind.Cli => "Admin (CLI)",
        ActorKind.Client => "Service client",
        ActorKind.Admin => "Admin",
        _ => "User",
    };

    public static string Plural(int count, string one, string many) => count == 1 ? $"1 {one}" : $"{count} {many}";
}

internal sealed record BulkChoice(string Value, BulkAction Action, string Verb, string Done, string Effect);
