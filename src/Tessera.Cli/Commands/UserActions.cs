using System.Globalization;
using System.Text.Json;
using Tessera.Cli.Api;

namespace Tessera.Cli.Commands;

/// <summary>
/// One decision about a user, as the single-user routes and the bulk endpoint name it, with the rule that says it is
/// already so (a re-run then changes nothing and writes nothing to the audit log).
/// </summary>
internal sealed record UserAction(string Name, string Verb, string Past, bool Destructive, Func<JsonElement, DateTimeOffset?, bool> AlreadyDone)
{
    public static readonly UserAction Deactivate = new("deactivate", "Deactivate", "deactivated", Destructive: true,
        (user, _) => user.Str("status") == "deactivated");

    public static readonly UserAction Reactivate = new("reactivate", "Reactivate", "reactivated", Destructive: false,
        (user, _) => user.Str("status") == "active");

    public static readonly UserAction Ban = new("ban", "Ban", "banned", Destructive: true,
        (user, until) => user.Bool("banned") && SameEnd(user.Str("bannedUntil"), until));

    public static readonly UserAction Unban = new("unban", "Unban", "unbanned", Destructive: false,
        (user, _) => !user.Bool("banned") && user.Str("bannedUntil") is null);

    public static readonly UserAction Delete = new("delete", "Delete", "deleted", Destructive: true,
        (user, _) => user.Str("status") == "deleted");

    /// <summary>The single-user call; its answer has the user after the change (except delete) and the sessions it ended.</summary>
    public Task<JsonElement> ApplyAsync(TesseraApi api, string id, string? reason, DateTimeOffset? until, CancellationToken cancellationToken)
    {
        var path = $"/v1/admin/users/{Uri.EscapeDataString(id)}";
        return Name switch
        {
            "delete" => api.DeleteAsync(path, cancellationToken),
            "deactivate" => api.PostAsync($"{path}/deactivate", new { reason }, cancellationToken),
            "ban" => api.PostAsync($"{path}/ban", new { reason, until }, cancellationToken),
            _ => api.PostAsync($"{path}/{Name}", body: null, cancellationToken),
        };
    }

    private static bool SameEnd(string? current, DateTimeOffset? wanted) =>
        current is null
            ? wanted is null
            : wanted is { } end && DateTimeOffset.TryParse(current, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) && Math.Abs((at - end).TotalSeconds) < 1;
}

/// <summary>--until: an ISO 8601 time ("2027-01-31T00:00Z") or a duration from now ("30m", "12h", "7d").</summary>
internal static class Until
{
    public static DateTimeOffset? Parse(string? text, TimeProvider clock)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var unit = text[^1];
        if (unit is 'm' or 'h' or 'd' && int.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var amount) && amount > 0)
        {
            var span = unit switch { 'm' => TimeSpan.FromMinutes(amount), 'h' => TimeSpan.FromHours(amount), _ => TimeSpan.FromDays(amount) };
            return clock.GetUtcNow() + span;
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at))
        {
            return at;
        }

        throw new CliException($"--until '{text}' is neither a time (2027-01-31T00:00Z) nor a duration (30m, 12h, 7d).", ExitCodes.Usage, "invalid_until");
    }
}
